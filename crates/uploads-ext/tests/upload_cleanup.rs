//! What a failed, aborted or dropped file upload leaves behind on the fake (cancelled, or kept
//! pending for a resume), and what a resume refuses.

mod common;

use common::uploading::{client_for, fast_retries, server_with, KIB};
use common::{assert_cancelled_on_server, content, write_file};
use std::path::Path;
use std::time::Duration;

use uploads_ext::upload::FailurePolicy;
use uploads_ext::RetryPolicy;
use uploads_ext::{Cleanup, ErrorKind, Purpose};
use uploads_fake::{FakeServer, Faults, UploadStatus as FakeStatus};

#[tokio::test]
async fn unrecoverable_failure_cancels_and_names_the_part() {
    let server = server_with(Faults::none().with_seed(1).with_fail_500(1.0)).await;
    let client = client_for(&server, fast_retries(1));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.bin", &content(100 * KIB, 1));
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(64 * KIB)
        .concurrency(1)
        .md5(false)
        .part_retries(1)
        .part_rounds(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.is_transient());
    let part = err.part().expect("part context");
    assert_eq!(part.index, 0);
    assert_eq!(part.range, 0..64 * KIB);
    assert!(
        err.request_id().is_some_and(|id| id.starts_with("req_")),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 2);
    let text = err.to_string();
    assert!(
        text.contains("part 0 (bytes 0..65536)") && text.contains("[request req_"),
        "{text}"
    );
    assert_cancelled_on_server(&server, &err);
}

#[tokio::test]
async fn keep_policy_leaves_the_upload_pending_and_resume_finishes_it() {
    let server = server_with(Faults::none().with_seed(3).with_fail_500(1.0)).await;
    let client = client_for(&server, fast_retries(0));
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(5 * 16 * KIB, 4);
    let path = write_file(dir.path(), "keep.bin", &bytes);
    let journal = dir.path().join("keep.journal.json");
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .concurrency(1) // no other part in flight when the first one fails
        .failure_policy(FailurePolicy::Keep)
        .journal(&journal)
        .send()
        .await
        .unwrap_err();
    let id = err.upload_id().unwrap().to_owned();
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Pending);
    assert!(journal.exists());

    server.set_faults(Faults::none());
    server.reset_stats();
    let upload = client.resume_upload(&journal).send().await.unwrap();
    assert_eq!(upload.upload_id(), id);
    assert_eq!(server.read_content(&id).unwrap(), bytes);
    assert_eq!(server.stats().requests.add_part, 5);
    assert_eq!(
        server.stats().requests.create,
        0,
        "resume must not create a new upload"
    );
    assert!(!journal.exists(), "journal removed after completion");

    // A new upload never overwrites an existing journal.
    std::fs::write(&journal, b"{}").unwrap();
    server.reset_stats();
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .journal(&journal)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(std::fs::read(&journal).unwrap(), b"{}");
    assert_eq!(server.stats().requests.total(), 0);
}

/// A cancelled upload's journal is gone (it could only block a rerun); nothing was sent since.
fn err_cleanup_cancelled(server: &FakeServer, journal: &Path) -> u64 {
    assert!(!journal.exists(), "a cancelled upload's journal is removed");
    let cancelled = server
        .uploads()
        .into_iter()
        .filter(|u| u.status == FakeStatus::Cancelled)
        .count();
    assert_eq!(cancelled, 1);
    0
}

