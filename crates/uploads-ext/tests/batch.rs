//! Many files through one client against the project's fake server: one budget for all uploads
//! (checked by the server's own record of parts in flight), fair turns, per-file failures, abort
//! and a manifest that lets a rerun skip and resume.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{content, write_file};
use uploads_ext::RetryPolicy;
use uploads_ext::{Client, ErrorKind, FileResult, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Faults, UploadStatus};

const KIB: u64 = 1024;
/// Bound on each whole test: a deadlock fails it instead of hanging CI.
const DEADLOCK_BOUND: Duration = Duration::from_secs(120);

fn client_for(server: &FakeServer, budget: usize) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .max_parts_in_flight(budget)
        .retry_policy(
            RetryPolicy::builder()
                .max_retries(5)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(5))
                .build(),
        )
        .build()
        .unwrap()
}

/// `count` files of a few parts each (sizes differ), under `dir`, some in a subdirectory.
fn files(dir: &Path, count: usize) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    (0..count)
        .map(|i| {
            let bytes = content(2 * 4 * KIB + (i as u64 * 37) % (2 * 4 * KIB), i as u64 + 1);
            let name = if i % 3 == 0 {
                format!("sub/f{i:03}.jsonl")
            } else {
                format!("f{i:03}.jsonl")
            };
            (write_file(dir, &name, &bytes), bytes)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_uploads_share_one_budget_and_arrive_byte_identical_despite_faults() {
    let faults = Faults::none()
        .with_seed(11)
        .with_fail_500(0.05)
        .with_drop_connection(0.03);
    let server = FakeServer::start_with(FakeConfig::default().with_faults(faults))
        .await
        .unwrap();
    let budget = 6;
    let client = client_for(&server, budget);
    let dir = tempfile::tempdir().unwrap();
    let written = files(dir.path(), 200);
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();

    let summary = tokio::time::timeout(DEADLOCK_BOUND, async {
        let mut batch = client
            .upload_dir(dir.path())
            .include("*.jsonl")
            .purpose(Purpose::FineTune)
            .part_size(4 * KIB)
            .concurrency(4)
            .files_in_flight(200)
            .on_progress(move |p| seen.lock().unwrap().push(p.clone()))
            .start()
            .await
            .unwrap();
        let mut reported = 0;
        while let Some(file) = batch.next().await {
            assert!(
                file.is_completed(),
                "{}: {:?}",
                file.path.display(),
                file.error()
            );
            reported += 1;
        }
        assert_eq!(reported, 200, "every file is reported as it finishes");
        batch.join().await
    })
    .await
    .expect("the batch deadlocked");

    assert_eq!(summary.files.len(), 200);
    assert!(summary.all_completed());
    for file in &summary.files {
        let (_, bytes) = written.iter().find(|(p, _)| *p == file.path).unwrap();
        assert_eq!(file.bytes, bytes.len() as u64);
        let upload_id = file.upload_id().unwrap();
        assert_eq!(
            &server.read_content(upload_id).unwrap(),
            bytes,
            "{upload_id}"
        );
        assert!(file.file_id().unwrap().starts_with("file-"));
    }
    let stats = server.stats();
    assert!(stats.faults.total() > 0, "faults were injected: {stats:?}");
    assert!(
        stats.max_parts_in_flight <= budget,
        "the server saw {} parts at once, budget {budget}",
        stats.max_parts_in_flight
    );
    assert!(stats.max_parts_in_flight >= 2, "the budget was used");
    assert_eq!(client.parts_in_flight(), 0, "every permit came back");
    let last = progress.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.files_completed, 200);
    assert_eq!(last.bytes_completed, last.bytes_total);
    assert_eq!(
        last.bytes_total,
        written.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
    );
}

#[tokio::test]
async fn a_small_file_waits_for_one_part_of_a_big_one_not_for_its_whole_queue() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server, 2);
    let order = Arc::new(Mutex::new(Vec::new()));
    // Each part completion, in order, as the name of its upload.
    let started = Arc::new(tokio::sync::Notify::new());
    let progress_of = |name: &'static str| {
        let (order, last, started) = (order.clone(), Mutex::new(0), started.clone());
        move |p: &uploads_ext::Progress| {
            // The first report comes once the Upload exists, just before its parts are queued.
            if name == "small" {
                started.notify_one();
            }
            let mut last = last.lock().unwrap();
            let mut order = order.lock().unwrap();
            for _ in *last..p.parts_completed {
                order.push(name);
            }
            *last = (*last).max(p.parts_completed);
        }
    };
    let outcome = tokio::time::timeout(DEADLOCK_BOUND, async {
        let hold = server.hold_parts();
        let started = started.clone();
        let big = client
            .upload_bytes(content(12 * KIB, 1))
            .filename("big.bin")
            .purpose(Purpose::Batch)
            .part_size(KIB)
            .concurrency(2)
            .on_progress(progress_of("big"))
            .spawn();
        // The big upload holds the whole budget (two parts at the server); the small one queues
        // behind it and must get the first share the big one gives back.
        server.wait_for_parts_in_flight(2).await;
        let small = client
            .upload_bytes(content(KIB, 2))
            .filename("small.bin")
            .purpose(Purpose::Batch)
            .on_progress(progress_of("small"))
            .spawn();
        // On this single-threaded runtime the small upload runs from its first report to its
        // place in the budget's queue without this task running in between.
        started.notified().await;
        drop(hold);
        (big.join().await.unwrap(), small.join().await.unwrap())
    })
    .await
    .expect("deadlocked");
    let (big, small) = outcome;
    assert_eq!(
        server.read_content(big.upload_id()).unwrap(),
        content(12 * KIB, 1)
    );
    assert_eq!(
        server.read_content(small.upload_id()).unwrap(),
        content(KIB, 2)
    );
    let order = order.lock().unwrap().clone();
    let small_at = order.iter().position(|n| *n == "small").unwrap();
    // In turns: the big file's two parts in flight, then the small one (one more big part may
    // be recorded a moment earlier). Without turns it would be 12th.
    assert!(
        small_at <= 3,
        "the small file waited for {small_at} big parts: {order:?}"
    );
    assert_eq!(server.stats().max_parts_in_flight, 2);
}

