//! The "too slow" warning of the one-hour clock, in a test binary of its own: the log is
//! captured by a thread-local subscriber, which other tests emitting the same event on other
//! threads could otherwise race (tracing's per-callsite interest cache).

mod common;

use common::{content, fake_client, write_file, LogBuffer};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uploads_ext::{ErrorKind, Purpose};
use uploads_fake::{FakeConfig, FakeServer, LinkModel, Storage};

const KIB: u64 = 1024;

/// A fake whose Uploads expire after 60 s, on a link of 64 KiB/s per connection: with two
/// parts in flight the 8 MiB below needs about a minute more than it has.
async fn short_lived_slow_server() -> FakeServer {
    FakeServer::start_with(
        FakeConfig::default()
            .with_storage(Storage::HashOnly)
            .with_upload_ttl(Duration::from_secs(60))
            .with_link(LinkModel::new().per_connection(64 * KIB)),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_upload_too_slow_for_its_expiry_warns_and_goes_on_by_default() {
    let logs = LogBuffer::default();
    let _guard = logs.install(tracing::Level::WARN);
    let server = short_lived_slow_server().await;
    let client = fake_client(&server, Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "slow.bin", &content(8 * 1024 * KIB, 23));
    // The caller decides what to do with the news: here, stop the upload.
    let token = CancellationToken::new();
    let (stop, told) = (token.clone(), Arc::new(Mutex::new(None)));
    let news = told.clone();
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(64 * KIB)
        .concurrency(2)
        .expiry_margin(Duration::from_secs(1))
        .md5(false)
        .cancellation_token(token)
        .on_progress(move |p| {
            if p.too_slow() {
                news.lock().unwrap().get_or_insert(p.clone());
                stop.cancel();
            }
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Cancelled,
        "not failed by the SDK: {err}"
    );
    let told = told.lock().unwrap().clone().expect("told it is too slow");
    assert!(told.needed_bytes_per_sec.unwrap() > told.bytes_per_sec.unwrap());
    assert!(told.bytes_completed < told.bytes_total);
    let text = logs.text();
    assert!(
        text.contains("WARN") && text.contains("too slow to finish before it expires"),
        "{text}"
    );
}
