//! How responses and transport failures map to [`uploads_ext::Error`]: kind, status, the API's
//! error envelope, the request id, body snippets, connection failures and timeouts.

use std::time::{Duration, Instant};

use mockito::ServerGuard;
use serde_json::json;
use uploads_ext::limits::BODY_SNIPPET_CHARS;
use uploads_ext::{Client, ErrorKind};

mod common;
use common::{run, OPERATIONS};

fn client_at(base_url: String) -> Client {
    Client::builder()
        .ignore_env()
        .api_key("sk-test-errors")
        .base_url(base_url)
        .max_retries(0)
        .build()
        .expect("client builds")
}

fn client(server: &ServerGuard) -> Client {
    client_at(server.url())
}

#[tokio::test]
async fn error_statuses_map_to_kinds_with_envelope_and_request_id() {
    let cases = [
        (400, ErrorKind::BadRequest, "invalid_request_error"),
        (401, ErrorKind::Authentication, "invalid_request_error"),
        (403, ErrorKind::PermissionDenied, "permission_error"),
        (404, ErrorKind::NotFound, "invalid_request_error"),
        (409, ErrorKind::Conflict, "conflict_error"),
        (422, ErrorKind::Unprocessable, "invalid_request_error"),
        (429, ErrorKind::RateLimited, "rate_limit_exceeded"),
        (500, ErrorKind::Server, "server_error"),
        (503, ErrorKind::Server, "server_error"),
    ];
    let mut server = mockito::Server::new_async().await;
    let client = client(&server);
    for (i, (status, kind, error_type)) in cases.into_iter().enumerate() {
        let op = i % OPERATIONS.len();
        let (operation, path) = OPERATIONS[op];
        let request_id = format!("req_{status}");
        let mock = server
            .mock("POST", path)
            .with_status(status)
            .with_header("content-type", "application/json")
            .with_header("x-request-id", &request_id)
            .with_body(
                json!({"error": {
                    "message": format!("failure number {status}"),
                    "type": error_type,
                    "param": "purpose",
                    "code": format!("code_{status}")
                }})
                .to_string(),
            )
            .expect(1)
            .create_async()
            .await;

        let err = run(&client, op).await.expect_err("an error status");
        mock.assert_async().await;
        mock.remove_async().await;

        assert_eq!(err.kind(), kind, "HTTP {status}: {err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status as u16));
        assert_eq!(err.operation(), Some(operation));
        assert_eq!(err.request_id(), Some(request_id.as_str()));
        assert_eq!(err.attempts(), 1);
        assert!(err.is_api_error());
        assert!(err.body_snippet().is_none(), "an envelope was decoded");
        let api = err.api_error().expect("the envelope is decoded");
        assert_eq!(api.message, format!("failure number {status}"));
        assert_eq!(api.error_type.as_deref(), Some(error_type));
        assert_eq!(api.param.as_deref(), Some("purpose"));
        assert_eq!(api.code.as_deref(), Some(format!("code_{status}").as_str()));

        let shown = err.to_string();
        for needle in [
            format!("HTTP {status}"),
            format!("[request {request_id}]"),
            format!("failure number {status}"),
            format!("type {error_type}"),
            format!("code code_{status}"),
            operation.to_owned(),
        ] {
            assert!(shown.contains(&needle), "{shown:?} lacks {needle:?}");
        }
        if op != 0 {
            assert_eq!(err.upload_id(), Some("upload_abc"));
            assert!(shown.contains("[upload upload_abc]"), "{shown}");
        }
        let debug = format!("{err:?}");
        assert!(debug.contains(&request_id), "{debug}");
    }
}

#[tokio::test]
async fn envelope_with_numeric_code_and_null_param() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(
            r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":42}}"#,
        )
        .expect(1)
        .create_async()
        .await;
    let err = client(&server)
        .cancel_upload("upload_abc")
        .await
        .expect_err("400");
    mock.assert_async().await;
    let api = err.api_error().expect("envelope");
    assert_eq!(api.code.as_deref(), Some("42"));
    assert_eq!(api.param, None);
    assert_eq!(err.request_id(), None);
    assert!(!err.to_string().contains("[request"), "{err}");
}

#[tokio::test]
async fn html_502_is_a_server_error_with_a_body_snippet() {
    let mut server = mockito::Server::new_async().await;
    let page = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "x".repeat(3 * BODY_SNIPPET_CHARS)
    );
    let mock = server
        .mock("POST", "/uploads")
        .with_status(502)
        .with_header("content-type", "text/html")
        .with_header("x-request-id", "req_gateway")
        .with_body(&page)
        .expect(1)
        .create_async()
        .await;
    let err = run(&client(&server), 0).await.expect_err("502");
    mock.assert_async().await;
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert!(err.api_error().is_none());
    assert_eq!(err.request_id(), Some("req_gateway"));
    let snippet = err.body_snippet().expect("the start of the page is kept");
    assert!(
        snippet.starts_with("<html><head><title>502 Bad Gateway</title>"),
        "{snippet}"
    );
    assert!(
        snippet.chars().count() <= BODY_SNIPPET_CHARS + 1,
        "the snippet is bounded: {} chars",
        snippet.chars().count()
    );
    assert!(snippet.ends_with('…'), "a cut snippet says so");
    let shown = err.to_string();
    assert!(shown.contains("HTTP 502") && shown.contains("[request req_gateway]"));
    assert!(shown.contains("502 Bad Gateway"), "{shown}");
}

