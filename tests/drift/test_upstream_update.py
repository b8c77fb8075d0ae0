"""scripts/upstream-update, the drift workflow's routine work: nothing when the fragment is the
vendored one; otherwise re-extract, regenerate and write a pull-request body citing the commit."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "upstream-update"
UPSTREAM = REPO / "openapi" / "upstream"


def copy_repo(dest: Path) -> Path:
    """The tracked files, with the repository's installed tools (.tools) linked in."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    for rel in files.stdout.decode().split("\0"):
        if rel and (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    os.symlink(REPO / ".tools", dest / ".tools")
    return dest


def update(repo: Path, snapshot: str, commit: str, body: Path) -> subprocess.CompletedProcess[str]:
    url = f"https://raw.githubusercontent.com/openai/openai-openapi/{commit}/openapi.yaml"
    return subprocess.run([str(repo / "scripts" / "upstream-update"), str(UPSTREAM / snapshot), commit, url, str(body)],
                          capture_output=True, text=True, timeout=600, cwd=repo)


def test_unchanged_upstream_does_nothing(tmp_path: Path) -> None:
    body = tmp_path / "body.md"
    watched = [REPO / "openapi" / "uploads.yaml", REPO / "openapi" / "provenance.json",
               REPO / "generated" / "src" / "models" / "upload.rs"]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in watched]
    proc = update(REPO, "openapi-2026-08-21-f85dbe2.yaml.xz", "f85dbe2", body)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing to do" in proc.stdout
    assert not body.exists()
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in watched] == before


def test_changed_upstream_is_re_extracted_regenerated_and_described(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo")
    body = tmp_path / "body.md"
    proc = update(repo, "openapi-2025-04-29-498c71d.yaml.xz", "498c71d", body)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    text = body.read_text()
    assert "openai/openai-openapi@498c71d" in text
    assert "Change class for users of `openai-uploads-generated`: breaking" in text
    assert "breaking: schema FileExpirationAfter: removed" in text
    assert "field removed: CreateUploadRequest.expires_after" in text
    assert "expires_after" not in (repo / "openapi" / "uploads.yaml").read_text()
    assert "expires_after" not in (repo / "generated" / "src" / "models" / "create_upload_request.rs").read_text()
    assert '"commit": "498c71d"' in (repo / "openapi" / "provenance.json").read_text()