#[tokio::test]
async fn resume_refuses_changed_files_cancelled_and_expired_uploads() {
    let server = server_with(Faults::none().with_seed(3).with_fail_500(1.0)).await;
    let client = client_for(&server, fast_retries(0));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "r.bin", &content(3 * 16 * KIB, 8));
    let kept = |journal: &Path| {
        client
            .upload_file(&path)
            .purpose(Purpose::Batch)
            .part_size(16 * KIB)
            .failure_policy(FailurePolicy::Keep)
            .journal(journal)
            .send()
    };

    // Expired: the journal's expires_at is in the past.
    let expired = dir.path().join("expired.json");
    kept(&expired).await.unwrap_err();
    let mut j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&expired).unwrap()).unwrap();
    // Started (by the local clock) long before its relative lifetime ran out.
    j["started_at"] = serde_json::json!(1_000);
    std::fs::write(&expired, serde_json::to_vec(&j).unwrap()).unwrap();
    server.reset_stats();
    let err = client.resume_upload(&expired).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
    assert!(
        err.upload_id().is_some(),
        "a refused resume names the upload"
    );
    assert!(
        matches!(err.cleanup(), Some(Cleanup::Retained { .. })),
        "{err:?}"
    );
    assert!(!err.is_transient());

    // Cancelled: a failed upload under the default policy is cancelled and says so.
    let cancelled = dir.path().join("cancelled.json");
    client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .journal(&cancelled)
        .part_retries(0)
        .part_rounds(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_cleanup_cancelled(&server, &cancelled), 0);

    // Changed file.
    let changed = dir.path().join("changed.json");
    kept(&changed).await.unwrap_err();
    std::fs::write(&path, content(3 * 16 * KIB + 1, 9)).unwrap();
    server.reset_stats();
    let err = client.resume_upload(&changed).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FileChanged, "{err}");
    assert_eq!(
        server.stats().requests.total(),
        0,
        "refusals happen before any request"
    );

    // Not a journal at all.
    let bogus = write_file(dir.path(), "bogus.json", b"{}");
    let err = client.resume_upload(&bogus).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal, "{err}");
}

#[tokio::test]
async fn abort_through_the_handle_cancels_on_the_server() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.bin", &content(8 * 16 * KIB, 2));
    let hold = server.hold_parts();
    let handle = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .concurrency(2)
        .spawn();
    server.wait_for_parts_in_flight(2).await;
    let aborted = handle.abort().await.unwrap();
    drop(hold);
    assert_eq!(aborted.cleanup(), Some(&Cleanup::Cancelled), "{aborted:?}");
    let id = aborted.upload_id().unwrap();
    assert_eq!(server.upload(id).unwrap().status, FakeStatus::Cancelled);
}

#[tokio::test]
async fn dropping_the_future_cancels_on_the_server() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "d.bin", &content(4 * 16 * KIB, 2));
    let hold = server.hold_parts();
    let task = tokio::spawn(
        client
            .upload_file(&path)
            .purpose(Purpose::Batch)
            .part_size(16 * KIB)
            .send(),
    );
    server.wait_for_parts_in_flight(1).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    drop(hold);
    let id = server.uploads()[0].id.clone();
    // The cancel is spawned when the future is dropped: wait for it to reach the server, bounded
    // so that a missing cancel fails the test instead of hanging it.
    let wait = server.wait_for_upload(&id, |u| u.status == FakeStatus::Cancelled);
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("no server-side cancel after the future was dropped");
}

#[tokio::test]
async fn a_file_that_changes_size_mid_upload_fails_and_is_cancelled() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "grow.bin", &content(6 * 16 * KIB, 2));
    let hold = server.hold_parts();
    let handle = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .concurrency(2)
        .spawn();
    server.wait_for_parts_in_flight(2).await;
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"more bytes").unwrap();
    }
    hold.release();
    let err = handle.join().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FileChanged, "{err}");
    let id = err.upload_id().unwrap();
    assert_eq!(server.upload(id).unwrap().status, FakeStatus::Cancelled);
}

#[tokio::test]
async fn parts_that_cannot_finish_before_expiry_are_not_started() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "e.bin", &content(4 * KIB, 2));
    // The fake's uploads live one hour; a two-hour margin means no part can finish in time.
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .expiry_margin(Duration::from_secs(7200))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
    assert_eq!(err.part().unwrap().index, 0);
    assert_eq!(server.stats().requests.add_part, 0);
    let id = err.upload_id().unwrap();
    assert_eq!(server.upload(id).unwrap().status, FakeStatus::Cancelled);
}
