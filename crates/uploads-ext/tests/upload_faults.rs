//! The fake server's fault plan at exact moments: answers lost after the server committed
//! (settled through the Files list),
//! undecodable successes, cancels that fail or stall, a server clock hours behind. Each test
//! checks what the caller is told against what the server holds.

mod common;

use std::time::{Duration, Instant};

use common::{content, fake_client, kept_failing_upload, twenty_uploads_of_64_parts, write_file};
use uploads_ext::{Cleanup, Client, ErrorKind, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Route, UploadStatus as FakeStatus};

const KIB: u64 = 1024;

fn client_for(server: &FakeServer) -> Client {
    fake_client(server, Duration::from_secs(5))
}

async fn server_with(plan: FaultPlan) -> FakeServer {
    FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap()
}

/// Uploads one 16 KiB file with default settings and returns the error it must end in.
async fn failing_upload(server: &FakeServer, seed: u64) -> uploads_ext::Error {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.bin", &content(16 * KIB, seed));
    client_for(server)
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .send()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_complete_answer_lost_after_commit_settles_to_the_file_found_in_the_list() {
    let server =
        server_with(FaultPlan::new().nth(Route::Complete, 1, Fault::DropAfterCommit)).await;
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "c.bin", &content(3 * 16 * KIB, 1));
    let journal = dir.path().join("c.journal");
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .journal(&journal)
        .send()
        .await
        .expect("the lost answer is settled");
    let upload = server.upload(done.upload_id()).unwrap();
    assert_eq!(upload.status, FakeStatus::Completed);
    assert_eq!(Some(done.file_id()), upload.file_id.as_deref());
    assert_eq!(done.file().bytes, 3 * 16 * KIB);
    assert_eq!(done.bytes(), 3 * 16 * KIB);
    // The Upload is rebuilt around the found File with the times its create answer gave.
    assert_eq!(done.upload().created_at, upload.created_at as i64);
    assert_eq!(done.upload().expires_at, upload.expires_at as i64);
    let requests = server.stats().requests;
    assert!(requests.list_files >= 1, "found through GET /files");
    assert_eq!(requests.cancel, 0, "never cancelled");
    assert!(!journal.exists(), "the journal of a settled upload is gone");
}

#[tokio::test]
async fn an_undecodable_complete_success_settles_and_is_never_cancelled() {
    let server = server_with(FaultPlan::new().nth(Route::Complete, 1, Fault::UndecodableOk)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.bin", &content(16 * KIB, 2));
    let done = client_for(&server)
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .send()
        .await
        .expect("settled");
    let upload = server.upload(done.upload_id()).unwrap();
    assert_eq!(upload.status, FakeStatus::Completed);
    assert_eq!(Some(done.file_id()), upload.file_id.as_deref());
    assert_eq!(server.stats().requests.cancel, 0);
}

#[tokio::test]
async fn an_undecodable_create_success_without_an_id_is_reported_as_unidentified() {
    // The fake's undecodable answer is cut off before the id (mockito covers one that names it).
    let server = server_with(FaultPlan::new().nth(Route::Create, 1, Fault::UndecodableOk)).await;
    let err = failing_upload(&server, 3).await;
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert_eq!(err.upload_id(), None, "no id is invented");
    assert_eq!(
        err.cleanup(),
        Some(&Cleanup::Unidentified),
        "never 'nothing was created'"
    );
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        uploads[0].status,
        FakeStatus::Pending,
        "it exists, left to expire"
    );
    assert_eq!(server.stats().requests.cancel, 0);
}

#[tokio::test]
async fn a_lost_create_answer_is_unidentified_not_nothing() {
    let server =
        server_with(FaultPlan::new().random(Route::Create, 1.0, Fault::DropAfterCommit)).await;
    let err = failing_upload(&server, 7).await;
    assert_eq!(err.cleanup(), Some(&Cleanup::Unidentified), "{err}");
    assert!(err.is_transient(), "running it again may work: {err}");
}

#[tokio::test]
async fn a_failing_cancel_leaves_the_upload_pending_and_says_so() {
    let plan = FaultPlan::new()
        .nth(Route::AddPart, 1, Fault::status(400))
        .random(Route::Cancel, 1.0, Fault::status(503));
    let server = server_with(plan).await;
    let err = failing_upload(&server, 4).await;
    assert!(
        matches!(err.cleanup(), Some(Cleanup::CancelFailed { .. })),
        "{err:?}"
    );
    let id = err.upload_id().unwrap();
    assert!(err
        .to_string()
        .contains(&format!("could not cancel upload {id}")));
    assert_eq!(server.upload(id).unwrap().status, FakeStatus::Pending);
}

#[tokio::test]
async fn a_stalled_cancel_is_given_up_after_the_cancel_timeout() {
    let plan = FaultPlan::new()
        .nth(Route::AddPart, 1, Fault::status(400))
        .random(Route::Cancel, 1.0, Fault::Stall(None));
    let server = server_with(plan).await;
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "s.bin", &content(16 * KIB, 5));
    let started = Instant::now();
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .cancel_timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(err.cleanup(), Some(Cleanup::CancelFailed { .. })),
        "{err:?}"
    );
    let id = err.upload_id().unwrap();
    assert_eq!(server.upload(id).unwrap().status, FakeStatus::Pending);
}

#[tokio::test]
async fn resume_works_with_the_server_clock_two_hours_behind() {
    let server =
        server_with(FaultPlan::new().random(Route::AddPart, 1.0, Fault::status(500))).await;
    server.clock().set_offset_secs(-7_200);
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(2 * 16 * KIB, 6);
    let path = write_file(dir.path(), "k.bin", &bytes);
    let journal = dir.path().join("k.journal");
    kept_failing_upload(&client, &path, &journal).await;
    server.set_fault_plan(FaultPlan::new());
    let done = client.resume_upload(&journal).send().await.unwrap();
    assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
}

#[tokio::test]
async fn twenty_uploads_of_64_parts_finish_through_the_issue_fault_mix() {
    let plan = FaultPlan::new()
        .seed(9)
        .random(Route::AddPart, 0.05, Fault::status(500))
        .random(Route::AddPart, 0.05, Fault::status(429))
        .random(Route::AddPart, 0.02, Fault::DropBeforeBody);
    let server = server_with(plan).await;
    twenty_uploads_of_64_parts(&server, &client_for(&server), 50).await;
    assert!(server.injected().len() > 50);
}

#[tokio::test]
async fn a_future_dropped_while_its_cleanup_cancel_is_under_way_still_cancels() {
    // The part is refused (400, not retried), so the cleanup cancels. The first cancel stalls
    // until the client's 300 ms bound on silence, and its retry succeeds; the caller drops the
    // future while the first one hangs.
    let plan = FaultPlan::new()
        .nth(Route::AddPart, 1, Fault::status(400))
        .nth(Route::Cancel, 1, Fault::Stall(None));
    let server = server_with(plan).await;
    let client = fake_client(&server, Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "d.bin", &content(16 * KIB, 9));
    let task = tokio::spawn(client.upload_file(&path).purpose(Purpose::Batch).send());
    server.wait_for_requests(Route::Cancel, 1).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let id = server.uploads()[0].id.clone();
    // Bounded, so that an abandoned cancel fails the test instead of hanging it.
    let cancelled = server.wait_for_upload(&id, |u| u.status == FakeStatus::Cancelled);
    tokio::time::timeout(Duration::from_secs(30), cancelled)
        .await
        .expect("the cancel was abandoned with the dropped future");
    assert_eq!(
        server.stats().requests.cancel,
        2,
        "the stalled cancel, then its retry"
    );
}