#[tokio::test]
async fn a_concurrency_above_the_budget_fails_the_batch_before_any_request() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server, 4);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.jsonl", &content(3 * KIB, 1));
    let err = client
        .upload_files([&path])
        .purpose(Purpose::Batch)
        .concurrency(5)
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("max_parts_in_flight"), "{err}");
    assert_eq!(server.stats().requests.create, 0);
}

#[tokio::test]
async fn a_failing_file_leaves_the_others_completed() {
    // Uploads above 20 KiB are refused at create (400): a permanent failure of those files only.
    let server = FakeServer::start_with(FakeConfig::default().with_max_upload_bytes(20 * KIB))
        .await
        .unwrap();
    let client = client_for(&server, 4);
    let dir = tempfile::tempdir().unwrap();
    let ok: Vec<PathBuf> = (0..5)
        .map(|i| write_file(dir.path(), &format!("ok{i}.jsonl"), &content(3 * KIB, i)))
        .collect();
    let too_big = write_file(dir.path(), "big.jsonl", &content(21 * KIB, 9));
    let missing = dir.path().join("missing.jsonl");
    let mut paths = ok.clone();
    paths.insert(2, too_big.clone());
    paths.push(missing.clone());

    let summary = tokio::time::timeout(
        DEADLOCK_BOUND,
        client
            .upload_files(&paths)
            .purpose(Purpose::FineTune)
            .part_size(KIB)
            .send(),
    )
    .await
    .expect("deadlocked")
    .unwrap();

    assert_eq!(summary.files.len(), 7);
    let failed: Vec<_> = summary.failed().map(|f| f.path.clone()).collect();
    assert_eq!(failed.len(), 2, "{summary:?}");
    assert!(failed.contains(&too_big) && failed.contains(&missing));
    let big = summary.files.iter().find(|f| f.path == too_big).unwrap();
    assert_eq!(big.error().unwrap().status().map(|s| s.as_u16()), Some(400));
    assert_eq!(big.index, 2);
    let gone = summary.files.iter().find(|f| f.path == missing).unwrap();
    assert_eq!(gone.error().unwrap().kind(), ErrorKind::Io);
    for file in summary.completed() {
        let i = ok.iter().position(|p| *p == file.path).unwrap() as u64;
        let id = file.upload_id().unwrap();
        assert_eq!(server.read_content(id).unwrap(), content(3 * KIB, i));
    }
    assert_eq!(summary.completed().count(), 5);
    assert!(server
        .uploads()
        .iter()
        .all(|u| u.status == UploadStatus::Completed));
}

