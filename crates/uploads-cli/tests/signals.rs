//! SIGINT, SIGTERM and SIGHUP stop a running upload alike: the failure policy applies (cancel,
//! or keep for resume), the upload id and the next command are printed, and the exit code is
//! 128 + the signal's number. Runs the binary against the fake with parts held, so the upload
//! is certainly under way when the signal arrives; waits on the process's own "upload ...
//! started" line, never on time.
#![cfg(unix)]

mod common;

use common::*;
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Faults, Route, UploadStatus};

/// `upload FILE` with 4 parts of 64 KiB, 2 at a time.
fn upload_args(path: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["upload".into(), path.into()];
    args.extend(
        [
            "--purpose",
            "fine-tune",
            "--part-size",
            "64KiB",
            "--concurrency",
            "2",
        ]
        .iter()
        .map(Into::into),
    );
    args
}

/// Starts the upload and waits for its "upload ID started" line; returns the id.
fn start_upload(cmd: &mut std::process::Command) -> (Spawned, String) {
    let mut child = Spawned::start(cmd);
    let line = child.wait_for_line(" started: ");
    let id = line
        .strip_prefix("upload ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_owned();
    assert!(id.starts_with("upload_"), "{line}");
    (child, id)
}

#[test]
fn sigterm_cancels_the_upload_prints_its_id_and_exits_143() {
    let server = server();
    let (_dir, path, _) = temp_file(256 * KIB, 9);
    let hold = server.hold_parts();
    let (child, id) = start_upload(cli(&server).args(upload_args(&path)).arg("--json"));
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
    child.signal("TERM");
    let out = child.finish();
    drop(hold);

    assert_eq!(out.code, Some(143), "{out:#?}");
    assert!(out.stderr.contains("received SIGTERM"), "{out:#?}");
    assert!(out.error_line().contains("SIGTERM"), "{out:#?}");
    assert!(out.error_line().contains(&id), "{out:#?}");
    // The SDK's cancel succeeded, so it is claimed.
    assert!(
        out.stderr.contains(&format!("upload {id} was cancelled")),
        "{out:#?}"
    );
    let error = out.json_error();
    assert_eq!(error["kind"], "interrupted");
    assert_eq!(error["upload_id"], id.as_str());
    assert_eq!(error["cleanup"]["action"], "cancelled");
    // The default failure policy cancelled the upload on the server before the exit.
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Cancelled);
    assert_eq!(server.uploads().len(), 1);
}

#[test]
fn sigint_and_sighup_are_handled_like_sigterm() {
    for (signal, code) in [("INT", 130), ("HUP", 129)] {
        let server = server();
        let (_dir, path, _) = temp_file(256 * KIB, 10);
        let hold = server.hold_parts();
        let (child, id) = start_upload(cli(&server).args(upload_args(&path)));
        child.signal(signal);
        let out = child.finish();
        drop(hold);
        assert_eq!(out.code, Some(code), "{signal}: {out:#?}");
        assert!(
            out.stderr.contains(&format!("received SIG{signal}")),
            "{out:#?}"
        );
        assert!(out.error_line().contains(&id), "{out:#?}");
        assert_eq!(out.stdout, "", "{out:#?}");
        assert_eq!(
            server.upload(&id).unwrap().status,
            UploadStatus::Cancelled,
            "{signal}: {out:#?}"
        );
    }
}

#[test]
fn sigterm_with_keep_on_failure_leaves_a_resumable_upload_and_resume_finishes_it() {
    let server = server();
    let len = 256 * KIB + 11;
    let (dir, path, sha) = temp_file(len, 11);
    let journal = dir.path().join("kept.journal");
    let hold = server.hold_parts();
    let (child, id) = start_upload(
        cli(&server)
            .args(upload_args(&path))
            .args(["--keep-on-failure", "--journal"])
            .arg(&journal),
    );
    child.signal("TERM");
    let out = child.finish();
    drop(hold);

    assert_eq!(out.code, Some(143), "{out:#?}");
    let resume = format!("openai-uploads resume {}", journal.display());
    assert!(out.has_hint(&resume), "{out:#?}");
    assert!(!out.stderr.contains("cancelled"), "{out:#?}");
    assert!(journal.exists(), "the journal was not kept");
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);

    // The printed command finishes the same upload.
    let out = run(cli(&server).arg("resume").arg(&journal).arg("--json"));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.json()["id"], id.as_str());
    let snapshot = server.upload(&id).unwrap();
    assert_eq!(snapshot.status, UploadStatus::Completed);
    assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(server.uploads().len(), 1);
}

/// A fake whose cancel requests hang for a minute: the SDK's cleanup cannot finish.
fn server_with_stalled_cancel() -> FakeServer {
    FakeServer::start_background(
        FakeConfig::default().with_faults(
            Faults::none()
                .with_stall(1.0, std::time::Duration::from_secs(60))
                .with_apply_to([Route::Cancel]),
        ),
    )
    .expect("fake server starts")
}