#[tokio::test]
async fn undecodable_success_bodies_are_decode_errors_with_snippets() {
    let cases = [
        // (operation, content type, body, snippet start)
        (
            0,
            "application/json",
            r#"{"id": "upload_abc", "object": "upl"#,
            r#"{"id": "upload_abc""#,
        ),
        (
            3,
            "text/html; charset=utf-8",
            "<!doctype html><p>maintenance</p>",
            "<!doctype html>",
        ),
        (
            1,
            "application/json",
            r#"{"id": "part_1", "object": "upload.part"}"#,
            r#"{"id": "part_1""#,
        ),
        (2, "text/plain", "OK", "OK"),
    ];
    let mut server = mockito::Server::new_async().await;
    let client = client(&server);
    for (op, content_type, body, start) in cases {
        let (operation, path) = OPERATIONS[op];
        let mock = server
            .mock("POST", path)
            .with_status(200)
            .with_header("content-type", content_type)
            .with_header("x-request-id", "req_decode")
            .with_body(body)
            .expect(1)
            .create_async()
            .await;
        let err = run(&client, op)
            .await
            .expect_err("an undecodable 200 is an error");
        mock.assert_async().await;
        mock.remove_async().await;
        assert_eq!(err.kind(), ErrorKind::Decode, "{operation} {body}: {err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
        assert_eq!(err.operation(), Some(operation));
        assert_eq!(err.request_id(), Some("req_decode"));
        assert!(!err.is_api_error());
        assert!(!err.is_retryable(), "a decode error is not retried");
        let snippet = err.body_snippet().expect("snippet");
        assert!(snippet.starts_with(start), "{snippet:?}");
        assert!(err.to_string().contains(start), "{err}");
    }
}

#[tokio::test]
async fn connection_refused_is_a_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed here: nothing listens on the port any more
    let client = client_at(format!("http://127.0.0.1:{port}/v1"));
    let err = client
        .cancel_upload("upload_abc")
        .await
        .expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.is_connect());
    assert!(!err.is_timeout());
    assert!(err.is_retryable());
    assert!(err.status().is_none());
    assert!(!err.is_api_error());
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.operation(), Some("cancel_upload"));
    assert!(
        std::error::Error::source(&err).is_some(),
        "the transport error is kept as source"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts connections and holds them open without ever answering.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-test-errors")
        .base_url(format!("http://{addr}"))
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = run(&client, 0).await.expect_err("no answer");
    let elapsed = started.elapsed();
    silent.abort();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_timeout());
    assert!(!err.is_connect());
    assert!(err.is_retryable());
    assert!(err.status().is_none());
    assert_eq!(err.attempts(), 1);
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(20),
        "the 200 ms timeout was enforced: {elapsed:?}"
    );
    assert!(err.to_string().starts_with("create_upload: "), "{err}");
}

#[tokio::test]
async fn the_per_attempt_timeout_applies_to_a_custom_http_client() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    // The caller's client has no timeout of its own: the builder's timeout must still apply.
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-test-errors")
        .base_url(format!("http://{addr}"))
        .http_client(reqwest::Client::new())
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .cancel_upload("upload_abc")
        .await
        .expect_err("no answer");
    let elapsed = started.elapsed();
    silent.abort();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_timeout());
    assert_eq!(err.attempts(), 1);
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn the_raw_answer_is_kept_beside_the_typed_error() {
    let mut server = mockito::Server::new_async().await;
    let body = r#"{"error":{"message":"no such upload","type":"invalid_request_error","param":"upload_id","code":null}}"#;
    let mock = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .with_status(404)
        .with_header("content-type", "application/json")
        .with_header("x-request-id", "req_raw")
        .with_header("openai-processing-ms", "17")
        .with_body(body)
        .expect(1)
        .create_async()
        .await;
    let err = client(&server)
        .cancel_upload("upload_abc")
        .await
        .expect_err("404");
    mock.assert_async().await;
    assert_eq!(
        err.api_error().unwrap().error_type.as_deref(),
        Some("invalid_request_error")
    );
    let raw = err.raw_response().expect("an answer arrived");
    assert_eq!(raw.status().as_u16(), 404);
    // Every header survives, not only the ones the SDK reads.
    assert_eq!(raw.headers()["openai-processing-ms"], "17");
    assert_eq!(raw.headers()["x-request-id"], "req_raw");
    assert_eq!(raw.body_snippet(), body);
    // A decoded envelope is not repeated as a body snippet.
    assert_eq!(err.body_snippet(), None);
    assert_eq!(err.kind().to_string(), "not found");
}
