//! The escape hatches on the wire (mockito): `RequestOptions::extra_query` and `extra_body` on
//! each operation, on a derived client and on whole uploads and batches (`.options(...)` on
//! `upload_file`/`upload_bytes`/`upload_files`), and unknown response fields kept in `extra`.
//! Against the fake: `escape_hatches_fake.rs`.

use std::time::{SystemTime, UNIX_EPOCH};

use mockito::{Matcher, Mock, ServerGuard};
use serde_json::json;
use uploads_ext::{json as sdk_json, Client, ClientBuilder, ErrorKind, PartBody, Purpose};
use uploads_ext::{RequestOptions, UploadStatus};

mod common;
use common::{NoSleep, OPERATIONS};

fn builder(base_url: String) -> ClientBuilder {
    Client::builder()
        .ignore_env()
        .api_key("sk-test-hatches")
        .base_url(base_url)
        .sleep_impl(NoSleep)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An Upload answer with `status`, and a File when completed.
fn upload_json(status: &str) -> serde_json::Value {
    let mut upload = json!({"id": "upload_abc", "object": "upload", "bytes": 5, "created_at": now(),
        "filename": "a.jsonl", "purpose": "fine-tune", "status": status, "expires_at": now() + 3600});
    if status == "completed" {
        upload["file"] = json!({"id": "file-1", "object": "file", "bytes": 5, "created_at": now(),
            "filename": "a.jsonl", "purpose": "fine-tune"});
    }
    upload
}

fn part_json() -> serde_json::Value {
    json!({"id": "part_1", "object": "upload.part", "created_at": now(), "upload_id": "upload_abc"})
}

fn answer(op: usize) -> String {
    match op {
        1 => part_json(),
        2 => upload_json("completed"),
        3 => upload_json("cancelled"),
        _ => upload_json("pending"),
    }
    .to_string()
}

/// A mock of operation `op` that wants `query` and, when given, a body containing `body`.
async fn expect_op(
    server: &mut ServerGuard,
    op: usize,
    query: Matcher,
    body: Option<serde_json::Value>,
) -> Mock {
    let mut mock = server
        .mock("POST", OPERATIONS[op].1)
        .match_query(query)
        .match_header("authorization", "Bearer sk-test-hatches");
    if let Some(body) = body {
        mock = mock.match_body(Matcher::PartialJson(body));
    }
    mock.with_header("content-type", "application/json")
        .with_body(answer(op))
        .expect(1)
        .create_async()
        .await
}

#[tokio::test]
async fn extra_query_reaches_all_four_operations_and_extra_body_create_and_complete() {
    let mut server = mockito::Server::new_async().await;
    let client = builder(server.url()).build().unwrap();
    let query = || {
        Matcher::AllOf(vec![
            Matcher::UrlEncoded("beta".into(), "true".into()),
            Matcher::UrlEncoded("tag".into(), "a b".into()),
        ])
    };
    let options = RequestOptions::new()
        .extra_query("beta", "true")
        .extra_query("tag", "a b");
    let with_body = options
        .clone()
        .extra_body(json!({"metadata": {"team": "search"}, "purpose": "batch"}));

    // create: a new key is added, a known one (purpose) replaced.
    let mock = expect_op(
        &mut server,
        0,
        query(),
        Some(json!({"metadata": {"team": "search"}, "purpose": "batch", "filename": "a.jsonl"})),
    )
    .await;
    client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .bytes(5)
        .mime_type("text/jsonl")
        .options(with_body.clone())
        .await
        .unwrap();
    mock.assert_async().await;

    // parts are multipart: the query only.
    let mock = expect_op(&mut server, 1, query(), None).await;
    client
        .add_upload_part("upload_abc", PartBody::bytes("hello"))
        .options(options.clone())
        .await
        .unwrap();
    mock.assert_async().await;

    let mock = expect_op(
        &mut server,
        2,
        query(),
        Some(json!({"part_ids": ["part_1"], "metadata": {"team": "search"}})),
    )
    .await;
    client
        .complete_upload("upload_abc")
        .part_ids(["part_1"])
        .options(with_body)
        .await
        .unwrap();
    mock.assert_async().await;

    let mock = expect_op(&mut server, 3, query(), None).await;
    client
        .cancel_upload("upload_abc")
        .options(options)
        .await
        .unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn extra_body_is_refused_before_sending_where_there_is_no_json_body() {
    let mut server = mockito::Server::new_async().await;
    let never = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = builder(server.url()).build().unwrap();
    let options = RequestOptions::new().extra_body(json!({"x": 1}));
    let err = client
        .add_upload_part("upload_abc", PartBody::bytes("hello"))
        .options(options.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("multipart"), "{err}");
    assert_eq!(err.operation(), Some("add_upload_part"));
    let err = client
        .cancel_upload("upload_abc")
        .options(options)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("no body"), "{err}");
    never.assert_async().await;
}

#[tokio::test]
async fn a_bad_extra_body_is_invalid_input_without_its_values() {
    let mut server = mockito::Server::new_async().await;
    let never = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = builder(server.url()).build().unwrap();
    let create = || {
        client
            .create_upload()
            .filename("a.jsonl")
            .purpose(Purpose::FineTune)
            .bytes(5)
            .mime_type("text/jsonl")
    };
    let err = create()
        .options(RequestOptions::new().extra_body(json!(["not", "an", "object"])))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("JSON object"), "{err}");
    // A known field with a value of another type: the key is named, the value is not.
    let err = create()
        .options(RequestOptions::new().extra_body(json!({"bytes": "sk-secret-value"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("bytes"), "{err}");
    assert!(
        !format!("{err} {err:?}").contains("sk-secret-value"),
        "{err:?}"
    );
    // Only create and complete have a JSON body to scope fields to.
    let err = create()
        .options(RequestOptions::new().extra_body_for("add_upload_part", json!({"x": 1})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("add_upload_part"), "{err}");
    never.assert_async().await;
}

#[test]
fn debug_shows_the_keys_of_the_escape_hatches_never_their_values() {
    let options = RequestOptions::new()
        .extra_query("api_token", "query-secret")
        .extra_body(json!({"credential": "body-secret"}));
    let debug = format!("{options:?}");
    assert!(
        debug.contains("api_token") && debug.contains("credential"),
        "{debug}"
    );
    assert!(!debug.contains("query-secret"), "{debug}");
    assert!(!debug.contains("body-secret"), "{debug}");
}

#[tokio::test]
async fn request_options_win_over_a_derived_clients() {
    let mut server = mockito::Server::new_async().await;
    let client = builder(server.url()).build().unwrap().with_options(
        RequestOptions::new()
            .extra_query("a", "1")
            .extra_query("b", "1")
            .extra_body(json!({"x": "client", "y": "client"})),
    );
    // b from the request replaces the client's; the bodies merge key by key.
    let mock = expect_op(
        &mut server,
        2,
        Matcher::Regex("^a=1&b=2$".into()),
        Some(json!({"x": "client", "y": "request"})),
    )
    .await;
    client
        .complete_upload("upload_abc")
        .part_ids(["part_1"])
        .options(
            RequestOptions::new()
                .extra_query("b", "2")
                .extra_body(json!({"y": "request"})),
        )
        .await
        .unwrap();
    mock.assert_async().await;
    // A client default extra_body does not block requests without a JSON body.
    let mock = expect_op(&mut server, 3, Matcher::Regex("^a=1&b=1$".into()), None).await;
    client.cancel_upload("upload_abc").await.unwrap();
    mock.assert_async().await;
}

/// A mock of operation `op` of an upload that wants the header, the query and (create,
/// complete) its own body field.
async fn upload_mock(server: &mut ServerGuard, op: usize) -> Mock {
    let body = match op {
        0 => Some(json!({"metadata": {"run": "7"}})),
        2 => Some(json!({"trace": "t-7", "part_ids": ["part_1"]})),
        _ => None,
    };
    let mut mock = server
        .mock("POST", OPERATIONS[op].1)
        .match_query(Matcher::UrlEncoded("beta".into(), "true".into()))
        .match_header("x-job", "nightly");
    if let Some(body) = body {
        mock = mock.match_body(Matcher::PartialJson(body));
    }
    mock.with_header("content-type", "application/json")
        .with_body(answer(op))
        .expect(1)
        .create_async()
        .await
}

/// [`upload_mock`] of create, one part and complete.
async fn whole_upload_mocks(server: &mut ServerGuard) -> Vec<Mock> {
    let mut mocks = Vec::new();
    for op in 0..3 {
        mocks.push(upload_mock(server, op).await);
    }
    mocks
}

fn upload_options() -> RequestOptions {
    RequestOptions::new()
        .header("X-Job", "nightly")
        .extra_query("beta", "true")
        .extra_body_for("create_upload", json!({"metadata": {"run": "7"}}))
        .extra_body_for("complete_upload", json!({"trace": "t-7"}))
}

#[tokio::test]
async fn upload_options_apply_to_every_request_of_the_upload() {
    let mut server = mockito::Server::new_async().await;
    let mocks = whole_upload_mocks(&mut server).await;
    let client = builder(server.url()).build().unwrap();
    let done = client
        .upload_bytes("hello")
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .md5(false)
        .options(upload_options())
        .send()
        .await
        .unwrap();
    assert_eq!(done.file_id(), "file-1");
    for mock in mocks {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn the_cancel_after_a_failed_upload_carries_its_options() {
    let mut server = mockito::Server::new_async().await;
    let create = upload_mock(&mut server, 0).await;
    let refused = server
        .mock("POST", OPERATIONS[1].1)
        .match_query(Matcher::Any)
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(
            json!({"error": {"message": "bad part", "type": "invalid_request_error"}}).to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let cancel = server
        .mock("POST", OPERATIONS[3].1)
        .match_query(Matcher::UrlEncoded("beta".into(), "true".into()))
        .match_header("x-job", "nightly")
        .with_header("content-type", "application/json")
        .with_body(answer(3))
        .expect(1)
        .create_async()
        .await;
    let client = builder(server.url()).build().unwrap();
    let err = client
        .upload_bytes("hello")
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .md5(false)
        .options(upload_options())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{err}");
    create.assert_async().await;
    refused.assert_async().await;
    cancel.assert_async().await;
}

#[tokio::test]
async fn batch_options_apply_to_each_files_requests() {
    let mut server = mockito::Server::new_async().await;
    let mocks = whole_upload_mocks(&mut server).await;
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_file(dir.path(), "a.jsonl", b"hello");
    let client = builder(server.url()).build().unwrap();
    let summary = client
        .upload_files([&path])
        .purpose(Purpose::FineTune)
        .md5(false)
        .options(upload_options())
        .send()
        .await
        .unwrap();
    assert!(summary.all_completed(), "{summary:?}");
    assert_eq!(summary.completed().count(), 1);
    for mock in mocks {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn an_invalid_upload_option_fails_before_any_request() {
    let mut server = mockito::Server::new_async().await;
    let never = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = builder(server.url()).build().unwrap();
    let err = client
        .upload_bytes("hello")
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .options(RequestOptions::new().extra_body(json!("text")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    never.assert_async().await;
}

#[tokio::test]
async fn unknown_response_fields_are_kept_and_readable_by_name() {
    let mut server = mockito::Server::new_async().await;
    let mut upload = upload_json("completed");
    upload["region"] = json!("eu-west");
    upload["file"]["retention"] = json!({"days": 30});
    let mut part = part_json();
    part["checksum"] = json!("abc");
    let _create = server
        .mock("POST", OPERATIONS[2].1)
        .with_header("content-type", "application/json")
        .with_body(upload.to_string())
        .create_async()
        .await;
    let _part = server
        .mock("POST", OPERATIONS[1].1)
        .with_header("content-type", "application/json")
        .with_body(part.to_string())
        .create_async()
        .await;
    let client = builder(server.url()).build().unwrap();
    let done = client
        .complete_upload("upload_abc")
        .part_ids(["part_1"])
        .await
        .unwrap();
    assert_eq!(done.status, UploadStatus::Completed);
    assert_eq!(done.extra.get("region"), Some(&sdk_json::json!("eu-west")));
    let file = done.file.as_ref().unwrap();
    assert_eq!(file.extra["retention"]["days"], 30);
    // Known fields stay out of the map.
    assert!(!done.extra.contains_key("status"));
    let part = client
        .add_upload_part("upload_abc", PartBody::bytes("hello"))
        .await
        .unwrap();
    assert_eq!(part.extra["checksum"], "abc");
}
