//! The client's wire format, byte for byte, against a real HTTP server on loopback (mockito):
//! methods, paths, headers and exact JSON bodies, and what the client builder refuses. The
//! multipart body of a part is in `client_wire_parts.rs`, the input checks in
//! `client_input_checks.rs`.

use std::time::Duration;

use mockito::Matcher;
use serde_json::json;
use uploads_ext::{Client, ErrorKind, Purpose, UploadStatus};

mod common;
use common::wire::{client, common_headers, upload_json, KEY};

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
// the client builder

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
