//! Each request is traced with its operation, upload id, attempt, status, request id and duration,
//! for successes as well as failures.

use uploads_ext::Client;

mod common;
use common::LogBuffer;

#[tokio::test]
async fn request_spans_carry_status_and_request_id_for_successes_and_failures() {
    let logs = LogBuffer::default();
    let _guard = logs.install(tracing::Level::DEBUG);

    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/uploads/upload_ok/cancel")
        .with_header("content-type", "application/json")
        .with_header("x-request-id", "req_success_7")
        .with_body(
            r#"{"id":"upload_ok","object":"upload","bytes":1,"created_at":1,"filename":"a",
                "purpose":"batch","status":"cancelled","expires_at":2}"#,
        )
        .create_async()
        .await;
    server
        .mock("POST", "/uploads/upload_missing/cancel")
        .with_status(404)
        .with_header("content-type", "application/json")
        .with_header("x-request-id", "req_failure_9")
        .with_body(r#"{"error":{"message":"No such upload","type":"invalid_request_error","param":null,"code":null}}"#)
        .create_async()
        .await;
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-test")
        .base_url(server.url())
        .build()
        .unwrap();
    client.cancel_upload("upload_ok").send().await.unwrap();
    client
        .cancel_upload("upload_missing")
        .send()
        .await
        .unwrap_err();

    let text = logs.text();
    let success = text
        .lines()
        .find(|l| l.contains("request succeeded"))
        .unwrap_or_else(|| panic!("no success event in:\n{text}"));
    for field in [
        "operation=\"cancel_upload\"",
        "upload_id=\"upload_ok\"",
        "attempt=1",
        "status=200",
        "request_id=\"req_success_7\"",
        "elapsed_ms=",
    ] {
        assert!(success.contains(field), "{field} missing from: {success}");
    }
    let failure = text
        .lines()
        .find(|l| l.contains("request failed"))
        .unwrap_or_else(|| panic!("no failure event in:\n{text}"));
    assert!(failure.contains("status=404"), "{failure}");
    assert!(failure.contains("req_failure_9"), "{failure}");
    assert!(
        failure.contains("upload_id=\"upload_missing\""),
        "{failure}"
    );
}
