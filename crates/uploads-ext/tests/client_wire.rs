//! The client's wire format, byte for byte, against a real HTTP server on loopback (mockito):
//! methods, paths, headers, exact JSON bodies, the multipart body of a part, and the input checks
//! that must reject a request before anything is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use mockito::{Matcher, Mock, ServerGuard};
use serde_json::json;
use uploads_ext::limits::MAX_PART_BYTES;
use uploads_ext::ByteStream;
use uploads_ext::{Client, ErrorKind, PartBody, Purpose, UploadStatus};

const KEY: &str = "sk-test-wire";

fn client(server: &ServerGuard) -> Client {
    Client::builder()
        .ignore_env()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.url()))
        .max_retries(0)
        .build()
        .expect("client builds")
}

fn upload_json(id: &str, status: &str) -> String {
    json!({
        "id": id,
        "object": "upload",
        "bytes": 2147483648u64,
        "created_at": 1719184911,
        "filename": "train.jsonl",
        "purpose": "fine-tune",
        "status": status,
        "expires_at": 1719188511
    })
    .to_string()
}

fn part_json(id: &str, upload_id: &str) -> String {
    json!({"id": id, "object": "upload.part", "created_at": 1719185911, "upload_id": upload_id})
        .to_string()
}

/// The headers every request must carry, with organization and project absent.
fn common_headers(mock: Mock) -> Mock {
    mock.match_header("authorization", format!("Bearer {KEY}").as_str())
        .match_header(
            "user-agent",
            Matcher::Regex(r"^uploads-ext/\d+\.\d+\.\d+ \(openai-uploads; rust\)$".into()),
        )
        .match_header("openai-organization", Matcher::Missing)
        .match_header("openai-project", Matcher::Missing)
}

// ---------------------------------------------------------------------------------------------
// multipart parsing (a strict, minimal RFC 7578 reader for the test)

#[derive(Debug, Clone, PartialEq)]
struct FormPart {
    name: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn disposition_param(value: &str, param: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == param).then(|| v.trim_matches('"').to_owned())
    })
}

fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Vec<FormPart>, String> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .ok_or_else(|| format!("not multipart/form-data: {content_type:?}"))?
        .trim_matches('"');
    let open = format!("--{boundary}\r\n");
    let delim = format!("\r\n--{boundary}");
    if !body.starts_with(open.as_bytes()) {
        return Err("body does not start with the boundary".into());
    }
    let mut pos = open.len();
    let mut parts = Vec::new();
    loop {
        let head_end = find(body, b"\r\n\r\n", pos).ok_or("part without header end")?;
        let head = std::str::from_utf8(&body[pos..head_end]).map_err(|e| e.to_string())?;
        let mut part = FormPart {
            name: None,
            filename: None,
            content_type: None,
            body: Vec::new(),
        };
        for line in head.split("\r\n") {
            let (name, value) = line.split_once(':').ok_or("bad part header")?;
            match name.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    if !value.trim().starts_with("form-data") {
                        return Err(format!("not form-data: {value}"));
                    }
                    part.name = disposition_param(value, "name");
                    part.filename = disposition_param(value, "filename");
                }
                "content-type" => part.content_type = Some(value.trim().to_owned()),
                other => return Err(format!("unexpected part header {other}")),
            }
        }
        let start = head_end + 4;
        let end = find(body, delim.as_bytes(), start).ok_or("part without closing boundary")?;
        part.body = body[start..end].to_vec();
        parts.push(part);
        let after = end + delim.len();
        match body.get(after..after + 2) {
            Some(b"--") => {
                let rest = &body[after + 2..];
                if rest.is_empty() || rest == b"\r\n" {
                    return Ok(parts);
                }
                return Err("trailing bytes after the closing boundary".into());
            }
            Some(b"\r\n") => pos = after + 2,
            _ => return Err("malformed boundary line".into()),
        }
    }
}

