//! Settling a `complete` whose outcome is unknown, against the fake with fault plans: a pending
//! upload just completes, a completed one's File is found in `GET /files` (paginating), a
//! cancelled or expired one says so and its journal is cleared; a File of the wrong size is a
//! typed error.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{content, fake_client, journal_state, write_file};
use uploads_ext::{
    Cleanup, Client, ErrorKind, FailurePolicy, PartBody, Purpose, SettleRequest, Settlement,
};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Route, UploadStatus as FakeStatus};

const KIB: u64 = 1024;
const SIZE: u64 = 3 * 16 * KIB;

async fn server_with(plan: FaultPlan) -> FakeServer {
    FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap()
}

fn client_for(server: &FakeServer) -> Client {
    fake_client(server, Duration::from_secs(5))
}

/// Every `complete` is dropped before the server reads it: the upload stays pending, and the
/// engine (which settles at once, and cannot) leaves the journal in `completing`. Returns the
/// upload's id.
async fn stuck_in_completing(server: &FakeServer, path: &Path, journal: &Path) -> String {
    server.set_fault_plan(FaultPlan::new().random(Route::Complete, 1.0, Fault::DropBeforeBody));
    let err = client_for(server)
        .upload_file(path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .failure_policy(FailurePolicy::Keep)
        .journal(journal)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CompletionUnknown, "{err}");
    assert!(err.to_string().contains("not cancelled"), "{err}");
    let id = err.upload_id().unwrap().to_owned();
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Pending);
    assert_eq!(journal_state(journal), "completing");
    server.set_fault_plan(FaultPlan::new());
    id
}

#[tokio::test]
async fn a_complete_that_never_reached_the_server_is_completed_on_resume() {
    let server = server_with(FaultPlan::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "p.bin", &content(SIZE, 11));
    let journal = dir.path().join("p.journal");
    let id = stuck_in_completing(&server, &path, &journal).await;
    let done = client_for(&server)
        .resume_upload(&journal)
        .send()
        .await
        .expect("the resume settles a pending upload by completing it");
    assert_eq!(done.upload_id(), id);
    let upload = server.upload(&id).unwrap();
    assert_eq!(upload.status, FakeStatus::Completed);
    assert_eq!(Some(done.file_id()), upload.file_id.as_deref());
    assert_eq!(server.read_content(&id).unwrap(), content(SIZE, 11));
    assert!(!journal.exists(), "a settled journal is removed");
}

#[tokio::test]
async fn resume_of_a_completing_journal_whose_file_changed_still_settles() {
    let server = server_with(FaultPlan::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "c.bin", &content(SIZE, 12));
    let journal = dir.path().join("c.journal");
    let id = stuck_in_completing(&server, &path, &journal).await;
    // The parts were sent before the file changed: the server holds them and decides.
    std::fs::write(&path, b"changed").unwrap();
    let done = client_for(&server)
        .resume_upload(&journal)
        .send()
        .await
        .expect("settled with the journal's part ids");
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Completed);
    assert_eq!(server.read_content(&id).unwrap(), content(SIZE, 12));
    assert_eq!(done.file().bytes, SIZE);
    assert!(!journal.exists());
}

#[tokio::test]
async fn a_cancelled_upload_settles_as_cancelled_and_its_journal_is_cleared() {
    let server = server_with(FaultPlan::new()).await;
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "x.bin", &content(SIZE, 13));
    let journal = dir.path().join("x.journal");
    let id = stuck_in_completing(&server, &path, &journal).await;
    client.cancel_upload(&id).await.unwrap();

    let request = SettleRequest::new(&id, "x.bin", SIZE, Purpose::Batch, 0);
    let settled = client.settle_upload(request).await.unwrap();
    assert!(matches!(settled, Settlement::Cancelled), "{settled:?}");
    assert_eq!(settled.as_str(), "cancelled");

    let err = client.resume_upload(&journal).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(err.to_string().contains("cancelled on the server"), "{err}");
    assert!(!err.to_string().contains("probably"), "{err}");
    assert_eq!(err.cleanup(), Some(&Cleanup::NotNeeded));
    assert!(!journal.exists(), "the journal no longer blocks a rerun");
    // The same command again uploads afresh.
    let again = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .journal(&journal)
        .send()
        .await
        .unwrap();
    assert_ne!(again.upload_id(), id);
}

#[tokio::test]
async fn an_expired_upload_settles_as_expired() {
    let server = server_with(FaultPlan::new()).await;
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "e.bin", &content(SIZE, 14));
    let journal = dir.path().join("e.journal");
    let id = stuck_in_completing(&server, &path, &journal).await;
    server.clock().advance(Duration::from_secs(2 * 3600));
    let err = client.resume_upload(&journal).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
    assert!(err.to_string().contains("expired on the server"), "{err}");
    assert_eq!(err.upload_id(), Some(id.as_str()));
    assert!(!journal.exists());
}

