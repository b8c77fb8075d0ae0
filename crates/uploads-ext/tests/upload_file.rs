//! Chunked uploads against the project's fake server: real HTTP on loopback, parts streamed from
//! files on disk, parallel parts, limits, injected faults, md5 and expiry settings. Failures,
//! cancellation and resume are in `upload_cleanup.rs`.

mod common;

use common::uploading::{client_for, fast_retries, server_with, KIB};
use common::{assert_cancelled_on_server, content, write_file};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::{Digest, Md5};
use uploads_ext::upload::MAX_PARTS;
use uploads_ext::RetryPolicy;
use uploads_ext::{ErrorKind, Purpose, UploadStatus};
use uploads_fake::{Faults, RetryHint};

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

#[tokio::test]
async fn assembles_identical_bytes_for_many_sizes() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let part = 64 * KIB;
    // One byte, exactly one part, several parts with a short tail, an exact multiple.
    for (i, size) in [1, part, 3 * part + 12_345, 4 * part]
        .into_iter()
        .enumerate()
    {
        let bytes = content(size, i as u64 + 1);
        let path = write_file(dir.path(), &format!("f{i}.jsonl"), &bytes);
        let upload = client
            .upload_file(&path)
            .purpose(Purpose::FineTune)
            .part_size(part)
            .concurrency(3)
            .send()
            .await
            .unwrap_or_else(|e| panic!("size {size}: {e}"));
        assert_eq!(upload.upload().status, UploadStatus::Completed);
        assert_eq!(upload.bytes(), size);
        assert_eq!(upload.upload().filename, format!("f{i}.jsonl"));
        let snap = server.upload(upload.upload_id()).unwrap();
        assert_eq!(snap.mime_type, "application/jsonl");
        // Listed parts, not stored ones: a straggler's second copy may be stored unused.
        let listed = snap.completed_part_ids.as_ref().expect("completed");
        assert_eq!(listed.len() as u64, size.div_ceil(part));
        assert_eq!(
            server.read_content(upload.upload_id()).unwrap(),
            bytes,
            "size {size}"
        );
        assert_eq!(snap.content_md5.as_deref(), Some(md5_hex(&bytes).as_str()));
    }
}

#[tokio::test]
async fn bytes_and_reader_sources_upload_too() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let bytes = content(200 * KIB + 7, 9);

    let from_bytes = client
        .upload_bytes(bytes.clone())
        .filename("mem.bin")
        .purpose(Purpose::Batch)
        .part_size(64 * KIB)
        .send()
        .await
        .unwrap();
    assert_eq!(server.read_content(from_bytes.upload_id()).unwrap(), bytes);
    assert_eq!(
        server.upload(from_bytes.upload_id()).unwrap().mime_type,
        "application/octet-stream"
    );

    let reader = std::io::Cursor::new(bytes.clone());
    let from_reader = client
        .upload_reader(reader, bytes.len() as u64)
        .filename("stream.jsonl")
        .mime_type("text/jsonl")
        .purpose(Purpose::Unrecognized("user_data".into()))
        .part_size(50 * KIB)
        .concurrency(2)
        .send()
        .await
        .unwrap();
    let snap = server.upload(from_reader.upload_id()).unwrap();
    assert_eq!(server.read_content(from_reader.upload_id()).unwrap(), bytes);
    assert_eq!(snap.content_md5.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert_eq!(snap.purpose, "user_data");
    assert_eq!(snap.mime_type, "text/jsonl");

    // A reader shorter than declared fails, and the upload is cancelled.
    let short = std::io::Cursor::new(vec![1u8; 10]);
    let err = client
        .upload_reader(short, 100)
        .filename("short.bin")
        .purpose(Purpose::Batch)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_cancelled_on_server(&server, &err);
}

