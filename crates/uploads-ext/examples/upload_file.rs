//! Upload a file with progress, a journal for resume, and the failure policy that keeps it.
//!
//! ```sh
//! OPENAI_API_KEY=sk-... cargo run -p uploads-ext --example upload_file -- train.jsonl fine-tune
//! ```
//! Without an API key, point it at the fake server: run `cargo run -p uploads-fake --features cli`
//! and export the `base_url` and `api_key` it prints as `OPENAI_BASE_URL` and `OPENAI_API_KEY`.

use uploads_ext::upload::FailurePolicy;
use uploads_ext::{Client, ErrorKind, Purpose};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: upload_file FILE [PURPOSE]");
        std::process::exit(2);
    };
    let purpose = Purpose::from(args.next().unwrap_or_else(|| "fine-tune".into()));
    let journal = format!("{path}.upload-journal.json");

    let result = async {
        let client = Client::from_env()?;
        client
            .upload_file(&path)
            .purpose(purpose)
            .journal(&journal)
            .failure_policy(FailurePolicy::Keep)
            .on_progress(|p| eprint!("\r{:>12} / {} bytes", p.bytes_completed, p.bytes_total))
            .send()
            .await
    }
    .await;
    eprintln!();
    match result {
        Ok(upload) => println!(
            "upload {} completed: file {}",
            upload.upload_id(),
            upload.file_id()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(id) = e.request_id() {
                eprintln!("request id: {id}");
            }
            if e.upload_id().is_some() && e.kind() != ErrorKind::InvalidInput {
                eprintln!("the upload was kept: resume it with the journal {journal}");
            }
            std::process::exit(1);
        }
    }
}
