//! What the generated crate must guarantee, whatever the upstream spec says: 64-bit sizes, open
//! enums, nullable/omitted fields, a part body supplied by the caller, headers kept on errors,
//! rustls, and no generator defaults reaching users.

use openai_uploads_generated::apis::{configuration::Configuration, uploads_api, Error};
use openai_uploads_generated::models::{
    open_ai_file, upload, CompleteUploadRequest, CreateUploadRequest, FileExpirationAfter, Upload,
    UploadPurpose,
};
use serde_json::{json, Value};

/// Decodes `value` as `T`, re-encodes it, and asserts the JSON is unchanged.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(value: Value) -> T {
    let decoded: T = serde_json::from_value(value.clone()).expect("decodes");
    let encoded = serde_json::to_value(&decoded).expect("encodes");
    assert_eq!(encoded, value, "re-encoding changed the JSON");
    decoded
}

fn upload_json(bytes: u64) -> Value {
    json!({
        "id": "upload_abc123",
        "object": "upload",
        "bytes": bytes,
        "created_at": 1719184911,
        "filename": "training_examples.jsonl",
        "purpose": "fine-tune",
        "status": "pending",
        "expires_at": 1719188511u64
    })
}

#[test]
fn sizes_beyond_i32_round_trip_exactly() {
    // The spec's own example (2^31) and the 8 GiB upload maximum.
    for bytes in [2_147_483_648u64, 8_589_934_592u64] {
        let upload: Upload = round_trip(upload_json(bytes));
        let typed: u64 = upload.bytes; // sizes are u64, not i64
        assert_eq!(typed, bytes);
        let request: CreateUploadRequest = round_trip(json!({
            "filename": "big.jsonl", "purpose": "batch", "bytes": bytes, "mime_type": "text/jsonl"
        }));
        assert_eq!(request.bytes, bytes);
    }
}

#[test]
fn unknown_enum_values_decode_and_re_encode_unchanged() {
    let mut value = upload_json(10);
    value["status"] = json!("archived");
    value["object"] = json!("upload.v2");
    value["file"] = json!({
        "id": "file-1", "object": "file.v2", "bytes": 10, "created_at": 1,
        "filename": "a.jsonl", "purpose": "brand_new_purpose", "status": "quarantined"
    });
    let upload: Upload = round_trip(value);
    assert_eq!(
        upload.status,
        upload::Status::Unrecognized("archived".into())
    );
    let file = upload.file.expect("file present");
    assert_eq!(
        file.purpose,
        open_ai_file::Purpose::Unrecognized("brand_new_purpose".into())
    );
    assert_eq!(
        file.status,
        Some(open_ai_file::Status::Unrecognized("quarantined".into()))
    );

    let request: CreateUploadRequest = round_trip(json!({
        "filename": "a.bin", "purpose": "some-future-purpose", "bytes": 1, "mime_type": "x/y"
    }));
    assert_eq!(request.purpose.as_str(), "some-future-purpose");
    assert_eq!(
        request.purpose,
        UploadPurpose::Unrecognized("some-future-purpose".into())
    );
}

#[test]
fn upload_purpose_is_the_request_purpose_type() {
    let upload: Upload = round_trip(upload_json(1));
    let request = CreateUploadRequest::new("a".into(), UploadPurpose::FineTune, 1, "x/y".into());
    assert_eq!(upload.purpose, request.purpose);
    assert_eq!(UploadPurpose::from("fine-tune"), UploadPurpose::FineTune);
    assert_eq!(
        UploadPurpose::from("not-yet-known"),
        UploadPurpose::Unrecognized("not-yet-known".into())
    );
}

#[test]
fn known_enum_values_are_typed() {
    let upload: Upload = round_trip(upload_json(1));
    assert_eq!(upload.status, upload::Status::Pending);
    for (wire, typed) in [
        ("user_data", UploadPurpose::UserData),
        ("evals", UploadPurpose::Evals),
        ("fine-tune", UploadPurpose::FineTune),
    ] {
        assert_eq!(UploadPurpose::from(wire.to_string()), typed);
        assert_eq!(typed.as_str(), wire);
    }
}

