//! End-to-end tests of the fake over real HTTP on loopback, using reqwest: creating uploads,
//! request validation, authentication, expiry and the server's own lifecycle.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uploads_fake::{FakeConfig, FakeServer, UploadStatus};

mod common;
use common::{files_in, Api};

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
