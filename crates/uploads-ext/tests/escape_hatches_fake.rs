//! The escape hatches against the project's fake, which (like the API) rejects arguments it does
//! not know and checks the md5 given to `complete`: `extra_body` reaches create and complete of an
//! upload and of a resume.

use std::time::Duration;

use serde_json::json;
use uploads_ext::upload::FailurePolicy;
use uploads_ext::{Client, ErrorKind, Purpose, RequestOptions, RetryPolicy};
use uploads_fake::{FakeConfig, FakeServer, Faults, UploadStatus as FakeStatus};

mod common;

fn client_for(server: &FakeServer) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .retry_policy(
            RetryPolicy::builder()
                .max_retries(0)
                .initial_backoff(Duration::from_millis(1))
                .build(),
        )
        .build()
        .unwrap()
}

/// Against the fake (which, like the API, rejects arguments it does not know): `extra_body`
/// reaches the wire of create and complete, replacing a known field or adding an unknown one.
#[tokio::test]
async fn extra_body_reaches_the_fake() {
    let server = FakeServer::start().await.unwrap();
    let client = client_for(&server);
    let done = client
        .upload_bytes("hello")
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .options(
            RequestOptions::new()
                .extra_body_for("create_upload", json!({"filename": "renamed.jsonl"})),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.upload(done.upload_id()).unwrap().filename,
        "renamed.jsonl"
    );
    // An md5 the SDK does not send (md5(false)) goes to complete, and the fake checks it.
    let wrong = "0".repeat(32);
    let err = client
        .upload_bytes("hello")
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .md5(false)
        .options(RequestOptions::new().extra_body_for("complete_upload", json!({"md5": wrong})))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{err}");
    assert_eq!(
        err.api_error().unwrap().param.as_deref(),
        Some("md5"),
        "{err:?}"
    );
    let err = client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .bytes(5)
        .mime_type("text/jsonl")
        .options(RequestOptions::new().extra_body(json!({"surprise": 1})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{err}");
    let api = err.api_error().expect("the fake's error envelope");
    assert_eq!(api.param.as_deref(), Some("surprise"), "{api:?}");
}

#[tokio::test]
async fn resume_options_reach_the_complete_of_the_resume() {
    let faults = Faults::none().with_seed(3).with_fail_500(1.0);
    let server = FakeServer::start_with(FakeConfig::default().with_faults(faults))
        .await
        .unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "r.bin", &common::content(3 * 16 * 1024, 8));
    let journal = dir.path().join("r.journal.json");
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * 1024)
        .concurrency(1)
        .failure_policy(FailurePolicy::Keep)
        .journal(&journal)
        .send()
        .await
        .unwrap_err();
    let id = err.upload_id().unwrap().to_owned();
    server.set_faults(Faults::none());
    // The journal decides the md5; an extra_body for complete replaces it on the wire.
    let err = client
        .resume_upload(&journal)
        .options(
            RequestOptions::new().extra_body_for("complete_upload", json!({"md5": "0".repeat(32)})),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.api_error().unwrap().param.as_deref(),
        Some("md5"),
        "{err:?}"
    );
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Pending);
    // Without it, the same journal completes (a failed resume keeps the upload by default).
    let done = client.resume_upload(&journal).send().await.unwrap();
    assert_eq!(done.upload_id(), id);
}
