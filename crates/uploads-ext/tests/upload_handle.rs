//! The shape of an upload as a user drives it: the handle (`upload_id`, `abort`), the one
//! concurrency knob against the client's budget, and an md5 the caller computed.

mod common;

use std::time::Duration;

use common::content;
use md5::{Digest, Md5};
use uploads_ext::{Aborted, Cleanup, Client, ErrorKind, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Route, UploadStatus as FakeStatus};

const KIB: u64 = 1024;

fn client_with_budget(server: &FakeServer, budget: usize) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .max_parts_in_flight(budget)
        .build()
        .unwrap()
}

async fn server() -> FakeServer {
    FakeServer::start_with(FakeConfig::default()).await.unwrap()
}

#[tokio::test]
async fn a_concurrency_above_the_client_budget_is_refused_before_any_request() {
    let server = server().await;
    let client = client_with_budget(&server, 4);
    let err = client
        .upload_bytes(content(8 * KIB, 1))
        .filename("a.bin")
        .purpose(Purpose::Batch)
        .part_size(KIB)
        .concurrency(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("max_parts_in_flight"), "{err}");
    assert_eq!(err.cleanup(), Some(&Cleanup::NotNeeded));
    assert_eq!(server.stats().requests.create, 0);

    // At the budget it runs, and uses it.
    let hold = server.hold_parts();
    let upload = client
        .upload_bytes(content(8 * KIB, 1))
        .filename("a.bin")
        .purpose(Purpose::Batch)
        .part_size(KIB)
        .concurrency(4)
        .spawn();
    server.wait_for_parts_in_flight(4).await;
    drop(hold);
    let done = upload.join().await.unwrap();
    assert_eq!(
        server.read_content(done.upload_id()).unwrap(),
        content(8 * KIB, 1)
    );
    assert_eq!(server.stats().max_parts_in_flight, 4);
}

#[tokio::test]
async fn the_default_concurrency_fits_a_smaller_budget() {
    let server = server().await;
    let client = client_with_budget(&server, 2);
    let done = client
        .upload_bytes(content(8 * KIB, 2))
        .filename("b.bin")
        .purpose(Purpose::Batch)
        .part_size(KIB)
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.read_content(done.upload_id()).unwrap(),
        content(8 * KIB, 2)
    );
    assert!(server.stats().max_parts_in_flight <= 2);
}

#[tokio::test]
async fn the_handle_names_the_upload_and_abort_says_what_the_cleanup_did() {
    let server = server().await;
    let client = client_with_budget(&server, 4);
    let hold = server.hold_parts();
    let handle = client
        .upload_bytes(content(8 * KIB, 3))
        .filename("c.bin")
        .purpose(Purpose::Batch)
        .part_size(KIB)
        .concurrency(2)
        .spawn();
    // Parts are at the server, so the Upload exists and its id has been reported.
    server.wait_for_parts_in_flight(2).await;
    let id = handle
        .upload_id()
        .expect("the upload id is known once created");
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Pending);
    let aborted = handle.abort().await.unwrap();
    drop(hold);
    match &aborted {
        Aborted::Stopped {
            upload_id, cleanup, ..
        } => {
            assert_eq!(upload_id.as_deref(), Some(id.as_str()));
            assert_eq!(cleanup, &Cleanup::Cancelled);
        }
        other => panic!("expected a stopped upload, got {other:?}"),
    }
    assert_eq!(aborted.upload_id(), Some(id.as_str()));
    assert_eq!(aborted.cleanup(), Some(&Cleanup::Cancelled));
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Cancelled);
}

