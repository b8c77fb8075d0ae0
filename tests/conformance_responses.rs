//! The client decodes the bodies Prism generates from each response schema losslessly: every
//! declared property survives, and undeclared ones are kept in `extra` and re-encoded as sent.
//! Prism comes from `scripts/bootstrap` (see `conformance.rs`); without it this test fails.

#[macro_use]
mod prism;

use prism::{raw, Prism};
use serde_json::{json, Value};
use uploads_ext::{PartBody, Purpose};

/// The properties each response schema declares (`generated/openapi.yaml`).
const UPLOAD_PROPERTIES: &[&str] = &[
    "id",
    "created_at",
    "filename",
    "bytes",
    "purpose",
    "status",
    "expires_at",
    "object",
    "file",
];
const FILE_PROPERTIES: &[&str] = &[
    "id",
    "bytes",
    "created_at",
    "expires_at",
    "filename",
    "object",
    "purpose",
    "status",
    "status_details",
];
const PART_PROPERTIES: &[&str] = &["id", "created_at", "upload_id", "object"];

/// A response (and its nested `file`) without the declared properties that are null: what a
/// lossless decode must give back. Undeclared extra members (Prism's faker adds some, as a newer
/// API could) are kept, in each model's `extra` map, and re-encoded as they came.
fn declared(value: &Value, properties: &[&str]) -> Value {
    let object = value.as_object().expect("a JSON object");
    Value::Object(
        object
            .iter()
            .filter(|(k, v)| !(properties.contains(&k.as_str()) && v.is_null()))
            .map(|(k, v)| {
                let v = if k == "file" {
                    declared(v, FILE_PROPERTIES)
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// With `--dynamic` (and a fixed seed, so every call answers the same), Prism fills the response
/// schemas with arbitrary values, nested File object and undeclared extra members included. The
/// client must decode every such response, and what it decodes must be exactly what Prism sent.
#[tokio::test]
async fn the_client_decodes_schema_generated_responses_losslessly() {
    let prism = Prism::start(&["--dynamic", "--seed", "20260821"]).await;
    let client = prism.client();
    let http = reqwest::Client::new();
    let post = |path: &str| {
        http.post(format!("{}{path}", prism.url()))
            .bearer_auth("sk-conformance")
    };
    let sent = |request: reqwest::RequestBuilder| async move {
        let (status, _, value) = raw(request).await;
        assert_eq!(status, 200, "{value}");
        value
    };

    let created = conforms!(
        prism,
        "create_upload (dynamic)",
        client
            .create_upload()
            .filename("a.jsonl")
            .purpose(Purpose::FineTune)
            .bytes(12)
            .mime_type("text/jsonl")
            .await
    );
    let original = sent(post("/uploads").json(&json!({
        "filename": "a.jsonl", "purpose": "fine-tune", "bytes": 12, "mime_type": "text/jsonl"
    })))
    .await;
    assert_eq!(
        serde_json::to_value(&created).unwrap(),
        declared(&original, UPLOAD_PROPERTIES),
        "Prism sent {original}"
    );

    let completed = conforms!(
        prism,
        "complete_upload (dynamic)",
        client
            .complete_upload("upload_abc123")
            .part_ids(["part_a"])
            .await
    );
    let original =
        sent(post("/uploads/upload_abc123/complete").json(&json!({"part_ids": ["part_a"]}))).await;
    assert_eq!(
        serde_json::to_value(&completed).unwrap(),
        declared(&original, UPLOAD_PROPERTIES),
        "Prism sent {original}"
    );

    let cancelled = conforms!(
        prism,
        "cancel_upload (dynamic)",
        client.cancel_upload("upload_abc123").await
    );
    let original = sent(post("/uploads/upload_abc123/cancel")).await;
    assert_eq!(
        serde_json::to_value(&cancelled).unwrap(),
        declared(&original, UPLOAD_PROPERTIES),
        "Prism sent {original}"
    );

    let part = conforms!(
        prism,
        "add_upload_part (dynamic)",
        client
            .add_upload_part("upload_abc123", PartBody::bytes("hello"))
            .await
    );
    let original = sent(
        post("/uploads/upload_abc123/parts").multipart(
            reqwest::multipart::Form::new().part(
                "data",
                reqwest::multipart::Part::bytes(b"hello".to_vec())
                    .file_name("part")
                    .mime_str("application/octet-stream")
                    .unwrap(),
            ),
        ),
    )
    .await;
    assert_eq!(
        serde_json::to_value(&part).unwrap(),
        declared(&original, PART_PROPERTIES),
        "Prism sent {original}"
    );
}
