"""An additive upstream change must regenerate into a non-breaking release.

A synthetic overlay adds what upstream adds in practice (a new optional response field, new enum
values, a new optional request-body field, a new optional query parameter, a new optional multipart
field, a new endpoint); the crate is regenerated from it into a temporary copy of the workspace,
and uploads-ext and a downstream crate written against today's uploads-ext and generated APIs
(tests/drift/downstream/main.rs) must still compile against it, unchanged. It also compiles against
the crate as it is, so a failure here is the spec change's doing, not the fixture's.

`cargo check` shares the repository's target directory, so only the three local crates are
rebuilt; it uses the workspace's Cargo.lock, so no new dependency versions are resolved.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "scripts" / "spec_tools"
DOWNSTREAM = Path(__file__).resolve().parent / "downstream" / "main.rs"

ADDITIVE_OVERLAY = """\
overlay: 1.0.0
info: {title: synthetic additive upstream change, version: 1.0.0}
actions:
  - target: $.components.schemas.Upload.properties
    update:
      region:
        type: string
        description: A new optional response field.
  - target: $.components.schemas.OpenAIFile.properties
    update:
      sha256:
        type: string
        description: A new optional response field on the nested File.
  - target: $.components.schemas.UploadPurpose
    update:
      enum: [assistants_v2]
  - target: $.components.schemas.Upload.properties.status
    update:
      enum: [archived]
  - target: $.components.schemas.CreateUploadRequest.properties
    update:
      checksum_algorithm:
        type: string
        description: A new optional request field.
  - target: $.paths['/uploads/{upload_id}/parts'].post.parameters
    update:
      - in: query
        name: checksum
        required: false
        schema: {type: string}
        description: A new optional query parameter.
  - target: $.components.schemas.AddUploadPartRequest.properties
    update:
      part_label:
        type: string
        description: A new optional multipart field.
  - target: $.paths
    update:
      /uploads/{upload_id}:
        get:
          operationId: retrieveUpload
          summary: A new endpoint.
          tags: [Uploads]
          parameters:
            - {in: path, name: upload_id, required: true, schema: {type: string}}
          responses:
            '200':
              description: OK
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Upload'}
"""

CARGO_TOML = """\
[package]
name = "downstream-user"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[[bin]]
name = "downstream-user"
path = "main.rs"

