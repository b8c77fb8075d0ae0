//! `openai-uploads upload` with several files or a directory: one JSON line per file, a line per
//! finished file on stderr, the exit code of the worst failure, and a manifest that makes the
//! same command skip what it already uploaded.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Each stdout line as JSON.
fn lines(out: &Run) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{out:#?}")))
        .collect()
}

/// A directory with four `.jsonl` files (one in a subdirectory) and a `.txt` file; returns each
/// jsonl file's name and sha256.
fn dataset(dir: &Path) -> Vec<(String, String)> {
    std::fs::create_dir_all(dir.join("more")).unwrap();
    write_file(&dir.join("notes.txt"), 100, 9);
    ["a.jsonl", "b.jsonl", "c.jsonl", "more/d.jsonl"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let sha = write_file(&dir.join(name), 40 * KIB + i * 1000, i as u8 + 1);
            (name.to_string(), sha)
        })
        .collect()
}

#[test]
fn a_directory_with_include_uploads_every_match_and_prints_one_json_line_each() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let files = dataset(dir.path());
    let out = run(cli(&server)
        .args(["upload"])
        .arg(dir.path())
        .args(["--include", "*.jsonl", "--purpose", "batch", "--json"])
        .args(["--part-size", "16KiB", "--max-parts-in-flight", "3"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let lines = lines(&out);
    assert_eq!(lines.len(), files.len(), "{out:#?}");
    for line in &lines {
        assert_eq!(line["status"], "completed", "{line}");
        assert!(line["file_id"].as_str().unwrap().starts_with("file-"));
        let path = line["path"].as_str().unwrap();
        let (_, sha) = files
            .iter()
            .find(|(n, _)| path.ends_with(n.as_str()))
            .unwrap();
        let snapshot = server.upload(line["upload_id"].as_str().unwrap()).unwrap();
        assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
        assert_eq!(line["bytes"], snapshot.bytes);
        assert!(line["error"].is_null());
    }
    assert!(server.stats().max_parts_in_flight <= 3);
    assert_eq!(server.uploads().len(), 4, "notes.txt was left out");
    assert!(
        out.stderr
            .contains("4 uploaded, 0 already uploaded, 0 failed"),
        "{out:#?}"
    );
}

#[test]
fn a_failing_file_fails_the_command_but_not_the_others() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, b"").unwrap();
    let out = run(cli(&server)
        .args(["upload"])
        .arg(dir.path().join("a.jsonl"))
        .arg(&empty)
        .arg(dir.path().join("b.jsonl"))
        .args(["--purpose", "batch", "--json"]));
    assert_ne!(out.code, Some(0), "{out:#?}");
    let lines = lines(&out);
    assert_eq!(lines.len(), 3, "{out:#?}");
    let failed: Vec<_> = lines.iter().filter(|l| l["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["path"].as_str().unwrap().ends_with("empty.jsonl"));
    assert!(failed[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("empty"));
    assert_eq!(
        lines.iter().filter(|l| l["status"] == "completed").count(),
        2
    );
    assert!(out.stderr.contains("failed    "), "{out:#?}");
    assert!(out
        .stderr
        .contains("2 uploaded, 0 already uploaded, 1 failed"));
}

#[test]
fn a_rerun_with_the_manifest_skips_what_was_uploaded() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    dataset(&data);
    let manifest = dir.path().join("run.manifest");
    let upload = || {
        let mut cmd = cli(&server);
        cmd.args(["upload"])
            .arg(&data)
            .args(["--purpose", "batch", "--json", "--exclude", "*.txt"])
            .arg("--manifest")
            .arg(&manifest);
        run(&mut cmd)
    };
    let first = upload();
    assert_eq!(first.code, Some(0), "{first:#?}");
    assert!(lines(&first).iter().all(|l| l["status"] == "completed"));
    let creates = server.stats().requests.create;
    assert_eq!(creates, 4);

    let second = upload();
    assert_eq!(second.code, Some(0), "{second:#?}");
    let again = lines(&second);
    assert_eq!(again.len(), 4);
    for line in &again {
        assert_eq!(line["status"], "already_uploaded", "{line}");
        let earlier = lines(&first)
            .into_iter()
            .find(|l| l["path"] == line["path"])
            .unwrap();
        assert_eq!(line["file_id"], earlier["file_id"]);
    }
    assert_eq!(
        server.stats().requests.create,
        creates,
        "nothing sent again"
    );
}

#[test]
fn single_file_flags_are_refused_with_several_files_before_any_request() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .args(["upload"])
            .arg(dir.path().join("a.jsonl"))
            .arg(dir.path().join("b.jsonl"))
            .args(["--purpose", "batch", "--filename", "x.jsonl"]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains("--filename applies to one file"),
        "{out:#?}"
    );
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .args(["upload"])
            .arg(dir.path().join("a.jsonl"))
            .args(["--purpose", "batch", "--include", "*.jsonl"]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    let out = rejected_before_any_request(
        &server,
        cli(&server).args(["upload"]).arg(dir.path()).args([
            "--purpose",
            "batch",
            "--keep-on-failure",
        ]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("needs --manifest"), "{out:#?}");
}

#[test]
fn one_file_gets_the_concurrency_asked_for_even_above_the_default_budget() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.jsonl");
    let sha = write_file(&path, 48 * KIB, 7);
    let hold = server.hold_parts();
    let child = Spawned::start(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "batch",
        "--part-size",
        "1KiB",
        "--concurrency",
        "24",
    ]));
    // 24 parts reach the server at once: more than the client's default budget of 16.
    block_on(async {
        tokio::time::timeout(WAIT, server.wait_for_parts_in_flight(24))
            .await
            .expect("24 parts in flight")
    });
    drop(hold);
    let out = child.finish();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.stats().max_parts_in_flight, 24);
    let upload = &server.uploads()[0];
    assert_eq!(upload.content_sha256.as_deref(), Some(sha.as_str()));
}

