"""The official openai-python SDK as a peer client of the fake server.

Starts the `uploads-fake` binary (built by `scripts/test`; `$UPLOADS_FAKE_BIN` or
`target/debug/uploads-fake`), runs `client.uploads.upload_file_chunked` and the lifecycle error
cases against it, and checks statuses, error codes and the assembled bytes on disk. The
successful answers also pass through Prism's validating proxy (`$PRISM_BIN` or
`tools/node_modules/.bin/prism`, installed by `scripts/bootstrap`), which must report no
violation of `generated/openapi.yaml`. A missing tool fails the test with a reason; nothing is
skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "generated" / "openapi.yaml"
BOUND_SECS = 60


def tool(env: str, default: Path, hint: str) -> Path:
    path = Path(os.environ.get(env) or default)
    if not path.is_file():
        pytest.fail(f"{path} is missing ({hint}); set ${env} to override", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + BOUND_SECS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode}:\n{log.read_text()}", pytrace=False)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)  # polling a port another process opens: no event to wait on
    pytest.fail(f"port {port} not open after {BOUND_SECS}s:\n{log.read_text()}", pytrace=False)


class Fake:
    def __init__(self, proc: subprocess.Popen, base_url: str, api_key: str, storage: Path, state: Path):
        self.proc, self.base_url, self.api_key = proc, base_url, api_key
        self.storage, self.state = storage, state

    def client(self, base_url: str | None = None, api_key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=base_url or self.base_url,
            api_key=api_key or self.api_key,
            max_retries=0,
            timeout=BOUND_SECS,
        )

    def snapshot(self, upload_id: str) -> dict:
        return next(u for u in json.loads(self.state.read_text()) if u["id"] == upload_id)

    def assembled(self, upload_id: str) -> bytes:
        """The completed upload's bytes, from the part files in `completed_part_ids` order."""
        snap = self.snapshot(upload_id)
        assert snap["status"] == "completed", snap
        return b"".join((self.storage / f"{p}.part").read_bytes() for p in snap["completed_part_ids"])


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    binary = tool("UPLOADS_FAKE_BIN", REPO / "target/debug/uploads-fake",
                  "build it with `cargo build -p uploads-fake --features cli`")
    work = tmp_path_factory.mktemp("fake")
    storage, state = work / "parts", work / "state.json"
    proc = subprocess.Popen(
        [str(binary), "--storage-dir", str(storage), "--state-file", str(state)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        yield Fake(proc, info["base_url"], info["api_key"], storage, state)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=BOUND_SECS)
    assert code == 0, f"uploads-fake exited with {code} on SIGTERM"


@pytest.fixture(scope="module")
def prism(fake, tmp_path_factory):
    """`prism proxy` in front of the fake; yields (base_url, log path)."""
    binary = tool("PRISM_BIN", REPO / "tools/node_modules/.bin/prism", "run scripts/bootstrap (needs Node.js)")
    assert SPEC.is_file(), f"{SPEC} is missing"
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(binary), "proxy", str(SPEC), fake.base_url, "--errors",
             "--port", str(port), "--host", "127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for_port(port, proc, log)
        yield f"http://127.0.0.1:{port}", log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=BOUND_SECS)


def payload(size: int, seed: int) -> bytes:
    return bytes((i * 31 + seed) % 256 for i in range(size))


def api_error(excinfo) -> dict:
    body = excinfo.value.body
    assert isinstance(body, dict), body
    # openai-python hands over the envelope's inner object.
    return body.get("error", body)


def jsonl(size: int) -> bytes:
    """ASCII training lines of about `size` bytes."""
    lines, total, i = [], 0, 0
    while total < size:
        line = json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                        {"role": "assistant", "content": f"answer {i * 7}"}]}) + "\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines).encode()