[dependencies]
uploads-ext = {{ path = "{ext}" }}
openai-uploads-generated = {{ path = "{generated}" }}
reqwest = {{ version = "0.13", default-features = false, features = ["multipart"] }}
serde_json = "1"
"""


def copy_workspace(dest: Path) -> Path:
    """The tracked files of the workspace (no target/, no .tools/)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    for rel in files.stdout.decode().split("\0"):
        if rel and (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


def cargo_check_downstream(workspace: Path, crate_dir: Path) -> subprocess.CompletedProcess[str]:
    crate_dir.mkdir()
    shutil.copy(DOWNSTREAM, crate_dir / "main.rs")
    shutil.copy(workspace / "Cargo.lock", crate_dir / "Cargo.lock")
    ext = (workspace / "crates" / "uploads-ext").as_posix()
    generated = (workspace / "generated").as_posix()
    (crate_dir / "Cargo.toml").write_text(CARGO_TOML.format(ext=ext, generated=generated))
    env = {**os.environ, "CARGO_TARGET_DIR": str(REPO / "target"), "CARGO_TERM_COLOR": "never"}
    return subprocess.run(
        ["cargo", "check", "--quiet", "--manifest-path", str(crate_dir / "Cargo.toml")],
        capture_output=True, text=True, env=env, timeout=900,
    )


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("additive")
    workspace = copy_workspace(root / "workspace")
    overlay = root / "additive.yaml"
    overlay.write_text(ADDITIVE_OVERLAY)
    proc = subprocess.run(
        [sys.executable, str(TOOLS), "generate", str(workspace / "generated"), "--overlay", str(overlay)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return workspace


def test_the_synthetic_change_reaches_the_regenerated_crate(regenerated: Path) -> None:
    models = regenerated / "generated" / "src" / "models"
    assert "pub region: Option<String>" in (models / "upload.rs").read_text()
    assert "pub sha256: Option<String>" in (models / "open_ai_file.rs").read_text()
    assert "pub checksum_algorithm: Option<String>" in (models / "create_upload_request.rs").read_text()
    assert '"assistants_v2" => Self::AssistantsV2' in (models / "upload_purpose.rs").read_text()
    assert '"archived" => Self::Archived' in (models / "upload.rs").read_text()
    api = (regenerated / "generated" / "src" / "apis" / "uploads_api.rs").read_text()
    part_params = api[api.index("pub struct AddUploadPartParams"):api.index("impl AddUploadPartParams")]
    assert "pub checksum: Option<String>" in part_params
    assert "pub part_label: Option<String>" in part_params
    assert "pub fn new(upload_id: String, data: reqwest::multipart::Part) -> Self" in api
    assert "pub async fn retrieve_upload(" in api
    # The crate as committed has none of it: the check below compiles against something new.
    assert "region" not in (REPO / "generated" / "src" / "models" / "upload.rs").read_text()


def test_downstream_code_compiles_against_todays_crate(tmp_path: Path) -> None:
    proc = cargo_check_downstream(REPO, tmp_path / "downstream")
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_downstream_code_compiles_after_an_additive_spec_change(regenerated: Path, tmp_path: Path) -> None:
    proc = cargo_check_downstream(regenerated, tmp_path / "downstream")
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_the_additive_change_is_classified_additive(regenerated: Path) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    from spec_tools.semver import classify, overall
    from spec_tools.yamlio import load_yaml

    before = load_yaml(str(REPO / "generated" / "openapi.yaml"))
    after = load_yaml(str(regenerated / "generated" / "openapi.yaml"))
    changes = classify(before, after)
    assert overall(changes) == "additive", "\n".join(map(str, changes))
    assert "additive: operation retrieveUpload: added (GET /uploads/{upload_id})" in map(str, changes)


def semver_checks_binary() -> str | None:
    """cargo-semver-checks: `$CARGO_SEMVER_CHECKS`, the copy .ci/run installs into .tools, or PATH."""
    for candidate in (os.environ.get("CARGO_SEMVER_CHECKS"), str(REPO / ".tools" / "bin" / "cargo-semver-checks")):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("cargo-semver-checks")


@pytest.mark.parametrize("crate", ["generated", "crates/uploads-ext"])
def test_cargo_semver_checks_finds_the_additive_change_non_breaking(regenerated: Path, crate: str) -> None:
    """The regenerated crate (and uploads-ext built on it) against the committed one as baseline:
    same version number, so any breaking change is a violation."""
    binary = semver_checks_binary()
    if binary is None:
        pytest.skip("cargo-semver-checks is not installed (.ci/run installs it into .tools/bin)")
    env = {**os.environ, "CARGO_TARGET_DIR": str(REPO / "target" / "semver-additive"), "CARGO_TERM_COLOR": "never"}
    proc = subprocess.run(
        [binary, "semver-checks", "check-release",
         "--manifest-path", str(regenerated / crate / "Cargo.toml"),
         "--baseline-root", str(REPO / crate)],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    # Warnings count too: a warn-level lint (e.g. a derived `Ord` whose variants moved) still
    # breaks someone's code, so an additive change must pass every lint.
    checked = re.search(r"Checked \[.*\] \d+ checks: (.*)", output)
    assert checked, output[-3000:]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (pass|fail|warn|skip)", checked.group(1))}
    assert counts.get("pass", 0) > 0, output[-3000:]
    assert counts.get("fail", 0) == 0 and counts.get("warn", 0) == 0, output[-6000:]
