//! Helpers shared by the client test binaries (each binary uses a subset).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use uploads_ext::rt::{Sleep, SleepFuture};
use uploads_ext::{Client, Error, PartBody, Purpose};

pub mod multipart;
pub mod retrying;
pub mod uploading;
pub mod wire;

/// A sleeper that returns at once: retries happen without waiting.
#[derive(Debug)]
pub struct NoSleep;

impl Sleep for NoSleep {
    fn sleep(&self, _: std::time::Duration) -> SleepFuture {
        Box::pin(std::future::ready(()))
    }
}

/// The four operations as (name, path under the base URL), indexed as [`run`] indexes them.
pub const OPERATIONS: [(&str, &str); 4] = [
    ("create_upload", "/uploads"),
    ("add_upload_part", "/uploads/upload_abc/parts"),
    ("complete_upload", "/uploads/upload_abc/complete"),
    ("cancel_upload", "/uploads/upload_abc/cancel"),
];

/// Sends operation `op` (an index into [`OPERATIONS`]) with small valid inputs.
pub async fn run(client: &Client, op: usize) -> Result<(), Error> {
    match op {
        0 => client
            .create_upload()
            .filename("a.jsonl")
            .purpose(Purpose::FineTune)
            .bytes(5)
            .mime_type("text/jsonl")
            .await
            .map(drop),
        1 => client
            .add_upload_part("upload_abc", PartBody::bytes("hello"))
            .await
            .map(drop),
        2 => client
            .complete_upload("upload_abc")
            .part_ids(["part_1"])
            .await
            .map(drop),
        _ => client.cancel_upload("upload_abc").await.map(drop),
    }
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Installs a subscriber writing every event at `level` and above here (thread-local: keep
    /// the guard alive for the test, on a current-thread runtime).
    pub fn install(&self, level: tracing::Level) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
}

/// Deterministic pseudo-random content (xorshift), so every size has distinct bytes.
pub fn content(len: u64, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes `bytes` to `dir/name`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A client of `server` that retries quickly (the policy itself is tested elsewhere), with
/// `timeout` as its bound on time without progress.
pub fn fake_client(server: &uploads_fake::FakeServer, timeout: std::time::Duration) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .timeout(timeout)
        .retry_policy(
            uploads_ext::RetryPolicy::builder()
                .initial_backoff(std::time::Duration::from_millis(1))
                .max_backoff(std::time::Duration::from_millis(5))
                .build(),
        )
        .build()
        .unwrap()
}

/// A fake server with `faults`, a [`fake_client`] of it bounded by `timeout`, and a temporary
/// directory for the files to upload: the start of most upload tests.
pub async fn fake_setup(
    faults: uploads_fake::Faults,
    timeout: std::time::Duration,
) -> (uploads_fake::FakeServer, Client, tempfile::TempDir) {
    let config = uploads_fake::FakeConfig::default().with_faults(faults);
    let server = uploads_fake::FakeServer::start_with(config).await.unwrap();
    let client = fake_client(&server, timeout);
    (server, client, tempfile::tempdir().unwrap())
}

/// Asserts that the upload's cleanup reports a cancel and that the server agrees; returns the
/// upload's id.
pub fn assert_cancelled_on_server(server: &uploads_fake::FakeServer, err: &Error) -> String {
    assert_eq!(
        err.cleanup(),
        Some(&uploads_ext::Cleanup::Cancelled),
        "{err}"
    );
    let id = err
        .upload_id()
        .expect("the error names its upload")
        .to_owned();
    assert_eq!(
        server.upload(&id).unwrap().status,
        uploads_fake::UploadStatus::Cancelled
    );
    id
}

/// Uploads `path` in 16 KiB parts without part retries, keeping the upload and its `journal`
/// on failure; returns the error it must end in (the caller arranged for parts to fail).
pub async fn kept_failing_upload(client: &Client, path: &Path, journal: &Path) -> Error {
    client
        .upload_file(path)
        .purpose(Purpose::Batch)
        .part_size(16 * 1024)
        .failure_policy(uploads_ext::FailurePolicy::Keep)
        .journal(journal)
        .part_retries(0)
        .part_rounds(0)
        .send()
        .await
        .unwrap_err()
}

/// A journal's state: its snapshot line, then appended events; the last `state` wins.
pub fn journal_state(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|v| v["state"].as_str().map(str::to_owned))
        .unwrap()
}

/// Uploads 20 files of 64 parts (16 KiB each) one after another, each with distinct content
/// from `seed` on, and asserts that each completed on the server with exactly its bytes.
pub async fn twenty_uploads_of_64_parts(
    server: &uploads_fake::FakeServer,
    client: &Client,
    seed: u64,
) {
    const PART: u64 = 16 * 1024;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20u64 {
        let bytes = content(64 * PART, seed + i);
        let path = write_file(dir.path(), &format!("m{i}.bin"), &bytes);
        let done = client
            .upload_file(&path)
            .purpose(Purpose::Batch)
            .part_size(PART)
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload {i}: {e}"));
        assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
        assert_eq!(
            server.upload(done.upload_id()).unwrap().status,
            uploads_fake::UploadStatus::Completed
        );
    }
}
