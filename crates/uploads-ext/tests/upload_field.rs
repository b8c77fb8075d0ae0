//! Chunked uploads where real networks and process managers live, against the fake server:
//! transient faults that must not throw big uploads away, stalls, slow links, cancellation by
//! token and deadline, and journals (locks, odd paths, clock skew, unusable directories).
//! Each test checks what the caller sees and what the server holds.

mod common;

use common::{
    assert_cancelled_on_server, content, fake_client, fake_setup, kept_failing_upload,
    twenty_uploads_of_64_parts, write_file,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use uploads_ext::upload::FailurePolicy;
use uploads_ext::{Cleanup, Client, Error, ErrorKind, Purpose, UploadFileBuilder};
use uploads_fake::{
    FakeConfig, FakeServer, Faults, RetryHint, Storage, UploadStatus as FakeStatus,
};

const KIB: u64 = 1024;

fn always_500() -> Faults {
    Faults::none().with_seed(1).with_fail_500(1.0)
}

#[tokio::test]
async fn big_uploads_finish_through_transient_faults_with_default_part_budgets() {
    let faults = Faults::none()
        .with_seed(20)
        .with_fail_500(0.05)
        .with_fail_429(0.05, Duration::from_millis(5), RetryHint::Millis)
        .with_drop_connection(0.02);
    let (server, client, _dir) = fake_setup(faults, Duration::from_secs(30)).await;
    twenty_uploads_of_64_parts(&server, &client, 100).await;
    let stats = server.stats();
    assert!(
        stats.faults.server_error + stats.faults.rate_limited + stats.faults.dropped > 50,
        "the faults did happen: {stats:?}"
    );
}

#[tokio::test]
async fn a_stalled_connection_is_cut_off_by_the_idle_timeout_and_cancelled() {
    let (server, client, dir) = fake_setup(
        Faults::none().with_stall(1.0, Duration::from_secs(60)),
        Duration::from_millis(300),
    )
    .await;
    let path = write_file(dir.path(), "s.bin", &content(16 * KIB, 4));
    let started = Instant::now();
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_retries(0)
        .part_rounds(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("no progress for 300 ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_cancelled_on_server(&server, &err);
}

#[tokio::test]
async fn a_slow_but_steady_part_outlasts_the_timeout() {
    // 64 MiB (the largest part) at 8 MiB/s: four times the timeout, yet bytes keep moving the
    // whole time. (The timeout must exceed the time the socket buffers take to drain after the
    // last write, here a few MiB.)
    // Hash-only storage keeps `complete` quick, so only the part is slow.
    let server = FakeServer::start_with(
        FakeConfig::default()
            .with_storage(Storage::HashOnly)
            .with_faults(Faults::none().with_bandwidth(8 * 1024 * KIB)),
    )
    .await
    .unwrap();
    let client = fake_client(&server, Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(64 * 1024 * KIB, 5);
    let path = write_file(dir.path(), "slow.bin", &bytes);
    let started = Instant::now();
    let done = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(64 * 1024 * KIB)
        .part_retries(0)
        .part_rounds(0)
        .md5(false)
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() > Duration::from_secs(6),
        "the link was slow"
    );
    let snap = server.upload(done.upload_id()).unwrap();
    assert_eq!(snap.status, FakeStatus::Completed);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    assert_eq!(snap.parts[0].sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(
        server.stats().requests.add_part,
        1,
        "never cut off and re-sent"
    );
}

/// Runs `upload` until a part is in flight, then cancels its token (what the CLI does on
/// SIGINT, SIGTERM or SIGHUP); returns the error it ends in.
async fn cancelled_by_token_mid_part(server: &FakeServer, upload: UploadFileBuilder) -> Error {
    let hold = server.hold_parts();
    let token = CancellationToken::new();
    let task = tokio::spawn(upload.cancellation_token(token.clone()).send());
    server.wait_for_parts_in_flight(1).await;
    token.cancel();
    let err = task.await.unwrap().unwrap_err();
    drop(hold);
    err
}

#[tokio::test]
async fn a_cancellation_token_runs_the_cleanup_and_reports_it() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let path = write_file(dir.path(), "t.bin", &content(4 * 16 * KIB, 6));
    let upload = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB);
    let err = cancelled_by_token_mid_part(&server, upload).await;
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_cancelled_on_server(&server, &err);
}

#[tokio::test]
async fn an_interrupted_kept_upload_is_retained_with_its_journal_and_resumes() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let bytes = content(4 * 16 * KIB, 7);
    let path = write_file(dir.path(), "k.bin", &bytes);
    let journal = dir.path().join("k.journal");
    let upload = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .failure_policy(FailurePolicy::Keep)
        .journal(&journal);
    let err = cancelled_by_token_mid_part(&server, upload).await;
    assert_eq!(
        err.cleanup(),
        Some(&Cleanup::Retained {
            journal: Some(journal.clone())
        })
    );
    let id = err.upload_id().unwrap().to_owned();
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Pending);
    let done = client.resume_upload(&journal).send().await.unwrap();
    assert_eq!(done.upload_id(), id);
    assert_eq!(server.read_content(&id).unwrap(), bytes);
}

