//! Parts on slow, shared and stalling links (the fake's link model and stall faults): a stalled
//! connection is cut and its part retried, a slow one that keeps moving is never cut.

mod common;

use common::{content, fake_client, write_file};
use std::time::Duration;

use uploads_ext::Purpose;
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, LinkModel, Route, Storage};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

async fn server(config: FakeConfig) -> FakeServer {
    FakeServer::start_with(config.with_storage(Storage::HashOnly))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_connection_that_stalls_mid_body_is_cut_and_its_part_succeeds_on_retry() {
    // The first attempt's body stops being read after 64 KiB, for good. The part is larger than
    // what the socket buffers on the way take, so the client sees the connection take no piece.
    let plan = FaultPlan::new().nth(
        Route::AddPart,
        1,
        Fault::StallMidBody {
            after_bytes: 64 * KIB,
            duration: None,
        },
    );
    // Nothing stored or hashed: only the stall may slow the server down. The timeout is
    // generous for a loaded machine; the stall lasts for ever anyway.
    let server = FakeServer::start_with(
        FakeConfig::default()
            .with_storage(Storage::Discard)
            .with_fault_plan(plan),
    )
    .await
    .unwrap();
    let client = fake_client(&server, Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(32 * MIB, 11);
    let path = write_file(dir.path(), "stall.bin", &bytes);
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(32 * MIB)
        .part_retries(1)
        .part_rounds(0)
        .md5(false)
        .send()
        .await
        .unwrap();
    let snap = server.upload(done.upload_id()).unwrap();
    assert_eq!(snap.parts.len(), 1);
    assert_eq!(snap.parts[0].size, bytes.len() as u64);
    assert_eq!(
        server.stats().requests.add_part,
        2,
        "the stalled attempt was cut and the part sent again"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_after_the_body_is_cut_and_the_part_retried() {
    // The whole body is read, then no answer: cut after the timeout plus the in-transit
    // allowance of a 16 KiB part (1 s at 16 KiB/s).
    let plan = FaultPlan::new().nth(Route::AddPart, 1, Fault::Stall(None));
    let server = server(FakeConfig::default().with_fault_plan(plan)).await;
    let client = fake_client(&server, Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "quiet.bin", &content(16 * KIB, 12));
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_retries(1)
        .part_rounds(0)
        .send()
        .await
        .unwrap();
    assert_eq!(server.upload(done.upload_id()).unwrap().parts.len(), 1);
    assert_eq!(server.stats().requests.add_part, 2);
}

#[tokio::test]
async fn eight_slow_parts_sharing_a_slow_uplink_are_never_cut_by_a_short_timeout() {
    // 8 parts of 1 MiB share 2 MB/s (250 KB/s each, about 4 s per part) with a 1 s timeout.
    // Their bodies vanish into socket buffers at once and the answers come seconds later: the
    // stall watch must see bytes in transit, not a stall. (With 512 KiB progress steps and no
    // in-transit allowance, parts were cut after 1 s.)
    let server = server(FakeConfig::default().with_link(LinkModel::new().shared(2_000_000))).await;
    let client = fake_client(&server, Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(8 * MIB, 13);
    let path = write_file(dir.path(), "shared.bin", &bytes);
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(MIB)
        .concurrency(8)
        .part_retries(0)
        .part_rounds(0)
        .md5(false)
        .send()
        .await
        .unwrap();
    assert_eq!(server.upload(done.upload_id()).unwrap().parts.len(), 8);
    assert_eq!(server.stats().requests.add_part, 8, "no part was cut");
}
