//! Honest progress and the one-hour clock, against the fake with a throttled link: progress
//! counts what the server acknowledged (bytes sent are a second figure), and an upload too slow
//! to finish before it expires says so early, and stops early when asked.

mod common;

use common::{assert_cancelled_on_server, content, fake_client, write_file};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uploads_ext::{ErrorKind, Progress, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, LinkModel, Route, Storage};

const KIB: u64 = 1024;

#[tokio::test]
async fn progress_counts_acknowledged_bytes_and_sent_bytes_run_ahead() {
    // Every part's body is throttled to 256 KiB/s: bytes handed over sit in buffers long before
    // the server has them.
    let plan = FaultPlan::new().every(
        Route::AddPart,
        1,
        Fault::Throttle {
            bytes_per_sec: 256 * KIB,
        },
    );
    let server = Arc::new(
        FakeServer::start_with(
            FakeConfig::default()
                .with_storage(Storage::HashOnly)
                .with_fault_plan(plan),
        )
        .await
        .unwrap(),
    );
    let client = fake_client(&server, Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let size = 1024 * KIB;
    let path = write_file(dir.path(), "p.bin", &content(size, 21));
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let violations: Arc<Mutex<Vec<String>>> = Arc::default();
    let (record, check, srv) = (seen.clone(), violations.clone(), server.clone());
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(128 * KIB)
        .concurrency(4)
        .on_progress(move |p| {
            // What the server holds right now bounds what may be called acknowledged.
            let accepted: u64 = p
                .upload_id
                .as_deref()
                .and_then(|id| srv.upload(id))
                .map(|u| u.parts.iter().map(|part| part.size).sum())
                .unwrap_or(0);
            if p.bytes_completed > accepted || p.bytes_sent < p.bytes_completed {
                check.lock().unwrap().push(format!(
                    "acked {} sent {} server {accepted}",
                    p.bytes_completed, p.bytes_sent
                ));
            }
            record.lock().unwrap().push(p.clone());
        })
        .send()
        .await
        .unwrap();
    assert!(violations.lock().unwrap().is_empty(), "{:?}", violations);
    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.bytes_completed, size);
    assert_eq!(last.bytes_sent, size);
    assert_eq!(last.parts_completed, 8);
    assert!(last.bytes_per_sec.is_some_and(|r| r > 0));
    assert!(!last.too_slow());
    assert!(
        seen.iter().any(|p| p.bytes_sent > p.bytes_completed),
        "sent bytes ran ahead of the acknowledged ones"
    );
    let listed = server.upload(done.upload_id()).unwrap().completed_part_ids;
    assert_eq!(
        listed.map(|ids| ids.len()),
        Some(8),
        "every part listed once"
    );
}

/// A fake whose Uploads expire after 60 s, on a link of 64 KiB/s per connection: with two
/// parts in flight the 8 MiB below needs about a minute more than it has.
async fn short_lived_slow_server() -> FakeServer {
    FakeServer::start_with(
        FakeConfig::default()
            .with_storage(Storage::HashOnly)
            .with_upload_ttl(Duration::from_secs(60))
            .with_link(LinkModel::new().per_connection(64 * KIB)),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_upload_too_slow_for_its_expiry_fails_early_when_asked_and_is_cancelled() {
    let server = short_lived_slow_server().await;
    let client = fake_client(&server, Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "slow.bin", &content(8 * 1024 * KIB, 22));
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let record = seen.clone();
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(64 * KIB)
        .concurrency(2)
        .expiry_margin(Duration::from_secs(1))
        .md5(false)
        .fail_if_too_slow(true)
        .on_progress(move |p| record.lock().unwrap().push(p.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
    assert!(err.to_string().contains("fail_if_too_slow"), "{err}");
    assert_cancelled_on_server(&server, &err);
    // Stopped once the rate was known, not after sending for the Upload's lifetime.
    assert!(
        server.stats().requests.add_part < 16,
        "{:?}",
        server.stats().requests
    );
    let seen = seen.lock().unwrap();
    let slow = seen
        .iter()
        .find(|p| p.too_slow())
        .expect("a progress event said it is too slow");
    let (rate, needed) = (
        slow.bytes_per_sec.unwrap(),
        slow.needed_bytes_per_sec.unwrap(),
    );
    assert!(needed > rate, "needs {needed} B/s, has {rate} B/s");
}
