//! `openai-uploads upload` with several files or a directory, at its edges: nothing to upload,
//! symbolic links left out, failed files with their hints, `--max-retries 0`, and journals or
//! manifests that are not regular files.

mod common;

use common::*;
#[cfg(unix)]
use serde_json::Value;
use uploads_fake::{FakeConfig, FakeServer, Faults};

#[cfg(unix)]
fn json_lines(out: &Run) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{out:#?}")))
        .collect()
}

#[test]
fn a_batch_that_matches_nothing_is_exit_2_with_a_json_error_unless_allowed() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("notes.txt"), 100, 1);
    let base = |server: &FakeServer| {
        let mut cmd = cli(server);
        cmd.arg("upload")
            .arg(dir.path())
            .args(["--include", "*.jsonl", "--purpose", "batch"]);
        cmd
    };
    let out = rejected_before_any_request(&server, base(&server).arg("--json"));
    assert_eq!(out.code, Some(2), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["kind"], "invalid_input");
    assert!(
        error["message"].as_str().unwrap().contains("*.jsonl"),
        "{out:#?}"
    );
    assert!(out.has_hint("--allow-empty"), "{out:#?}");

    let out = run(base(&server).arg("--allow-empty"));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stderr.contains("0 uploaded"), "{out:#?}");
}

#[cfg(unix)]
#[test]
fn skipped_symbolic_links_are_counted_and_reported_in_prose_and_json() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("a.jsonl"), 1000, 1);
    let link = dir.path().join("b.jsonl");
    std::os::unix::fs::symlink(dir.path().join("a.jsonl"), &link).unwrap();
    let out =
        run(cli(&server)
            .arg("upload")
            .arg(dir.path())
            .args(["--purpose", "batch", "--json"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{out:#?}");
    let skipped: Vec<_> = lines
        .iter()
        .filter(|l| l["status"] == "skipped_link")
        .collect();
    assert_eq!(skipped.len(), 1, "{out:#?}");
    assert_eq!(skipped[0]["path"].as_str(), link.to_str());
    assert!(
        out.stderr.contains("1 symbolic link(s) skipped"),
        "{out:#?}"
    );
    assert!(out.stderr.contains("b.jsonl (a symbolic link"), "{out:#?}");
    assert_eq!(server.stats().requests.create, 1);
}

#[test]
fn max_retries_0_is_one_attempt_and_failed_files_keep_their_hints() {
    let server = FakeServer::start_background(
        FakeConfig::default().with_faults(Faults::none().with_fail_500(1.0)),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..2 {
        write_file(&data.join(format!("f{i}.jsonl")), 1000, i);
    }
    let manifest = dir.path().join("m.jsonl");
    let out = run(cli(&server)
        .arg("upload")
        .arg(&data)
        .arg("--manifest")
        .arg(&manifest)
        .args(["--purpose", "batch", "--max-retries", "0"]));
    assert_eq!(out.code, Some(1), "{out:#?}");
    // One part each, one attempt each: no retry, no extra round.
    assert_eq!(server.stats().requests.add_part, 2, "{out:#?}");
    // Each failed file says how to go on, beside its own line.
    let failed = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("failed "))
        .count();
    assert_eq!(failed, 2, "{out:#?}");
    let hints = out
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("hint: upload upload_") && l.contains("was kept"))
        .count();
    assert_eq!(hints, 2, "{out:#?}");
}

#[cfg(unix)]
#[test]
fn devices_fifos_and_directories_are_refused_as_journals_and_manifests() {
    let server = server();
    let (dir, file, _) = temp_file(1000, 3);
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for bad in [
        std::path::PathBuf::from("/dev/null"),
        std::path::PathBuf::from("/dev/zero"),
        fifo,
        dir.path().to_owned(),
    ] {
        let out = rejected_before_any_request(
            &server,
            cli(&server)
                .arg("upload")
                .arg(&file)
                .arg("--journal")
                .arg(&bad)
                .args(["--purpose", "batch", "--json"]),
        );
        assert_eq!(out.code, Some(2), "{bad:?}: {out:#?}");
        assert!(out.error_line().contains("not a regular file"), "{out:#?}");

        let out = rejected_before_any_request(
            &server,
            cli(&server).arg("resume").arg(&bad).arg("--json"),
        );
        assert_eq!(out.code, Some(2), "{bad:?}: {out:#?}");

        let out = rejected_before_any_request(
            &server,
            cli(&server)
                .arg("upload")
                .arg(&file)
                .arg("--manifest")
                .arg(&bad)
                .args(["--purpose", "batch", "--json"]),
        );
        assert_eq!(out.code, Some(2), "{bad:?}: {out:#?}");
        assert!(out.error_line().contains("not a regular file"), "{out:#?}");
    }
    assert!(!std::path::Path::new("/dev/null.d").exists());
}

#[test]
fn an_expired_journal_is_removed_and_the_file_uploaded_afresh() {
    let server = server();
    let (dir, file, _) = temp_file(1000, 4);
    let journal = dir.path().join("j.json");
    // Only parts were sent, and the upload expired long ago.
    let snapshot = serde_json::json!({
        "version": 2, "state": "in_progress", "upload_id": "upload_dead",
        "path": file, "file": {"size": 1000, "modified_ns": 1}, "filename": "train.jsonl",
        "purpose": "batch", "mime_type": "application/jsonl", "part_size": 1000, "md5": true,
        "expires_at": 1000, "ttl_secs": 3600, "started_at": 1000, "parts": []
    });
    std::fs::write(&journal, format!("{snapshot}\n")).unwrap();
    let out = run(cli(&server)
        .arg("upload")
        .arg(&file)
        .arg("--journal")
        .arg(&journal)
        .args(["--purpose", "batch"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.stderr.contains("of an upload that was expired"),
        "{out:#?}"
    );
}
