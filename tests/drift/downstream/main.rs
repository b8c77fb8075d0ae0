//! A downstream user's code, written against today's uploads-ext API. tests/drift/
//! test_additive_change.py compiles it against a crate regenerated from a spec with additive
//! changes (new optional fields, parameters and endpoints, new enum values): it must keep
//! compiling, unchanged. It also calls the generated crate directly, as an escape hatch would.
#![allow(dead_code, clippy::all)]

use std::time::Duration;

use uploads_ext::{
    Client, Error, ErrorKind, FileObject, FilePurpose, FileStatus, OpenAiFile, PartBody, Purpose,
    Upload, UploadObject, UploadPart, UploadPartObject, UploadStatus,
};

fn describe(upload: &Upload) -> String {
    let status = match upload.status {
        UploadStatus::Pending => "pending",
        UploadStatus::Completed => "completed",
        UploadStatus::Cancelled => "cancelled",
        UploadStatus::Expired => "expired",
        UploadStatus::Unrecognized(ref other) => other.as_str(),
        _ => "newer than this code",
    };
    let purpose = match &upload.purpose {
        Purpose::FineTune => "fine-tune".to_string(),
        Purpose::Batch | Purpose::Assistants | Purpose::Vision => upload.purpose.to_string(),
        other => other.as_str().to_string(),
    };
    let size: u64 = upload.bytes;
    let file: Option<&OpenAiFile> = upload.file.as_ref();
    let file_bytes: Option<u64> = file.map(|f| f.bytes);
    let file_status: Option<&FileStatus> = file.and_then(|f| f.status.as_ref());
    let file_purpose: Option<&FilePurpose> = file.map(|f| &f.purpose);
    let file_object: Option<&FileObject> = file.map(|f| &f.object);
    let object: Option<&UploadObject> = upload.object.as_ref();
    format!(
        "{} {} {status} {purpose} {size} {file_bytes:?} {file_status:?} {file_purpose:?} \
         {file_object:?} {object:?} {} {}",
        upload.id, upload.filename, upload.created_at, upload.expires_at
    )
}

fn part_id(part: &UploadPart) -> (&str, &UploadPartObject, i64, &str) {
    (&part.id, &part.object, part.created_at, &part.upload_id)
}

fn test_fixture() -> Upload {
    // Models are built from Default (they are #[non_exhaustive]), as a user's tests would.
    let mut upload = Upload::default();
    upload.id = "upload_1".into();
    upload.bytes = 8 * 1024 * 1024 * 1024;
    upload.purpose = Purpose::from("fine-tune");
    upload.status = UploadStatus::from("pending");
    upload
}

async fn run(client: &Client) -> Result<String, Error> {
    let upload = client
        .create_upload()
        .filename("train.jsonl")
        .purpose("fine-tune")
        .bytes(11)
        .mime_type("text/jsonl")
        .expires_after(Duration::from_secs(3600))
        .send()
        .await?;
    let part = client
        .add_upload_part(&upload.id, PartBody::bytes("hello world"))
        .await?;
    let done = client
        .complete_upload(&upload.id)
        .part_ids([part.id.clone()])
        .md5("5eb63bbbe01eeed093cb22bb8f5acdc3")
        .await?;
    client.cancel_upload(&upload.id).await.ok();
    let uploaded = client
        .upload_file("train.jsonl")
        .purpose(Purpose::FineTune)
        .concurrency(4)
        .send()
        .await;
    if let Err(e) = &uploaded {
        if e.kind() == ErrorKind::InvalidInput {
            return Err(uploaded.unwrap_err());
        }
    }
    Ok(describe(&done))
}

/// The generated API: one parameters struct per operation, built from the required parameters.
async fn generated_calls(config: &openai_uploads_generated::apis::configuration::Configuration) {
    use openai_uploads_generated::apis::uploads_api;
    use openai_uploads_generated::models;
    let part = reqwest::multipart::Part::bytes(b"hello".to_vec());
    let _ = uploads_api::add_upload_part(
        config,
        uploads_api::AddUploadPartParams::new("upload_1".into(), part),
    )
    .await;
    let mut cancel = uploads_api::CancelUploadParams::new("upload_1".into());
    cancel.upload_id.push('x');
    let _ = uploads_api::cancel_upload(config, cancel).await;
    let purposes: Vec<&str> = models::UploadPurpose::KNOWN
        .iter()
        .map(|p| p.as_str())
        .collect();
    let parsed: models::UploadPurpose = "fine-tune".parse().unwrap_or_else(|e| match e {});
    assert!(parsed.is_known() && purposes.contains(&parsed.as_str()));
}

fn main() {
    let decoded: Upload = serde_json::from_str(
        r#"{"id":"u","object":"upload","bytes":1,"created_at":1,"filename":"f",
            "purpose":"fine-tune","status":"pending","expires_at":2}"#,
    )
    .expect("decodes");
    println!("{}", describe(&decoded));
    println!("{}", describe(&test_fixture()));
    let client = Client::builder()
        .api_key("sk-test")
        .base_url("http://127.0.0.1:9/v1")
        .build()
        .expect("client");
    let _ = run(&client);
    let _ = generated_calls(&Default::default());
}
