//! The one-hour clock on a slow link: the CLI prints the rate an upload needs, and
//! `--fail-if-too-slow` stops it at once (cancelled) instead of when it expires.

mod common;

use std::time::Duration;

use common::*;
use uploads_fake::{FakeConfig, FakeServer, LinkModel, Storage, UploadStatus};

const KIB: usize = 1024;

#[test]
fn fail_if_too_slow_prints_the_needed_rate_and_stops_at_once() {
    // Uploads live 60 s; 64 KiB/s per connection with two parts in flight cannot send 8 MiB
    // (about two minutes) in that time.
    let server = FakeServer::start_background(
        FakeConfig::default()
            .with_storage(Storage::HashOnly)
            .with_upload_ttl(Duration::from_secs(60))
            .with_link(LinkModel::new().per_connection(64 * 1024)),
    )
    .expect("fake server starts");
    let (_dir, path, _) = temp_file(8 * 1024 * KIB, 3);
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "batch",
        "--part-size",
        "64KiB",
        "--concurrency",
        "2",
        "--no-md5",
        "--fail-if-too-slow",
    ]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr
            .contains("cannot finish before it expires: it needs"),
        "{out:#?}"
    );
    assert!(out.stderr.contains("fail_if_too_slow"), "{out:#?}");
    assert!(
        !out.stderr.contains("WARN"),
        "told once, not logged too: {out:#?}"
    );
    let upload = &server.uploads()[0];
    assert_eq!(upload.status, UploadStatus::Cancelled);
    assert!(
        upload.parts.len() < 16,
        "stopped early: {}",
        upload.parts.len()
    );
}
