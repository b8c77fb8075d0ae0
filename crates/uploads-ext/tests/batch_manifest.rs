//! The batch manifest keeps a batch exactly-once: one run owns it at a time, paths are matched
//! by their bytes, only regular files serve as manifests and journals, and a batch that finds
//! nothing says so. Against the project's fake server.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{content, write_file};
use uploads_ext::{Client, ErrorKind, FileResult, Purpose};
use uploads_fake::{FakeConfig, FakeServer};

const KIB: u64 = 1024;
/// Bound on each whole test: a deadlock fails it instead of hanging CI.
const DEADLOCK_BOUND: Duration = Duration::from_secs(120);

fn client_for(server: &FakeServer) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .max_parts_in_flight(4)
        .build()
        .unwrap()
}

fn no_requests(server: &FakeServer) -> bool {
    let r = server.stats().requests;
    r.create + r.add_part + r.complete + r.cancel == 0
}

#[tokio::test]
async fn a_second_run_with_the_same_manifest_is_refused_while_the_first_runs() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..3 {
        write_file(&data, &format!("f{i}.jsonl"), &content(2 * KIB, i));
    }
    let manifest = dir.path().join("m.jsonl");
    let batch = || {
        client
            .upload_dir(&data)
            .purpose(Purpose::Batch)
            .part_size(KIB)
            .manifest(&manifest)
    };
    let hold = server.hold_parts();
    let first = batch().start().await.unwrap();
    server.wait_for_parts_in_flight(1).await;
    let creates = server.stats().requests.create;
    let err = batch().start().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal, "{err}");
    assert!(err.is_journal_locked(), "{err}");
    assert!(err.to_string().contains("m.jsonl is in use"), "{err}");
    assert_eq!(
        server.stats().requests.create,
        creates,
        "refused before any request"
    );
    drop(hold);
    let summary = tokio::time::timeout(DEADLOCK_BOUND, first.join())
        .await
        .expect("deadlocked");
    assert!(summary.all_completed(), "{summary:?}");
    // Released with the run: the next one takes it and skips everything.
    let again = batch().send().await.unwrap();
    assert_eq!(
        again
            .files
            .iter()
            .filter(|f| matches!(f.result, FileResult::AlreadyUploaded { .. }))
            .count(),
        3
    );
    assert_eq!(server.stats().requests.create, 3);
}

#[tokio::test]
async fn a_recorded_file_whose_journal_survived_a_crash_is_skipped_and_its_journal_removed() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_file(&data, "a.jsonl", &content(3 * KIB, 1));
    let manifest = dir.path().join("m.jsonl");
    let journals = dir.path().join("m.jsonl.d");
    // Parts are held so that the file's journal can be copied while its upload runs.
    let hold = server.hold_parts();
    let handle = client
        .upload_dir(&data)
        .purpose(Purpose::Batch)
        .part_size(KIB)
        .manifest(&manifest)
        .start()
        .await
        .unwrap();
    server.wait_for_parts_in_flight(1).await;
    let journal = std::fs::read_dir(&journals)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "journal"))
        .expect("a journal while in flight");
    drop(hold);
    let summary = tokio::time::timeout(DEADLOCK_BOUND, handle.join())
        .await
        .expect("deadlocked");
    assert!(summary.all_completed());
    assert!(!journal.exists(), "removed once recorded");
    // As if killed after the line was synced but before the journal was removed.
    std::fs::write(&journal, b"{}").unwrap();
    let again = client
        .upload_dir(&data)
        .purpose(Purpose::Batch)
        .manifest(&manifest)
        .send()
        .await
        .unwrap();
    assert!(matches!(
        again.files[0].result,
        FileResult::AlreadyUploaded { .. }
    ));
    assert!(!journal.exists(), "the spent journal is removed");
    assert_eq!(server.stats().requests.create, 1);
}

