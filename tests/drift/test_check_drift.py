"""Tests of the spec pipeline scripts: extraction, overlay, drift reports, loud failures.

Run by scripts/test (pytest from .tools/venv). They use the pinned upstream snapshots vendored in
openapi/upstream/ (xz-compressed, no network) and run the real generator.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = REPO / "openapi" / "upstream"
NEW = UPSTREAM / "openapi-2026-08-21-f85dbe2.yaml.xz"
OLD = UPSTREAM / "openapi-2025-04-29-498c71d.yaml.xz"
CHECK = REPO / "scripts" / "check-drift"
TOOLS = REPO / "scripts" / "spec_tools"
PY = sys.executable

sys.path.insert(0, str(REPO / "scripts"))
from spec_tools.check_generated import compare_trees  # noqa: E402
from spec_tools.overlay import OverlayError, apply_overlay  # noqa: E402
from spec_tools.report import diff_fragments  # noqa: E402
from spec_tools.yamlio import load_yaml_bytes, read_bytes  # noqa: E402


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


@pytest.fixture(scope="session", autouse=True)
def snapshots_present() -> None:
    assert NEW.exists() and OLD.exists(), f"pinned upstream snapshots missing under {UPSTREAM}"


def test_vendored_fragment_is_a_pure_extraction(tmp_path: Path) -> None:
    out = tmp_path / "uploads.yaml"
    proc = run(PY, str(TOOLS), "extract", str(NEW), str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (REPO / "openapi" / "uploads.yaml").read_bytes()


def test_fragment_has_exactly_the_six_operations_and_reached_schemas() -> None:
    fragment = load_yaml_bytes((REPO / "openapi" / "uploads.yaml").read_bytes())
    ops = sorted(op["operationId"] for item in fragment["paths"].values() for op in item.values())
    assert ops == sorted(["createUpload", "addUploadPart", "completeUpload", "cancelUpload",
                          "listFiles", "retrieveFile"])
    assert sorted(fragment["components"]["schemas"]) == sorted([
        "AddUploadPartRequest", "CompleteUploadRequest", "CreateUploadRequest",
        "FileExpirationAfter", "ListFilesResponse", "OpenAIFile", "Upload", "UploadPart",
    ])


def test_provenance_matches_the_pinned_snapshot() -> None:
    import hashlib
    import json

    prov = json.loads((REPO / "openapi" / "provenance.json").read_text())
    assert prov["upstream"]["sha256"] == hashlib.sha256(read_bytes(str(NEW))).hexdigest()
    assert prov["upstream"]["commit"] == "f85dbe2"
    assert prov["upstream"]["url"].startswith("https://")
    settings = json.loads((REPO / "openapi" / "generator.json").read_text())
    assert prov["generator"]["version"] == settings["generatorVersion"] == "7.26.0"
    assert prov["generator"]["generator"] == settings["generator"] == "rust"
    assert prov["fragment"]["sha256"] == hashlib.sha256((REPO / "openapi" / "uploads.yaml").read_bytes()).hexdigest()


def test_vendored_snapshots_match_their_recorded_sha256() -> None:
    import hashlib
    import json

    prov = json.loads((REPO / "openapi" / "provenance.json").read_text())
    files = {entry["file"]: entry for entry in prov["snapshots"]}
    assert sorted(files) == sorted(f"upstream/{p.name}" for p in UPSTREAM.glob("*.yaml.xz"))
    for name, entry in files.items():
        data = read_bytes(str(REPO / "openapi" / name))
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert data.startswith(b"openapi: "), name
    assert "MIT License" in (UPSTREAM / "LICENSE").read_text()


def test_nothing_reads_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=REPO, check=True)
    outside = ("../" + "shared", "OPENAI_UPLOADS_" + "UPSTREAM_DIR")  # apart: no self-match
    offenders = []
    for rel in tracked.stdout.split():
        path = REPO / rel
        if path.suffix in {".xz", ".gz", ".lock"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(word in text for word in outside):
            offenders.append(rel)
    assert offenders == [], offenders


def test_no_drift_against_the_pinned_snapshot() -> None:
    proc = run(str(CHECK), str(NEW))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fragment drift: none" in proc.stdout
    assert "generated drift: none" in proc.stdout


def test_old_snapshot_reports_expires_after_drift() -> None:
    proc = run(str(CHECK), str(OLD), "--only", "fragment")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = proc.stdout
    assert "field removed: CreateUploadRequest.expires_after" in report
    assert "schema removed: FileExpirationAfter" in report
    assert "field changed: OpenAIFile.purpose" in report


def test_structural_report_names_operations_and_fields() -> None:
    vendored = load_yaml_bytes((REPO / "openapi" / "uploads.yaml").read_bytes())
    changed = load_yaml_bytes((REPO / "openapi" / "uploads.yaml").read_bytes())
    del changed["paths"]["/uploads/{upload_id}/cancel"]
    changed["components"]["schemas"]["Upload"]["properties"]["bytes"]["format"] = "int64"
    changed["components"]["schemas"]["UploadPart"]["properties"]["etag"] = {"type": "string"}
    report = diff_fragments(vendored, changed)
    assert "operation removed: cancelUpload (POST /uploads/{upload_id}/cancel)" in report
    assert "schema changed: Upload" in report
    assert "  field changed: Upload.bytes" in report
    assert "    added Upload.bytes.format" in report
    assert "  field added: UploadPart.etag" in report
    assert diff_fragments(vendored, vendored) == []


def test_one_character_edit_in_generated_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "generated"
    shutil.copytree(REPO / "generated", copy)
    target = copy / "src" / "models" / "upload.rs"
    text = target.read_text()
    target.write_text(text.replace("pub bytes: u64", "pub bytes: i32", 1))
    assert target.read_text() != text
    proc = run(str(CHECK), "--only", "generated", "--generated", str(copy))
    assert proc.returncode == 1, proc.stdout
    assert "differs: src/models/upload.rs" in proc.stdout
    assert "pub bytes: i32" in proc.stdout


def test_extra_file_in_generated_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "generated"
    shutil.copytree(REPO / "generated", copy)
    (copy / "src" / "handwritten.rs").write_text("// not generated\n")
    proc = run(str(CHECK), "--only", "generated", "--generated", str(copy))
    assert proc.returncode == 1
    assert "not produced by the generator: src/handwritten.rs" in proc.stdout


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        proc = run(PY, str(TOOLS), "generate", str(out))
        assert proc.returncode == 0, proc.stderr
    assert compare_trees(first, second) == []
    assert any(first.rglob("*.rs"))


def test_missing_java_fails_loudly(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "PATH": str(bin_dir)}
    proc = run(PY, str(TOOLS), "generate", str(tmp_path / "out"), env=env)
    assert proc.returncode == 2
    assert "java not found" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_missing_generator_fails_loudly(tmp_path: Path) -> None:
    env = {**os.environ, "OPENAPI_GENERATOR_CLI": str(tmp_path / "nope")}
    proc = run(PY, str(TOOLS), "generate", str(tmp_path / "out"), env=env)
    assert proc.returncode == 2
    assert "openapi-generator-cli not found" in proc.stderr


def test_overlay_target_that_moved_fails_loudly() -> None:
    doc = {"components": {"schemas": {}}}
    overlay = {"overlay": "1.0.0", "actions": [{"target": "$.components.schemas.Gone", "remove": True}]}
    with pytest.raises(OverlayError, match="matches nothing"):
        apply_overlay(doc, overlay)


def test_overlay_corrections_reach_the_effective_spec() -> None:
    effective = load_yaml_bytes((REPO / "generated" / "openapi.yaml").read_bytes())
    schemas = effective["components"]["schemas"]
    assert "status" not in schemas["OpenAIFile"]["required"]
    purpose = {"$ref": "#/components/schemas/UploadPurpose"}
    assert schemas["CreateUploadRequest"]["properties"]["purpose"].items() >= purpose.items()
    assert schemas["Upload"]["properties"]["purpose"].items() >= purpose.items()
    assert {"user_data", "evals", "fine-tune"} <= set(schemas["UploadPurpose"]["enum"])
    for schema in ("CreateUploadRequest", "Upload", "OpenAIFile"):
        assert schemas[schema]["properties"]["bytes"]["minimum"] == 0
