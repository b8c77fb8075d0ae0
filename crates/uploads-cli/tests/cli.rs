//! Drives the `openai-uploads` binary as a user would: spawns it against an in-process fake of
//! the Uploads API and checks exit codes, stdout JSON, stderr messages and the server's state.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;
use uploads_fake::{FakeConfig, FakeServer, Faults, UploadStatus};

#[test]
fn upload_json_prints_the_completed_upload_and_the_server_has_identical_bytes() {
    let server = server();
    let len = 300 * KIB + 7;
    let (_dir, path, sha) = temp_file(len, 1);
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "fine-tune",
        "--json",
        "--part-size",
        "64KiB",
        "--concurrency",
        "3",
    ]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let upload = out.json();
    assert_eq!(upload["status"], "completed", "{out:#?}");
    assert_eq!(upload["bytes"], len as u64);
    assert_eq!(upload["filename"], "train.jsonl");
    assert_eq!(upload["purpose"], "fine-tune");
    let file_id = upload["file"]["id"].as_str().expect("file.id is a string");
    assert!(file_id.starts_with("file-"), "{file_id}");
    // No progress bar (stderr is not a terminal): only the line that records the upload's id.
    let id = upload["id"].as_str().unwrap();
    assert_eq!(
        out.stderr,
        format!("upload {id} started: 300.01 KiB in 5 parts\n"),
        "{out:#?}"
    );

    let snapshot = server.upload(id).expect("the server knows the upload");
    assert_eq!(snapshot.status, UploadStatus::Completed);
    assert_eq!(snapshot.file_id.as_deref(), Some(file_id));
    assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(snapshot.mime_type, "application/jsonl");
    assert_eq!(
        snapshot.completed_part_ids.as_ref().map(Vec::len),
        Some(len.div_ceil(64 * KIB))
    );
    // The md5 was sent and checked by default.
    assert!(snapshot.content_md5.is_some());
    let stats = server.stats();
    assert!(
        (1..=3).contains(&stats.max_parts_in_flight),
        "{}",
        stats.max_parts_in_flight
    );
    assert_eq!(server.uploads().len(), 1);
}

#[test]
fn upload_without_json_prints_a_short_summary() {
    let server = server();
    let (_dir, path, _) = temp_file(100 * KIB, 2);
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "batch",
        "--filename",
        "renamed.jsonl",
        "--mime-type",
        "text/plain",
        "--no-md5",
    ]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    let snapshot = &uploads[0];
    assert_eq!(snapshot.filename, "renamed.jsonl");
    assert_eq!(snapshot.mime_type, "text/plain");
    assert!(out
        .stdout
        .contains(&format!("upload id: {}\n", snapshot.id)));
    assert!(out.stdout.contains(&format!(
        "file id:   {}\n",
        snapshot.file_id.as_deref().unwrap()
    )));
    assert!(out.stdout.contains("bytes:     102400 "), "{out:#?}");
    assert!(out.stdout.contains("status:    completed\n"), "{out:#?}");
    // A duration people read: "850 ms", "1.2 s", never "0ns".
    let elapsed = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("elapsed:   "))
        .unwrap_or_else(|| panic!("no elapsed line: {out:#?}"));
    let (amount, unit) = elapsed.split_once(' ').unwrap();
    assert!(amount.parse::<f64>().is_ok(), "{elapsed}");
    assert!(
        unit.starts_with("ms (") || unit.starts_with("s ("),
        "{elapsed}"
    );
    // The rate in binary units, as indicatif writes them ("12.34 MiB/s").
    assert!(
        elapsed.ends_with("iB/s)") || elapsed.ends_with(" B/s)"),
        "{elapsed}"
    );
    assert!(serde_json::from_str::<Value>(&out.stdout).is_err());
}

#[test]
fn empty_file_is_invalid_input() {
    let server = server();
    let (_dir, path, _) = temp_file(0, 0);
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .args(["upload"])
            .arg(&path)
            .args(["--purpose", "fine-tune"]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.starts_with("error: "), "{out:#?}");
    assert!(out.stderr.contains("empty"), "{out:#?}");
}

