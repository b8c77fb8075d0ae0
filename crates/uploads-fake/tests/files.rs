//! The Files routes (`GET /v1/files`, `GET /v1/files/{file_id}`) over real
//! HTTP: what completed uploads produced, listed and paged as the API does,
//! and the lost answers (complete, cancel) a client settles through them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Route, UploadStatus};

mod common;
use common::{pattern, Api};

/// Creates, fills and completes an upload; returns the File object.
async fn completed_file(api: &Api, filename: &str, purpose: &str, size: usize) -> Value {
    let id = api.create_named(filename, purpose, size as u64).await;
    let part = api.part_ok(&id, pattern(size, size as u8)).await;
    let r = api.complete(&id, json!({ "part_ids": [part] })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["file"].clone()
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect()
}

fn id(file: &Value) -> &str {
    file["id"].as_str().unwrap()
}

#[tokio::test]
async fn files_lists_what_completed_uploads_produced_newest_first_in_pages() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let empty = api.get("/files").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(
        empty.body,
        json!({"object": "list", "data": [], "first_id": null, "last_id": null, "has_more": false})
    );

    // Three Files, ten seconds apart on the fake clock; a cancelled and a pending upload make none.
    let f1 = completed_file(&api, "a.jsonl", "batch", 3).await;
    server.clock().advance(Duration::from_secs(10));
    let f2 = completed_file(&api, "b.jsonl", "fine-tune", 5).await;
    server.clock().advance(Duration::from_secs(10));
    let f3 = completed_file(&api, "c.jsonl", "batch", 7).await;
    let cancelled = api.create(1).await;
    assert_eq!(api.cancel(&cancelled).await.status, StatusCode::OK);
    api.create(1).await;

    let all = api.get("/files").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(ids(&all.body), [id(&f3), id(&f2), id(&f1)], "newest first");
    assert_eq!(all.body["object"], "list");
    assert_eq!(all.body["first_id"], f3["id"]);
    assert_eq!(all.body["last_id"], f1["id"]);
    assert_eq!(all.body["has_more"], false);
    let listed = &all.body["data"][2];
    assert_eq!(listed, &f1, "the File the complete answered with");
    assert_eq!(listed["object"], "file");
    assert_eq!(listed["filename"], "a.jsonl");
    assert_eq!(listed["bytes"], 3);
    assert_eq!(listed["purpose"], "batch");
    assert_eq!(listed["status"], "processed");
    assert!(f1["created_at"].as_u64().unwrap() + 20 <= f3["created_at"].as_u64().unwrap());

    let asc = api.get("/files?order=asc").await;
    assert_eq!(ids(&asc.body), [id(&f1), id(&f2), id(&f3)]);
    let batch = api.get("/files?purpose=batch").await;
    assert_eq!(ids(&batch.body), [id(&f3), id(&f1)]);

    // Pages: limit, has_more and the after cursor.
    let page = api.get("/files?limit=2").await;
    assert_eq!(ids(&page.body), [id(&f3), id(&f2)]);
    assert_eq!(page.body["has_more"], true);
    assert_eq!(page.body["last_id"], f2["id"]);
    let next = api.get(&format!("/files?limit=2&after={}", id(&f2))).await;
    assert_eq!(ids(&next.body), [id(&f1)]);
    assert_eq!(next.body["has_more"], false);
    let batch_after = api
        .get(&format!("/files?purpose=batch&order=asc&after={}", id(&f1)))
        .await;
    assert_eq!(ids(&batch_after.body), [id(&f3)]);

    let one = api.get(&format!("/files/{}", id(&f2))).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body, f2);
    assert!(one.request_id().starts_with("req_"));
    let stats = server.stats();
    assert_eq!(stats.requests.get(Route::ListFiles), 7);
    assert_eq!(stats.requests.get(Route::RetrieveFile), 1);
}

#[tokio::test]
async fn bad_queries_and_unknown_files_get_the_error_envelope() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=ten", "limit"),
        ("order=newest", "order"),
    ] {
        let r = api.get(&format!("/files?{query}")).await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
        assert_eq!(r.error_param(), Some(param), "{query}: {}", r.body);
    }
    let r = api.get("/files/file-nope").await;
    r.assert_error(StatusCode::NOT_FOUND, "invalid_request_error");
    assert_eq!(r.error_message(), "No such File object: file-nope");
    assert_eq!(r.error_param(), Some("id"));
    let r = api.get("/files?after=file-nope").await;
    r.assert_error(StatusCode::NOT_FOUND, "invalid_request_error");
    assert_eq!(r.error_param(), Some("after"));

    // Bearer auth as everywhere; the Files routes take GET, the upload routes POST.
    let resp = api
        .http
        .get(format!("{}/files", api.base))
        .send()
        .await
        .unwrap();
    Api::read(resp)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_request_error");
    let r = api.post("/files/file-x", json!({})).await;
    r.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error");
    assert_eq!(r.headers["allow"], "GET");
    let r = api.get("/uploads").await;
    r.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error");
    assert_eq!(r.headers["allow"], "POST");
}

