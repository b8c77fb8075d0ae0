//! An upload's life on the fake over real HTTP: parts, completion checks, part limits and
//! cancellation.

use reqwest::multipart::Form;
use reqwest::StatusCode;
use serde_json::json;
use uploads_fake::{FakeConfig, FakeServer, Storage, UploadStatus};

mod common;
use common::{files_in, md5_hex, pattern, sha256_hex, Api};

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
