//! The four operations one by one: create, add parts, complete (with md5), or cancel on error.
//! Runs against the embedded fake server, so it needs no API key:
//!
//! ```sh
//! cargo run -p uploads-ext --example step_by_step
//! ```

use md5::{Digest, Md5};
use uploads_ext::{Client, PartBody, Purpose};
use uploads_fake::FakeServer;

#[tokio::main]
async fn main() -> uploads_ext::Result<()> {
    let server = FakeServer::start().await.expect("fake server");
    let client = Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .build()?;

    let content = b"{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n".repeat(100);
    let upload = client
        .create_upload()
        .filename("steps.jsonl")
        .purpose(Purpose::FineTune)
        .bytes(content.len() as u64)
        .mime_type("application/jsonl")
        .send()
        .await?;
    println!("created {} (expires at {})", upload.id, upload.expires_at);

    let mut part_ids = Vec::new();
    for chunk in content.chunks(1000) {
        let body = PartBody::bytes(chunk.to_vec())
            .file_name("steps.jsonl")
            .content_type("application/jsonl");
        match client.add_upload_part(&upload.id, body).await {
            Ok(part) => part_ids.push(part.id),
            Err(e) => {
                eprintln!("part failed ({e}); cancelling");
                client.cancel_upload(&upload.id).await?;
                return Err(e);
            }
        }
    }
    // Any md5 implementation will do (here the `md-5` crate); the SDK sends it as hex.
    let md5: [u8; 16] = Md5::digest(&content).into();
    let done = client
        .complete_upload(&upload.id)
        .part_ids(part_ids)
        .md5_digest(md5)
        .await?;
    println!(
        "completed {}: file {} with {} bytes",
        done.id,
        done.file.map(|f| f.id).unwrap_or_default(),
        done.bytes
    );
    Ok(())
}
