"""Operation coverage, change classification and the patch budget, on synthetic changes to the
vendored fragment (no generator, no network)."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "scripts" / "spec_tools"
FRAGMENT = REPO / "openapi" / "uploads.yaml"
sys.path.insert(0, str(REPO / "scripts"))
from spec_tools import budget, coverage, semver  # noqa: E402
from spec_tools.extract import extract  # noqa: E402
from spec_tools.yamlio import dump_yaml, load_yaml  # noqa: E402

RETRIEVE = {
    "get": {
        "operationId": "retrieveUpload",
        "summary": "Retrieves an Upload.",
        "parameters": [{"in": "path", "name": "upload_id", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Upload"}}}}},
    }
}


@pytest.fixture()
def vendored() -> dict:
    return load_yaml(str(FRAGMENT))


def synthetic_upstream(fragment: dict) -> dict:
    """A whole upstream spec: the fragment plus endpoints and a schema it does not keep (another
    path, and a method of a Files path other than the reads the fragment keeps)."""
    upstream = copy.deepcopy(fragment)
    other = {"200": {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Other"}}}}}
    upstream["paths"]["/batches"] = {"get": {"operationId": "listBatches", "responses": other}}
    upstream["paths"]["/files"]["post"] = {"operationId": "createFile", "responses": other}
    upstream["components"]["schemas"]["Other"] = {"type": "object"}
    upstream["paths"]["/uploads/{upload_id}"] = copy.deepcopy(RETRIEVE)
    return upstream


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOLS), *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_extraction_keeps_every_uploads_path_and_only_what_it_reaches(vendored: dict) -> None:
    fragment = extract(synthetic_upstream(vendored))
    assert "/uploads/{upload_id}" in fragment["paths"]
    assert "/batches" not in fragment["paths"]
    assert list(fragment["paths"]["/files"]) == ["get"]
    assert fragment["paths"]["/files/{file_id}"]["get"]["operationId"] == "retrieveFile"
    assert "Other" not in fragment["components"]["schemas"]
    assert set(vendored["components"]["schemas"]) == set(fragment["components"]["schemas"])


def test_vendored_fragment_is_covered_by_the_known_operations(vendored: dict) -> None:
    known = coverage.read_known(REPO / "openapi" / "known-operations.txt")
    assert coverage.coverage_report(vendored, known) == []
    assert len(known) == 6
    assert {op.operation_id for op in known} >= {"listFiles", "retrieveFile"}


def test_drift_check_names_an_upstream_endpoint_the_sdk_does_not_know(vendored: dict, tmp_path: Path) -> None:
    upstream = tmp_path / "openapi.yaml"
    upstream.write_text(dump_yaml(synthetic_upstream(vendored)))
    proc = run("diff", str(FRAGMENT), str(upstream))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "operation added: retrieveUpload (GET /uploads/{upload_id})" in proc.stdout
    assert "operation not known to uploads-ext: GET /uploads/{upload_id} (retrieveUpload)" in proc.stdout
    assert "additive: operation retrieveUpload: added (GET /uploads/{upload_id})" in proc.stdout
    assert "listBatches" not in proc.stdout and "createFile" not in proc.stdout


def test_a_vendored_fragment_with_an_unknown_endpoint_fails_the_coverage_check(vendored: dict, tmp_path: Path) -> None:
    fragment = tmp_path / "uploads.yaml"
    fragment.write_text(dump_yaml(extract(synthetic_upstream(vendored))))
    proc = run("coverage", str(fragment))
    assert proc.returncode == 1
    assert "operation not known to uploads-ext: GET /uploads/{upload_id} (retrieveUpload)" in proc.stdout
    assert run("coverage", str(FRAGMENT)).returncode == 0


def test_a_known_operation_that_disappears_is_reported(vendored: dict) -> None:
    del vendored["paths"]["/uploads/{upload_id}/cancel"]
    known = coverage.read_known(REPO / "openapi" / "known-operations.txt")
    assert coverage.coverage_report(vendored, known) == [
        "operation uploads-ext knows is gone: POST /uploads/{upload_id}/cancel (cancelUpload)"]


def test_classification_of_additive_and_breaking_changes(vendored: dict) -> None:
    new = copy.deepcopy(vendored)
    schemas = new["components"]["schemas"]
    schemas["Upload"]["properties"]["region"] = {"type": "string"}
    schemas["Upload"]["properties"]["status"]["enum"].append("archived")
    schemas["Upload"]["properties"]["status"]["description"] = "reworded"
    schemas["UploadPart"]["properties"]["etag"] = {"type": "string"}
    schemas["UploadPart"]["required"].append("etag")
    new["paths"]["/uploads/{upload_id}"] = copy.deepcopy(RETRIEVE)
    changes = {str(c) for c in semver.classify(vendored, new)}
    assert "additive: schema Upload: optional field region added" in changes
    assert "additive: schema Upload: field status: enum values added" in changes
    assert "breaking: schema UploadPart: required field etag added" in changes
    assert semver.overall(semver.classify(vendored, new)) == "breaking"
    del schemas["UploadPart"]["properties"]["etag"]
    schemas["UploadPart"]["required"].remove("etag")
    assert semver.overall(semver.classify(vendored, new)) == "additive"
    doc_only = copy.deepcopy(vendored)
    doc_only["components"]["schemas"]["Upload"]["description"] = "new words"
    assert semver.overall(semver.classify(vendored, doc_only)) == "docs"
    assert semver.overall(semver.classify(vendored, vendored)) == "none"


def test_classification_of_parameters(vendored: dict) -> None:
    new = copy.deepcopy(vendored)
    params = new["paths"]["/uploads/{upload_id}/parts"]["post"].setdefault("parameters", [])
    params.append({"in": "query", "name": "checksum", "required": False, "schema": {"type": "string"}})
    assert [str(c) for c in semver.classify(vendored, new)] == [
        "additive: operation addUploadPart: optional parameter query:checksum added"]
    params[-1]["required"] = True
    assert semver.overall(semver.classify(vendored, new)) == "breaking"


def test_patch_budget_is_within_its_ceiling_and_fails_above_it(tmp_path: Path) -> None:
    measured, ceilings, over = budget.check(REPO / "openapi")
    assert over == [], over
    assert measured["template_patches"] > 0 and measured["overlay"] > 0
    fake = tmp_path / "openapi"
    (fake / "template-patches").mkdir(parents=True)
    (fake / "template-patches" / "a.patch").write_text("--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n-old\n+new\n+more\n")
    (fake / "overlay.yaml").write_text("# Why: a comment\noverlay: 1.0.0\n\nactions: []\n")
    (fake / "patch-budget.json").write_text(json.dumps({"template_patches": 2, "overlay": 2}))
    assert budget.check(fake) == ({"template_patches": 3, "overlay": 2}, {"template_patches": 2, "overlay": 2},
                                  ["template_patches: 3 lines, ceiling 2"])
    proc = run("budget", "--openapi-dir", str(fake))
    assert proc.returncode == 1 and "template_patches: 3 lines, ceiling 2" in proc.stdout


def test_manifest_takes_a_conditional_dependency_only_when_the_code_uses_it() -> None:
    from spec_tools.generate import render_manifest

    template = '[dependencies]\nserde = "1"\n#@uses serde_with: serde_with = "3"\n#@uses uuid::: uuid = "1"\n'
    assert render_manifest(template, ["use serde::Serialize;"]) == '[dependencies]\nserde = "1"\n'
    assert render_manifest(template, ["#[serde(with = \"::serde_with::rust::double_option\")]"]) == (
        '[dependencies]\nserde = "1"\nserde_with = "3"\n')
    real = (REPO / "openapi" / "generated-crate" / "Cargo.toml.in").read_text()
    assert "serde_with = " not in render_manifest(real, [p.read_text() for p in (REPO / "generated" / "src").rglob("*.rs")])