/// A mock of `POST {path}` that matches only a multipart body made of exactly one `data` field
/// with the given file name, content type and bytes. The last body seen is kept for messages.
async fn expect_part(
    server: &mut ServerGuard,
    path: &str,
    file_name: &'static str,
    content_type: &'static str,
    expected: &'static [u8],
) -> (Mock, Arc<Mutex<Option<String>>>) {
    let seen = Arc::new(Mutex::new(None));
    let seen_in = seen.clone();
    let mock = common_headers(server.mock("POST", path))
        .match_header(
            "content-type",
            Matcher::Regex("^multipart/form-data; boundary=".into()),
        )
        .match_request(move |req| {
            let ct = req
                .header("content-type")
                .first()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let Ok(body) = req.body() else { return false };
            let parsed = parse_multipart(&ct, body);
            *seen_in.lock().unwrap() = Some(format!("{parsed:?}"));
            parsed.is_ok_and(|parts| {
                parts
                    == vec![FormPart {
                        name: Some("data".into()),
                        filename: Some(file_name.into()),
                        content_type: Some(content_type.into()),
                        body: expected.to_vec(),
                    }]
            })
        })
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(part_json("part_1", "upload_abc"))
        .expect(1)
        .create_async()
        .await;
    (mock, seen)
}

// ---------------------------------------------------------------------------------------------
// JSON operations

#[tokio::test]
async fn create_upload_sends_exact_json_without_expires_after() {
    let mut server = mockito::Server::new_async().await;
    let mock = common_headers(server.mock("POST", "/v1/uploads"))
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({
            "filename": "train.jsonl",
            "purpose": "fine-tune",
            "bytes": 2147483648u64,
            "mime_type": "text/jsonl"
        })))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_header("x-request-id", "req_create")
        .with_body(upload_json("upload_abc", "pending"))
        .expect(1)
        .create_async()
        .await;

    let upload = client(&server)
        .create_upload()
        .filename("train.jsonl")
        .purpose(Purpose::FineTune)
        .bytes(2_147_483_648)
        .mime_type("text/jsonl")
        .send()
        .await
        .expect("create succeeds");
    mock.assert_async().await;
    assert_eq!(upload.id, "upload_abc");
    assert_eq!(upload.status, UploadStatus::Pending);
    assert_eq!(upload.bytes, 2_147_483_648, "bytes above i32::MAX decode");
}

#[tokio::test]
async fn create_upload_with_expires_after_sends_anchor_and_seconds() {
    let mut server = mockito::Server::new_async().await;
    let mock = common_headers(server.mock("POST", "/v1/uploads"))
        .match_body(Matcher::JsonString(
            r#"{"filename":"img.png","purpose":"vision","bytes":1,"mime_type":"image/png",
                "expires_after":{"anchor":"created_at","seconds":7200}}"#
                .into(),
        ))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(upload_json("upload_exp", "pending"))
        .expect(1)
        .create_async()
        .await;

    // Awaiting the builder directly (IntoFuture) is the same as `send`.
    let upload = client(&server)
        .create_upload()
        .filename("img.png")
        .purpose(Purpose::Vision)
        .bytes(1)
        .mime_type("image/png")
        .expires_after(Duration::from_secs(7200))
        .await
        .expect("create succeeds");
    mock.assert_async().await;
    assert_eq!(upload.id, "upload_exp");
}

#[tokio::test]
async fn create_upload_sends_bounds_of_expires_after_and_unlisted_purposes_verbatim() {
    let mut server = mockito::Server::new_async().await;
    let low = common_headers(server.mock("POST", "/v1/uploads"))
        .match_body(Matcher::Json(json!({
            "filename": "a.jsonl", "purpose": "batch", "bytes": 8589934592u64,
            "mime_type": "application/jsonl",
            "expires_after": {"anchor": "created_at", "seconds": 3600}
        })))
        .with_header("content-type", "application/json")
        .with_body(upload_json("upload_low", "pending"))
        .expect(1)
        .create_async()
        .await;
    let high = common_headers(server.mock("POST", "/v1/uploads"))
        .match_body(Matcher::Json(json!({
            "filename": "a.jsonl", "purpose": "something_new", "bytes": 1,
            "mime_type": "application/jsonl",
            "expires_after": {"anchor": "created_at", "seconds": 2592000}
        })))
        .with_header("content-type", "application/json")
        .with_body(upload_json("upload_high", "pending"))
        .expect(1)
        .create_async()
        .await;
    let client = client(&server);
    let a = client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::Batch)
        .bytes(8 * 1024 * 1024 * 1024)
        .mime_type("application/jsonl")
        .expires_after(Duration::from_secs(3600))
        .await
        .expect("1 hour and exactly 8 GiB are accepted");
    let b = client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::from("something_new".to_owned()))
        .bytes(1)
        .mime_type("application/jsonl")
        .expires_after(Duration::from_secs(30 * 24 * 3600))
        .await
        .expect("30 days is accepted");
    low.assert_async().await;
    high.assert_async().await;
    assert_eq!(
        (a.id.as_str(), b.id.as_str()),
        ("upload_low", "upload_high")
    );
}

