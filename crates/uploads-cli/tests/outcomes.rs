//! What the user is told when things go wrong: exit codes (1 failure, 2 invalid input, 3 outcome
//! unknown), the `--json` error object, brief quotes of HTML error pages, hints that follow the
//! error (resume only when it can help, cancel while the upload may be pending). Against the fake
//! server, or a scripted one for answers the fake never gives. The `--timeout` / `--max-retries`
//! flags are in `flags.rs`.

mod common;

use common::*;
use serde_json::{json, Value};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Faults, Route, UploadStatus};

fn faulty(faults: Faults) -> FakeServer {
    FakeServer::start_background(FakeConfig::default().with_faults(faults))
        .expect("fake server starts")
}

/// `upload PATH --purpose fine-tune FLAGS --journal JOURNAL` against `server`.
fn upload_with_journal(
    server: &FakeServer,
    path: &std::path::Path,
    journal: &std::path::Path,
    flags: &[&str],
) -> Run {
    run(cli(server)
        .arg("upload")
        .arg(path)
        .args(["--purpose", "fine-tune"])
        .args(flags)
        .arg("--journal")
        .arg(journal))
}

fn api_error(message: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}})
}

const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
    <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n\
    </html>\r\n<!-- a padding comment that makes the page long enough to matter -->\r\n";