#[cfg(unix)]
#[tokio::test]
async fn a_never_uploaded_non_utf8_name_is_not_matched_with_another_files_line() {
    use std::os::unix::ffi::OsStrExt;
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let name = |bytes: &[u8]| data.join(std::ffi::OsStr::from_bytes(bytes));
    // Same size and modification time: only the name's bytes tell them apart.
    let (a, b) = (name(b"caf\xe9.jsonl"), name(b"caf\xff.jsonl"));
    let when = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for path in [&a, &b] {
        std::fs::write(path, content(KIB, 3)).unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
    let manifest = dir.path().join("m.jsonl");
    let first = client
        .upload_files([&a])
        .purpose(Purpose::Batch)
        .manifest(&manifest)
        .send()
        .await
        .unwrap();
    assert!(first.all_completed(), "{first:?}");
    let second = client
        .upload_dir(&data)
        .purpose(Purpose::Batch)
        .manifest(&manifest)
        .send()
        .await
        .unwrap();
    let result = |path: &PathBuf| {
        &second
            .files
            .iter()
            .find(|f| f.path == *path)
            .unwrap()
            .result
    };
    assert!(matches!(result(&a), FileResult::AlreadyUploaded { .. }));
    assert!(
        matches!(result(&b), FileResult::Completed(_)),
        "{:?}",
        result(&b)
    );
    assert_eq!(server.stats().requests.create, 2);
}

/// The manifest paths that are not regular files on this platform.
fn not_regular(dir: &Path) -> Vec<PathBuf> {
    let mut paths = vec![dir.to_owned()];
    paths.extend(devices_and_fifo(dir));
    paths
}

#[cfg(unix)]
fn devices_and_fifo(dir: &Path) -> Vec<PathBuf> {
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    vec![PathBuf::from("/dev/null"), PathBuf::from("/dev/zero"), fifo]
}

#[cfg(not(unix))]
fn devices_and_fifo(_dir: &Path) -> Vec<PathBuf> {
    Vec::new()
}

#[tokio::test]
async fn devices_fifos_and_directories_are_refused_as_manifests_before_any_request() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "a.jsonl", &content(KIB, 1));
    for manifest in not_regular(dir.path()) {
        let err = client
            .upload_files([&file])
            .purpose(Purpose::Batch)
            .manifest(&manifest)
            .start()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
    assert!(!Path::new("/dev/null.d").exists());
    assert!(no_requests(&server));
}

#[tokio::test]
async fn devices_fifos_and_directories_are_refused_as_journals_before_any_request() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "a.jsonl", &content(KIB, 1));
    for journal in not_regular(dir.path()) {
        let err = client
            .upload_file(&file)
            .purpose(Purpose::Batch)
            .journal(&journal)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{journal:?}: {err}");
        let err = client.resume_upload(&journal).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{journal:?}: {err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
    assert!(!Path::new("/dev/null.lock").exists());
    assert!(no_requests(&server));
}

#[tokio::test]
async fn a_batch_that_finds_nothing_fails_unless_allowed_and_skipped_links_are_reported() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", &content(KIB, 1));
    let err = client
        .upload_dir(dir.path())
        .include("*.jsonl")
        .purpose(Purpose::Batch)
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("matching *.jsonl"), "{err}");
    let none: [&Path; 0] = [];
    let err = client
        .upload_files(none)
        .purpose(Purpose::Batch)
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let empty = client
        .upload_dir(dir.path())
        .include("*.jsonl")
        .purpose(Purpose::Batch)
        .allow_empty(true)
        .send()
        .await
        .unwrap();
    assert!(empty.files.is_empty());
    #[cfg(unix)]
    {
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(dir.path().join("a.txt"), &link).unwrap();
        let summary = client
            .upload_dir(dir.path())
            .purpose(Purpose::Batch)
            .send()
            .await
            .unwrap();
        assert_eq!(summary.files.len(), 1);
        assert_eq!(summary.skipped_links, [link]);
    }
}

#[tokio::test]
async fn resuming_a_dead_upload_removes_its_journal_and_says_so() {
    let server = FakeServer::start_with(FakeConfig::default()).await.unwrap();
    let client = client_for(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "a.jsonl", &content(KIB, 1));
    let journal = dir.path().join("j.json");
    let identity = std::fs::metadata(&file).unwrap();
    let modified_ns = identity
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let write = |state: &str| {
        // Started long ago with a one-hour lifetime: expired by the local clock.
        let snapshot = serde_json::json!({
            "version": 2, "state": state, "upload_id": "upload_dead", "path": file,
            "file": {"size": KIB, "modified_ns": modified_ns}, "filename": "a.jsonl",
            "purpose": "batch", "mime_type": "application/jsonl", "part_size": KIB,
            "md5": true, "expires_at": 1000, "ttl_secs": 3600, "started_at": 1000, "parts": []
        });
        std::fs::write(&journal, format!("{snapshot}\n")).unwrap();
    };
    write("in_progress");
    let err = client.resume_upload(&journal).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
    assert!(err.to_string().contains("was removed"), "{err}");
    assert!(!journal.exists());
    assert!(no_requests(&server));
    // One whose `complete` may have happened is settled with the server, whatever the local
    // clock says; a server that knows nothing of it gives no definite answer, so the journal
    // is kept for a later settle.
    write("completing");
    let err = client.resume_upload(&journal).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CompletionUnknown, "{err}");
    assert!(journal.exists());
    assert!(!no_requests(&server));
}
