//! Conformance of the real client against the effective spec (`generated/openapi.yaml`), checked
//! by Prism: a mock server that validates every request against the spec and, with `--errors`,
//! answers a violation with a 4xx instead of an example. A request that passes validation gets a
//! 200 with a body generated from the response schema, which the client must also decode.
//!
//! Prism comes from `scripts/bootstrap` (`tools/node_modules/.bin/prism`, or `$PRISM_BIN`). If it
//! is missing this test fails: it is part of the suite, not optional.

#[macro_use]
mod prism;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use prism::{raw, Prism};
use serde_json::{json, Value};
use uploads_ext::ByteStream;
use uploads_ext::{ErrorKind, PartBody, Purpose, UploadStatus};

#[tokio::test]
async fn every_client_operation_conforms_to_the_spec() {
    let prism = Prism::start(&[]).await;
    let client = prism.client();

    // createUpload, without expires_after, with a size beyond i32, for every request purpose.
    for purpose in [
        Purpose::Assistants,
        Purpose::Batch,
        Purpose::FineTune,
        Purpose::Vision,
        Purpose::UserData,
        Purpose::Evals,
    ] {
        let upload = conforms!(
            prism,
            format!("create_upload (purpose {purpose})"),
            client
                .create_upload()
                .filename("training.jsonl")
                .purpose(purpose.clone())
                .bytes(8 * 1024 * 1024 * 1024)
                .mime_type("text/jsonl")
                .await
        );
        // The body is Prism's example generated from the Upload schema: it decodes.
        assert!(
            !matches!(upload.status, UploadStatus::Unrecognized(_)),
            "{upload:?}"
        );
    }

    // createUpload with expires_after at both bounds.
    for secs in [3600, 2_592_000] {
        conforms!(
            prism,
            format!("create_upload (expires_after {secs} s)"),
            client
                .create_upload()
                .filename("img.png")
                .purpose(Purpose::Vision)
                .bytes(1)
                .mime_type("image/png")
                .expires_after(Duration::from_secs(secs))
                .await
        );
    }

    // addUploadPart from each source, with a file name and a content type.
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-part.bin");
    std::fs::write(&path, b"0123456789abcdef").unwrap();
    let parts = [
        (
            "bytes",
            PartBody::bytes(&b"{\"prompt\": \"hi\"}\n"[..])
                .file_name("training.jsonl")
                .content_type("application/jsonl"),
        ),
        ("default name and type", PartBody::bytes("hello")),
        (
            "file range",
            PartBody::file_range(&path, 4..12).file_name("conformance-part.bin"),
        ),
        (
            "stream",
            PartBody::stream(11, || -> ByteStream {
                Box::pin(futures_util::stream::iter(["hello", " world"].map(|s| {
                    Ok::<_, std::io::Error>(Bytes::from_static(s.as_bytes()))
                })))
            })
            .content_type("text/plain"),
        ),
    ];
    for (what, body) in parts {
        let part = conforms!(
            prism,
            format!("add_upload_part ({what})"),
            client.add_upload_part("upload_abc123", body).await
        );
        assert!(!part.id.is_empty(), "{part:?}");
    }

    // completeUpload with and without md5.
    conforms!(
        prism,
        "complete_upload without md5",
        client
            .complete_upload("upload_abc123")
            .part_ids(["part_a", "part_b"])
            .await
    );
    conforms!(
        prism,
        "complete_upload with md5",
        client
            .complete_upload("upload_abc123")
            .part_ids(["part_a"])
            .md5("5eb63bbbe01eeed093cb22bb8f5acdc3")
            .await
    );

    // cancelUpload.
    conforms!(
        prism,
        "cancel_upload",
        client.cancel_upload("upload_abc123").await
    );

    // listFiles (every query parameter) and retrieveFile: the Files reads settling uses.
    let page = conforms!(
        prism,
        "list_files",
        client
            .list_files()
            .purpose("batch")
            .limit(100)
            .oldest_first()
            .after("file-abc123")
            .await
    );
    assert!(page.data.iter().all(|f| !f.id.is_empty()), "{page:?}");
    conforms!(
        prism,
        "list_files (no parameters)",
        client.list_files().await
    );
    conforms!(
        prism,
        "retrieve_file",
        client.retrieve_file("file-abc123").await
    );

    // The client surfaces Prism's validation error as an Unprocessable error: a purpose the spec
    // does not list is sent verbatim (open enum) and rejected by the validating mock.
    let err = client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::from("not_a_purpose".to_owned()))
        .bytes(1)
        .mime_type("text/jsonl")
        .await
        .expect_err("an unlisted purpose violates the spec's enum");
    assert_eq!(err.kind(), ErrorKind::Unprocessable, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(422));
    let snippet = err
        .body_snippet()
        .expect("problem+json is kept as a snippet");
    assert!(snippet.contains("purpose"), "{snippet}");
}