#[tokio::test]
async fn complete_upload_sends_part_ids_in_order_and_md5_only_when_set() {
    let mut server = mockito::Server::new_async().await;
    let without = common_headers(server.mock("POST", "/v1/uploads/upload_abc/complete"))
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"part_ids": ["part_b", "part_a"]})))
        .with_header("content-type", "application/json")
        .with_body(upload_json("upload_abc", "completed"))
        .expect(1)
        .create_async()
        .await;
    let with = common_headers(server.mock("POST", "/v1/uploads/upload_md5/complete"))
        .match_body(Matcher::Json(json!({
            "part_ids": ["part_1"],
            "md5": "5eb63bbbe01eeed093cb22bb8f5acdc3"
        })))
        .with_header("content-type", "application/json")
        .with_body(
            json!({
                "id": "upload_md5", "object": "upload", "bytes": 11, "created_at": 1,
                "filename": "f.txt", "purpose": "assistants", "status": "completed",
                "expires_at": 2,
                "file": {"id": "file-xyz", "object": "file", "bytes": 11, "created_at": 3,
                         "filename": "f.txt", "purpose": "assistants"}
            })
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;

    let client = client(&server);
    let done = client
        .complete_upload("upload_abc")
        .part_ids(["part_b", "part_a"])
        .send()
        .await
        .expect("complete succeeds");
    assert_eq!(done.status, UploadStatus::Completed);
    let done = client
        .complete_upload("upload_md5")
        .part_ids(vec!["part_1".to_owned()])
        .md5("5eb63bbbe01eeed093cb22bb8f5acdc3")
        .await
        .expect("complete with md5 succeeds");
    without.assert_async().await;
    with.assert_async().await;
    assert_eq!(done.file.expect("file present").id, "file-xyz");
}

#[tokio::test]
async fn cancel_upload_posts_without_a_body() {
    let mut server = mockito::Server::new_async().await;
    let mock = common_headers(server.mock("POST", "/v1/uploads/upload_abc/cancel"))
        .match_body(Matcher::Exact(String::new()))
        .with_header("content-type", "application/json")
        .with_body(upload_json("upload_abc", "cancelled"))
        .expect(1)
        .create_async()
        .await;
    let upload = client(&server)
        .cancel_upload("upload_abc")
        .await
        .expect("cancel succeeds");
    mock.assert_async().await;
    assert_eq!(upload.status, UploadStatus::Cancelled);
}

#[tokio::test]
async fn organization_and_project_headers_are_sent_when_set() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/v1/uploads/upload_abc/cancel")
        .match_header("authorization", "Bearer sk-other")
        .match_header("openai-organization", "org-123")
        .match_header("openai-project", "proj_456")
        .match_header("user-agent", "my-app/1.0")
        .with_header("content-type", "application/json")
        .with_body(upload_json("upload_abc", "cancelled"))
        .expect(1)
        .create_async()
        .await;
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-other")
        .base_url(format!("{}/v1/", server.url())) // a trailing slash is tolerated
        .organization("org-123")
        .project("proj_456")
        .user_agent("my-app/1.0")
        .max_retries(0)
        .build()
        .unwrap();
    assert_eq!(client.base_url(), format!("{}/v1", server.url()));
    client.cancel_upload("upload_abc").await.expect("cancel");
    mock.assert_async().await;
}

#[tokio::test]
async fn upload_ids_are_percent_encoded_in_paths() {
    let mut server = mockito::Server::new_async().await;
    let mock = common_headers(server.mock("POST", "/v1/uploads/a%2F..%2Fb/cancel"))
        .with_header("content-type", "application/json")
        .with_body(upload_json("a/../b", "cancelled"))
        .expect(1)
        .create_async()
        .await;
    client(&server)
        .cancel_upload("a/../b")
        .await
        .expect("cancel with an id that needs encoding");
    mock.assert_async().await;
}

// ---------------------------------------------------------------------------------------------
// parts