#[tokio::test]
async fn limits_are_checked_before_the_first_request() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let small = write_file(dir.path(), "small.bin", &content(1000, 1));
    let empty = write_file(dir.path(), "empty.bin", b"");
    let huge = dir.path().join("huge.bin");
    // Sparse: 8 GiB + 1 byte without writing them.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(8 * 1024 * 1024 * 1024 + 1)
        .unwrap();

    let cases = [
        (
            "missing file",
            client
                .upload_file(dir.path().join("nope.bin"))
                .purpose(Purpose::Batch),
            ErrorKind::Io,
        ),
        (
            "empty file",
            client.upload_file(&empty).purpose(Purpose::Batch),
            ErrorKind::InvalidInput,
        ),
        (
            "over 8 GiB",
            client.upload_file(&huge).purpose(Purpose::Batch),
            ErrorKind::InvalidInput,
        ),
        (
            "part size 0",
            client
                .upload_file(&small)
                .purpose(Purpose::Batch)
                .part_size(0),
            ErrorKind::InvalidInput,
        ),
        (
            "part over 64 MiB",
            client
                .upload_file(&small)
                .purpose(Purpose::Batch)
                .part_size(64 * 1024 * KIB + 1),
            ErrorKind::InvalidInput,
        ),
        (
            "no purpose",
            client.upload_file(&small),
            ErrorKind::InvalidInput,
        ),
        (
            "concurrency 0",
            client
                .upload_file(&small)
                .purpose(Purpose::Batch)
                .concurrency(0),
            ErrorKind::InvalidInput,
        ),
        (
            "bad mime",
            client
                .upload_file(&small)
                .purpose(Purpose::Batch)
                .mime_type("not a mime"),
            ErrorKind::InvalidInput,
        ),
        (
            "directory",
            client.upload_file(dir.path()).purpose(Purpose::Batch),
            ErrorKind::InvalidInput,
        ),
        (
            "bytes without a name",
            client.upload_bytes(vec![1u8; 3]).purpose(Purpose::Batch),
            ErrorKind::InvalidInput,
        ),
    ];
    for (what, builder, kind) in cases {
        let err = builder.send().await.expect_err(what);
        assert_eq!(err.kind(), kind, "{what}: {err}");
        assert!(
            err.upload_id().is_none(),
            "{what}: no upload may be created"
        );
    }
    let many = write_file(dir.path(), "many.bin", &content(MAX_PARTS + 1, 2));
    let err = client
        .upload_file(&many)
        .purpose(Purpose::Batch)
        .part_size(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("parts"), "{err}");
    assert_eq!(
        server.stats().requests.total(),
        0,
        "no request may reach the server"
    );
    assert!(server.uploads().is_empty());
}

#[tokio::test]
async fn parts_finishing_out_of_order_are_completed_in_file_order() {
    // Per-connection bandwidth cap: the short last part finishes long before the full ones
    // (each full part takes half a second, so a loaded machine that starts the last part late
    // still sees it finish first).
    let server = server_with(Faults::none().with_bandwidth(512 * 1024)).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(3 * 256 * KIB + 1000, 5);
    let path = write_file(dir.path(), "ooo.bin", &bytes);
    let upload = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(256 * KIB)
        .concurrency(4)
        .send()
        .await
        .unwrap();
    let snap = server.upload(upload.upload_id()).unwrap();
    let arrival: Vec<String> = snap.parts.iter().map(|p| p.id.clone()).collect();
    let completed = snap.completed_part_ids.clone().unwrap();
    assert_ne!(
        arrival, completed,
        "parts should have finished out of order"
    );
    assert_eq!(
        snap.parts
            .iter()
            .find(|p| p.id == completed[3])
            .unwrap()
            .size,
        1000
    );
    assert_eq!(server.read_content(upload.upload_id()).unwrap(), bytes);
}

#[tokio::test]
async fn concurrency_bound_is_respected_and_reached() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(12 * 16 * KIB, 3);
    let path = write_file(dir.path(), "c.bin", &bytes);
    let hold = server.hold_parts();
    let handle = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .concurrency(3)
        .spawn();
    server.wait_for_parts_in_flight(3).await;
    assert_eq!(server.stats().parts_in_flight, 3);
    hold.release();
    let upload = handle.join().await.unwrap();
    assert_eq!(server.stats().max_parts_in_flight, 3);
    assert_eq!(server.read_content(upload.upload_id()).unwrap(), bytes);
}