#[cfg(unix)]
#[test]
fn after_sigterm_the_same_command_with_the_manifest_resumes_the_files_in_flight() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let files = dataset(&data);
    let manifest = dir.path().join("run.manifest");
    let command = || {
        let mut cmd = cli(&server);
        cmd.args(["upload"])
            .arg(&data)
            .args(["--purpose", "batch", "--include", "*.jsonl", "--json"])
            .args([
                "--part-size",
                "16KiB",
                "--files-in-flight",
                "2",
                "--manifest",
            ])
            .arg(&manifest);
        cmd
    };

    // Parts are held at the server, so two files are certainly in flight when SIGTERM arrives.
    let hold = server.hold_parts();
    let child = Spawned::start(&mut command());
    block_on(async {
        tokio::time::timeout(WAIT, server.wait_for_parts_in_flight(2))
            .await
            .expect("parts in flight")
    });
    child.signal("TERM");
    let first = child.finish();
    drop(hold);
    assert_eq!(first.code, Some(143), "{first:#?}");
    let stopped = lines(&first);
    assert_eq!(stopped.len(), 4, "{first:#?}");
    assert!(stopped.iter().all(|l| l["status"] == "failed"));
    let kept: Vec<&Value> = stopped
        .iter()
        .filter(|l| l["upload_id"].is_string())
        .collect();
    assert_eq!(
        kept.len(),
        2,
        "the two files in flight had Uploads: {first:#?}"
    );
    for line in &kept {
        assert_eq!(line["error"]["cleanup"]["action"], "retained", "{line}");
    }

    let second = run(&mut command());
    assert_eq!(second.code, Some(0), "{second:#?}");
    let done = lines(&second);
    assert_eq!(done.len(), 4);
    for line in &done {
        assert_eq!(line["status"], "completed", "{line}");
        let path = line["path"].as_str().unwrap();
        if let Some(earlier) = kept.iter().find(|k| k["path"] == path) {
            assert_eq!(
                line["upload_id"], earlier["upload_id"],
                "resumed, not restarted"
            );
        }
        let (_, sha) = files
            .iter()
            .find(|(n, _)| path.ends_with(n.as_str()))
            .unwrap();
        let snapshot = server.upload(line["upload_id"].as_str().unwrap()).unwrap();
        assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
    }
    assert_eq!(
        server.stats().requests.create,
        4,
        "no file got a second Upload"
    );
}
