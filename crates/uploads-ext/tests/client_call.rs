//! `Client::call`: a generated operation through the client's own pipeline (base URL, API key,
//! default headers, extra query, retries, error mapping), as a new endpoint would be called
//! before it has a wrapper.

use std::time::Duration;

use mockito::Matcher;
use serde_json::json;
use uploads_ext::generated::apis::uploads_api;
use uploads_ext::{Client, ErrorKind, Purpose, RequestOptions, RetryPolicy, UploadStatus};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Route};

mod common;
use common::NoSleep;

/// Cancels `id` through `Client::call`, building the parameters anew for each attempt.
async fn cancel_via_call(client: &Client, id: &str) -> uploads_ext::Result<uploads_ext::Upload> {
    client
        .call("cancel_upload", |config| {
            let params = uploads_api::CancelUploadParams::new(id.to_owned());
            async move { uploads_api::cancel_upload(&config, params).await }
        })
        .await
}

#[tokio::test]
async fn call_sends_the_clients_key_headers_and_query() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .match_header("authorization", "Bearer sk-test-call")
        .match_header("openai-organization", "org-call")
        .match_header("x-team", "search")
        .match_query(Matcher::UrlEncoded("beta".into(), "true".into()))
        .with_header("content-type", "application/json")
        .with_body(
            json!({"id": "upload_abc", "object": "upload", "bytes": 5, "created_at": 1,
                   "filename": "a.jsonl", "purpose": "fine-tune", "status": "cancelled",
                   "expires_at": 2, "new_field": "kept"})
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-test-call")
        .organization("org-call")
        .default_header("X-Team", "search")
        .base_url(server.url())
        .sleep_impl(NoSleep)
        .build()
        .unwrap()
        .with_options(RequestOptions::new().extra_query("beta", "true"));
    let upload = cancel_via_call(&client, "upload_abc").await.unwrap();
    mock.assert_async().await;
    assert_eq!(upload.status, UploadStatus::Cancelled);
    assert_eq!(upload.extra["new_field"], "kept");
}

fn fake_client(server: &FakeServer) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .retry_policy(
            RetryPolicy::builder()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2))
                .build(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn call_retries_a_500_per_the_clients_policy() {
    let plan = FaultPlan::new().nth(Route::Cancel, 1, Fault::status(500));
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let client = fake_client(&server);
    let upload = client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .bytes(5)
        .mime_type("text/jsonl")
        .await
        .unwrap();
    let cancelled = cancel_via_call(&client, &upload.id).await.unwrap();
    assert_eq!(cancelled.status, UploadStatus::Cancelled);
    // The first attempt got the injected 500, the second went through.
    assert_eq!(server.stats().requests.get(Route::Cancel), 2);
    assert_eq!(server.injected().len(), 1);
}

#[tokio::test]
async fn call_maps_an_error_envelope_into_the_sdks_error() {
    let server = FakeServer::start().await.unwrap();
    let client = fake_client(&server);
    let err = cancel_via_call(&client, "upload_missing")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(err.operation(), Some("cancel_upload"));
    assert_eq!(err.attempts(), 1, "a 404 is not retried");
    let api = err.api_error().expect("the envelope is decoded");
    assert!(api.message.contains("upload_missing"), "{api:?}");
    assert!(err.request_id().is_some(), "{err:?}");
    // A wrong key: the same mapping, as Authentication.
    let wrong = Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key("sk-wrong")
        .build()
        .unwrap();
    let err = cancel_via_call(&wrong, "upload_missing").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
}
