//! Adaptive concurrency, straggler re-send and the buffered-bytes budget, checked with the fake
//! server's fault plans and statistics (no sleeps, no timing asserts: timing figures are the
//! benchmark's, `uploads-bench --bin links`).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{content, fake_client, write_file};
use uploads_ext::upload::DEFAULT_CONCURRENCY;
use uploads_ext::{Client, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, RetryHint, Route, UploadStatus};

const KIB: u64 = 1024;

async fn server_with(plan: FaultPlan) -> Arc<FakeServer> {
    Arc::new(
        FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn concurrency_shrinks_on_429s() {
    // Every second part request is answered 429: the path is congested throughout.
    let plan = FaultPlan::new().every(
        Route::AddPart,
        2,
        Fault::rate_limited(Duration::from_millis(1), RetryHint::Millis),
    );
    let server = server_with(plan).await;
    let client = fake_client(&server, Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(64 * 16 * KIB, 1);
    let path = write_file(dir.path(), "a.bin", &bytes);
    // The server's high-water mark of parts in flight is measured from half-way on.
    let reset = Arc::new(AtomicBool::new(false));
    let (watcher, flag) = (server.clone(), reset.clone());
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .part_retries(30)
        .on_progress(move |p| {
            if p.parts_completed >= p.parts_total / 2 && !flag.swap(true, Ordering::SeqCst) {
                watcher.reset_stats();
            }
        })
        .send()
        .await
        .unwrap();
    assert!(reset.load(Ordering::SeqCst));
    let stats = server.stats();
    assert!(stats.faults.rate_limited > 0, "{stats:?}");
    assert!(
        stats.max_parts_in_flight < DEFAULT_CONCURRENCY,
        "still {} parts in flight after many 429s",
        stats.max_parts_in_flight
    );
    assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
}

#[tokio::test]
async fn an_explicit_concurrency_is_never_exceeded_even_with_a_straggler() {
    // Part request 2 crawls: it would get a second copy, but never above the fixed level.
    let plan = FaultPlan::new().nth(
        Route::AddPart,
        2,
        Fault::Throttle {
            bytes_per_sec: 64 * KIB,
        },
    );
    let server = server_with(plan).await;
    let client = fake_client(&server, Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(40 * 16 * KIB, 2);
    let path = write_file(dir.path(), "b.bin", &bytes);
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .concurrency(3)
        .send()
        .await
        .unwrap();
    let stats = server.stats();
    assert!(stats.max_parts_in_flight <= 3, "{stats:?}");
    assert!(stats.max_parts_in_flight >= 1);
    assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
}

#[tokio::test]
async fn a_straggler_is_sent_again_and_only_one_copy_is_listed() {
    // Part request 5 crawls at 2 KiB/s (a 64 KiB part: half a minute); its peers take
    // milliseconds, so near the end it gets a second copy, which wins.
    let plan = FaultPlan::new().nth(
        Route::AddPart,
        5,
        Fault::Throttle {
            bytes_per_sec: 2 * KIB,
        },
    );
    let server = server_with(plan).await;
    let client = fake_client(&server, Duration::from_secs(60));
    let dir = tempfile::tempdir().unwrap();
    let parts = 20u64;
    let bytes = content(parts * 64 * KIB, 3);
    let path = write_file(dir.path(), "c.bin", &bytes);
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(64 * KIB)
        .send()
        .await
        .unwrap();
    let stats = server.stats();
    assert_eq!(stats.faults.throttled, 1);
    assert_eq!(
        stats.requests.add_part,
        parts + 1,
        "exactly one second copy (extra bytes within 10 %): {stats:?}"
    );
    let upload = server.upload(done.upload_id()).unwrap();
    assert_eq!(upload.status, UploadStatus::Completed);
    let listed = upload.completed_part_ids.unwrap();
    assert_eq!(listed.len() as u64, parts, "one id per part");
    let unique: std::collections::HashSet<_> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len());
    assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
}

#[tokio::test]
async fn many_reader_uploads_on_one_client_stay_within_the_buffer_budget() {
    let server = server_with(FaultPlan::new()).await;
    // 8 uploads of 4 MiB from readers, in 512 KiB parts, with 32 parts allowed in flight, would
    // hold 16 MiB of parts at once; the buffer budget allows 2 MiB.
    let budget = 2 * 1024 * KIB;
    let client = Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .max_parts_in_flight(32)
        .max_buffered_bytes(budget)
        .build()
        .unwrap();
    assert_eq!(client.max_buffered_bytes(), budget);
    let uploads = (0..8u64).map(|i| {
        let client = client.clone();
        let bytes = content(4 * 1024 * KIB, 10 + i);
        async move {
            let done = client
                .upload_reader(std::io::Cursor::new(bytes.clone()), bytes.len() as u64)
                .filename(format!("r{i}.bin"))
                .purpose(Purpose::Batch)
                .part_size(512 * KIB)
                .md5(false)
                .send()
                .await
                .unwrap();
            (done, bytes)
        }
    });
    let results = futures_util::future::join_all(uploads).await;
    for (done, bytes) in results {
        assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
    }
    let peak = client.peak_buffered_bytes();
    // More than one part was held at once (the budget was used), never more than it allows.
    assert!(peak > 512 * KIB, "reader parts are counted: peak {peak}");
    assert!(peak <= budget, "peak {peak} above the budget {budget}");
}