#[tokio::test]
async fn an_md5_the_caller_computed_is_sent_as_given() {
    let server = server().await;
    let client = client_with_budget(&server, 4);
    let bytes = content(5 * KIB, 4);
    let digest: [u8; 16] = Md5::digest(&bytes).into();
    let done = client
        .upload_bytes(bytes.clone())
        .filename("d.bin")
        .purpose(Purpose::Batch)
        .part_size(2 * KIB)
        .md5_digest(digest)
        .send()
        .await
        .unwrap();
    let snap = server.upload(done.upload_id()).unwrap();
    assert_eq!(
        snap.content_md5.as_deref(),
        Some(hex::encode(digest).as_str())
    );

    // A wrong one reaches the server, which refuses it.
    let err = client
        .upload_bytes(bytes)
        .filename("d.bin")
        .purpose(Purpose::Batch)
        .part_size(2 * KIB)
        .md5_digest([0; 16])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{err}");
    assert!(err.to_string().contains("md5"), "{err}");
}

/// An upload of 8 KiB whose first `complete` meets `fault` at the fake, returned once that
/// `complete` has reached it.
async fn spawn_until_completing(
    fault: Fault,
    cancel_timeout: Duration,
) -> (FakeServer, uploads_ext::UploadHandle) {
    let plan = FaultPlan::new().nth(Route::Complete, 1, fault);
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let handle = client_with_budget(&server, 4)
        .upload_bytes(content(8 * KIB, 5))
        .filename("e.bin")
        .purpose(Purpose::Batch)
        .part_size(KIB)
        .cancel_timeout(cancel_timeout)
        .spawn();
    server.wait_for_requests(Route::Complete, 1).await;
    (server, handle)
}

/// An abort that arrives while `complete` is in flight does not drop it: the answer decides,
/// and a completed upload is reported as completed, never as stopped or cancelled.
#[tokio::test]
async fn an_abort_during_complete_waits_for_its_answer() {
    // About 1 s for 8 KiB, so the abort lands while the server is completing. (Were it late,
    // the upload would have completed anyway and the test could not tell the difference.)
    let slow = Fault::Slow {
        per_gib: Duration::from_secs(131_072),
    };
    let (server, handle) = spawn_until_completing(slow, Duration::from_secs(10)).await;
    let aborted = handle.abort().await.unwrap();
    let Aborted::AlreadyCompleted(done) = &aborted else {
        panic!("the complete in flight decides: {aborted:?}");
    };
    let upload = server.upload(done.upload_id()).unwrap();
    assert_eq!(upload.status, FakeStatus::Completed);
    assert_eq!(Some(done.file_id()), upload.file_id.as_deref());
    assert_eq!(server.stats().requests.cancel, 0);
}

/// When the answer of a `complete` in flight does not come within the cancel timeout, the
/// outcome is unknown: said so, and nothing is cancelled.
#[tokio::test]
async fn an_abort_during_an_unanswered_complete_is_an_unknown_outcome() {
    let (server, handle) =
        spawn_until_completing(Fault::Stall(None), Duration::from_millis(300)).await;
    let id = handle.upload_id().expect("created");
    let err = handle.abort().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CompletionUnknown, "{err}");
    assert!(err.to_string().contains("may have completed"), "{err}");
    assert!(
        !matches!(err.cleanup(), Some(Cleanup::Cancelled)),
        "{err:?}"
    );
    assert_eq!(server.stats().requests.cancel, 0);
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Pending);
}

/// An abort that arrives while `create` is in flight waits for its answer, so the Upload it made
/// is named and cleaned up (cancelled by default) instead of left pending with no known id.
#[tokio::test]
async fn an_abort_during_create_cancels_the_upload_it_made() {
    let plan = FaultPlan::new().nth(Route::Create, 1, Fault::Delay(Duration::from_secs(1)));
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let handle = client_with_budget(&server, 4)
        .upload_bytes(content(8 * KIB, 7))
        .filename("g.bin")
        .purpose(Purpose::Batch)
        .part_size(KIB)
        .spawn();
    server.wait_for_requests(Route::Create, 1).await;
    let aborted = handle.abort().await.unwrap();
    let id = aborted
        .upload_id()
        .expect("the Upload made is named")
        .to_owned();
    assert_eq!(aborted.cleanup(), Some(&Cleanup::Cancelled), "{aborted:?}");
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Cancelled);
    assert_eq!(server.uploads().len(), 1);
}