#[tokio::test]
async fn injected_faults_with_a_fixed_seed_still_assemble_identical_bytes() {
    let faults = Faults::none()
        .with_seed(42)
        .with_fail_500(0.15)
        .with_fail_429(0.15, Duration::from_millis(5), RetryHint::Millis)
        .with_drop_connection(0.1);
    let server = server_with(faults).await;
    let client = client_for(&server, fast_retries(20));
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(40 * 32 * KIB + 333, 7);
    let path = write_file(dir.path(), "faulty.bin", &bytes);
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    let upload = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(32 * KIB)
        .concurrency(4)
        .on_progress(move |p| seen.lock().unwrap().push(p.clone()))
        .send()
        .await
        .unwrap();
    let stats = server.stats();
    assert!(stats.faults.server_error > 0, "{stats:?}");
    assert!(stats.faults.rate_limited > 0, "{stats:?}");
    assert!(stats.faults.dropped > 0, "{stats:?}");
    assert_eq!(server.read_content(upload.upload_id()).unwrap(), bytes);
    let last = progress.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.bytes_completed, bytes.len() as u64);
    assert_eq!(last.parts_completed, 41);
    assert_eq!(last.parts_total, 41);
}

#[tokio::test]
async fn md5_can_be_disabled_and_expires_after_is_sent() {
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(70 * KIB, 6);
    let path = write_file(dir.path(), "x.pdf", &bytes);
    let upload = client
        .upload_file(&path)
        .purpose(Purpose::Assistants)
        .filename("renamed.pdf")
        .expires_after(Duration::from_secs(7200))
        .md5(false)
        .send()
        .await
        .unwrap();
    let snap = server.upload(upload.upload_id()).unwrap();
    assert_eq!(snap.filename, "renamed.pdf");
    assert_eq!(snap.mime_type, "application/pdf");
    assert_eq!(snap.file_expires_after, Some(7200));
    assert_eq!(server.read_content(upload.upload_id()).unwrap(), bytes);
    let file = upload.file();
    assert_eq!(file.expires_at, Some(file.created_at + 7200));
}

#[tokio::test]
async fn parts_finish_while_a_slow_reader_is_still_producing_the_next_one() {
    use tokio::io::AsyncWriteExt;
    let server = server_with(Faults::none()).await;
    let client = client_for(&server, RetryPolicy::none());
    let bytes = content(3 * 32 * KIB, 12);
    let (mut writer, reader) = tokio::io::duplex(8 * 1024);
    let first_part_done = Arc::new(tokio::sync::Notify::new());
    let signal = first_part_done.clone();
    let feed = {
        let bytes = bytes.clone();
        tokio::spawn(async move {
            writer.write_all(&bytes[..32 * 1024]).await.unwrap();
            // The rest only arrives once the first part is recorded as completed: an upload
            // loop that waited on the reader without finishing parts would never get here.
            first_part_done.notified().await;
            writer.write_all(&bytes[32 * 1024..]).await.unwrap();
        })
    };
    let upload = client
        .upload_reader(reader, bytes.len() as u64)
        .filename("slow.bin")
        .purpose(Purpose::Batch)
        .part_size(32 * KIB)
        .concurrency(2)
        .on_progress(move |p| {
            if p.parts_completed >= 1 {
                signal.notify_one();
            }
        })
        .send();
    // Bounded, so the failure mode is a failed test rather than a hung one.
    let upload = tokio::time::timeout(Duration::from_secs(60), upload)
        .await
        .expect("upload stalled waiting on the reader")
        .unwrap();
    feed.await.unwrap();
    assert_eq!(server.read_content(upload.upload_id()).unwrap(), bytes);
}
