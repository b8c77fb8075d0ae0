//! What a chunked upload claims when things go wrong at exact moments, checked against mockito
//! sequences: a `complete` whose answer is lost or undecodable, and that settling cannot answer,
//! is never followed by a cancel and is reported as `CompletionUnknown`; a failed cancel is never reported as a cancel; an
//! undecodable `create` answer that names an Upload is cancelled.

mod common;

use common::journal_state;
use std::path::PathBuf;
use std::time::Duration;

use mockito::{Matcher, Mock, ServerGuard};
use serde_json::{json, Value};
use uploads_ext::RetryPolicy;
use uploads_ext::{Cleanup, Client, CompletedUpload, ErrorKind, FailurePolicy, Purpose};

const ID: &str = "upload_x";

fn upload_json(id: &str, status: &str, file: Option<Value>) -> String {
    let mut v = json!({
        "id": id,
        "object": "upload",
        "bytes": 10,
        "created_at": 1719184911,
        "filename": "f.bin",
        "purpose": "batch",
        "status": status,
        "expires_at": 1719188511
    });
    if let Some(file) = file {
        v["file"] = file;
    }
    v.to_string()
}

fn file_json() -> Value {
    json!({
        "id": "file-1", "object": "file", "bytes": 10, "created_at": 1719186911,
        "filename": "f.bin", "purpose": "batch", "status": "processed"
    })
}

fn client(server: &ServerGuard, timeout: Duration) -> Client {
    client_with_backoff(server, timeout, Duration::from_millis(1))
}

fn client_with_backoff(server: &ServerGuard, timeout: Duration, backoff: Duration) -> Client {
    Client::builder()
        .ignore_env()
        .api_key("sk-test")
        .base_url(server.url())
        .timeout(timeout)
        .retry_policy(
            RetryPolicy::builder()
                .max_retries(2)
                .initial_backoff(backoff)
                .max_backoff(backoff * 2)
                .build(),
        )
        .build()
        .unwrap()
}

/// Mocks `create` and one part; returns the file to upload.
async fn create_and_part(server: &mut ServerGuard, dir: &std::path::Path) -> (PathBuf, Mock, Mock) {
    let create = created(server).await;
    let part = part_accepted(server).await;
    (ten_byte_file(dir), create, part)
}

/// The 10-byte file every test uploads (one part unless a test sets a part size).
fn ten_byte_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("f.bin");
    std::fs::write(&path, b"0123456789").unwrap();
    path
}

/// Uploads `path` for the batch purpose with the builder's defaults.
async fn upload(client: &Client, path: &std::path::Path) -> uploads_ext::Result<CompletedUpload> {
    client
        .upload_file(path)
        .purpose(Purpose::Batch)
        .send()
        .await
}

/// `complete` answers `status` with `body`, `hits` times if given.
async fn complete_answer(
    server: &mut ServerGuard,
    status: usize,
    body: String,
    hits: Option<usize>,
) -> Mock {
    answer(
        server,
        &format!("/uploads/{ID}/complete"),
        status,
        body,
        hits,
    )
    .await
}

/// Parts are answered `status` with `body`, `hits` times if given.
async fn parts_answer(
    server: &mut ServerGuard,
    status: usize,
    body: String,
    hits: Option<usize>,
) -> Mock {
    answer(server, &format!("/uploads/{ID}/parts"), status, body, hits).await
}

/// An answer to `POST path` that starts only after `delay` (mockito serves one at a time).
async fn stalled(
    server: &mut ServerGuard,
    path: &str,
    delay: Duration,
    hits: Option<usize>,
) -> Mock {
    let mock = server
        .mock("POST", path)
        .with_header("content-type", "application/json")
        .with_status(200)
        .with_chunked_body(move |w| {
            std::thread::sleep(delay);
            w.write_all(b"{}")
        });
    match hits {
        Some(n) => mock.expect(n),
        None => mock,
    }
    .create_async()
    .await
}

async fn cancel_mock(server: &mut ServerGuard, id: &str, status: usize, hits: usize) -> Mock {
    let body = if status == 200 {
        upload_json(id, "cancelled", None)
    } else {
        api_error("boom", "server_error")
    };
    answer(
        server,
        &format!("/uploads/{id}/cancel"),
        status,
        body,
        Some(hits),
    )
    .await
}

/// `create` answers with a pending upload [`ID`].
async fn created(server: &mut ServerGuard) -> Mock {
    let body = upload_json(ID, "pending", None);
    answer(server, "/uploads", 200, body, None).await
}

/// Every part is accepted as `part_1`.
async fn part_accepted(server: &mut ServerGuard) -> Mock {
    let body = json!({"id": "part_1", "object": "upload.part", "created_at": 1, "upload_id": ID});
    answer(
        server,
        &format!("/uploads/{ID}/parts"),
        200,
        body.to_string(),
        None,
    )
    .await
}

