//! The shape of an upload as a user drives it: the handle (`upload_id`, `abort`), the one
//! concurrency knob against the client's budget, and an md5 the caller computed.

mod common;

use common::content;
use md5::{Digest, Md5};
use uploads_ext::{Aborted, Cleanup, Client, ErrorKind, Purpose};
use uploads_fake::{FakeConfig, FakeServer, UploadStatus as FakeStatus};

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