#[tokio::test]
async fn prism_rejects_requests_that_violate_the_spec() {
    let prism = Prism::start(&[]).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", prism.url());
    let post = |path: &str| {
        http.post(url(path))
            .bearer_auth("sk-conformance")
            .header("user-agent", "conformance-test")
    };
    let valid_create = json!({
        "filename": "a.jsonl", "purpose": "fine-tune", "bytes": 12, "mime_type": "text/jsonl"
    });
    let with = |key: &str, value: Value| {
        let mut body = valid_create.clone();
        body[key] = value;
        body
    };
    let data_part = || {
        reqwest::multipart::Part::bytes(b"hello".to_vec())
            .file_name("part")
            .mime_str("application/octet-stream")
            .unwrap()
    };

    // Controls: the same raw requests, valid, are accepted (so a rejection below is about the
    // violation, not about the harness).
    let (status, _, body) = raw(post("/uploads").json(&valid_create)).await;
    assert_eq!(status, 200, "valid create: {body}");
    let (status, _, body) = raw(post("/uploads/upload_abc123/parts")
        .multipart(reqwest::multipart::Form::new().part("data", data_part())))
    .await;
    assert_eq!(status, 200, "valid part: {body}");

    let mut without_mime = valid_create.clone();
    without_mime.as_object_mut().unwrap().remove("mime_type");
    let invalid: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "create with an extra field",
            post("/uploads").json(&with("extra", json!(1))),
        ),
        (
            "create with bytes null",
            post("/uploads").json(&with("bytes", Value::Null)),
        ),
        (
            "create with bytes as a string",
            post("/uploads").json(&with("bytes", json!("12"))),
        ),
        (
            "create without mime_type",
            post("/uploads").json(&without_mime),
        ),
        (
            "create with expires_after null",
            post("/uploads").json(&with("expires_after", Value::Null)),
        ),
        (
            "create with expires_after under 1 hour",
            post("/uploads").json(&with(
                "expires_after",
                json!({"anchor": "created_at", "seconds": 60}),
            )),
        ),
        (
            "create with an unlisted purpose",
            post("/uploads").json(&with("purpose", json!("not_a_purpose"))),
        ),
        (
            "complete with md5 null",
            post("/uploads/upload_abc123/complete")
                .json(&json!({"part_ids": ["part_a"], "md5": null})),
        ),
        (
            "complete without part_ids",
            post("/uploads/upload_abc123/complete").json(&json!({"md5": "abc"})),
        ),
        (
            "part without a data field",
            post("/uploads/upload_abc123/parts")
                .multipart(reqwest::multipart::Form::new().part("file", data_part())),
        ),
    ];
    for (what, request) in invalid {
        let (status, content_type, body) = raw(request).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert!(
            content_type.starts_with("application/problem+json"),
            "{what}: {content_type}"
        );
        assert_eq!(body["status"], 422, "{what}: {body}");
        let violations = body["validation"].as_array().cloned().unwrap_or_default();
        assert!(
            !violations.is_empty(),
            "{what}: Prism names the violation: {body}"
        );
    }

    // The security scheme is validated too: no bearer token, 401.
    let (status, _, body) = raw(http.post(url("/uploads")).json(&valid_create)).await;
    assert_eq!(status, 401, "missing Authorization: {body}");
    // And an unknown path is not silently accepted.
    let (status, _, body) = raw(post("/uploads/upload_abc123/unknown").json(&json!({}))).await;
    assert!(
        (400..500).contains(&status),
        "unknown path: HTTP {status} {body}"
    );
}
