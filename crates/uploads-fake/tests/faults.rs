//! Every kind of fault of a [`FaultPlan`], aimed at exact requests, over real
//! HTTP on loopback. Each test checks what the client sees and what the
//! server committed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use uploads_fake::{
    FakeConfig, FakeServer, Fault, FaultPlan, InjectedFault, RetryHint, Route, UploadStatus,
};

mod common;
use common::{files_in, pattern, Api};

/// Upper bound on any wait in these tests.
const BOUND: Duration = Duration::from_secs(30);

async fn server_with(plan: FaultPlan) -> (FakeServer, Api) {
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let api = Api::new(&server);
    (server, api)
}

fn routes_and_numbers(log: &[InjectedFault]) -> Vec<(Route, u64)> {
    log.iter().map(|f| (f.route, f.nth)).collect()
}

#[tokio::test]
async fn status_faults_hit_exactly_the_scheduled_requests() {
    let plan = FaultPlan::new()
        .nth(Route::AddPart, 2, Fault::html(502))
        .nth(Route::AddPart, 3, Fault::status(503))
        .nth(Route::AddPart, 4, Fault::status(500))
        .nth(
            Route::AddPart,
            5,
            Fault::rate_limited(Duration::from_millis(700), RetryHint::Millis),
        );
    let (server, api) = server_with(plan).await;
    let id = api.create(2).await;
    assert_eq!(api.part(&id, vec![1]).await.status, StatusCode::OK);

    // A proxy's HTML 502: not JSON, so read it raw.
    let resp = api.part_request(&id, vec![2]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert!(resp.text().await.unwrap().contains("502 Bad Gateway"));

    api.part(&id, vec![3])
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "server_error");
    api.part(&id, vec![4])
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    let r = api.part(&id, vec![5]).await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "requests");
    assert_eq!(r.body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(r.headers["retry-after-ms"], "700");
    assert_eq!(api.part(&id, vec![6]).await.status, StatusCode::OK);

    // Only the unfaulted parts were stored.
    assert_eq!(server.upload(&id).unwrap().parts.len(), 2);
    assert_eq!(files_in(&server), 2);
    let log = server.injected();
    assert_eq!(
        routes_and_numbers(&log),
        [
            (Route::AddPart, 2),
            (Route::AddPart, 3),
            (Route::AddPart, 4),
            (Route::AddPart, 5)
        ]
    );
    assert!(log
        .iter()
        .all(|f| f.object_id.as_deref() == Some(id.as_str())));
    assert_eq!(log[0].fault, Fault::html(502));
    let stats = server.stats();
    assert_eq!(stats.faults.server_error, 3);
    assert_eq!(stats.faults.rate_limited, 1);
}

#[tokio::test]
async fn drop_before_body_performs_nothing() {
    let plan = FaultPlan::new()
        .nth(Route::Create, 1, Fault::DropBeforeBody)
        .nth(Route::AddPart, 1, Fault::DropBeforeBody);
    let (server, api) = server_with(plan).await;
    let body =
        json!({"filename": "a", "purpose": "batch", "bytes": 300_000, "mime_type": "text/plain"});
    let err = api
        .request("/uploads", body)
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status(), "{err:?}");
    assert!(server.uploads().is_empty(), "the create was not performed");

    let id = api.create(300_000).await;
    let err = api.try_part(&id, pattern(300_000, 1)).await.err();
    assert!(err.is_some_and(|e| !e.is_status()));
    let stats = server.stats();
    assert_eq!(stats.part_bytes_received, 0, "the body was never read");
    assert_eq!(stats.faults.dropped, 2);
    assert!(server.upload(&id).unwrap().parts.is_empty());
    assert_eq!(files_in(&server), 0);
}

