"""The upstream's real history: every distinct /uploads fragment of openai/openai-openapi since
2024-08 (openapi/history/, with commit ids) regenerates into a crate that compiles, and the drift
report of each step names what changed.

All versions are generated into one temporary cargo workspace that shares the repository's
Cargo.lock and target directory, so dependencies build once (already built for the repository's
own crates); only a dependency a past spec shape needs and today's does not (serde_with for a
nullable optional field) is resolved anew.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HISTORY = REPO / "openapi" / "history"
TOOLS = REPO / "scripts" / "spec_tools"
sys.path.insert(0, str(REPO / "scripts"))
from spec_tools.extract import EXTRA_OPERATIONS, extract  # noqa: E402
from spec_tools.report import diff_fragments  # noqa: E402
from spec_tools.semver import classify, overall  # noqa: E402
from spec_tools.yamlio import dump_yaml, load_yaml, read_bytes  # noqa: E402

INDEX = json.loads((HISTORY / "index.json").read_text())
STEPS = list(zip(INDEX, INDEX[1:]))


def crate_name(entry: dict) -> str:
    return "history-" + entry["file"].removeprefix("uploads-").removesuffix(".yaml.xz")


def test_history_files_match_the_index() -> None:
    assert sorted(e["file"] for e in INDEX) == sorted(p.name for p in HISTORY.glob("*.yaml.xz"))
    assert [e["date"] for e in INDEX] == sorted(e["date"] for e in INDEX)
    for entry in INDEX:
        data = read_bytes(str(HISTORY / entry["file"]))
        assert hashlib.sha256(data).hexdigest() == entry["fragment_sha256"], entry["file"]
        assert entry["commit"] in data.decode(), entry["file"]
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"])
    assert "MIT License" in (HISTORY / "LICENSE").read_text()


def test_history_fragments_are_distinct_and_end_at_the_pinned_snapshot() -> None:
    """The history holds /uploads-only fragments (what upstream's /uploads looked like; the Files
    reads joined the vendored fragment later): the pinned snapshot's /uploads-only extraction is
    the last of them, and its full extraction adds exactly the Files reads to it."""
    shapes = [load_yaml(str(HISTORY / e["file"])) for e in INDEX]
    for shape in shapes:
        del shape["info"]
    assert all(a != b for a, b in zip(shapes, shapes[1:]))
    upstream = load_yaml(str(REPO / "openapi" / "upstream" / "openapi-2026-08-21-f85dbe2.yaml.xz"))
    pinned = extract(upstream, extra={})
    del pinned["info"]
    assert pinned == shapes[-1]
    full = extract(upstream)
    assert set(full["paths"]) - set(pinned["paths"]) == {"/files", "/files/{file_id}"}
    assert {k: v for k, v in full["paths"].items() if k.startswith("/uploads")} == pinned["paths"]
    assert set(full["components"]["schemas"]) - set(pinned["components"]["schemas"]) == {"ListFilesResponse"}


@pytest.mark.parametrize("old,new", STEPS, ids=[f"{a['date']}..{b['date']}" for a, b in STEPS])
def test_drift_report_of_each_step_names_what_changed(old: dict, new: dict) -> None:
    before, after = load_yaml(str(HISTORY / old["file"])), load_yaml(str(HISTORY / new["file"]))
    report = diff_fragments(before, after)
    assert report, f"{old['file']} -> {new['file']}: no difference reported"
    for line in new["changes_from_previous"]:
        assert line in report, f"{line!r} not in the report:\n" + "\n".join(report)
    changes = classify(before, after)
    assert overall(changes) == new["class_from_previous"], "\n".join(map(str, changes))


def with_files_reads(past: dict) -> dict:
    """A past /uploads fragment with today's Files reads (`GET /files`, `GET /files/{file_id}`,
    `ListFilesResponse`) grafted on, as if they had been vendored then: the overlay corrects them,
    so every regenerated past shape must have them. The history files themselves stay as they were."""
    today = load_yaml(str(REPO / "openapi" / "uploads.yaml"))
    for path in EXTRA_OPERATIONS:
        past["paths"].setdefault(path, today["paths"][path])
    past["components"]["schemas"].setdefault("ListFilesResponse", today["components"]["schemas"]["ListFilesResponse"])
    return past


@pytest.fixture(scope="module")
def history_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace with every past fragment regenerated as its own crate."""
    root = tmp_path_factory.mktemp("history")
    root_manifest = (REPO / "Cargo.toml").read_text()
    shared = root_manifest[root_manifest.index("[workspace.package]"):]
    shared = re.sub(r"(?m)^(openai-uploads-generated|uploads-ext|uploads-fake) = .*\n", "", shared)
    (root / "Cargo.toml").write_text('[workspace]\nresolver = "2"\nmembers = ["history-*"]\n\n' + shared)
    (root / "Cargo.lock").write_bytes((REPO / "Cargo.lock").read_bytes())

    def regenerate(entry: dict) -> None:
        fragment = root / entry["file"].removesuffix(".xz")
        fragment.write_text(dump_yaml(with_files_reads(load_yaml(str(HISTORY / entry["file"])))))
        crate = root / crate_name(entry)
        proc = subprocess.run(
            [sys.executable, str(TOOLS), "generate", str(crate), "--fragment", str(fragment)],
            capture_output=True, text=True, timeout=600,
        )
        assert proc.returncode == 0, f"{entry['file']}: {proc.stderr[-3000:]}"
        manifest = crate / "Cargo.toml"
        manifest.write_text(manifest.read_text().replace(
            'name = "openai-uploads-generated"', f'name = "{crate_name(entry)}"', 1))

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(regenerate, INDEX))
    return root


def test_every_past_fragment_regenerates_into_a_crate_that_compiles(history_workspace: Path) -> None:
    env = {**os.environ, "CARGO_TARGET_DIR": str(REPO / "target"), "CARGO_TERM_COLOR": "never"}
    proc = subprocess.run(
        ["cargo", "build", "--quiet", "--workspace", "--manifest-path", str(history_workspace / "Cargo.toml")],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    built = {p.name for p in (REPO / "target" / "debug" / "deps").glob("libhistory_*.rlib")}
    for entry in INDEX:
        assert any(name.startswith("lib" + crate_name(entry).replace("-", "_") + "-") for name in built), entry


def test_a_nullable_optional_field_brings_its_dependency(history_workspace: Path) -> None:
    """2025-01-22 made Upload.file nullable: the generated code uses serde_with, so the manifest has it."""
    shapes = {e["file"]: history_workspace / crate_name(e) for e in INDEX}
    with_serde_with = [f for f, crate in shapes.items() if "serde_with" in (crate / "src" / "models" / "upload.rs").read_text()]
    assert with_serde_with, "no past fragment needs serde_with any more: this test proves nothing"
    for f, crate in shapes.items():
        manifest = (crate / "Cargo.toml").read_text()
        assert ("serde_with = " in manifest) == (f in with_serde_with), f