/// The API's error envelope.
fn api_error(message: &str, kind: &str) -> String {
    json!({"error": {"message": message, "type": kind}}).to_string()
}

/// A JSON answer to `POST path`, `hits` times if given.
async fn answer(
    server: &mut ServerGuard,
    path: &str,
    status: usize,
    body: String,
    hits: Option<usize>,
) -> Mock {
    let mock = server
        .mock("POST", path)
        .with_header("content-type", "application/json")
        .with_status(status)
        .with_body(body);
    match hits {
        Some(n) => mock.expect(n),
        None => mock,
    }
    .create_async()
    .await
}

#[tokio::test]
async fn a_lost_complete_answer_then_not_pending_is_completion_unknown_and_never_cancelled() {
    let mut server = mockito::Server::new_async().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _create, _part) = create_and_part(&mut server, dir.path()).await;
    // First complete: the server takes the request and never answers in time.
    let complete = format!("/uploads/{ID}/complete");
    let lost = stalled(&mut server, &complete, Duration::from_millis(1500), Some(1)).await;
    // Its retry: the upload is no longer pending (it completed behind the lost answer).
    let message = format!("Cannot complete upload {ID} because its status is 'completed'.");
    let not_pending = complete_answer(
        &mut server,
        400,
        api_error(&message, "invalid_request_error"),
        Some(2), // this upload, then its resume
    )
    .await;
    let cancel = cancel_mock(&mut server, ID, 200, 0).await;
    let journal = dir.path().join("j.json");
    // mockito serves one request at a time: the retry waits out the stalled answer (>= 1.5 s).
    let err = client_with_backoff(&server, Duration::from_millis(300), Duration::from_secs(2))
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .journal(&journal)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CompletionUnknown, "{err}");
    assert_eq!(err.upload_id(), Some(ID));
    assert!(!err.is_transient());
    assert_eq!(
        err.cleanup(),
        Some(&Cleanup::Retained {
            journal: Some(journal.clone())
        })
    );
    // Settling read 'completed' but could not list the Files (mockito has no /files): unknown.
    assert!(err.to_string().contains("is unknown"), "{err}");
    assert!(err.to_string().contains("could not be listed"), "{err}");
    assert!(err.to_string().contains("not cancelled"), "{err}");
    assert_eq!(journal_state(&journal), "completing");
    // Resuming a `completing` journal asks again and gets the same honest answer.
    let again = client(&server, Duration::from_millis(300))
        .resume_upload(&journal)
        .failure_policy(FailurePolicy::Cancel)
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::CompletionUnknown, "{again}");
    assert_eq!(journal_state(&journal), "completing");
    lost.assert_async().await;
    not_pending.assert_async().await;
    cancel.assert_async().await;
}

#[tokio::test]
async fn an_undecodable_complete_answer_is_completion_unknown_and_never_cancelled() {
    let mut server = mockito::Server::new_async().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _create, _part) = create_and_part(&mut server, dir.path()).await;
    // The first answer, and both of settling's `complete` requests, are undecodable.
    let complete = complete_answer(
        &mut server,
        200,
        "<html>upstream glitch</html>".to_owned(),
        Some(3),
    )
    .await;
    let cancel = cancel_mock(&mut server, ID, 200, 0).await;
    let err = upload(&client(&server, Duration::from_secs(10)), &path)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CompletionUnknown, "{err}");
    assert_eq!(err.upload_id(), Some(ID));
    assert!(matches!(err.cleanup(), Some(Cleanup::Retained { .. })));
    complete.assert_async().await;
    cancel.assert_async().await;
}

#[tokio::test]
async fn a_2xx_complete_that_is_not_completed_or_has_no_file_is_an_error() {
    for (status, file) in [("pending", Some(file_json())), ("completed", None)] {
        let mut server = mockito::Server::new_async().await;
        let dir = tempfile::tempdir().unwrap();
        let (path, _create, _part) = create_and_part(&mut server, dir.path()).await;
        let _complete =
            complete_answer(&mut server, 200, upload_json(ID, status, file), None).await;
        let cancel = cancel_mock(&mut server, ID, 200, 0).await;
        let err = upload(&client(&server, Duration::from_secs(10)), &path)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedResponse, "{status}: {err}");
        assert_eq!(err.upload_id(), Some(ID));
        cancel.assert_async().await;
    }
}