#[test]
fn file_null_and_omitted_file_status_decode() {
    let mut value = upload_json(5);
    value["file"] = Value::Null;
    let upload: Upload = serde_json::from_value(value).expect("file: null decodes");
    assert!(upload.file.is_none());

    // The spec's own completeUpload example response (its trailing comma removed): no `status`.
    let example = json!({
        "id": "upload_abc123", "object": "upload", "bytes": 2147483648u64, "created_at": 1719184911,
        "filename": "training_examples.jsonl", "purpose": "fine-tune", "status": "completed",
        "expires_at": 1719127296,
        "file": {
            "id": "file-xyz321", "object": "file", "bytes": 2147483648u64, "created_at": 1719186911,
            "expires_at": 1719127296, "filename": "training_examples.jsonl", "purpose": "fine-tune"
        }
    });
    let upload: Upload = round_trip(example);
    let file = upload.file.expect("file");
    assert_eq!(file.status, None);
    assert_eq!(file.bytes, 2_147_483_648);
}

#[test]
fn optional_request_fields_are_omitted_not_null() {
    let request = CreateUploadRequest::new(
        "a.jsonl".into(),
        UploadPurpose::Batch,
        3,
        "text/jsonl".into(),
    );
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"filename": "a.jsonl", "purpose": "batch", "bytes": 3, "mime_type": "text/jsonl"})
    );
    let mut with_expiry = request.clone();
    with_expiry.expires_after = Some(FileExpirationAfter::new(Default::default(), 7200));
    assert_eq!(
        serde_json::to_value(&with_expiry).unwrap()["expires_after"],
        json!({"anchor": "created_at", "seconds": 7200})
    );
    let complete = CompleteUploadRequest::new(vec!["part_1".into()]);
    assert_eq!(
        serde_json::to_value(&complete).unwrap(),
        json!({"part_ids": ["part_1"]})
    );
}

fn config(server: &mockito::Server) -> Configuration {
    Configuration {
        base_path: server.url(),
        bearer_access_token: Some("sk-test".into()),
        ..Configuration::default()
    }
}

const PART_RESPONSE: &str =
    r#"{"id":"part_1","object":"upload.part","created_at":1,"upload_id":"upload_1"}"#;

#[tokio::test]
async fn part_body_comes_from_memory_with_name_and_content_type() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/uploads/upload_1/parts")
        .match_header("authorization", "Bearer sk-test")
        .match_header(
            "content-type",
            mockito::Matcher::Regex("^multipart/form-data; boundary=".into()),
        )
        .match_body(mockito::Matcher::Regex(
            "Content-Disposition: form-data; name=\"data\"; filename=\"chunk.jsonl\"\r\n\
             Content-Type: application/jsonl\r\n\r\nhello bytes\r\n"
                .into(),
        ))
        .with_header("content-type", "application/json")
        .with_body(PART_RESPONSE)
        .create_async()
        .await;
    let part = reqwest::multipart::Part::bytes(b"hello bytes".to_vec())
        .file_name("chunk.jsonl")
        .mime_str("application/jsonl")
        .unwrap();
    let got = uploads_api::add_upload_part(
        &config(&server),
        uploads_api::AddUploadPartParams::new("upload_1".into(), part),
    )
    .await
    .expect("part accepted");
    assert_eq!(got.id, "part_1");
    mock.assert_async().await;
}

#[tokio::test]
async fn part_body_can_be_a_stream_of_known_length() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/uploads/upload_1/parts")
        .match_body(mockito::Matcher::Regex(
            "filename=\"p.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nabcdef\r\n".into(),
        ))
        .with_header("content-type", "application/json")
        .with_body(PART_RESPONSE)
        .create_async()
        .await;
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"abc"), Ok(b"def")];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let part = reqwest::multipart::Part::stream_with_length(body, 6)
        .file_name("p.bin")
        .mime_str("application/octet-stream")
        .unwrap();
    uploads_api::add_upload_part(
        &config(&server),
        uploads_api::AddUploadPartParams::new("upload_1".into(), part),
    )
    .await
    .expect("streamed part accepted");
    mock.assert_async().await;
}