#[test]
fn part_size_over_64_mib_is_invalid_input() {
    let server = server();
    let (_dir, path, _) = temp_file(KIB, 3);
    let out = rejected_before_any_request(
        &server,
        cli(&server).args(["upload"]).arg(&path).args([
            "--purpose",
            "fine-tune",
            "--part-size",
            "100MiB",
        ]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("part size"), "{out:#?}");
    assert!(out.stderr.contains("104857600"), "{out:#?}");
}

#[test]
fn garbage_part_size_is_a_usage_error() {
    let server = server();
    let (_dir, path, _) = temp_file(KIB, 4);
    let out = rejected_before_any_request(
        &server,
        cli(&server).args(["upload"]).arg(&path).args([
            "--purpose",
            "fine-tune",
            "--part-size",
            "12XB",
        ]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("12XB"), "{out:#?}");
    assert!(out.stderr.contains("unknown unit"), "{out:#?}");
}

#[test]
fn missing_file_is_invalid_input_and_names_the_path() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-file.jsonl");
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .args(["upload"])
            .arg(&path)
            .args(["--purpose", "fine-tune"]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(out.stdout, "", "{out:#?}");
    assert!(out.stderr.contains(&path.display().to_string()), "{out:#?}");
    assert!(out.stderr.contains("no such file"), "{out:#?}");

    // With --json the same failure is one JSON object on stdout.
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .args(["upload"])
            .arg(&path)
            .args(["--purpose", "fine-tune", "--json"]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "invalid_input");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains(&path.display().to_string()));
    assert_eq!(error["upload_id"], Value::Null);
    assert_eq!(error["cleanup"], Value::Null);
}

#[test]
fn missing_api_key_is_a_usage_error() {
    let server = server();
    let (_dir, path, _) = temp_file(KIB, 5);
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .env_remove("OPENAI_API_KEY")
            .args(["upload"])
            .arg(&path)
            .args(["--purpose", "fine-tune"]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    // Told in a CLI user's terms, not the SDK's.
    assert!(
        out.stderr.contains("export OPENAI_API_KEY=sk-..."),
        "{out:#?}"
    );
    assert!(out.stderr.contains("openai-uploads demo"), "{out:#?}");
    assert!(!out.stderr.contains("ClientBuilder"), "{out:#?}");

    // The same for the other commands that need a key.
    for args in [["cancel", "upload_abc"], ["resume", "journal.json"]] {
        let out = rejected_before_any_request(
            &server,
            cli(&server).env_remove("OPENAI_API_KEY").args(args),
        );
        assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
        assert!(out.stderr.contains("OPENAI_API_KEY"), "{out:#?}");
    }
}

#[test]
fn missing_purpose_is_a_usage_error() {
    let server = server();
    let (_dir, path, _) = temp_file(KIB, 6);
    let out = rejected_before_any_request(&server, cli(&server).args(["upload"]).arg(&path));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("--purpose"), "{out:#?}");
}

#[test]
fn wrong_api_key_fails_with_the_status_and_request_id() {
    let server = server();
    let (_dir, path, _) = temp_file(10 * KIB, 7);
    let secret = "sk-wrong-Zq9SECRETvalue";
    let out = run(cli(&server)
        .env("OPENAI_API_KEY", secret)
        .args(["upload"])
        .arg(&path)
        .args(["--purpose", "fine-tune", "--json"]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "authentication", "{out:#?}");
    assert_eq!(error["status"], 401, "{out:#?}");
    assert!(out.stderr.contains("401"), "{out:#?}");
    let request_id = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("request id: "))
        .unwrap_or_else(|| panic!("no request id line: {out:#?}"));
    assert!(!request_id.trim().is_empty());
    assert_eq!(error["request_id"], request_id);
    assert!(out.stderr.contains("OPENAI_API_KEY"), "{out:#?}");
    assert!(!out.stderr.contains(secret), "the API key was printed");
    assert!(!out.stdout.contains(secret), "the API key was printed");
    assert!(server.uploads().is_empty());
}

#[test]
fn cancel_json_cancels_a_pending_upload() {
    let server = server();
    let client = uploads_ext::Client::builder()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .ignore_env()
        .build()
        .unwrap();
    let created = block_on(
        client
            .create_upload()
            .filename("x.jsonl")
            .purpose(uploads_ext::Purpose::FineTune)
            .bytes(10)
            .mime_type("application/jsonl")
            .send(),
    )
    .unwrap();
    assert_eq!(
        server.upload(&created.id).unwrap().status,
        UploadStatus::Pending
    );

    let out = run(cli(&server).args(["cancel", &created.id, "--json"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let upload = out.json();
    assert_eq!(upload["id"], created.id.as_str());
    assert_eq!(upload["status"], "cancelled");
    assert_eq!(
        server.upload(&created.id).unwrap().status,
        UploadStatus::Cancelled
    );

    // Cancelling an unknown upload fails with the API's 404.
    let out = run(cli(&server).args(["cancel", "upload_doesnotexist"]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("404"), "{out:#?}");
    assert!(out.stderr.contains("request id: "), "{out:#?}");
}

#[test]
fn kept_upload_can_be_resumed() {
    let server = FakeServer::start_background(
        FakeConfig::default().with_faults(Faults::none().with_fail_500(1.0)),
    )
    .unwrap();
    let len = 200 * KIB + 3;
    let (dir, path, sha) = temp_file(len, 8);
    let journal = dir.path().join("upload.journal");

    // Every part fails (no retries): the upload is kept, not cancelled.
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "fine-tune",
        "--max-retries",
        "0",
        "--part-size",
        "64KiB",
        "--concurrency",
        "2",
        "--keep-on-failure",
        "--journal",
        journal.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "server", "{out:#?}");
    assert_eq!(error["status"], 500, "{out:#?}");
    assert_eq!(error["cleanup"]["action"], "retained", "{out:#?}");
    assert_eq!(
        error["cleanup"]["journal"].as_str(),
        journal.to_str(),
        "{out:#?}"
    );
    assert!(out.stderr.contains("500"), "{out:#?}");
    assert!(
        out.stderr.contains(&format!(
            "resume with: openai-uploads resume {}",
            journal.display()
        )),
        "{out:#?}"
    );
    assert!(journal.exists(), "the journal was not kept");
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].status, UploadStatus::Pending);
    let id = uploads[0].id.clone();

    // Starting another upload with the same journal would orphan this one: refused.
    let before = server.stats().requests.total();
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "fine-tune",
        "--journal",
        journal.to_str().unwrap(),
    ]));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("already exists"), "{out:#?}");
    assert_eq!(server.stats().requests.total(), before);

    server.set_faults(Faults::none());
    let out =
        run(cli(&server)
            .args(["resume"])
            .arg(&journal)
            .args(["--json", "--concurrency", "4"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let upload = out.json();
    assert_eq!(upload["id"], id.as_str());
    assert_eq!(upload["status"], "completed");
    assert_eq!(upload["bytes"], len as u64);
    let snapshot = server.upload(&id).unwrap();
    assert_eq!(snapshot.status, UploadStatus::Completed);
    assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(server.uploads().len(), 1, "resume created a new upload");
    assert!(!journal.exists(), "the journal outlived the upload");
}

#[test]
fn resume_with_a_missing_journal_is_invalid_input() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("missing.journal");
    let out = rejected_before_any_request(&server, cli(&server).arg("resume").arg(&journal));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains(&journal.display().to_string()),
        "{out:#?}"
    );
}

#[test]
fn help_documents_exit_codes_signals_and_the_json_error() {
    for args in [
        &["--help"][..],
        &["upload", "--help"],
        &["resume", "--help"],
    ] {
        let out = run(Command::new(BIN).args(args));
        assert_eq!(out.code, Some(0), "{out:#?}");
        for needle in [
            "Exit codes:",
            "outcome unknown",
            "129, 130, 143",
            "SIGTERM",
            "{\"error\": {\"exit_code\"",
        ] {
            assert!(out.stdout.contains(needle), "{args:?} lacks {needle:?}");
        }
    }
    let out = run(Command::new(BIN).args(["upload", "--help"]));
    for flag in [
        "--timeout <DURATION>",
        "--expires-after <DURATION>",
        "--max-retries <N>",
    ] {
        assert!(out.stdout.contains(flag), "{out:#?}");
    }
}