#[tokio::test]
async fn an_overall_deadline_ends_the_upload_through_the_cleanup() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let path = write_file(dir.path(), "d.bin", &content(2 * 16 * KIB, 8));
    let hold = server.hold_parts();
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .part_size(16 * KIB)
        .deadline(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    drop(hold);
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_cancelled_on_server(&server, &err);
}

#[tokio::test]
async fn an_unusable_journal_directory_is_refused_before_create() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let path = write_file(dir.path(), "j.bin", &content(16 * KIB, 9));
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .journal(dir.path().join("missing/dir/j.journal"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal, "{err}");
    assert!(!err.is_journal_locked(), "no lock is involved: {err}");
    assert_eq!(err.cleanup(), Some(&Cleanup::NotNeeded));
    assert_eq!(server.stats().requests.total(), 0, "nothing was created");
}

#[cfg(unix)]
#[tokio::test]
async fn a_non_utf8_file_name_with_a_journal_uploads_and_resumes() {
    use std::os::unix::ffi::OsStrExt;
    let (server, client, dir) = fake_setup(always_500(), Duration::from_secs(30)).await;
    let bytes = content(3 * 16 * KIB, 10);
    let path = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.bin"));
    std::fs::write(&path, &bytes).unwrap();
    let journal = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"j\xfe.journal"));
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .filename("cafe.bin")
        .part_size(16 * KIB)
        .failure_policy(FailurePolicy::Keep)
        .journal(&journal)
        .part_retries(0)
        .part_rounds(0)
        .send()
        .await
        .unwrap_err();
    let id = err.upload_id().unwrap().to_owned();
    assert!(journal.exists());
    server.set_faults(Faults::none());
    let done = client.resume_upload(&journal).send().await.unwrap();
    assert_eq!(done.upload_id(), id);
    assert_eq!(server.read_content(&id).unwrap(), bytes);
}

/// Leaves a pending upload with a journal (every part fails once, the policy keeps it).
async fn kept_upload(server: &FakeServer, client: &Client, dir: &Path, bytes: &[u8]) -> PathBuf {
    server.set_faults(always_500());
    let path = write_file(dir, "kept.bin", bytes);
    let journal = dir.join("kept.journal");
    kept_failing_upload(client, &path, &journal).await;
    server.set_faults(Faults::none());
    journal
}