#[test]
fn an_html_error_page_is_quoted_briefly_and_the_status_named_once() {
    let scripted = ScriptedServer::start(|_, _| Reply::Raw(502, "text/html", NGINX_502.repeat(3)));
    let (_dir, path, _) = temp_file(10 * KIB, 1);
    let out = run(cli_at(&scripted.base_url(), "sk-test")
        .args(["upload"])
        .arg(&path)
        .args(["--purpose", "fine-tune", "--max-retries", "0", "--json"]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    let line = out.error_line();
    assert_eq!(line.matches("502").count(), 1, "{line}");
    assert!(line.contains("HTTP 502 Bad Gateway"), "{line}");
    assert!(line.contains("\"nginx/1.25.3\""), "{line}");
    assert!(!line.contains('<'), "{line}");
    assert!(line.len() < 300, "{line}");
    let error = out.json_error();
    assert_eq!(error["kind"], "server");
    assert_eq!(error["status"], 502);
    assert_eq!(error["upload_id"], Value::Null);
    assert_eq!(error["request_id"], "req_scripted_0");
    assert_eq!(error["message"], line);
    assert!(
        out.hints()
            .contains(&"no upload was created: run the same command again"),
        "{out:#?}"
    );
    assert_eq!(scripted.count("/uploads"), 1);
}

#[test]
fn a_complete_answer_that_is_not_a_completed_upload_with_a_file_is_a_failure() {
    for (status, file, says) in [
        ("pending", false, "\"pending\""),
        ("completed", false, "without a File"),
    ] {
        let len = 10 * KIB;
        let scripted = scripted_upload(len, move |_| {
            Reply::Json(200, upload_json(status, len, file))
        });
        let (_dir, path, _) = temp_file(len, 2);
        let out = run(cli_at(&scripted.base_url(), "sk-test")
            .args(["upload"])
            .arg(&path)
            .args(["--purpose", "fine-tune", "--json"]));
        assert_eq!(out.code, Some(1), "{status}: {out:#?}");
        let error = out.json_error();
        assert_eq!(error["kind"], "unexpected_response", "{out:#?}");
        assert_eq!(error["upload_id"], SCRIPTED_ID);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        assert_eq!(scripted.count("/complete"), 1);
        // Not cancelled after a complete, and not claimed to be: the way out is offered.
        assert!(!out.stderr.contains("was cancelled"), "{out:#?}");
        assert!(out.offers_cancel(SCRIPTED_ID), "{out:#?}");
    }
}

#[test]
fn a_lost_complete_answer_exits_3_and_claims_no_cancel() {
    let len = 10 * KIB;
    let scripted = scripted_upload(len, |n| match n {
        // The server committed, but the answer never arrived.
        0 => Reply::Drop,
        _ => Reply::Json(
            400,
            api_error(
                &format!("Cannot complete upload {SCRIPTED_ID} because its status is 'completed'."),
                None,
            ),
        ),
    });
    let (_dir, path, _) = temp_file(len, 3);
    let out = run(cli_at(&scripted.base_url(), "sk-test")
        .args(["upload"])
        .arg(&path)
        .args(["--purpose", "fine-tune", "--json"]));
    // The server said 'completed', but this scripted server lists no Files: still unknown.
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.error_line().contains("is unknown"), "{out:#?}");
    assert!(!out.stderr.contains("was cancelled"), "{out:#?}");
    assert!(!out.stderr.contains("openai-uploads cancel"), "{out:#?}");
    assert!(!out.stderr.contains("openai-uploads resume"), "{out:#?}");
    assert!(out.has_hint("do not upload"), "{out:#?}");
    assert!(
        out.has_hint(&format!("openai-uploads status {SCRIPTED_ID}")),
        "{out:#?}"
    );
    let error = out.json_error();
    assert_eq!(error["kind"], "completion_unknown");
    assert_eq!(error["upload_id"], SCRIPTED_ID);
    assert_eq!(error["status"], 400);
    assert_eq!(scripted.count("/complete"), 2);
    assert_eq!(
        scripted.count("/cancel"),
        0,
        "a completed upload was cancelled"
    );
}

#[test]
fn a_complete_answer_lost_after_the_fake_committed_is_settled_and_exits_0() {
    let server =
        FakeServer::start_background(FakeConfig::default().with_fault_plan(FaultPlan::new().nth(
            Route::Complete,
            1,
            Fault::DropAfterCommit,
        )))
        .expect("fake server starts");
    let (dir, path, sha) = temp_file(48 * KIB, 14);
    let journal = dir.path().join("c.journal");
    let out = upload_with_journal(
        &server,
        &path,
        &journal,
        &["--part-size", "16KiB", "--json"],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    let upload: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    let id = upload["id"].as_str().unwrap().to_owned();
    // The File found through the list is the one the server made: completed, never cancelled.
    let snapshot = server.upload(&id).unwrap();
    assert_eq!(snapshot.status, UploadStatus::Completed);
    assert_eq!(upload["file"]["id"].as_str(), snapshot.file_id.as_deref());
    assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(server.stats().requests.get(Route::Cancel), 0);
    assert!(server.stats().requests.get(Route::ListFiles) >= 1);
    assert!(!journal.exists(), "a settled upload leaves no journal");
}

#[test]
fn a_transient_failure_without_keep_suggests_rerunning_not_resume() {
    let server = faulty(Faults::none().with_fail_500(1.0));
    let (_dir, path, _) = temp_file(10 * KIB, 4);
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "fine-tune",
        "--max-retries",
        "0",
    ]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    let id = server.uploads()[0].id.clone();
    assert!(out.error_line().contains(&id), "{out:#?}");
    assert!(out.has_hint("--keep-on-failure"), "{out:#?}");
    assert!(!out.has_hint("resume"), "{out:#?}");
    // The cancel succeeded, and only therefore is it claimed.
    assert!(
        out.stderr.contains(&format!("upload {id} was cancelled")),
        "{out:#?}"
    );
    assert!(!out.offers_cancel(&id), "{out:#?}");
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Cancelled);
}

#[test]
fn a_client_error_with_keep_offers_cancel_and_not_resume() {
    let len = 10 * KIB;
    let scripted = ScriptedServer::start(move |seen, _| {
        if seen.path.ends_with("/uploads") {
            Reply::Json(200, upload_json("pending", len, false))
        } else {
            Reply::Json(
                400,
                api_error("The part is malformed.", Some("invalid_part")),
            )
        }
    });
    let (dir, path, _) = temp_file(len, 5);
    let journal = dir.path().join("j.json");
    let out = run(cli_at(&scripted.base_url(), "sk-test")
        .args(["upload"])
        .arg(&path)
        .args([
            "--purpose",
            "fine-tune",
            "--keep-on-failure",
            "--json",
            "--journal",
        ])
        .arg(&journal));
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.error_line().contains("The part is malformed."),
        "{out:#?}"
    );
    assert!(
        out.has_hint(&format!(
            "cancel it with: openai-uploads cancel {SCRIPTED_ID}"
        )),
        "{out:#?}"
    );
    assert!(out.has_hint("resuming will not fix this"), "{out:#?}");
    assert!(!out.has_hint("openai-uploads resume"), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "bad_request");
    assert_eq!(error["status"], 400);
    assert_eq!(error["cleanup"]["action"], "retained");
    // Kept means kept: no cancel was sent.
    assert_eq!(scripted.count("/cancel"), 0);
}

