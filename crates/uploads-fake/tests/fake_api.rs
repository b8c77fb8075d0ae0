//! End-to-end tests of the fake over real HTTP on loopback, using reqwest.

use std::time::{Duration, Instant, SystemTime};

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uploads_fake::{FakeConfig, FakeServer, Faults, RetryHint, Route, Storage, UploadStatus};

mod common;
use common::{files_in, md5_hex, pattern, sha256_hex, Api};

#[tokio::test]
async fn create_returns_upload_object() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let r = api
        .post(
            "/uploads",
            json!({"filename": "train.jsonl", "purpose": "fine-tune", "bytes": 10, "mime_type": "text/jsonl"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.request_id().starts_with("req_"));
    assert_eq!(r.headers["content-type"], "application/json");
    let b = &r.body;
    assert!(b["id"].as_str().unwrap().starts_with("upload_"));
    assert_eq!(b["object"], "upload");
    assert_eq!(b["bytes"], 10);
    assert_eq!(b["filename"], "train.jsonl");
    assert_eq!(b["purpose"], "fine-tune");
    assert_eq!(b["status"], "pending");
    assert_eq!(b["file"], Value::Null);
    let created = b["created_at"].as_u64().unwrap();
    assert_eq!(b["expires_at"].as_u64().unwrap(), created + 3600);
    let now = server.clock().now_unix();
    assert!(created <= now && created + 5 >= now);

    let snap = server.upload(b["id"].as_str().unwrap()).unwrap();
    assert_eq!(snap.status, UploadStatus::Pending);
    assert_eq!(snap.mime_type, "text/jsonl");
    assert_eq!(snap.file_expires_after, None);
    assert_eq!(server.stats().requests.create, 1);

    // Upper bounds and every purpose are accepted.
    for purpose in [
        "assistants",
        "batch",
        "fine-tune",
        "vision",
        "user_data",
        "evals",
    ] {
        let r = api
            .post(
                "/uploads",
                json!({"filename": "a", "purpose": purpose, "bytes": 8589934592u64, "mime_type": "x/y",
                       "expires_after": {"anchor": "created_at", "seconds": 2592000}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{purpose}: {}", r.body);
    }
    assert_eq!(server.uploads().len(), 7);
}

#[tokio::test]
async fn create_validation_rejects_each_rule() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let valid = json!({"filename": "f", "purpose": "batch", "bytes": 5, "mime_type": "text/plain"});
    let with = |key: &str, value: Value| {
        let mut v = valid.clone();
        v[key] = value;
        v
    };
    let without = |key: &str| {
        let mut v = valid.clone();
        v.as_object_mut().unwrap().remove(key);
        v
    };
    let cases: Vec<(Value, &str)> = vec![
        (without("filename"), "filename"),
        (without("purpose"), "purpose"),
        (without("bytes"), "bytes"),
        (without("mime_type"), "mime_type"),
        (with("filename", json!(3)), "filename"),
        (with("filename", json!("")), "filename"),
        (with("purpose", json!("fine_tune")), "purpose"),
        (with("purpose", json!(["batch"])), "purpose"),
        (with("bytes", json!("5")), "bytes"),
        (with("bytes", json!(5.5)), "bytes"),
        (with("bytes", json!(0)), "bytes"),
        (with("bytes", json!(-1)), "bytes"),
        (with("bytes", json!(8589934593u64)), "bytes"),
        (with("mime_type", json!("")), "mime_type"),
        (with("mime_type", json!(null)), "mime_type"),
        (with("surprise", json!(1)), "surprise"),
        (with("expires_after", json!("soon")), "expires_after"),
        (
            with(
                "expires_after",
                json!({"anchor": "last_active_at", "seconds": 3600}),
            ),
            "expires_after.anchor",
        ),
        (
            with("expires_after", json!({"seconds": 3600})),
            "expires_after.anchor",
        ),
        (
            with("expires_after", json!({"anchor": "created_at"})),
            "expires_after.seconds",
        ),
        (
            with(
                "expires_after",
                json!({"anchor": "created_at", "seconds": 3599}),
            ),
            "expires_after.seconds",
        ),
        (
            with(
                "expires_after",
                json!({"anchor": "created_at", "seconds": 2592001}),
            ),
            "expires_after.seconds",
        ),
        (
            with(
                "expires_after",
                json!({"anchor": "created_at", "seconds": "3600"}),
            ),
            "expires_after.seconds",
        ),
        (
            with(
                "expires_after",
                json!({"anchor": "created_at", "seconds": 3600, "x": 1}),
            ),
            "expires_after.x",
        ),
    ];
    let mut request_ids = std::collections::HashSet::new();
    for (body, param) in &cases {
        let r = api.post("/uploads", body.clone()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
        assert_eq!(r.error_param(), Some(*param), "body {body} -> {}", r.body);
        assert!(request_ids.insert(r.request_id()), "request ids are unique");
    }

    // Malformed JSON and non-object bodies.
    for raw in ["{\"filename\": ", "", "[1,2]", "null"] {
        let r = api.post_raw("/uploads", raw).await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    }
    assert!(server.uploads().is_empty(), "nothing was created");
    assert_eq!(
        server.stats().requests.create,
        cases.len() as u64 + 4,
        "every request counted"
    );
}

#[tokio::test]
async fn auth_404_and_405() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let url = format!("{}/uploads", api.base);
    let body = json!({"filename": "f", "purpose": "batch", "bytes": 5, "mime_type": "text/plain"});

    let missing = Api::read(api.http.post(&url).json(&body).send().await.unwrap()).await;
    missing.assert_error(StatusCode::UNAUTHORIZED, "invalid_request_error");
    assert_eq!(missing.body["error"]["code"], "invalid_api_key");

    let wrong = Api::read(
        api.http
            .post(&url)
            .bearer_auth("sk-wrong-key-123456")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong.assert_error(StatusCode::UNAUTHORIZED, "invalid_request_error");
    assert_eq!(wrong.body["error"]["code"], "invalid_api_key");

    let basic = Api::read(
        api.http
            .post(&url)
            .header("authorization", format!("Basic {}", api.key))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    basic.assert_error(StatusCode::UNAUTHORIZED, "invalid_request_error");

    // Parts route also needs auth.
    let part = Api::read(
        api.http
            .post(format!("{}/uploads/upload_x/parts", api.base))
            .multipart(Form::new().part("data", Part::bytes(vec![1, 2, 3]).file_name("a")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    part.assert_error(StatusCode::UNAUTHORIZED, "invalid_request_error");
    assert!(server.uploads().is_empty());

    let unknown = api.post("/batches", json!({})).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "invalid_request_error");
    let unknown = api.post("/uploads/upload_x/whatever", json!({})).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "invalid_request_error");

    let get = Api::read(
        api.http
            .get(&url)
            .bearer_auth(&api.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    get.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error");

    let stats = server.stats();
    assert_eq!(stats.requests.unauthorized, 4);
    assert_eq!(stats.requests.other, 2);

    // Unknown uploads are 404 on every operation.
    api.part("upload_nope", vec![1])
        .await
        .assert_error(StatusCode::NOT_FOUND, "invalid_request_error");
    api.complete("upload_nope", json!({"part_ids": []}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "invalid_request_error");
    api.cancel("upload_nope")
        .await
        .assert_error(StatusCode::NOT_FOUND, "invalid_request_error");
}

#[tokio::test]
async fn happy_path_three_parts_completed_out_of_order() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let a = pattern(100_000, 1);
    let b = pattern(70_001, 2);
    let c = pattern(5, 3);
    let total = (a.len() + b.len() + c.len()) as u64;
    let r = api
        .post(
            "/uploads",
            json!({"filename": "data.bin", "purpose": "assistants", "bytes": total,
                   "mime_type": "application/octet-stream",
                   "expires_after": {"anchor": "created_at", "seconds": 7200}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let id = r.body["id"].as_str().unwrap().to_string();

    let pr = api.part(&id, a.clone()).await;
    assert_eq!(pr.status, StatusCode::OK);
    assert!(pr.request_id().starts_with("req_"));
    assert_eq!(pr.body["object"], "upload.part");
    assert_eq!(pr.body["upload_id"], id.as_str());
    assert!(pr.body["created_at"].as_u64().is_some());
    let pa = pr.body["id"].as_str().unwrap().to_string();
    assert!(pa.starts_with("part_"));
    let pb = api.part_ok(&id, b.clone()).await;
    let pc = api.part_ok(&id, c.clone()).await;

    // Complete in the order c, a, b.
    let mut expected = c.clone();
    expected.extend_from_slice(&a);
    expected.extend_from_slice(&b);
    let r = api
        .complete(
            &id,
            json!({"part_ids": [pc, pa, pb], "md5": md5_hex(&expected)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "completed");
    let file = &r.body["file"];
    assert!(file["id"].as_str().unwrap().starts_with("file-"));
    assert_eq!(file["object"], "file");
    assert_eq!(file["bytes"], total);
    assert_eq!(file["filename"], "data.bin");
    assert_eq!(file["purpose"], "assistants");
    assert_eq!(file["status"], "processed");
    assert_eq!(
        file["expires_at"].as_u64().unwrap(),
        file["created_at"].as_u64().unwrap() + 7200
    );

    assert_eq!(server.read_content(&id).unwrap(), expected);
    let snap = server.upload(&id).unwrap();
    assert_eq!(snap.status, UploadStatus::Completed);
    assert_eq!(
        snap.content_sha256.as_deref(),
        Some(sha256_hex(&expected).as_str())
    );
    assert_eq!(
        snap.content_md5.as_deref(),
        Some(md5_hex(&expected).as_str())
    );
    assert_eq!(
        snap.completed_part_ids,
        Some(vec![pc.clone(), pa.clone(), pb.clone()])
    );
    assert_eq!(snap.file_id.as_deref(), file["id"].as_str());
    assert_eq!(
        snap.part(&pa).unwrap().sha256.as_deref(),
        Some(sha256_hex(&a).as_str())
    );
    assert_eq!(snap.part(&pb).unwrap().size, b.len() as u64);
    assert_eq!(snap.received_bytes(), total);

    let stats = server.stats();
    assert_eq!(stats.requests.add_part, 3);
    assert_eq!(stats.requests.complete, 1);
    assert_eq!(stats.parts_stored, 3);
    assert_eq!(stats.part_bytes_stored, total);
    assert_eq!(stats.part_bytes_received, total);
    assert_eq!(stats.parts_in_flight, 0);

    // No file expiry without expires_after.
    let id2 = api.create(3).await;
    let p = api.part_ok(&id2, vec![1, 2, 3]).await;
    let r = api.complete(&id2, json!({"part_ids": [p]})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["file"].get("expires_at").is_none(), "{}", r.body);
}

#[tokio::test]
async fn complete_checks_size_md5_ownership_and_duplicates() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create(10).await;
    let other = api.create(4).await;
    let p1 = api.part_ok(&id, pattern(6, 0)).await;
    let p2 = api.part_ok(&id, pattern(4, 9)).await;
    let foreign = api.part_ok(&other, pattern(4, 1)).await;

    let r = api.complete(&id, json!({"part_ids": [p1]})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(
        r.error_message().contains('6') && r.error_message().contains("10"),
        "{}",
        r.body
    );

    let r = api.complete(&id, json!({"part_ids": [p1, foreign]})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(r.error_param(), Some("part_ids"));

    let r = api.complete(&id, json!({"part_ids": [p1, p1]})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(r.error_param(), Some("part_ids"));

    let r = api
        .complete(&id, json!({"part_ids": [p1, "part_unknown"]}))
        .await;
    assert_eq!(r.error_param(), Some("part_ids"));

    // The md5 must be of the parts in the listed order.
    let mut in_order = pattern(6, 0);
    in_order.extend(pattern(4, 9));
    let mut reversed = pattern(4, 9);
    reversed.extend(pattern(6, 0));
    let r = api
        .complete(
            &id,
            json!({"part_ids": [p1, p2], "md5": md5_hex(&reversed)}),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(r.error_param(), Some("md5"));

    for bad in [
        json!({"part_ids": "p"}),
        json!({}),
        json!({"part_ids": [p1, p2], "extra": true}),
        json!({"part_ids": [p1, p2], "md5": 5}),
    ] {
        let r = api.complete(&id, bad.clone()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    }
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);

    let r = api
        .complete(
            &id,
            json!({"part_ids": [p1, p2], "md5": md5_hex(&in_order).to_uppercase()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(server.read_content(&id).unwrap(), in_order);

    // Completing twice is rejected, with the status in the message.
    let r = api.complete(&id, json!({"part_ids": [p1, p2]})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("completed"), "{}", r.body);
}

#[tokio::test]
async fn part_limits_and_multipart_validation() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start_with(
        FakeConfig::default()
            .with_max_part_bytes(1024)
            .with_storage(Storage::DiskAt(dir.path().to_path_buf())),
    )
    .await
    .unwrap();
    let api = Api::new(&server);
    let id = api.create(2048).await;

    let r = api.part(&id, vec![7u8; 4096]).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(r.error_param(), Some("data"));

    let r = api.part(&id, Vec::new()).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(r.error_param(), Some("data"));

    // Missing `data` field.
    let resp = api
        .http
        .post(format!("{}/uploads/{id}/parts", api.base))
        .bearer_auth(&api.key)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    let r = Api::read(resp).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    let resp = api
        .http
        .post(format!("{}/uploads/{id}/parts", api.base))
        .bearer_auth(&api.key)
        .multipart(Form::new())
        .send()
        .await
        .unwrap();
    let r = Api::read(resp).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(r.error_param(), Some("data"));

    // Not multipart at all.
    let r = api
        .post(&format!("/uploads/{id}/parts"), json!({"data": "abc"}))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");

    assert!(server.upload(&id).unwrap().parts.is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no part files left"
    );

    // Exactly at the limit is fine.
    let p1 = api.part_ok(&id, vec![1u8; 1024]).await;
    let p2 = api.part_ok(&id, vec![2u8; 1024]).await;
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    let r = api.complete(&id, json!({"part_ids": [p1, p2]})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(server.stats().parts_stored, 2);
}

#[tokio::test]
async fn cancel_and_rejections_after_cancel_or_complete() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create(8).await;
    api.part_ok(&id, pattern(8, 0)).await;
    assert_eq!(files_in(&server), 1);

    let r = api.cancel(&id).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(files_in(&server), 0, "cancel deletes part files");

    let again = api.cancel(&id).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, r.body, "cancelling twice returns it unchanged");

    let r = api.part(&id, vec![1]).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("cancelled"), "{}", r.body);
    let r = api.complete(&id, json!({"part_ids": []})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("cancelled"));

    let done = api.create(2).await;
    let p = api.part_ok(&done, vec![1, 2]).await;
    let leftover = api.part_ok(&done, vec![3]).await;
    assert_eq!(
        api.complete(&done, json!({"part_ids": [p]})).await.status,
        StatusCode::OK
    );
    let r = api.part(&done, vec![1]).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("completed"), "{}", r.body);
    let r = api.cancel(&done).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("completed"));
    let snap = server.upload(&done).unwrap();
    assert_eq!(snap.parts.len(), 2);
    assert!(snap.part(&leftover).is_some());
    assert_eq!(
        files_in(&server),
        1,
        "unused parts are dropped at completion"
    );
}

#[tokio::test]
async fn uploads_expire_on_the_fake_clock() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create(4).await;
    let p = api.part_ok(&id, vec![1, 2, 3, 4]).await;
    let cancel_me = api.create(1).await;
    let complete_me = api.create(1).await;

    server.clock().advance(Duration::from_secs(3599));
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
    server.clock().advance(Duration::from_secs(1));

    let r = api.part(&id, vec![5]).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("expired"), "{}", r.body);
    let snap = server.upload(&id).unwrap();
    assert_eq!(snap.status, UploadStatus::Expired);
    assert_eq!(snap.parts.len(), 1);
    assert_eq!(files_in(&server), 0, "expired parts are deleted");

    let r = api.complete(&id, json!({"part_ids": [p]})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("expired"));
    let r = api.cancel(&cancel_me).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert_eq!(
        server.upload(&cancel_me).unwrap().status,
        UploadStatus::Expired
    );
    let r = api.complete(&complete_me, json!({"part_ids": []})).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");

    // A new upload created "now" (on the fake clock) is fine.
    let fresh = api.create(1).await;
    let snap = server.upload(&fresh).unwrap();
    assert!(snap.created_at >= server.clock().now_unix() - 5);
    assert_eq!(snap.expires_at, snap.created_at + 3600);
    api.part_ok(&fresh, vec![0]).await;
}

/// Sends `n` sequential 1-byte parts and returns the statuses.
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

#[test]
fn background_server_works_from_sync_code() {
    let server = FakeServer::start_background(FakeConfig::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = server.storage_dir().unwrap().to_path_buf();
    rt.block_on(async {
        let api = Api::new(&server);
        let id = api.create(3).await;
        let p = api.part_ok(&id, vec![1, 2, 3]).await;
        assert_eq!(
            api.complete(&id, json!({"part_ids": [p]})).await.status,
            StatusCode::OK
        );
        assert_eq!(server.read_content(&id).unwrap(), vec![1, 2, 3]);
    });
    drop(server);
    assert!(!dir.exists(), "temporary storage removed on drop");
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let server = FakeServer::start().await.unwrap();
    let url = server.base_url();
    let api = Api::new(&server);
    api.create(1).await;
    server.shutdown().await;
    let err = reqwest::Client::new()
        .post(format!("{url}/uploads"))
        .send()
        .await;
    assert!(err.is_err());
}