def chunked_upload(fake: Fake, client: openai.OpenAI, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    upload = client.uploads.upload_file_chunked(
        file=path, mime_type="application/jsonl", purpose="fine-tune", part_size=1 << 20,
        md5=hashlib.md5(data).hexdigest(),
    )
    assert upload.status == "completed"
    assert upload.bytes == len(data) and upload.filename == path.name
    assert upload.file is not None and upload.file.bytes == len(data)
    assert fake.assembled(upload.id) == data
    snap = fake.snapshot(upload.id)
    assert len(snap["completed_part_ids"]) == -(-len(data) // (1 << 20))
    assert snap["content_sha256"] == hashlib.sha256(data).hexdigest()


def test_upload_file_chunked_keeps_every_byte(fake, tmp_path):
    chunked_upload(fake, fake.client(), tmp_path / "blob.bin", payload(2_500_000, 1))


def test_answers_pass_the_validating_proxy(fake, prism, tmp_path):
    proxy_url, log = prism
    client = fake.client(base_url=proxy_url)
    # Text: Prism re-encodes multipart bodies as UTF-8, which would mangle binary parts.
    chunked_upload(fake, client, tmp_path / "train.jsonl", jsonl(2_500_000))

    # Cancel, the last kind of successful answer, through the proxy as well.
    other = client.uploads.create(bytes=1, filename="x.txt", mime_type="text/plain", purpose="batch")
    assert client.uploads.cancel(other.id).status == "cancelled"

    text = log.read_text()
    assert text.count("Forwarding") >= 7, text
    violations = [line for line in text.splitlines() if "Violation" in line]
    assert not violations, "\n".join(violations)


def test_lifecycle_errors(fake):
    client = fake.client()
    up = client.uploads.create(bytes=6, filename="a.txt", mime_type="text/plain", purpose="batch")
    assert up.status == "pending" and up.expires_at - up.created_at == 3600
    part = client.uploads.parts.create(upload_id=up.id, data=b"abc")
    part2 = client.uploads.parts.create(upload_id=up.id, data=b"def")
    assert part.upload_id == up.id and part.object == "upload.part"

    # Byte mismatch: the listed parts hold 3 bytes, not 6.
    with pytest.raises(openai.BadRequestError) as e:
        client.uploads.complete(up.id, part_ids=[part.id])
    assert e.value.status_code == 400 and api_error(e)["param"] == "part_ids"

    # md5 mismatch.
    with pytest.raises(openai.BadRequestError) as e:
        client.uploads.complete(up.id, part_ids=[part.id, part2.id], md5="0" * 32)
    assert api_error(e)["param"] == "md5"
    assert fake.snapshot(up.id)["status"] == "pending"

    done = client.uploads.complete(up.id, part_ids=[part2.id, part.id], md5=hashlib.md5(b"defabc").hexdigest())
    assert done.status == "completed" and done.file.bytes == 6
    assert fake.assembled(up.id) == b"defabc"

    # Complete twice, cancel after complete, part after complete.
    with pytest.raises(openai.BadRequestError) as e:
        client.uploads.complete(up.id, part_ids=[part2.id, part.id])
    assert "completed" in api_error(e)["message"]
    with pytest.raises(openai.BadRequestError) as e:
        client.uploads.cancel(up.id)
    assert "completed" in api_error(e)["message"]
    with pytest.raises(openai.BadRequestError) as e:
        client.uploads.parts.create(upload_id=up.id, data=b"x")
    assert "completed" in api_error(e)["message"]
    assert fake.assembled(up.id) == b"defabc", "nothing changed after completion"

    # Unknown id, on every route that takes one.
    for call in (
        lambda: client.uploads.parts.create(upload_id="upload_nope", data=b"x"),
        lambda: client.uploads.complete("upload_nope", part_ids=["part_x"]),
        lambda: client.uploads.cancel("upload_nope"),
    ):
        with pytest.raises(openai.NotFoundError) as e:
            call()
        assert e.value.status_code == 404 and "upload_nope" in api_error(e)["message"]

    # 9 GiB is over the 8 GiB limit; an unknown purpose is refused.
    with pytest.raises(openai.BadRequestError) as e:
        client.uploads.create(bytes=9 << 30, filename="big.jsonl", mime_type="application/jsonl",
                              purpose="fine-tune")
    err = api_error(e)
    assert (err["param"], err["code"]) == ("bytes", "invalid_value")
    with pytest.raises(openai.BadRequestError) as e:
        client.uploads.create(bytes=1, filename="a", mime_type="text/plain", purpose="nonsense")
    err = api_error(e)
    assert (err["param"], err["code"]) == ("purpose", "invalid_value")

    # A wrong key: 401, and the key is not echoed back.
    wrong = "sk-wrong-key-0123456789"
    with pytest.raises(openai.AuthenticationError) as e:
        fake.client(api_key=wrong).uploads.create(bytes=1, filename="a", mime_type="text/plain",
                                                   purpose="batch")
    err = api_error(e)
    assert e.value.status_code == 401 and err["code"] == "invalid_api_key"
    assert wrong not in err["message"]
