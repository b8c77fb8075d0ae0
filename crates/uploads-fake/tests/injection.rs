//! The fake's seeded fault fractions, stalls, bandwidth, the parts-in-flight gauge and the
//! storage modes, over real HTTP on loopback.

use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use serde_json::json;
use uploads_fake::{FakeConfig, FakeServer, Faults, RetryHint, Route, Storage, UploadStatus};

mod common;
use common::{files_in, pattern, sha256_hex, Api};

async fn statuses(api: &Api, upload: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(api.part(upload, vec![i as u8]).await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn seeded_500_and_429_injection_is_deterministic() {
    let faults = Faults::default()
        .with_seed(42)
        .with_fail_500(0.3)
        .with_fail_429(0.3, Duration::from_millis(250), RetryHint::Millis);
    let server = FakeServer::start_with(FakeConfig::default().with_faults(faults.clone()))
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create(1).await;
    let first = statuses(&api, &id, 40).await;
    assert!(
        first.contains(&500) && first.contains(&429) && first.contains(&200),
        "{first:?}"
    );
    assert!(first.iter().all(|s| [200, 429, 500].contains(s)));
    let stats = server.stats();
    let count = |code| first.iter().filter(|s| **s == code).count() as u64;
    assert_eq!(stats.faults.server_error, count(500));
    assert_eq!(stats.faults.rate_limited, count(429));
    assert_eq!(server.upload(&id).unwrap().parts.len() as u64, count(200));
    assert_eq!(
        files_in(&server),
        count(200) as usize,
        "faulted parts leave nothing"
    );
    // Create/complete are not affected by default.
    assert_eq!(stats.requests.create, 1);

    // Same seed -> same sequence, on a fresh server and after set_faults.
    let again = FakeServer::start_with(FakeConfig::default().with_faults(faults.clone()))
        .await
        .unwrap();
    let api2 = Api::new(&again);
    let id2 = api2.create(1).await;
    assert_eq!(statuses(&api2, &id2, 40).await, first);
    server.set_faults(faults.clone());
    assert_eq!(statuses(&api, &id, 40).await, first);
    let other_seed = faults.with_seed(43);
    server.set_faults(other_seed);
    assert_ne!(statuses(&api, &id, 40).await, first);

    // Error envelopes of injected faults.
    server.set_faults(Faults::default().with_fail_500(1.0));
    let r = api.part(&id, vec![1]).await;
    r.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    server.set_faults(Faults::default().with_fail_429(
        1.0,
        Duration::from_millis(1500),
        RetryHint::Millis,
    ));
    let r = api.part(&id, vec![1]).await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "requests");
    assert_eq!(r.body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(r.headers["retry-after-ms"], "1500");
    assert!(r.headers.get("retry-after").is_none());

    server.set_faults(Faults::default().with_fail_429(
        1.0,
        Duration::from_millis(1500),
        RetryHint::Seconds,
    ));
    let r = api.part(&id, vec![1]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "2");
    assert!(r.headers.get("retry-after-ms").is_none());

    server.set_faults(Faults::default().with_fail_429(
        1.0,
        Duration::from_secs(120),
        RetryHint::HttpDate,
    ));
    let before = SystemTime::now();
    let r = api.part(&id, vec![1]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let date = httpdate::parse_http_date(r.headers["retry-after"].to_str().unwrap()).unwrap();
    let ahead = date.duration_since(before).unwrap();
    assert!(
        ahead >= Duration::from_secs(119) && ahead <= Duration::from_secs(130),
        "{ahead:?}"
    );

    server.set_faults(Faults::default().with_fail_429(
        1.0,
        Duration::from_secs(1),
        RetryHint::None,
    ));
    let r = api.part(&id, vec![1]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get("retry-after").is_none() && r.headers.get("retry-after-ms").is_none());
}

#[tokio::test]
async fn faults_can_target_other_operations() {
    let server = FakeServer::start_with(
        FakeConfig::default().with_faults(
            Faults::default()
                .with_fail_500(1.0)
                .with_apply_to([Route::Complete]),
        ),
    )
    .await
    .unwrap();
    let api = Api::new(&server);
    let id = api.create(1).await;
    let p = api.part_ok(&id, vec![1]).await;
    let r = api.complete(&id, json!({"part_ids": [p]})).await;
    r.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
    server.set_faults(Faults::none());
    assert_eq!(
        api.complete(&id, json!({"part_ids": [p]})).await.status,
        StatusCode::OK
    );
    assert_eq!(server.stats().faults.server_error, 1);
}

#[tokio::test]
async fn dropped_connection_is_a_client_error_and_stores_nothing() {
    let server = FakeServer::start_with(
        FakeConfig::default().with_faults(Faults::default().with_drop_connection(1.0)),
    )
    .await
    .unwrap();
    let api = Api::new(&server);
    let id = api.create(300_000).await;
    for size in [300_000, 10] {
        let err = api
            .try_part(&id, pattern(size, 5))
            .await
            .err()
            .expect("the client must see an error, not a response");
        assert!(!err.is_status(), "{err:?}");
    }
    let stats = server.stats();
    assert_eq!(stats.faults.dropped, 2);
    assert_eq!(stats.parts_stored, 0);
    assert!(server.upload(&id).unwrap().parts.is_empty());
    assert_eq!(files_in(&server), 0);

    server.set_faults(Faults::none());
    let p = api.part_ok(&id, pattern(300_000, 5)).await;
    assert_eq!(
        api.complete(&id, json!({"part_ids": [p]})).await.status,
        StatusCode::OK
    );
    assert_eq!(server.stats().parts_in_flight, 0);
}

#[tokio::test]
async fn max_in_flight_gauge_counts_concurrent_part_requests() {
    let server = FakeServer::start().await.unwrap();
    let api = std::sync::Arc::new(Api::new(&server));
    let id = api.create(5).await;
    const N: usize = 5;

    let hold = server.hold_parts();
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let api = api.clone();
            let id = id.clone();
            tokio::spawn(async move { api.part(&id, vec![i as u8]).await.status })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(30), server.wait_for_parts_in_flight(N))
        .await
        .expect("all part requests in flight at once");
    assert_eq!(server.stats().parts_in_flight, N);
    assert!(
        server.upload(&id).unwrap().parts.is_empty(),
        "held before storing"
    );
    hold.release();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let stats = server.stats();
    assert_eq!(stats.max_parts_in_flight, N);
    assert_eq!(stats.parts_in_flight, 0);
    assert_eq!(server.upload(&id).unwrap().parts.len(), N);

    server.reset_stats();
    assert_eq!(server.stats().max_parts_in_flight, 0);

    // Latency applies to every part request and overlaps between requests:
    // three requests at once take one latency, not three.
    let latency = Duration::from_millis(300);
    server.set_faults(Faults::default().with_latency(latency));
    let started = Instant::now();
    let results = futures_util::future::join_all((0..3).map(|_| api.part(&id, vec![1]))).await;
    assert!(results.iter().all(|r| r.status == StatusCode::OK));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= latency && elapsed < latency * 2,
        "3 concurrent requests with {latency:?} latency took {elapsed:?}"
    );
    let stats = server.stats();
    assert_eq!(stats.requests.add_part, 3);
    assert!(stats.max_parts_in_flight >= 1 && stats.max_parts_in_flight <= 3);
}

#[tokio::test]
async fn stall_and_bandwidth_faults() {
    let server = FakeServer::start_with(
        FakeConfig::default()
            .with_faults(Faults::default().with_stall(1.0, Duration::from_secs(60))),
    )
    .await
    .unwrap();
    let api = Api::new(&server);
    let id = api.create(10).await;
    let err = api
        .part_request(&id, vec![1, 2, 3])
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("stalled request times out");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(server.stats().faults.stalled, 1);

    // 50 KB at 100 KB/s takes at least ~0.5 s.
    server.set_faults(Faults::default().with_bandwidth(100_000));
    let started = Instant::now();
    api.part_ok(&id, pattern(50_000, 1)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn hash_only_and_discard_modes() {
    let server = FakeServer::start_with(FakeConfig::default().with_storage(Storage::HashOnly))
        .await
        .unwrap();
    assert!(server.storage_dir().is_none());
    let api = Api::new(&server);
    let id = api.create(6).await;
    let data = pattern(6, 4);
    let p = api.part_ok(&id, data.clone()).await;
    let snap = server.upload(&id).unwrap();
    assert_eq!(
        snap.part(&p).unwrap().sha256.as_deref(),
        Some(sha256_hex(&data).as_str())
    );
    // md5 cannot be verified in this mode: accepted as is.
    let r = api
        .complete(
            &id,
            json!({"part_ids": [p], "md5": "00000000000000000000000000000000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let snap = server.upload(&id).unwrap();
    assert_eq!(snap.content_md5, None);
    assert_eq!(snap.content_sha256, None);
    assert!(server.read_content(&id).is_err());

    let server = FakeServer::start_with(FakeConfig::default().with_storage(Storage::Discard))
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create(6).await;
    let p = api.part_ok(&id, data.clone()).await;
    assert_eq!(server.upload(&id).unwrap().part(&p).unwrap().sha256, None);
    assert_eq!(server.stats().part_bytes_received, 6);
    assert_eq!(
        api.complete(&id, json!({"part_ids": [p]})).await.status,
        StatusCode::OK
    );
}