#[tokio::test]
async fn drop_after_commit_loses_the_answer_not_the_operation() {
    let plan = FaultPlan::new()
        .nth(Route::AddPart, 1, Fault::DropAfterCommit)
        .nth(Route::Complete, 1, Fault::DropAfterCommit);
    let (server, api) = server_with(plan).await;
    let id = api.create(3).await;
    let err = api.try_part(&id, vec![1, 2, 3]).await.err();
    assert!(err.is_some_and(|e| !e.is_status()), "the answer is lost");
    let snap = server.upload(&id).unwrap();
    assert_eq!(snap.parts.len(), 1, "but the part was stored");
    let part = snap.parts[0].id.clone();

    let err = api
        .request(
            &format!("/uploads/{id}/complete"),
            json!({"part_ids": [part]}),
        )
        .send()
        .await
        .expect_err("the answer is lost");
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(
        server.upload(&id).unwrap().status,
        UploadStatus::Completed,
        "but the upload was completed"
    );
    assert_eq!(server.read_content(&id).unwrap(), vec![1, 2, 3]);
    // A retried complete now meets a completed upload.
    let r = api.complete(&id, json!({"part_ids": [part]})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("completed"), "{}", r.body);
}

#[tokio::test]
async fn a_part_stalled_forever_leaves_the_gauge_when_its_client_hangs_up() {
    let plan = FaultPlan::new().nth(Route::AddPart, 1, Fault::Stall(None));
    let (server, api) = server_with(plan).await;
    let id = api.create(3).await;
    let err = api
        .part_request(&id, vec![1, 2, 3])
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err:?}");
    tokio::time::timeout(BOUND, server.wait_for_parts_in_flight_at_most(0))
        .await
        .expect("the stalled request ends when its client hangs up");
    assert!(server.upload(&id).unwrap().parts.is_empty());
    assert_eq!(server.stats().max_parts_in_flight, 1);
}

#[tokio::test]
async fn stall_sends_nothing_and_performs_nothing() {
    let plan = FaultPlan::new()
        .nth(Route::Create, 1, Fault::Stall(None))
        .nth(
            Route::Cancel,
            1,
            Fault::Stall(Some(Duration::from_millis(200))),
        );
    let (server, api) = server_with(plan).await;
    let err = api
        .request(
            "/uploads",
            json!({"filename": "a", "purpose": "batch", "bytes": 1, "mime_type": "text/plain"}),
        )
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("a stall forever times out");
    assert!(err.is_timeout(), "{err:?}");
    assert!(server.uploads().is_empty());

    // A stall for a time ends with the connection closed, nothing performed.
    let id = api.create(1).await;
    let started = Instant::now();
    let err = api
        .request(&format!("/uploads/{id}/cancel"), serde_json::Value::Null)
        .timeout(BOUND)
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
    assert_eq!(server.stats().faults.stalled, 2);
}