#[tokio::test]
async fn a_second_concurrent_resume_is_refused_by_the_journal_lock() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let bytes = content(4 * 16 * KIB, 11);
    let journal = kept_upload(&server, &client, dir.path(), &bytes).await;
    let hold = server.hold_parts();
    server.reset_stats();
    let first = tokio::spawn(client.resume_upload(&journal).send());
    server.wait_for_parts_in_flight(1).await;
    let err = client.resume_upload(&journal).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal, "{err}");
    assert!(
        err.is_journal_locked(),
        "a typed signal, not only text: {err}"
    );
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    assert_eq!(
        err.cleanup(),
        Some(&Cleanup::LeftAlone),
        "the other resume owns it: nothing touched"
    );
    assert_eq!(
        err.upload_id(),
        server.uploads().first().map(|u| u.id.as_str())
    );
    drop(hold);
    let done = first.await.unwrap().unwrap();
    assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
    assert_eq!(server.stats().requests.add_part, 4, "each part sent once");
}

#[tokio::test]
async fn a_resume_refused_for_an_unusable_journal_leaves_the_upload_pending_and_says_so() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let journal = kept_upload(&server, &client, dir.path(), &content(2 * 16 * KIB, 15)).await;
    let id = server.uploads()[0].id.clone();
    let mut j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    j["version"] = serde_json::json!(99);
    std::fs::write(&journal, serde_json::to_vec(&j).unwrap()).unwrap();
    server.reset_stats();
    let err = client
        .resume_upload(&journal)
        .failure_policy(FailurePolicy::Cancel)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal, "{err}");
    assert!(!err.is_journal_locked(), "{err}");
    assert_eq!(err.upload_id(), Some(id.as_str()));
    assert_eq!(
        err.cleanup(),
        Some(&Cleanup::LeftAlone),
        "not 'nothing created'"
    );
    assert_eq!(server.stats().requests.total(), 0, "not even a cancel");
    assert_eq!(server.upload(&id).unwrap().status, FakeStatus::Pending);
}

#[tokio::test]
async fn resume_judges_expiry_by_the_relative_ttl_not_the_server_clock() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let bytes = content(2 * 16 * KIB, 12);
    let journal = kept_upload(&server, &client, dir.path(), &bytes).await;
    // As if the server's clock were 2 hours behind ours: its absolute expires_at is in our past.
    let mut j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    let expires_at = j["expires_at"].as_i64().unwrap();
    j["expires_at"] = serde_json::json!(expires_at - 7_200);
    std::fs::write(&journal, serde_json::to_vec(&j).unwrap()).unwrap();
    let done = client.resume_upload(&journal).send().await.unwrap();
    assert_eq!(server.read_content(done.upload_id()).unwrap(), bytes);
}

#[tokio::test]
async fn a_resume_that_fails_with_a_4xx_is_not_transient() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let bytes = content(2 * 16 * KIB, 13);
    let journal = kept_upload(&server, &client, dir.path(), &bytes).await;
    let id = server.uploads()[0].id.clone();
    client.cancel_upload(&id).send().await.unwrap(); // someone else cancelled it
    let err = client.resume_upload(&journal).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{err}");
    assert_eq!(err.upload_id(), Some(id.as_str()));
    assert!(!err.is_transient(), "retrying cannot fix this: {err}");
}

#[tokio::test]
async fn a_failed_first_journal_write_applies_the_failure_policy() {
    let (server, client, dir) = fake_setup(Faults::none(), Duration::from_secs(30)).await;
    let path = write_file(dir.path(), "w.bin", &content(16 * KIB, 14));
    let journal = dir.path().join("w.journal");
    // The journal's temporary file cannot be created (a directory is in its place), although
    // the directory itself is fine: the write fails only after the upload exists.
    std::fs::create_dir(
        dir.path()
            .join(format!(".w.journal.tmp-{}", std::process::id())),
    )
    .unwrap();
    let err = client
        .upload_file(&path)
        .purpose(Purpose::Batch)
        .journal(&journal)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Journal, "{err}");
    assert_cancelled_on_server(&server, &err);
    assert_eq!(server.stats().requests.add_part, 0);
}