#[tokio::test]
async fn errors_keep_status_body_and_headers() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/uploads/upload_1/cancel")
        .with_status(429)
        .with_header("content-type", "application/json")
        .with_header("x-request-id", "req_42")
        .with_header("retry-after-ms", "250")
        .with_body(r#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#)
        .create_async()
        .await;
    let err = uploads_api::cancel_upload(
        &config(&server),
        uploads_api::CancelUploadParams::new("upload_1".into()),
    )
    .await
    .expect_err("429 is an error");
    let Error::ResponseError(response) = err else {
        panic!("expected a response error, got {err:?}");
    };
    assert_eq!(response.status.as_u16(), 429);
    assert_eq!(response.headers["x-request-id"], "req_42");
    assert_eq!(response.headers["retry-after-ms"], "250");
    assert!(response.content.contains("rate_limit_exceeded"));
}

#[test]
fn generator_defaults_do_not_reach_users() {
    let config = Configuration::default();
    let agent = config.user_agent.expect("a user agent is set");
    assert!(
        !agent.contains("OpenAPI-Generator"),
        "generator default user agent leaked: {agent}"
    );
    let debug = format!(
        "{:?}",
        Configuration {
            bearer_access_token: Some("sk-secret-value".into()),
            ..Configuration::default()
        }
    );
    assert!(
        !debug.contains("sk-secret-value"),
        "token in Debug: {debug}"
    );
}

#[test]
fn rustls_is_the_default_tls() {
    // Compiles only when reqwest's rustls backend is enabled; builds a client with it.
    reqwest::Client::builder()
        .tls_backend_rustls()
        .build()
        .expect("rustls client");
    let manifest = include_str!("../generated/Cargo.toml");
    assert!(
        manifest.contains("default = [\"rustls\"]"),
        "generated crate's default feature must be rustls:\n{manifest}"
    );
}

#[tokio::test]
async fn path_parameters_are_percent_encoded_as_path_segments() {
    let mut server = mockito::Server::new_async().await;
    // A space is %20 (form encoding would send `+`, a literal plus in a path); `/` stays inside
    // the segment; `+` is kept as is.
    let mock = server
        .mock("POST", "/uploads/upload%201+2%2Fx/cancel")
        .with_header("content-type", "application/json")
        .with_body(
            r#"{"id":"upload 1+2/x","object":"upload","bytes":1,"created_at":1,"filename":"a",
                "purpose":"batch","status":"cancelled","expires_at":2}"#,
        )
        .create_async()
        .await;
    let upload = uploads_api::cancel_upload(
        &config(&server),
        uploads_api::CancelUploadParams::new("upload 1+2/x".into()),
    )
    .await
    .expect("encoded path matched");
    assert_eq!(upload.id, "upload 1+2/x");
    mock.assert_async().await;
}

#[test]
fn unknown_fields_are_kept_by_name_and_re_encoded() {
    // A field the spec does not list yet, nested in a known one too.
    let mut value = upload_json(5);
    value["region"] = json!("eu-west");
    value["file"] = json!({"id": "file-1", "object": "file", "bytes": 5, "created_at": 1,
        "filename": "a.jsonl", "purpose": "fine-tune", "retention": {"days": 30}});
    let upload: Upload = round_trip(value);
    assert_eq!(upload.extra["region"], "eu-west");
    assert_eq!(upload.file.as_ref().unwrap().extra["retention"]["days"], 30);
    assert!(
        !upload.extra.contains_key("status"),
        "known fields stay out of extra"
    );
    // On a request model, extra entries are sent with the known fields.
    let mut request = CompleteUploadRequest::new(vec!["part_1".to_owned()]);
    request.extra.insert("trace".to_owned(), json!("t-1"));
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"part_ids": ["part_1"], "trace": "t-1"})
    );
    assert!(Upload::default().extra.is_empty());
}

#[test]
fn default_query_starts_empty_and_debug_shows_only_its_keys() {
    let mut config = Configuration::new();
    assert!(config.default_query.is_empty());
    config
        .default_query
        .push(("api_token".to_owned(), "query-secret".to_owned()));
    let debug = format!("{config:?}");
    assert!(debug.contains("api_token"), "{debug}");
    assert!(!debug.contains("query-secret"), "{debug}");
}