#[tokio::test]
async fn stall_mid_body_pauses_reading_the_body() {
    let plan = FaultPlan::new()
        .nth(
            Route::AddPart,
            1,
            Fault::StallMidBody {
                after_bytes: 64 * 1024,
                duration: None,
            },
        )
        .nth(
            Route::AddPart,
            2,
            Fault::StallMidBody {
                after_bytes: 64 * 1024,
                duration: Some(Duration::from_millis(300)),
            },
        );
    let (server, api) = server_with(plan).await;
    let id = api.create(1 << 20).await;
    let err = api
        .part_request(&id, pattern(1 << 20, 1))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .expect_err("a pause forever times out");
    assert!(err.is_timeout(), "{err:?}");
    let received = server.stats().part_bytes_received;
    assert!(
        received <= 64 * 1024,
        "read {received} bytes past the pause"
    );
    assert!(server.upload(&id).unwrap().parts.is_empty());

    // A pause for a time: the part arrives, late.
    let started = Instant::now();
    let data = pattern(1 << 20, 2);
    let part = api.part_ok(&id, data.clone()).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let r = api.complete(&id, json!({"part_ids": [part]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(server.read_content(&id).unwrap(), data);
}

#[tokio::test]
async fn undecodable_ok_commits_and_answers_garbage() {
    let plan = FaultPlan::new().nth(Route::Complete, 1, Fault::UndecodableOk);
    let (server, api) = server_with(plan).await;
    let id = api.create(2).await;
    let part = api.part_ok(&id, vec![7, 8]).await;
    let resp = api
        .request(
            &format!("/uploads/{id}/complete"),
            json!({"part_ids": [part]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.bytes().await.unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_err());
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Completed);
    assert_eq!(server.stats().faults.undecodable, 1);
}

#[tokio::test]
async fn slow_complete_takes_time_per_gib_and_commits_after_the_client_left() {
    // 1 MiB at 2048 s per GiB: two seconds of "being completed".
    let plan = FaultPlan::new().nth(
        Route::Complete,
        1,
        Fault::Slow {
            per_gib: Duration::from_secs(2048),
        },
    );
    let (server, api) = server_with(plan).await;
    let size = 1 << 20;
    let id = api.create(size as u64).await;
    let part = api.part_ok(&id, pattern(size, 3)).await;
    let started = Instant::now();
    let err = api
        .request(
            &format!("/uploads/{id}/complete"),
            json!({"part_ids": [part]}),
        )
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .expect_err("the client gives up first");
    assert!(err.is_timeout(), "{err:?}");

    // Still completing: a second complete is refused, the upload not yet done.
    let r = api.complete(&id, json!({"part_ids": [part]})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("being completed"), "{}", r.body);

    let done = tokio::time::timeout(
        BOUND,
        server.wait_for_upload(&id, |u| u.status == UploadStatus::Completed),
    )
    .await
    .expect("the complete commits although its client left");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(done.content_sha256.is_some());
    assert_eq!(server.stats().faults.slow, 1);
}

#[tokio::test]
async fn random_fractions_from_a_json_plan_are_reproducible() {
    let plan = FaultPlan::from_json(
        r#"{"seed": 11, "rules": [
            {"route": "add_part", "fraction": 0.5, "fault": {"kind": "status", "status": 500}}
        ]}"#,
    )
    .unwrap();
    let (server, api) = server_with(FaultPlan::new()).await;
    let id = api.create(1).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        server.set_fault_plan(plan.clone());
        let mut statuses = Vec::new();
        for i in 0..30u8 {
            statuses.push(api.part(&id, vec![i]).await.status.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
    let fails = runs[0].iter().filter(|s| **s == 500).count();
    assert_eq!(server.injected().len(), 2 * fails);
    // The counters restart with each plan: the log numbers requests from 1 again.
    let first_numbers: Vec<u64> = server.injected().iter().map(|f| f.nth).collect();
    assert_eq!(first_numbers[..fails], first_numbers[fails..]);
}

#[tokio::test]
async fn clock_skew_works_both_ways() {
    let server = FakeServer::start_with(FakeConfig::default().with_clock_offset_secs(-7200))
        .await
        .unwrap();
    let api = Api::new(&server);
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = api
        .post(
            "/uploads",
            json!({"filename": "a", "purpose": "batch", "bytes": 1, "mime_type": "text/plain"}),
        )
        .await;
    let created = r.body["created_at"].as_u64().unwrap();
    let expires = r.body["expires_at"].as_u64().unwrap();
    assert!(
        created + 7200 >= real && created + 7200 <= real + 5,
        "{created} vs {real}"
    );
    assert!(expires < real, "expiry lies in the client's past");
    let id = r.body["id"].as_str().unwrap().to_string();
    // The server's own clock decides: the upload is still pending.
    api.part_ok(&id, vec![1]).await;

    // Ahead: an upload created now expires once the server runs an hour ahead.
    server.clock().set_offset_secs(0);
    let fresh = api.create(1).await;
    server.clock().set_offset_secs(3601);
    let r = api.part(&fresh, vec![1]).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(server.upload(&fresh).unwrap().status, UploadStatus::Expired);
}

#[tokio::test]
async fn wait_for_requests_returns_once_the_request_arrives_even_one_never_answered() {
    let plan = FaultPlan::new().nth(Route::Cancel, 1, Fault::Stall(None));
    let (server, api) = server_with(plan).await;
    let id = api.create(1).await;
    let mut arrived = Box::pin(server.wait_for_requests(Route::Cancel, 1));
    assert!(
        futures_util::FutureExt::now_or_never(arrived.as_mut()).is_none(),
        "no cancel has been sent yet"
    );
    // The stalled cancel gets no answer: only its arrival can end the wait.
    let stalled = tokio::spawn(async move { api.cancel(&id).await });
    tokio::time::timeout(BOUND, arrived)
        .await
        .expect("the cancel's arrival ends the wait");
    assert_eq!(server.stats().requests.cancel, 1);
    assert!(!stalled.is_finished(), "the cancel is still unanswered");
    stalled.abort();
}
