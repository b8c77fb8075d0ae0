"""The official openai-python SDK as a peer client of the fake server.

Starts the `uploads-fake` binary (built by `scripts/test`; `$UPLOADS_FAKE_BIN` or
`target/debug/uploads-fake`), runs `client.uploads.upload_file_chunked` and the lifecycle error
cases against it, and checks statuses, error codes and the assembled bytes on disk. The
successful exchanges also pass through Prism's validating proxy (`$PRISM_BIN` or
`tools/node_modules/.bin/prism`, installed by `scripts/bootstrap`), which must report no
violation of `generated/openapi.yaml` (it checks requests and status codes; Prism 5's proxy does
not check response bodies, so every 200 body is checked against the spec's schema here). A
missing tool fails the test with a reason; nothing is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import openai
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "generated" / "openapi.yaml"
BOUND_SECS = 60
SPEC_DOC = yaml.safe_load(SPEC.read_text()) if SPEC.is_file() else {}


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


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC_DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}


def schema_errors(value, schema: dict, where: str = "$") -> list[str]:
    """What in `value` breaks the OpenAPI `schema` (the subset the Uploads spec uses)."""
    schema = resolve(schema)
    parts = [resolve(s) for s in schema.get("allOf", [])]
    if value is None:
        ok = schema.get("nullable") or any(p.get("nullable") for p in parts) or "type" not in schema and not parts
        return [] if ok else [f"{where}: null is not allowed"]
    errors = [e for p in parts for e in schema_errors(value, p, where)]
    kind = schema.get("type")
    if kind in TYPES and (not isinstance(value, TYPES[kind]) or kind != "boolean" and isinstance(value, bool)):
        return errors + [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        errors += [f"{where}: missing {r}" for r in schema.get("required", []) if r not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{where}.{key}")
    return errors


def answer_schema(method: str, path: str) -> dict:
    """The 200 schema of the operation `path` addresses (`/v1` on the fake, none on Prism)."""
    rest = path.removeprefix("/v1")
    for template, ops in SPEC_DOC["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), rest):
            return ops[method.lower()]["responses"]["200"]["content"]["application/json"]["schema"]
    raise AssertionError(f"no operation for {method} {path}")


class Fake:
    def __init__(self, proc: subprocess.Popen, base_url: str, api_key: str, storage: Path, state: Path):
        self.proc, self.base_url, self.api_key = proc, base_url, api_key
        self.storage, self.state = storage, state
        self.answers: list[tuple[str, str, int, bytes]] = []

    def client(self, base_url: str | None = None, api_key: str | None = None) -> openai.OpenAI:
        """An SDK client (no retries) that records every answer in `self.answers`."""
        def record(response):
            response.read()
            self.answers.append((response.request.method, response.request.url.path,
                                 response.status_code, response.content))

        return openai.OpenAI(
            base_url=base_url or self.base_url,
            api_key=api_key or self.api_key,
            max_retries=0,
            timeout=BOUND_SECS,
            http_client=openai.DefaultHttpxClient(event_hooks={"response": [record]}),
        )

    def answer_errors(self) -> list[str]:
        """Every 200 answer recorded so far, checked against the spec."""
        return [f"{method} {path}: {e}"
                for method, path, status, body in self.answers if status == 200
                for e in schema_errors(json.loads(body), answer_schema(method, path))]

    def snapshot(self, upload_id: str) -> dict:
        return next(u for u in json.loads(self.state.read_text()) if u["id"] == upload_id)

    def assembled(self, upload_id: str) -> bytes:
        """The completed upload's bytes, from the part files in `completed_part_ids` order."""
        snap = self.snapshot(upload_id)
        assert snap["status"] == "completed", snap
        return b"".join((self.storage / f"{p}.part").read_bytes() for p in snap["completed_part_ids"])


@contextlib.contextmanager
def running_fake(work: Path, *extra: str):
    """The binary with part files under `work`; SIGTERM at the end must exit it with 0."""
    binary = tool("UPLOADS_FAKE_BIN", REPO / "target/debug/uploads-fake",
                  "build it with `cargo build -p uploads-fake --features cli`")
    storage, state = work / "parts", work / "state.json"
    proc = subprocess.Popen(
        [str(binary), "--storage-dir", str(storage), "--state-file", str(state), *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        yield Fake(proc, info["base_url"], info["api_key"], storage, state)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=BOUND_SECS)
    assert code == 0, f"uploads-fake exited with {code} on SIGTERM"


@contextlib.contextmanager
def running_prism(upstream: str, work: Path):
    """`prism proxy --errors` in front of `upstream`; yields (base_url, log path)."""
    binary = tool("PRISM_BIN", REPO / "tools/node_modules/.bin/prism", "run scripts/bootstrap (needs Node.js)")
    assert SPEC.is_file(), f"{SPEC} is missing"
    port = free_port()
    log = work / "prism.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(binary), "proxy", str(SPEC), upstream, "--errors",
             "--port", str(port), "--host", "127.0.0.1"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for_port(port, proc, log)
        yield f"http://127.0.0.1:{port}", log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=BOUND_SECS)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    with running_fake(tmp_path_factory.mktemp("fake")) as server:
        yield server


@pytest.fixture(scope="module")
def prism(fake, tmp_path_factory):
    with running_prism(fake.base_url, tmp_path_factory.mktemp("prism")) as proxy:
        yield proxy


def violations(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "Violation" in line]


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
    assert not violations(log), "\n".join(violations(log))
    assert len([a for a in fake.answers if a[2] == 200]) >= 7
    assert not fake.answer_errors(), fake.answer_errors()


def test_an_answer_outside_the_spec_is_caught(tmp_path):
    """The checks above can fail: a 200 whose body is an error envelope instead of an Upload is
    reported by the schema check and passes the SDK's lenient parsing unnoticed."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"rules": [{"route": "create", "nth": 1, "fault": {"kind": "status", "status": 200}}]}))
    with running_fake(tmp_path, "--fault-plan", str(plan)) as bad:
        bad.client().uploads.create(bytes=1, filename="a", mime_type="text/plain", purpose="batch")
        errors = bad.answer_errors()
    assert "POST /v1/uploads: $: missing id" in errors, errors


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