/// An upload kept after every part failed; returns (server, dir, file, journal, upload id).
fn kept_upload(
    seed: u8,
) -> (
    FakeServer,
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    String,
) {
    let server = faulty(Faults::none().with_fail_500(1.0));
    let (dir, path, _) = temp_file(100 * KIB, seed);
    let journal = dir.path().join("kept.journal");
    let out = upload_with_journal(
        &server,
        &path,
        &journal,
        &["--max-retries", "0", "--keep-on-failure"],
    );
    assert_eq!(out.code, Some(1), "{out:#?}");
    let id = server.uploads()[0].id.clone();
    server.set_faults(Faults::none());
    (server, dir, path, journal, id)
}

#[test]
fn a_resume_refused_because_the_file_changed_names_the_upload_and_offers_cancel() {
    let (server, _dir, path, journal, id) = kept_upload(6);
    write_file(&path, 100 * KIB + 1, 6);
    let before = server.stats().requests.total();
    let out = run(cli(&server).arg("resume").arg(&journal).arg("--json"));
    assert_eq!(out.code, Some(1), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "file_changed");
    assert_eq!(error["upload_id"], id.as_str());
    assert!(out.stderr.contains(&id), "{out:#?}");
    assert!(out.offers_cancel(&id), "{out:#?}");
    assert!(!out.has_hint("resume with"), "{out:#?}");
    assert_eq!(server.stats().requests.total(), before);
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
}

#[test]
fn a_resume_refused_by_the_journal_lock_leaves_the_other_resume_alone() {
    let (server, _dir, _path, journal, id) = kept_upload(8);
    let hold = server.hold_parts();
    let first = Spawned::start(cli(&server).arg("resume").arg(&journal));
    block_on(async {
        let in_flight = server.wait_for_parts_in_flight(1);
        tokio::time::timeout(std::time::Duration::from_secs(30), in_flight).await
    })
    .expect("the first resume sends a part");
    let out = run(cli(&server).arg("resume").arg(&journal).arg("--json"));
    assert_eq!(out.code, Some(1), "not the input's fault: {out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "journal");
    assert_eq!(error["upload_id"], id.as_str());
    assert!(!out.offers_cancel(&id), "another process owns it: {out:#?}");
    assert!(!out.has_hint("resume with"), "{out:#?}");
    drop(hold);
    let first = first.finish();
    assert_eq!(first.code, Some(0), "{first:#?}");
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Completed);
}

#[test]
fn an_unreadable_journal_is_invalid_input_and_still_names_the_upload() {
    let (server, _dir, _path, journal, id) = kept_upload(7);
    let mut value: Value = serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    value["version"] = json!(99);
    std::fs::write(&journal, value.to_string()).unwrap();
    let before = server.stats().requests.total();
    let out = run(cli(&server).arg("resume").arg(&journal));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.offers_cancel(&id), "{out:#?}");
    assert_eq!(server.stats().requests.total(), before);
    assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Pending);
}

#[test]
fn cancel_of_an_empty_or_malformed_id_sends_nothing() {
    let server = server();
    for id in ["", "  ", "upload_x/../y", "upload x"] {
        let out = rejected_before_any_request(&server, cli(&server).args(["cancel", id, "--json"]));
        assert_eq!(out.code, Some(2), "{id:?}: {out:#?}");
        assert_eq!(out.json_error()["kind"], "invalid_input");
    }
}