#[tokio::test]
async fn a_complete_answer_with_its_file_gives_the_file_id() {
    let mut server = mockito::Server::new_async().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _create, _part) = create_and_part(&mut server, dir.path()).await;
    let _complete = server
        .mock("POST", format!("/uploads/{ID}/complete").as_str())
        .match_body(Matcher::PartialJson(json!({"part_ids": ["part_1"]})))
        .with_header("content-type", "application/json")
        .with_status(200)
        .with_body(upload_json(ID, "completed", Some(file_json())))
        .create_async()
        .await;
    let done = upload(&client(&server, Duration::from_secs(10)), &path)
        .await
        .unwrap();
    assert_eq!(done.file_id(), "file-1");
    assert_eq!(done.upload_id(), ID);
    assert_eq!(done.bytes(), 10);
}

#[tokio::test]
async fn a_failed_cancel_is_reported_as_such_never_as_a_cancel() {
    let mut server = mockito::Server::new_async().await;
    let _create = created(&mut server).await;
    let bad_part = api_error("bad part", "invalid_request_error");
    let _part = parts_answer(&mut server, 400, bad_part, None).await;
    let cancel = cancel_mock(&mut server, ID, 500, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let path = ten_byte_file(dir.path());
    let err = upload(&client(&server, Duration::from_secs(10)), &path)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(!err.is_transient(), "a 400 is not fixed by retrying");
    assert!(
        matches!(err.cleanup(), Some(Cleanup::CancelFailed { .. })),
        "{:?}",
        err.cleanup()
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("could not cancel upload {ID}")),
        "{text}"
    );
    assert!(!text.contains("was cancelled"), "{text}");
    cancel.assert_async().await;
}

#[tokio::test]
async fn an_undecodable_create_answer_that_names_an_upload_is_cancelled() {
    let mut server = mockito::Server::new_async().await;
    let create = server
        .mock("POST", "/uploads")
        .with_header("content-type", "application/json")
        .with_status(200)
        .with_body(r#"{"id": "upload_y", "object": "upload", "bytes": 10, "stat"#)
        .expect(1)
        .create_async()
        .await;
    let cancel = cancel_mock(&mut server, "upload_y", 200, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let path = ten_byte_file(dir.path());
    let err = upload(&client(&server, Duration::from_secs(10)), &path)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert_eq!(err.upload_id(), Some("upload_y"));
    assert_eq!(err.cleanup(), Some(&Cleanup::Cancelled));
    create.assert_async().await;
    cancel.assert_async().await;
}

#[tokio::test]
async fn the_best_effort_cancel_is_bounded() {
    let mut server = mockito::Server::new_async().await;
    let _create = created(&mut server).await;
    let bad_part = json!({"error": {"message": "bad part"}}).to_string();
    let _part = parts_answer(&mut server, 400, bad_part, None).await;
    // The cancel's answer never comes in time.
    let cancel = format!("/uploads/{ID}/cancel");
    let _cancel = stalled(&mut server, &cancel, Duration::from_secs(3), None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = ten_byte_file(dir.path());
    let err = client(&server, Duration::from_secs(60))
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .cancel_timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    match err.cleanup() {
        Some(Cleanup::CancelFailed { reason }) => {
            assert!(reason.contains("no answer within 200 ms"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

/// Two parts that each fail once: `rounds` more rounds after the others finished.
async fn parts_failing_once(
    rounds: u32,
) -> (uploads_ext::Result<uploads_ext::CompletedUpload>, Mock) {
    let mut server = mockito::Server::new_async().await;
    let _create = created(&mut server).await;
    let failing = parts_answer(&mut server, 503, api_error("busy", "server_error"), Some(2)).await;
    let _ok = part_accepted(&mut server).await;
    let completed = upload_json(ID, "completed", Some(file_json()));
    let _complete = complete_answer(&mut server, 200, completed, None).await;
    let cancel = cancel_mock(&mut server, ID, 200, usize::from(rounds == 0)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = ten_byte_file(dir.path());
    let result = client(&server, Duration::from_secs(10))
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(5)
        .concurrency(2)
        .part_retries(0)
        .part_rounds(rounds)
        .send()
        .await;
    failing.assert_async().await;
    cancel.assert_async().await;
    (result, failing)
}

#[tokio::test]
async fn parts_that_ran_out_of_retries_get_another_round_before_the_upload_gives_up() {
    let (result, _) = parts_failing_once(1).await;
    assert_eq!(result.unwrap().file_id(), "file-1");
    let (result, _) = parts_failing_once(0).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.is_transient());
    assert_eq!(err.cleanup(), Some(&Cleanup::Cancelled));
}

#[tokio::test]
async fn cancelling_an_empty_upload_id_sends_nothing() {
    let mut server = mockito::Server::new_async().await;
    let any = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    for id in ["", "  "] {
        let err = client(&server, Duration::from_secs(10))
            .cancel_upload(id)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    any.assert_async().await;
}