#[tokio::test]
async fn abort_then_rerun_with_the_manifest_skips_done_files_and_resumes_the_others() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server, 2);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let written = files(&data, 6);
    let manifest = dir.path().join("batch.manifest");
    let batch = |client: &Client| {
        client
            .upload_dir(&data)
            .purpose(Purpose::Batch)
            .part_size(4 * KIB)
            .concurrency(1)
            .files_in_flight(2)
            .manifest(&manifest)
    };

    // First run: the first two files finish, then parts are held and the batch is aborted.
    let first = tokio::time::timeout(DEADLOCK_BOUND, async {
        let mut handle = batch(&client).start().await.unwrap();
        let mut done = Vec::new();
        let hold = loop {
            let file = handle.next().await.unwrap();
            assert!(file.is_completed());
            done.push(file.path.clone());
            if done.len() == 2 {
                break server.hold_parts();
            }
        };
        server.wait_for_parts_in_flight(1).await;
        let summary = handle.abort().await;
        drop(hold);
        summary
    })
    .await
    .expect("deadlocked");
    assert_eq!(first.files.len(), 6);
    let completed_first: Vec<_> = first.completed().map(|f| f.path.clone()).collect();
    assert!(completed_first.len() >= 2);
    let aborted: Vec<_> = first.failed().collect();
    assert!(!aborted.is_empty());
    assert!(aborted
        .iter()
        .all(|f| f.error().unwrap().kind() == ErrorKind::Cancelled));
    let creates_before = server.stats().requests.create;

    // Rerun: nothing done is sent again; files that had an Upload resume it.
    let second = tokio::time::timeout(DEADLOCK_BOUND, batch(&client).send())
        .await
        .expect("deadlocked")
        .unwrap();
    assert!(second.all_completed(), "{second:?}");
    assert_eq!(second.files.len(), 6);
    let (mut new_uploads, mut resumed) = (0, 0);
    for file in &second.files {
        let (_, bytes) = written.iter().find(|(p, _)| *p == file.path).unwrap();
        let id = file.upload_id().unwrap();
        assert_eq!(&server.read_content(id).unwrap(), bytes);
        match &file.result {
            FileResult::AlreadyUploaded { .. } => {
                assert!(completed_first.contains(&file.path))
            }
            FileResult::Completed(done) => {
                let earlier = first.files.iter().find(|f| f.path == file.path).unwrap();
                match earlier.upload_id() {
                    // Resumed: the same Upload, not a new one.
                    Some(earlier_id) => {
                        assert_eq!(done.upload_id(), earlier_id);
                        resumed += 1;
                    }
                    None => new_uploads += 1,
                }
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(resumed >= 1, "a file aborted mid-upload was resumed");
    assert_eq!(
        second
            .files
            .iter()
            .filter(|f| matches!(f.result, FileResult::AlreadyUploaded { .. }))
            .count(),
        completed_first.len()
    );
    assert_eq!(
        server.stats().requests.create - creates_before,
        new_uploads,
        "only files that never had an Upload create one"
    );
    // Every journal is gone once its file completed.
    let journals = std::fs::read_dir(dir.path().join("batch.manifest.d"))
        .unwrap()
        .count();
    assert_eq!(journals, 0);
}

/// A reader that counts the bytes taken from it.
struct CountingReader {
    inner: std::io::Cursor<Vec<u8>>,
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl tokio::io::AsyncRead for CountingReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.read.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        poll
    }
}

#[tokio::test]
async fn reader_parts_are_only_read_under_the_budget_however_many_uploads_wait() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let budget = 2;
    let client = client_for(&server, budget);
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let part = 8 * KIB;
    let outcome = tokio::time::timeout(DEADLOCK_BOUND, async {
        let hold = server.hold_parts();
        let uploads: Vec<_> = (0..10)
            .map(|i| {
                let reader = CountingReader {
                    inner: std::io::Cursor::new(content(4 * part, i)),
                    read: read.clone(),
                };
                client
                    .upload_reader(reader, 4 * part)
                    .filename(format!("r{i}.jsonl"))
                    .purpose(Purpose::Batch)
                    .part_size(part)
                    .concurrency(budget)
                    .spawn()
            })
            .collect();
        server.wait_for_parts_in_flight(budget).await;
        // Ten uploads want twenty parts at once; only the two holding the budget were read into
        // memory.
        let read_while_held = read.load(std::sync::atomic::Ordering::SeqCst);
        drop(hold);
        let mut done = Vec::new();
        for upload in uploads {
            done.push(upload.join().await.unwrap());
        }
        (read_while_held, done)
    })
    .await
    .expect("deadlocked");
    let (read_while_held, done) = outcome;
    assert_eq!(read_while_held, budget as u64 * part);
    for (i, upload) in done.iter().enumerate() {
        assert_eq!(
            server.read_content(upload.upload_id()).unwrap(),
            content(4 * part, i as u64)
        );
    }
    assert_eq!(server.stats().max_parts_in_flight, budget);
}