#[test]
fn the_wait_for_cleanup_after_sigterm_is_bounded() {
    let server = server_with_stalled_cancel();
    let (_dir, path, _) = temp_file(256 * KIB, 12);
    let hold = server.hold_parts();
    let (child, id) = start_upload(cli(&server).args(upload_args(&path)).arg("--json"));
    child.signal("TERM");
    // Bounded by the SDK's cancel timeout or the CLI's 10 s grace, well before the stall ends.
    let out = child.finish();
    drop(hold);

    assert_eq!(out.code, Some(143), "{out:#?}");
    assert!(out.error_line().contains(&id), "{out:#?}");
    assert!(!out.stderr.contains("was cancelled"), "{out:#?}");
    assert!(out.offers_cancel(&id), "{out:#?}");
    let cleanup = out.json_error()["cleanup"]["action"].clone();
    assert!(
        cleanup == "cancel_failed" || cleanup == "cancel_unconfirmed",
        "{out:#?}"
    );
    if cleanup == "cancel_failed" {
        // The SDK's own message reads like a duration; the CLI does not rewrite it.
        let reason = out.json_error()["cleanup"]["reason"].clone();
        assert_eq!(reason, "no answer within 8 s", "{out:#?}");
    }
    // The CLI did not wait for the stalled cancel: the upload is still pending.
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
    assert!(server.stats().requests.get(Route::Cancel) <= 1);
}

#[test]
fn a_second_signal_quits_at_once_with_the_id() {
    let server = server_with_stalled_cancel();
    let (_dir, path, _) = temp_file(256 * KIB, 13);
    let hold = server.hold_parts();
    let (mut child, id) = start_upload(cli(&server).args(upload_args(&path)).arg("--json"));
    child.signal("TERM");
    child.wait_for_line("received SIGTERM");
    child.signal("TERM");
    let out = child.finish();
    drop(hold);

    assert_eq!(out.code, Some(143), "{out:#?}");
    assert!(out.error_line().contains("again"), "{out:#?}");
    assert!(!out.stderr.contains("did not finish within"), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "interrupted");
    assert_eq!(error["upload_id"], id.as_str());
    assert!(out.offers_cancel(&id), "{out:#?}");
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
}

/// An `upload --json` whose `complete` takes about `secs` seconds at the fake (the commit happens
/// at the end, answered or not), returned once that `complete` has reached the fake.
struct Completing {
    server: FakeServer,
    id: String,
    sha: String,
    _dir: tempfile::TempDir,
}

fn upload_until_completing(secs: u64, seed: u8) -> (Completing, Spawned) {
    let slow = Fault::Slow {
        per_gib: std::time::Duration::from_secs(secs * 4096),
    };
    let plan = FaultPlan::new().nth(Route::Complete, 1, slow);
    let server = FakeServer::start_background(FakeConfig::default().with_fault_plan(plan))
        .expect("fake server starts");
    let (dir, path, sha) = temp_file(256 * KIB, seed);
    let (child, id) = start_upload(cli(&server).args(upload_args(&path)).arg("--json"));
    block_on(server.wait_for_requests(Route::Complete, 1));
    let completing = Completing {
        server,
        id,
        sha,
        _dir: dir,
    };
    (completing, child)
}

/// An unknown outcome, said as such: exit 3, "may have completed", how to settle it, no cancel.
fn assert_unknown_outcome(out: &Run, c: &Completing) {
    assert_eq!(out.code, Some(3), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "completion_unknown", "{out:#?}");
    assert_eq!(error["upload_id"], c.id.as_str());
    assert!(out.error_line().contains("may have completed"), "{out:#?}");
    assert!(!out.stderr.contains("was cancelled"), "{out:#?}");
    assert!(out.stderr.contains(&format!("status {}", c.id)), "{out:#?}");
    assert_eq!(c.server.stats().requests.get(Route::Cancel), 0);
}

#[test]
fn sigterm_while_completing_waits_for_the_answer_and_reports_the_completed_upload() {
    let (c, child) = upload_until_completing(1, 14);
    child.signal("TERM");
    let out = child.finish();

    // The signal came too late to stop anything: the upload completed, and says so.
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stderr.contains("received SIGTERM"), "{out:#?}");
    assert_eq!(out.json()["id"], c.id.as_str());
    assert_eq!(out.json()["status"], "completed");
    let snapshot = c.server.upload(&c.id).unwrap();
    assert_eq!(snapshot.status, UploadStatus::Completed);
    assert_eq!(snapshot.content_sha256.as_deref(), Some(c.sha.as_str()));
    assert_eq!(c.server.stats().requests.get(Route::Cancel), 0);
}

#[test]
fn sigterm_while_completing_without_an_answer_in_time_is_an_unknown_outcome() {
    // Longer than the CLI's 8 s wait for the `complete` in flight.
    let (c, child) = upload_until_completing(30, 15);
    child.signal("TERM");
    let out = child.finish();
    assert_unknown_outcome(&out, &c);
}

#[test]
fn a_second_signal_while_completing_quits_with_an_unknown_outcome() {
    let (c, mut child) = upload_until_completing(30, 16);
    child.signal("TERM");
    child.wait_for_line("received SIGTERM");
    child.signal("TERM");
    let out = child.finish();
    // Quitting at once cannot say whether `complete` happened: it says so, never "stopped".
    assert_unknown_outcome(&out, &c);
}
