//! Opt-in smoke test against the real API, for maintainers before a release (see the README,
//! "Live smoke test"). It runs only when both `OPENAI_API_KEY` and `OPENAI_UPLOADS_LIVE=1` are
//! set; otherwise it prints `SKIPPED` and returns, which the test harness still shows as `ok`:
//! a skipped run proves nothing, so read its output (`-- --nocapture`).
//!
//! ```sh
//! OPENAI_UPLOADS_LIVE=1 OPENAI_API_KEY=sk-... cargo test -p uploads-ext --test live -- --nocapture
//! ```
//!
//! What it does (a few hundred KiB, Files deleted afterwards):
//! 1. a three-part upload with md5, checked: completed, the File's bytes are the size sent;
//! 2. the lost-answer path: an upload made with the single operations is completed (its answer
//!    set aside as if lost), then `settle_upload` sends the same `complete` again, reads the real
//!    API's "not pending" answer and finds the same File through `GET /files`;
//! 3. a cancel: a new upload is cancelled, and settling it says `Cancelled`.

use md5::{Digest, Md5};
use uploads_ext::{Client, PartBody, Purpose, SettleRequest, Settlement, UploadStatus};

const PART: u64 = 64 * 1024;

/// The opted-in client, or `None` (printed as SKIPPED) when not opted in.
fn live_client() -> Option<Client> {
    let opted_in = std::env::var("OPENAI_UPLOADS_LIVE").is_ok_and(|v| v == "1");
    let has_key = std::env::var_os("OPENAI_API_KEY").is_some_and(|k| !k.is_empty());
    if !opted_in {
        eprintln!(
            "SKIPPED live smoke test: set OPENAI_UPLOADS_LIVE=1 and OPENAI_API_KEY to run it"
        );
        return None;
    }
    assert!(has_key, "OPENAI_UPLOADS_LIVE=1 needs OPENAI_API_KEY");
    Some(Client::from_env().expect("client from the environment"))
}

/// Text content (assistants accept text/plain) of `len` bytes, different each run.
fn text(len: u64) -> Vec<u8> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let line = format!("openai-uploads live smoke test {stamp}\n");
    line.bytes().cycle().take(len as usize).collect()
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Deletes a File the test made (best effort: the SDK does not wrap DELETE /files).
async fn delete_file(client: &Client, file_id: &str) {
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    let url = format!(
        "{}/files/{file_id}",
        client.base_url().trim_end_matches('/')
    );
    match reqwest::Client::new()
        .delete(url)
        .bearer_auth(key)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => eprintln!("deleted {file_id}"),
        Ok(r) => eprintln!("could not delete {file_id}: HTTP {}", r.status()),
        Err(e) => eprintln!("could not delete {file_id}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn live_upload_settle_and_cancel() {
    let Some(client) = live_client() else { return };
    let dir = tempfile::tempdir().unwrap();
    let size = 2 * PART + PART / 2;
    let path = dir.path().join("uploads-live-smoke.txt");
    std::fs::write(&path, text(size)).unwrap();

    // 1. Three parts with md5.
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Assistants)
        .mime_type("text/plain")
        .part_size(PART)
        .send()
        .await
        .expect("the upload completes");
    assert_eq!(done.upload().status, UploadStatus::Completed);
    assert_eq!(done.file().bytes, size);
    eprintln!("uploaded {} as {}", done.upload_id(), done.file_id());

    // 2. A complete whose answer is set aside as if lost: settling finds the same File.
    let content = text(2 * PART);
    let md5 = md5_hex(&content);
    let name = "uploads-live-settle.txt";
    let upload = client
        .create_upload()
        .filename(name)
        .purpose(Purpose::Assistants)
        .bytes(2 * PART)
        .mime_type("text/plain")
        .await
        .expect("created");
    let mut part_ids = Vec::new();
    for chunk in content.chunks(PART as usize) {
        let part = client
            .add_upload_part(&upload.id, PartBody::bytes(chunk.to_vec()))
            .await
            .expect("part accepted");
        part_ids.push(part.id);
    }
    let answered = client
        .complete_upload(&upload.id)
        .part_ids(part_ids.clone())
        .md5(md5.clone())
        .await
        .expect("completed");
    let file_id = answered
        .file
        .as_ref()
        .map(|f| f.id.clone())
        .expect("a File");
    let request = SettleRequest::new(
        &upload.id,
        name,
        2 * PART,
        Purpose::Assistants,
        upload.created_at,
    )
    .part_ids(part_ids)
    .md5(md5);
    let settled = client.settle_upload(request).await.expect("settles");
    delete_file(&client, &file_id).await;
    let Settlement::Completed(found) = &settled else {
        delete_file(&client, done.file_id()).await;
        panic!("a completed upload settles as completed: {settled:?}");
    };
    assert_eq!(found.file_id(), file_id);
    eprintln!("settled {} through the Files list", upload.id);

    // 3. A cancel, and its settlement.
    let pending = client
        .create_upload()
        .filename("uploads-live-cancel.txt")
        .purpose(Purpose::Assistants)
        .bytes(size)
        .mime_type("text/plain")
        .await
        .expect("created");
    let cancelled = client.cancel_upload(&pending.id).await.expect("cancelled");
    assert_eq!(cancelled.status, UploadStatus::Cancelled);
    let request = SettleRequest::new(
        &pending.id,
        "uploads-live-cancel.txt",
        size,
        Purpose::Assistants,
        pending.created_at,
    );
    let settled = client.settle_upload(request).await.expect("settles");
    delete_file(&client, done.file_id()).await;
    assert!(
        matches!(settled, Settlement::Cancelled),
        "a cancelled upload settles as cancelled: {settled:?}"
    );
    eprintln!("PASSED live smoke test");
}