#[tokio::test]
async fn part_from_bytes_is_one_data_field_with_name_type_and_exact_bytes() {
    let mut server = mockito::Server::new_async().await;
    // Every byte value, CR LF and a fake boundary inside the payload.
    static PAYLOAD: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        let mut v: Vec<u8> = (0..=255u8).collect();
        v.extend_from_slice(b"\r\n--not-the-boundary\r\n\r\n");
        v
    });
    let payload: &'static [u8] = &PAYLOAD;
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "train.jsonl.part0",
        "application/jsonl",
        payload,
    )
    .await;
    let part = client(&server)
        .add_upload_part(
            "upload_abc",
            PartBody::bytes(payload.to_vec())
                .file_name("train.jsonl.part0")
                .content_type("application/jsonl"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
    assert_eq!(part.id, "part_1");
    assert_eq!(part.upload_id, "upload_abc");
}

#[tokio::test]
async fn part_defaults_to_file_name_part_and_octet_stream() {
    let mut server = mockito::Server::new_async().await;
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "part",
        "application/octet-stream",
        b"hello world",
    )
    .await;
    client(&server)
        .add_upload_part("upload_abc", PartBody::bytes("hello world"))
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
}

#[tokio::test]
async fn part_from_a_file_range_sends_only_the_range() {
    let mut server = mockito::Server::new_async().await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"0123456789abcdefghijKLMNOPQRST").unwrap();
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "data.bin",
        "application/octet-stream",
        b"abcdefghij",
    )
    .await;
    client(&server)
        .add_upload_part(
            "upload_abc",
            PartBody::file_range(file.path(), 10..20).file_name("data.bin"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
}

#[tokio::test]
async fn part_from_a_file_range_past_the_end_fails_without_a_short_part() {
    let mut server = mockito::Server::new_async().await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"0123456789").unwrap();
    // A request may start streaming, but a part with fewer bytes than declared must never be
    // accepted: the server only answers 200 to a complete 10-byte body.
    let (mock, _seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "part",
        "application/octet-stream",
        b"56789",
    )
    .await;
    let err = client(&server)
        .add_upload_part("upload_abc", PartBody::file_range(file.path(), 5..15))
        .send()
        .await
        .expect_err("the file is shorter than the range");
    assert_eq!(err.kind(), ErrorKind::FileChanged, "{err}");
    assert!(
        !mock.matched_async().await,
        "a short part reached the server"
    );
}

#[tokio::test]
async fn part_from_a_stream_sends_the_streamed_bytes() {
    let mut server = mockito::Server::new_async().await;
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "stream.txt",
        "text/plain",
        b"hello streaming world",
    )
    .await;
    let body = PartBody::stream(21, || -> ByteStream {
        Box::pin(futures_util::stream::iter(
            ["hello ", "streaming", " world"]
                .map(|s| Ok::<_, std::io::Error>(Bytes::from_static(s.as_bytes()))),
        ))
    })
    .file_name("stream.txt")
    .content_type("text/plain");
    client(&server)
        .add_upload_part("upload_abc", body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
}

