//! `openai-uploads status UPLOAD_ID FILE --purpose P`, and `resume` of a journal left in
//! `completing`: both settle the upload against the fake (completed: exit 0 and the File;
//! cancelled: exit 1 saying so, journal cleared).

mod common;

use common::*;
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Route, UploadStatus};

/// Every `complete` is dropped before the server reads it: `upload --keep-on-failure` exits 3
/// with the journal in `completing` and the upload pending. Returns the upload id.
fn left_completing(
    server: &FakeServer,
    path: &std::path::Path,
    journal: &std::path::Path,
) -> String {
    server.set_fault_plan(FaultPlan::new().random(Route::Complete, 1.0, Fault::DropBeforeBody));
    let out = run(cli(server)
        .arg("upload")
        .arg(path)
        .args([
            "--purpose",
            "batch",
            "--part-size",
            "16KiB",
            "--keep-on-failure",
            "--json",
        ])
        .arg("--journal")
        .arg(journal));
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.has_hint("openai-uploads status"), "{out:#?}");
    let id = out.json_error()["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
    assert!(journal.exists());
    server.set_fault_plan(FaultPlan::new());
    id
}

#[test]
fn status_of_a_completed_upload_prints_its_file() {
    let server = FakeServer::start_background(FakeConfig::default()).expect("fake server starts");
    let (_dir, path, _) = temp_file(20 * KIB, 5);
    let out = run(cli(&server)
        .arg("upload")
        .arg(&path)
        .args(["--purpose", "batch", "--json"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let upload = out.json();
    let id = upload["id"].as_str().unwrap();
    let status =
        run(cli(&server)
            .args(["status", id])
            .arg(&path)
            .args(["--purpose", "batch", "--json"]));
    assert_eq!(status.code, Some(0), "{status:#?}");
    let settled = status.json();
    assert_eq!(settled["settlement"], "completed");
    assert_eq!(settled["file"]["id"], upload["file"]["id"]);
    let prose = run(cli(&server)
        .args(["status", id])
        .arg(&path)
        .args(["--purpose", "batch"]));
    assert_eq!(prose.code, Some(0), "{prose:#?}");
    assert!(prose.stdout.contains("status:    completed"), "{prose:#?}");
}

#[test]
fn status_of_a_cancelled_upload_says_cancelled_and_resume_clears_its_journal() {
    let server = FakeServer::start_background(FakeConfig::default()).expect("fake server starts");
    let (dir, path, _) = temp_file(40 * KIB, 6);
    let journal = dir.path().join("x.journal");
    let id = left_completing(&server, &path, &journal);
    let cancel = run(cli(&server).args(["cancel", &id]));
    assert_eq!(cancel.code, Some(0), "{cancel:#?}");
    let status =
        run(cli(&server)
            .args(["status", &id])
            .arg(&path)
            .args(["--purpose", "batch", "--json"]));
    assert_eq!(status.code, Some(1), "{status:#?}");
    assert_eq!(status.json()["settlement"], "cancelled");
    let resume = run(cli(&server).arg("resume").arg(&journal).arg("--json"));
    assert_eq!(resume.code, Some(1), "{resume:#?}");
    let error = resume.json_error();
    assert_eq!(error["kind"], "cancelled");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("cancelled on the server"),
        "{resume:#?}"
    );
    assert!(
        !journal.exists(),
        "a settled journal no longer blocks a rerun"
    );
}

#[test]
fn resume_of_a_completing_journal_completes_a_pending_upload() {
    let server = FakeServer::start_background(FakeConfig::default()).expect("fake server starts");
    let (dir, path, sha) = temp_file(40 * KIB, 7);
    let journal = dir.path().join("p.journal");
    let id = left_completing(&server, &path, &journal);
    let resume = run(cli(&server).arg("resume").arg(&journal).arg("--json"));
    assert_eq!(resume.code, Some(0), "{resume:#?}");
    let snapshot = server.upload(&id).unwrap();
    assert_eq!(snapshot.status, UploadStatus::Completed);
    assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
    assert!(!journal.exists());
}