#[test]
fn a_cancelled_journal_does_not_block_the_same_command() {
    let server = faulty(Faults::none().with_fail_500(1.0));
    let (dir, path, sha) = temp_file(20 * KIB, 11);
    let journal = dir.path().join("j.json");
    let upload = |server: &FakeServer| {
        upload_with_journal(server, &path, &journal, &["--max-retries", "0", "--json"])
    };
    let out = upload(&server);
    assert_eq!(out.code, Some(1), "{out:#?}");
    let first = server.uploads()[0].id.clone();
    assert_eq!(
        server.upload(&first).unwrap().status,
        UploadStatus::Cancelled
    );

    server.set_faults(Faults::none());
    let out = upload(&server);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let id = out.json()["id"].as_str().unwrap().to_owned();
    assert_ne!(id, first);
    let snapshot = server.upload(&id).unwrap();
    assert_eq!(snapshot.status, UploadStatus::Completed);
    assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
}

#[test]
fn a_journal_in_a_missing_directory_is_refused_before_any_request() {
    let server = server();
    let (dir, path, _) = temp_file(KIB, 12);
    let journal = dir.path().join("no-such-dir").join("j.json");
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .args(["upload"])
            .arg(&path)
            .args(["--purpose", "fine-tune", "--journal"])
            .arg(&journal),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("no-such-dir"), "{out:#?}");
}

/// A cancel whose answer was lost is retried; the retry finds the upload `cancelled` (the first
/// attempt did it): that is a cancel, exit 0, not "could not cancel".
#[test]
fn a_lost_cancel_answer_is_still_a_cancel() {
    let cancelled =
        format!("Cannot cancel upload {SCRIPTED_ID} because its status is 'cancelled'.");
    let scripted = ScriptedServer::start(move |_, n| match n {
        0 => Reply::Drop,
        _ => Reply::Json(400, api_error(&cancelled, None)),
    });
    for json in [false, true] {
        let mut cmd = cli_at(&scripted.base_url(), "sk-test");
        cmd.args(["cancel", SCRIPTED_ID]);
        if json {
            cmd.arg("--json");
        }
        let out = run(&mut cmd);
        assert_eq!(out.code, Some(0), "{out:#?}");
        assert!(out.stdout.contains("cancelled"), "{out:#?}");
        assert!(!out.stderr.contains("could not cancel"), "{out:#?}");
        if json {
            let answer: Value = serde_json::from_str(&out.stdout).unwrap();
            assert_eq!(answer["id"], SCRIPTED_ID);
            assert_eq!(answer["status"], "cancelled");
        }
    }
    // Each command: the lost attempt, then the retry that found it done.
    assert_eq!(scripted.count("/cancel"), 3);
}

/// An upload that fails cancels it; the cancel's answer is lost and its retry finds the upload
/// `cancelled`: the failure says the upload was cancelled and offers no cancel command.
#[test]
fn a_failed_upload_whose_cancel_answer_was_lost_reports_the_cancel() {
    let len = 10 * KIB;
    let cancelled =
        format!("Cannot cancel upload {SCRIPTED_ID} because its status is 'cancelled'.");
    let scripted = ScriptedServer::start(move |seen, n| {
        if seen.path.ends_with("/uploads") {
            Reply::Json(200, upload_json("pending", len, false))
        } else if seen.path.ends_with("/parts") {
            // A permanent refusal: the upload fails and is cleaned up.
            Reply::Json(400, api_error("This part is refused.", None))
        } else if seen.path.ends_with("/cancel") && n == 0 {
            Reply::Drop
        } else if seen.path.ends_with("/cancel") {
            Reply::Json(400, api_error(&cancelled, None))
        } else {
            Reply::Json(404, json!({"error": {"message": "no route"}}))
        }
    });
    let (_dir, path, _) = temp_file(len, 4);
    let out = run(cli_at(&scripted.base_url(), "sk-test")
        .args(["upload"])
        .arg(&path)
        .args(["--purpose", "fine-tune"]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("was cancelled"), "{out:#?}");
    assert!(!out.stderr.contains("could not cancel"), "{out:#?}");
    assert!(!out.offers_cancel(SCRIPTED_ID), "{out:#?}");
    assert_eq!(scripted.count("/cancel"), 2);
}