#[tokio::test]
async fn a_file_past_its_expiry_is_gone() {
    let server = FakeServer::start().await.unwrap();
    let api = Api::new(&server);
    let r = api
        .post(
            "/uploads",
            json!({"filename": "e.jsonl", "purpose": "batch", "bytes": 2, "mime_type": "text/jsonl",
                   "expires_after": {"anchor": "created_at", "seconds": 3600}}),
        )
        .await;
    let upload = r.body["id"].as_str().unwrap().to_string();
    let part = api.part_ok(&upload, vec![1, 2]).await;
    let file = api
        .complete(&upload, json!({ "part_ids": [part] }))
        .await
        .body["file"]
        .clone();
    assert!(file["expires_at"].as_u64().is_some());
    assert_eq!(ids(&api.get("/files").await.body), [id(&file)]);
    server.clock().advance(Duration::from_secs(3601));
    assert!(ids(&api.get("/files").await.body).is_empty());
    let r = api.get(&format!("/files/{}", id(&file))).await;
    r.assert_error(StatusCode::NOT_FOUND, "invalid_request_error");
}

#[tokio::test]
async fn a_lost_complete_answer_is_settled_through_the_files_list() {
    let plan = FaultPlan::new().nth(Route::Complete, 1, Fault::DropAfterCommit);
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let api = Api::new(&server);
    let upload = api.create_named("lost.jsonl", "fine-tune", 4).await;
    let part = api.part_ok(&upload, vec![1, 2, 3, 4]).await;
    let err = api
        .request(
            &format!("/uploads/{upload}/complete"),
            json!({ "part_ids": [part] }),
        )
        .send()
        .await
        .expect_err("the answer is lost");
    assert!(!err.is_status(), "{err:?}");

    // The File exists all the same: found by filename, bytes and purpose, then by id.
    let list = api.get("/files?purpose=fine-tune").await;
    let found: Vec<&Value> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["filename"] == "lost.jsonl" && f["bytes"] == 4)
        .collect();
    assert_eq!(found.len(), 1, "{}", list.body);
    let snap = server.upload(&upload).unwrap();
    assert_eq!(snap.status, UploadStatus::Completed);
    assert_eq!(found[0]["id"].as_str(), snap.file_id.as_deref());
    let one = api.get(&format!("/files/{}", id(found[0]))).await;
    assert_eq!(&one.body, found[0]);
    // A retried complete is refused: the upload is no longer pending.
    let r = api.complete(&upload, json!({ "part_ids": [part] })).await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(r.error_message().contains("'completed'"), "{}", r.body);
}

#[tokio::test]
async fn a_lost_cancel_answer_leaves_the_upload_cancelled() {
    let plan = FaultPlan::new().nth(Route::Cancel, 1, Fault::DropAfterCommit);
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let api = Api::new(&server);
    let upload = api.create(2).await;
    api.part_ok(&upload, vec![1, 2]).await;
    let err = api
        .request(&format!("/uploads/{upload}/cancel"), Value::Null)
        .send()
        .await
        .expect_err("the answer is lost");
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(
        server.upload(&upload).unwrap().status,
        UploadStatus::Cancelled
    );
    // The retry finds it cancelled and says so with a 200.
    let r = api.cancel(&upload).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert!(ids(&api.get("/files").await.body).is_empty());
}

#[tokio::test]
async fn fault_plans_reach_the_files_routes() {
    let plan = FaultPlan::new()
        .nth(Route::ListFiles, 1, Fault::status(503))
        .nth(Route::RetrieveFile, 1, Fault::DropBeforeBody)
        .nth(Route::ListFiles, 2, Fault::UndecodableOk);
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let api = Api::new(&server);
    let file = completed_file(&api, "f.jsonl", "batch", 1).await;
    api.get("/files")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "server_error");
    let err = api
        .http
        .get(format!("{}/files/{}", api.base, id(&file)))
        .bearer_auth(&api.key)
        .send()
        .await
        .expect_err("dropped");
    assert!(!err.is_status(), "{err:?}");
    let garbled = api
        .http
        .get(format!("{}/files", api.base))
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&garbled.bytes().await.unwrap()).is_err());
    assert_eq!(ids(&api.get("/files").await.body), [id(&file)]);
    let log: Vec<_> = server.injected().iter().map(|f| (f.route, f.nth)).collect();
    assert_eq!(
        log,
        [
            (Route::ListFiles, 1),
            (Route::RetrieveFile, 1),
            (Route::ListFiles, 2)
        ]
    );
    // The fault log names the file a retrieve addressed.
    assert_eq!(server.injected()[1].object_id.as_deref(), Some(id(&file)));
}