// ---------------------------------------------------------------------------------------------
// input checks: nothing may reach the server

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let mut server = mockito::Server::new_async().await;
    let nothing = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = client(&server);
    let valid = || {
        client
            .create_upload()
            .filename("train.jsonl")
            .purpose(Purpose::FineTune)
            .bytes(10)
            .mime_type("text/jsonl")
    };

    let cases: Vec<(&str, uploads_ext::Result<uploads_ext::Upload>, &str)> = vec![
        (
            "missing filename",
            client
                .create_upload()
                .purpose(Purpose::FineTune)
                .bytes(10)
                .mime_type("text/jsonl")
                .await,
            "filename",
        ),
        ("empty filename", valid().filename("").await, "filename"),
        ("blank filename", valid().filename("   ").await, "filename"),
        ("bytes 0", valid().bytes(0).await, "at least 1 byte"),
        (
            "bytes over 8 GiB",
            valid().bytes(8 * 1024 * 1024 * 1024 + 1).await,
            "8 GiB",
        ),
        (
            "missing bytes",
            client
                .create_upload()
                .filename("a")
                .purpose(Purpose::FineTune)
                .mime_type("text/jsonl")
                .await,
            "bytes",
        ),
        (
            "missing purpose",
            client
                .create_upload()
                .filename("a")
                .bytes(1)
                .mime_type("text/jsonl")
                .await,
            "purpose",
        ),
        (
            "empty purpose",
            valid().purpose(Purpose::from(String::new())).await,
            "purpose",
        ),
        (
            "missing mime type",
            client
                .create_upload()
                .filename("a")
                .bytes(1)
                .purpose(Purpose::FineTune)
                .await,
            "mime_type",
        ),
        (
            "invalid mime type",
            valid().mime_type("not a mime type").await,
            "mime_type",
        ),
        (
            "expires_after below 1 hour",
            valid().expires_after(Duration::from_secs(3599)).await,
            "expires_after must be between 1 hour and 30 days (3600 to 2592000 seconds), got \
             59 min 59 s (3599 seconds)",
        ),
        (
            "expires_after above 30 days",
            valid().expires_after(Duration::from_secs(2_592_001)).await,
            "got 720 h 00 min (2592001 seconds)",
        ),
        (
            "complete without part ids",
            client.complete_upload("upload_abc").await,
            "part_ids",
        ),
        (
            "complete with an empty part id list",
            client
                .complete_upload("upload_abc")
                .part_ids(Vec::<String>::new())
                .md5("abc")
                .await,
            "part_ids",
        ),
    ];
    for (what, result, mentions) in cases {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
        assert_eq!(err.attempts(), 0, "{what}: no attempt was made");
        assert!(err.status().is_none(), "{what}");
        assert!(
            err.to_string().contains(mentions),
            "{what}: {err} should mention {mentions}"
        );
    }

    let part_cases = vec![
        ("empty part", PartBody::bytes(Vec::new()), "empty"),
        (
            "part over 64 MiB",
            PartBody::stream(MAX_PART_BYTES + 1, || -> ByteStream {
                panic!("an oversized part must not be read")
            }),
            "64 MiB",
        ),
        (
            "file range over 64 MiB",
            PartBody::file_range("/nonexistent/file", 0..MAX_PART_BYTES + 1),
            "64 MiB",
        ),
        (
            "empty file range",
            PartBody::file_range("/nonexistent/file", 7..7),
            "empty",
        ),
        (
            "invalid part content type",
            PartBody::bytes("x").content_type("not a type"),
            "content type",
        ),
    ];
    for (what, body, mentions) in part_cases {
        let err = client
            .add_upload_part("upload_abc", body)
            .await
            .expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
        assert_eq!(err.attempts(), 0, "{what}");
        assert_eq!(err.operation(), Some("add_upload_part"), "{what}");
        assert!(
            err.to_string().contains(mentions),
            "{what}: {err} should mention {mentions}"
        );
    }

    nothing.assert_async().await;
}

#[tokio::test]
async fn build_without_an_api_key_fails_and_names_the_variable() {
    let err = Client::builder()
        .ignore_env()
        .build()
        .expect_err("no key anywhere");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");

    let err = Client::builder()
        .ignore_env()
        .api_key("   ")
        .build()
        .expect_err("a blank key is no key");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
}

#[tokio::test]
async fn build_rejects_bad_base_urls_and_header_values() {
    for url in ["not a url", "ftp://example.com/v1"] {
        let err = Client::builder()
            .ignore_env()
            .api_key("k")
            .base_url(url)
            .build()
            .expect_err(url);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
    }
    let err = Client::builder()
        .ignore_env()
        .api_key("k")
        .organization("org\nX-Injected: 1")
        .build()
        .expect_err("a header value with a newline");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("openai-organization"), "{err}");

    let client = Client::builder().ignore_env().api_key("k").build().unwrap();
    assert_eq!(client.base_url(), "https://api.openai.com/v1");
}

#[tokio::test]
async fn a_custom_http_client_still_sends_every_header() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .match_header("authorization", format!("Bearer {KEY}").as_str())
        .match_header("openai-organization", "org-123")
        .match_header("openai-project", "proj_456")
        .match_header(
            "user-agent",
            Matcher::Regex(r"^uploads-ext/\d+\.\d+\.\d+ \(openai-uploads; rust\)$".into()),
        )
        .with_header("content-type", "application/json")
        .with_body(upload_json("upload_abc", "cancelled"))
        .expect(1)
        .create_async()
        .await;
    let http = reqwest::Client::builder()
        .user_agent("reqwest-default-agent")
        .build()
        .unwrap();
    Client::builder()
        .ignore_env()
        .api_key(KEY)
        .base_url(server.url())
        .organization("org-123")
        .project("proj_456")
        .http_client(http)
        .max_retries(0)
        .build()
        .unwrap()
        .cancel_upload("upload_abc")
        .await
        .expect("cancel through a caller's reqwest::Client");
    mock.assert_async().await;
}
