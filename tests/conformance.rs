//! Conformance of the real client against the effective spec (`generated/openapi.yaml`), checked
//! by Prism: a mock server that validates every request against the spec and, with `--errors`,
//! answers a violation with a 4xx instead of an example. A request that passes validation gets a
//! 200 with a body generated from the response schema, which the client must also decode.
//!
//! Prism comes from `scripts/bootstrap` (`tools/node_modules/.bin/prism`, or `$PRISM_BIN`). If it
//! is missing this test fails: it is part of the suite, not optional.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use uploads_ext::ByteStream;
use uploads_ext::{Client, ErrorKind, PartBody, Purpose, UploadStatus};

/// Readiness polling: at most this many connection attempts...
const READY_ATTEMPTS: u32 = 240;
/// ...this far apart (about 60 s in all).
const READY_INTERVAL: Duration = Duration::from_millis(250);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

fn prism_bin() -> PathBuf {
    let from_env = std::env::var_os("PRISM_BIN").map(PathBuf::from);
    if let Some(bin) = from_env.as_ref().filter(|b| b.is_file()) {
        return bin.clone();
    }
    let fallback = workspace_root().join("tools/node_modules/.bin/prism");
    if fallback.is_file() {
        return fallback;
    }
    panic!(
        "Prism is not installed (PRISM_BIN={from_env:?}, and {} does not exist): run \
         scripts/bootstrap (it runs `npm ci` in tools/; needs Node.js and npm)",
        fallback.display()
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `prism mock --errors`, killed on drop.
struct Prism {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Prism {
    /// `prism mock <spec> --port P --host 127.0.0.1 --errors`, plus `extra` arguments.
    async fn start(extra: &[&str]) -> Prism {
        // The free port can be taken between probing and Prism binding it: try a few ports.
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Prism::try_start(extra).await {
                Ok(prism) => return prism,
                Err(why) => last_failure = why,
            }
        }
        panic!("Prism did not start: {last_failure}");
    }

    async fn try_start(extra: &[&str]) -> Result<Prism, String> {
        let bin = prism_bin();
        let spec = workspace_root().join("generated/openapi.yaml");
        assert!(spec.is_file(), "{} is missing", spec.display());
        let port = free_port();
        let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prism-{port}.log"));
        let out = std::fs::File::create(&log).expect("create the Prism log");
        let err = out.try_clone().expect("clone the log handle");
        let child = Command::new(&bin)
            .arg("mock")
            .arg(&spec)
            .args([
                "--port",
                &port.to_string(),
                "--host",
                "127.0.0.1",
                "--errors",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); run scripts/bootstrap (needs Node.js)",
                    bin.display()
                )
            });
        let mut prism = Prism {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        for _ in 0..READY_ATTEMPTS {
            if let Some(status) = prism.child.try_wait().expect("poll Prism") {
                return Err(format!("Prism exited with {status}:\n{}", prism.log_text()));
            }
            if tokio::net::TcpStream::connect(prism.addr).await.is_ok() {
                return Ok(prism);
            }
            tokio::time::sleep(READY_INTERVAL).await;
        }
        Err(format!(
            "Prism did not listen on {} within {:?}:\n{}",
            prism.addr,
            READY_INTERVAL * READY_ATTEMPTS,
            prism.log_text()
        ))
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn client(&self) -> Client {
        Client::builder()
            .ignore_env()
            .api_key("sk-conformance")
            .base_url(self.url())
            .organization("org-conformance")
            .project("proj-conformance")
            .max_retries(0)
            .build()
            .expect("client builds")
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            // Keep the log of a failed test for inspection; drop the others.
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Unwraps a client result, showing Prism's log (which names the violated rule) on failure.
macro_rules! conforms {
    ($prism:expr, $what:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(err) => panic!(
                "{} was not accepted by the spec: {err}\n--- Prism log ---\n{}",
                $what,
                $prism.log_text()
            ),
        }
    };
}

#[tokio::test]
async fn every_client_operation_conforms_to_the_spec() {
    let prism = Prism::start(&[]).await;
    let client = prism.client();

    // createUpload, without expires_after, with a size beyond i32, for every request purpose.
    for purpose in [
        Purpose::Assistants,
        Purpose::Batch,
        Purpose::FineTune,
        Purpose::Vision,
        Purpose::UserData,
        Purpose::Evals,
    ] {
        let upload = conforms!(
            prism,
            format!("create_upload (purpose {purpose})"),
            client
                .create_upload()
                .filename("training.jsonl")
                .purpose(purpose.clone())
                .bytes(8 * 1024 * 1024 * 1024)
                .mime_type("text/jsonl")
                .await
        );
        // The body is Prism's example generated from the Upload schema: it decodes.
        assert!(
            !matches!(upload.status, UploadStatus::Unrecognized(_)),
            "{upload:?}"
        );
    }

    // createUpload with expires_after at both bounds.
    for secs in [3600, 2_592_000] {
        conforms!(
            prism,
            format!("create_upload (expires_after {secs} s)"),
            client
                .create_upload()
                .filename("img.png")
                .purpose(Purpose::Vision)
                .bytes(1)
                .mime_type("image/png")
                .expires_after(Duration::from_secs(secs))
                .await
        );
    }

    // addUploadPart from each source, with a file name and a content type.
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-part.bin");
    std::fs::write(&path, b"0123456789abcdef").unwrap();
    let parts = [
        (
            "bytes",
            PartBody::bytes(&b"{\"prompt\": \"hi\"}\n"[..])
                .file_name("training.jsonl")
                .content_type("application/jsonl"),
        ),
        ("default name and type", PartBody::bytes("hello")),
        (
            "file range",
            PartBody::file_range(&path, 4..12).file_name("conformance-part.bin"),
        ),
        (
            "stream",
            PartBody::stream(11, || -> ByteStream {
                Box::pin(futures_util::stream::iter(["hello", " world"].map(|s| {
                    Ok::<_, std::io::Error>(Bytes::from_static(s.as_bytes()))
                })))
            })
            .content_type("text/plain"),
        ),
    ];
    for (what, body) in parts {
        let part = conforms!(
            prism,
            format!("add_upload_part ({what})"),
            client.add_upload_part("upload_abc123", body).await
        );
        assert!(!part.id.is_empty(), "{part:?}");
    }

    // completeUpload with and without md5.
    conforms!(
        prism,
        "complete_upload without md5",
        client
            .complete_upload("upload_abc123")
            .part_ids(["part_a", "part_b"])
            .await
    );
    conforms!(
        prism,
        "complete_upload with md5",
        client
            .complete_upload("upload_abc123")
            .part_ids(["part_a"])
            .md5("5eb63bbbe01eeed093cb22bb8f5acdc3")
            .await
    );

    // cancelUpload.
    conforms!(
        prism,
        "cancel_upload",
        client.cancel_upload("upload_abc123").await
    );

    // listFiles (every query parameter) and retrieveFile: the Files reads settling uses.
    let page = conforms!(
        prism,
        "list_files",
        client
            .list_files()
            .purpose("batch")
            .limit(100)
            .oldest_first()
            .after("file-abc123")
            .await
    );
    assert!(page.data.iter().all(|f| !f.id.is_empty()), "{page:?}");
    conforms!(
        prism,
        "list_files (no parameters)",
        client.list_files().await
    );
    conforms!(
        prism,
        "retrieve_file",
        client.retrieve_file("file-abc123").await
    );

    // The client surfaces Prism's validation error as an Unprocessable error: a purpose the spec
    // does not list is sent verbatim (open enum) and rejected by the validating mock.
    let err = client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::from("not_a_purpose".to_owned()))
        .bytes(1)
        .mime_type("text/jsonl")
        .await
        .expect_err("an unlisted purpose violates the spec's enum");
    assert_eq!(err.kind(), ErrorKind::Unprocessable, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(422));
    let snippet = err
        .body_snippet()
        .expect("problem+json is kept as a snippet");
    assert!(snippet.contains("purpose"), "{snippet}");
}

/// Sends a raw request and returns (status, content type, decoded JSON body).
async fn raw(request: reqwest::RequestBuilder) -> (u16, String, Value) {
    let response = request.send().await.expect("Prism answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("HTTP {status} body is not JSON ({e}): {text}"));
    (status, content_type, body)
}

#[tokio::test]
async fn prism_rejects_requests_that_violate_the_spec() {
    let prism = Prism::start(&[]).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", prism.url());
    let post = |path: &str| {
        http.post(url(path))
            .bearer_auth("sk-conformance")
            .header("user-agent", "conformance-test")
    };
    let valid_create = json!({
        "filename": "a.jsonl", "purpose": "fine-tune", "bytes": 12, "mime_type": "text/jsonl"
    });
    let with = |key: &str, value: Value| {
        let mut body = valid_create.clone();
        body[key] = value;
        body
    };
    let data_part = || {
        reqwest::multipart::Part::bytes(b"hello".to_vec())
            .file_name("part")
            .mime_str("application/octet-stream")
            .unwrap()
    };

    // Controls: the same raw requests, valid, are accepted (so a rejection below is about the
    // violation, not about the harness).
    let (status, _, body) = raw(post("/uploads").json(&valid_create)).await;
    assert_eq!(status, 200, "valid create: {body}");
    let (status, _, body) = raw(post("/uploads/upload_abc123/parts")
        .multipart(reqwest::multipart::Form::new().part("data", data_part())))
    .await;
    assert_eq!(status, 200, "valid part: {body}");

    let mut without_mime = valid_create.clone();
    without_mime.as_object_mut().unwrap().remove("mime_type");
    let invalid: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "create with an extra field",
            post("/uploads").json(&with("extra", json!(1))),
        ),
        (
            "create with bytes null",
            post("/uploads").json(&with("bytes", Value::Null)),
        ),
        (
            "create with bytes as a string",
            post("/uploads").json(&with("bytes", json!("12"))),
        ),
        (
            "create without mime_type",
            post("/uploads").json(&without_mime),
        ),
        (
            "create with expires_after null",
            post("/uploads").json(&with("expires_after", Value::Null)),
        ),
        (
            "create with expires_after under 1 hour",
            post("/uploads").json(&with(
                "expires_after",
                json!({"anchor": "created_at", "seconds": 60}),
            )),
        ),
        (
            "create with an unlisted purpose",
            post("/uploads").json(&with("purpose", json!("not_a_purpose"))),
        ),
        (
            "complete with md5 null",
            post("/uploads/upload_abc123/complete")
                .json(&json!({"part_ids": ["part_a"], "md5": null})),
        ),
        (
            "complete without part_ids",
            post("/uploads/upload_abc123/complete").json(&json!({"md5": "abc"})),
        ),
        (
            "part without a data field",
            post("/uploads/upload_abc123/parts")
                .multipart(reqwest::multipart::Form::new().part("file", data_part())),
        ),
    ];
    for (what, request) in invalid {
        let (status, content_type, body) = raw(request).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert!(
            content_type.starts_with("application/problem+json"),
            "{what}: {content_type}"
        );
        assert_eq!(body["status"], 422, "{what}: {body}");
        let violations = body["validation"].as_array().cloned().unwrap_or_default();
        assert!(
            !violations.is_empty(),
            "{what}: Prism names the violation: {body}"
        );
    }

    // The security scheme is validated too: no bearer token, 401.
    let (status, _, body) = raw(http.post(url("/uploads")).json(&valid_create)).await;
    assert_eq!(status, 401, "missing Authorization: {body}");
    // And an unknown path is not silently accepted.
    let (status, _, body) = raw(post("/uploads/upload_abc123/unknown").json(&json!({}))).await;
    assert!(
        (400..500).contains(&status),
        "unknown path: HTTP {status} {body}"
    );
}

/// The properties each response schema declares (`generated/openapi.yaml`).
const UPLOAD_PROPERTIES: &[&str] = &[
    "id",
    "created_at",
    "filename",
    "bytes",
    "purpose",
    "status",
    "expires_at",
    "object",
    "file",
];
const FILE_PROPERTIES: &[&str] = &[
    "id",
    "bytes",
    "created_at",
    "expires_at",
    "filename",
    "object",
    "purpose",
    "status",
    "status_details",
];
const PART_PROPERTIES: &[&str] = &["id", "created_at", "upload_id", "object"];

/// A response (and its nested `file`) without the declared properties that are null: what a
/// lossless decode must give back. Undeclared extra members (Prism's faker adds some, as a newer
/// API could) are kept, in each model's `extra` map, and re-encoded as they came.
fn declared(value: &Value, properties: &[&str]) -> Value {
    let object = value.as_object().expect("a JSON object");
    Value::Object(
        object
            .iter()
            .filter(|(k, v)| !(properties.contains(&k.as_str()) && v.is_null()))
            .map(|(k, v)| {
                let v = if k == "file" {
                    declared(v, FILE_PROPERTIES)
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// With `--dynamic` (and a fixed seed, so every call answers the same), Prism fills the response
/// schemas with arbitrary values, nested File object and undeclared extra members included. The
/// client must decode every such response, and what it decodes must be exactly what Prism sent.
#[tokio::test]
async fn the_client_decodes_schema_generated_responses_losslessly() {
    let prism = Prism::start(&["--dynamic", "--seed", "20260821"]).await;
    let client = prism.client();
    let http = reqwest::Client::new();
    let post = |path: &str| {
        http.post(format!("{}{path}", prism.url()))
            .bearer_auth("sk-conformance")
    };
    let sent = |request: reqwest::RequestBuilder| async move {
        let (status, _, value) = raw(request).await;
        assert_eq!(status, 200, "{value}");
        value
    };

    let created = conforms!(
        prism,
        "create_upload (dynamic)",
        client
            .create_upload()
            .filename("a.jsonl")
            .purpose(Purpose::FineTune)
            .bytes(12)
            .mime_type("text/jsonl")
            .await
    );
    let original = sent(post("/uploads").json(&json!({
        "filename": "a.jsonl", "purpose": "fine-tune", "bytes": 12, "mime_type": "text/jsonl"
    })))
    .await;
    assert_eq!(
        serde_json::to_value(&created).unwrap(),
        declared(&original, UPLOAD_PROPERTIES),
        "Prism sent {original}"
    );

    let completed = conforms!(
        prism,
        "complete_upload (dynamic)",
        client
            .complete_upload("upload_abc123")
            .part_ids(["part_a"])
            .await
    );
    let original =
        sent(post("/uploads/upload_abc123/complete").json(&json!({"part_ids": ["part_a"]}))).await;
    assert_eq!(
        serde_json::to_value(&completed).unwrap(),
        declared(&original, UPLOAD_PROPERTIES),
        "Prism sent {original}"
    );

    let cancelled = conforms!(
        prism,
        "cancel_upload (dynamic)",
        client.cancel_upload("upload_abc123").await
    );
    let original = sent(post("/uploads/upload_abc123/cancel")).await;
    assert_eq!(
        serde_json::to_value(&cancelled).unwrap(),
        declared(&original, UPLOAD_PROPERTIES),
        "Prism sent {original}"
    );

    let part = conforms!(
        prism,
        "add_upload_part (dynamic)",
        client
            .add_upload_part("upload_abc123", PartBody::bytes("hello"))
            .await
    );
    let original = sent(
        post("/uploads/upload_abc123/parts").multipart(
            reqwest::multipart::Form::new().part(
                "data",
                reqwest::multipart::Part::bytes(b"hello".to_vec())
                    .file_name("part")
                    .mime_str("application/octet-stream")
                    .unwrap(),
            ),
        ),
    )
    .await;
    assert_eq!(
        serde_json::to_value(&part).unwrap(),
        declared(&original, PART_PROPERTIES),
        "Prism sent {original}"
    );
}