#[tokio::test]
async fn settle_upload_completes_a_pending_upload_and_finds_a_completed_ones_file_past_a_page() {
    let server = server_with(FaultPlan::new()).await;
    let client = client_for(&server);
    // A pending upload with its one part: settling completes it.
    let upload = client
        .create_upload()
        .filename("s.jsonl")
        .purpose(Purpose::Batch)
        .bytes(5)
        .mime_type("text/jsonl")
        .await
        .unwrap();
    let part = client
        .add_upload_part(&upload.id, PartBody::bytes("hello"))
        .await
        .unwrap();
    let request = SettleRequest::new(&upload.id, "s.jsonl", 5, Purpose::Batch, upload.created_at)
        .part_ids([part.id.clone()]);
    let Settlement::Completed(done) = client.settle_upload(request.clone()).await.unwrap() else {
        panic!("a pending upload completes");
    };
    let file_id = done.file_id().to_owned();
    assert_eq!(
        server.stats().requests.list_files,
        0,
        "answered by complete"
    );

    // More than a page of newer Files of the same purpose: the search paginates to it.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..105u64 {
        let path = write_file(dir.path(), &format!("n{i}.bin"), &content(16, i));
        client
            .upload_file(&path)
            .purpose(Purpose::Batch)
            .send()
            .await
            .unwrap();
    }
    let Settlement::Completed(found) = client.settle_upload(request.clone()).await.unwrap() else {
        panic!("a completed upload's File is found");
    };
    assert_eq!(found.file_id(), file_id);
    assert_eq!(found.upload_id(), upload.id);
    assert_eq!(found.file().filename, "s.jsonl");
    assert!(server.stats().requests.list_files >= 2, "two pages read");
    // Without the Upload's times, the rebuilt Upload claims no expiry.
    assert_eq!(found.upload().created_at, found.file().created_at);
    assert_eq!(found.upload().expires_at, 0);
    let request = request.upload_times(upload.created_at, upload.expires_at);
    let Settlement::Completed(found) = client.settle_upload(request).await.unwrap() else {
        panic!("found again");
    };
    assert_eq!(found.file_id(), file_id);
    assert_eq!(found.upload().created_at, upload.created_at);
    assert_eq!(found.upload().expires_at, upload.expires_at);
}

#[tokio::test]
async fn look_alike_files_leave_the_outcome_unknown_rather_than_guess() {
    let server = server_with(FaultPlan::new()).await;
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "twin.bin", &content(64, 1));
    let first = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .send()
        .await
        .unwrap();
    client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .send()
        .await
        .unwrap();
    let request = SettleRequest::new(first.upload_id(), "twin.bin", 64, Purpose::Batch, 0);
    let settled = client.settle_upload(request).await.unwrap();
    let Settlement::Unknown { reason } = settled else {
        panic!("two Files match: {settled:?}");
    };
    assert!(reason.contains("2 Files match"), "{reason}");
}

#[tokio::test]
async fn a_completed_file_of_the_wrong_size_is_a_typed_error_and_never_cancelled() {
    let server = server_with(FaultPlan::new().nth(Route::Complete, 1, Fault::ShortFileOk)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "w.bin", &content(SIZE, 15));
    let journal = dir.path().join("w.journal");
    let err = client_for(&server)
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .journal(&journal)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FileSizeMismatch, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("{} bytes where {SIZE} were uploaded", SIZE - 1)),
        "{message}"
    );
    let id = err.upload_id().unwrap();
    assert_eq!(server.upload(id).unwrap().status, FakeStatus::Completed);
    assert_eq!(
        server.stats().requests.cancel,
        0,
        "a completed upload is not cancelled"
    );
    assert_eq!(err.cleanup(), Some(&Cleanup::NotNeeded));
    assert!(!journal.exists(), "nothing left to resume");
}

#[tokio::test]
async fn list_files_pages_and_retrieve_file_reads_one() {
    let server = server_with(FaultPlan::new()).await;
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for i in 0..3u64 {
        let path = write_file(dir.path(), &format!("l{i}.bin"), &content(8, i));
        let done = client
            .upload_file(&path)
            .purpose(Purpose::Batch)
            .send()
            .await
            .unwrap();
        ids.push(done.file_id().to_owned());
    }
    let first = client.list_files().purpose("batch").limit(2).await.unwrap();
    assert!(first.has_more);
    assert_eq!(first.data.len(), 2);
    assert_eq!(first.data[0].id, ids[2], "newest first");
    let rest = client
        .list_files()
        .purpose("batch")
        .limit(2)
        .after(first.last_id.clone().unwrap())
        .await
        .unwrap();
    assert!(!rest.has_more);
    assert_eq!(rest.data.len(), 1);
    assert_eq!(rest.data[0].id, ids[0]);
    assert!(client
        .list_files()
        .purpose("vision")
        .await
        .unwrap()
        .data
        .is_empty());
    let one = client.retrieve_file(&ids[1]).await.unwrap();
    assert_eq!(one.filename, "l1.bin");
    let missing = client.retrieve_file("file-nope").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn settling_a_pending_upload_without_part_ids_says_it_may_be_pending() {
    let server = server_with(FaultPlan::new()).await;
    let client = client_for(&server);
    let upload = client
        .create_upload()
        .filename("q.jsonl")
        .purpose(Purpose::Batch)
        .bytes(5)
        .mime_type("text/jsonl")
        .await
        .unwrap();
    let request = SettleRequest::new(&upload.id, "q.jsonl", 5, Purpose::Batch, 0);
    let settled = client.settle_upload(request).await.unwrap();
    let Settlement::Unknown { reason } = &settled else {
        panic!("nothing definite without part ids: {settled:?}");
    };
    assert!(reason.contains("may still be pending"), "{reason}");
    assert_eq!(
        server.upload(&upload.id).unwrap().status,
        FakeStatus::Pending
    );
    let empty = SettleRequest::new("", "q.jsonl", 5, Purpose::Batch, 0);
    let err = client.settle_upload(empty).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
