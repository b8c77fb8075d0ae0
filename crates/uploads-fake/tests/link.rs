//! The link model over real HTTP: bandwidth caps shared by all connections
//! or per connection, and the throttle fault. Rates on loopback are checked
//! loosely here (a busy machine only makes them lower); the exact rates and
//! the fair share are checked on tokio's paused clock in `src/link.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, LinkModel, Route};

mod common;
use common::{pattern, Api};

/// Sends `n` parts of `size` bytes at once, each on its own connection;
/// returns the elapsed time.
async fn send_concurrently(server: &FakeServer, n: usize, size: usize) -> Duration {
    let api = Arc::new(Api::new(server));
    let id = api.create((n * size) as u64).await;
    server.reset_stats();
    let bodies: Vec<Vec<u8>> = (0..n).map(|i| pattern(size, i as u8)).collect();
    let started = Instant::now();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|data| {
            let api = api.clone();
            let id = id.clone();
            tokio::spawn(async move { api.part(&id, data).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let elapsed = started.elapsed();
    let stats = server.stats();
    assert_eq!(stats.max_parts_in_flight, n, "the parts overlapped");
    assert_eq!(stats.part_bytes_stored, (n * size) as u64);
    elapsed
}

/// The cap is never exceeded; the rate reaches at least half of it (a loaded
/// machine may slow loopback, never speed it up).
fn assert_capped_at(bytes: usize, elapsed: Duration, cap: u64) {
    let rate = bytes as f64 / elapsed.as_secs_f64();
    eprintln!("{bytes} bytes in {elapsed:?}: {rate:.0} B/s (cap {cap} B/s)");
    let cap = cap as f64;
    assert!(
        rate <= cap * 1.1 && rate >= cap * 0.5,
        "{bytes} bytes in {elapsed:?}: {rate:.0} B/s against a cap of {cap:.0} B/s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_cap_holds_across_8_connections() {
    let cap = 4 << 20; // 4 MiB/s
    let server =
        FakeServer::start_with(FakeConfig::default().with_link(LinkModel::new().shared(cap)))
            .await
            .unwrap();
    let (n, size) = (8, 768 << 10); // 6 MiB in all: about 1.5 s
    let elapsed = send_concurrently(&server, n, size).await;
    assert_capped_at(n * size, elapsed, cap);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_connection_cap_applies_to_each_connection() {
    let per_conn = 1 << 20; // 1 MiB/s each
    let server = FakeServer::start_with(
        FakeConfig::default().with_link(LinkModel::new().per_connection(per_conn)),
    )
    .await
    .unwrap();
    // Four connections at once finish in about the time one needs alone.
    let (n, size) = (4, 1 << 20);
    let elapsed = send_concurrently(&server, n, size).await;
    assert_capped_at(n * size, elapsed, n as u64 * per_conn);

    // Both caps: the shared one binds when it is the smaller.
    server.set_link(LinkModel::new().per_connection(per_conn).shared(2 << 20));
    let elapsed = send_concurrently(&server, n, size).await;
    assert_capped_at(n * size, elapsed, 2 << 20);
}

#[tokio::test]
async fn link_latency_delays_every_route_and_overlaps() {
    let latency = Duration::from_millis(300);
    let server =
        FakeServer::start_with(FakeConfig::default().with_link(LinkModel::new().latency(latency)))
            .await
            .unwrap();
    let api = Api::new(&server);
    let started = Instant::now();
    let ids = futures_util::future::join_all((0..4).map(|_| api.create(1))).await;
    let elapsed = started.elapsed();
    assert_eq!(ids.len(), 4);
    assert!(
        elapsed >= latency && elapsed < latency * 2,
        "4 concurrent creates with {latency:?} latency took {elapsed:?}"
    );
    assert_eq!(server.link().latency, latency);
}

#[tokio::test]
async fn a_throttle_fault_slows_one_part_in_n_and_the_others_pass() {
    // One part request in three crawls at 16 KiB/s: a straggler.
    let throttle = Fault::Throttle {
        bytes_per_sec: 16 << 10,
    };
    let plan = FaultPlan::new().every(Route::AddPart, 3, throttle.clone());
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let api = Api::new(&server);
    let size = 256 << 10; // 16 s at the throttle, milliseconds without it
    let id = api.create(3 * size as u64).await;
    let mut parts = Vec::new();
    for i in 0..4u8 {
        let sent = api
            .part_request(&id, pattern(size, i))
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let r = Api::read(resp).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                parts.push(r.body["id"].as_str().unwrap().to_string());
            }
            Err(e) => {
                assert!(e.is_timeout(), "{e:?}");
                assert_eq!(i, 2, "only the third request is throttled");
            }
        }
    }
    assert_eq!(parts.len(), 3);
    let log = server.injected();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].route, log[0].nth), (Route::AddPart, 3));
    assert_eq!(log[0].fault, throttle);
    assert_eq!(server.stats().faults.throttled, 1);
    // The cut straggler leaves nothing behind; its part is sent again and completes.
    tokio::time::timeout(
        Duration::from_secs(30),
        server.wait_for_parts_in_flight_at_most(0),
    )
    .await
    .expect("the throttled request ends when its client hangs up");
    assert_eq!(server.upload(&id).unwrap().parts.len(), 3);
    let r = api.complete(&id, json!({ "part_ids": parts })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
