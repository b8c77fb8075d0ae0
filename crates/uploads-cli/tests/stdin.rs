//! `openai-uploads upload -`: stdin as the content, exactly `--size` bytes, against the fake.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use uploads_fake::UploadStatus;

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn upload_stdin(server: &uploads_fake::FakeServer, size: &str, input: Vec<u8>) -> Run {
    run_with_stdin(
        cli(server).args([
            "upload",
            "-",
            "--size",
            size,
            "--filename",
            "piped.jsonl",
            "--purpose",
            "fine-tune",
            "--part-size",
            "64KiB",
            "--json",
        ]),
        input,
    )
}

#[test]
fn stdin_is_uploaded_in_parts_with_the_size_given() {
    let server = server();
    let bytes = content(200 * KIB + 3);
    let sha = hex::encode(Sha256::digest(&bytes));
    let out = upload_stdin(&server, &bytes.len().to_string(), bytes.clone());
    assert_eq!(out.code, Some(0), "{out:#?}");
    let upload = out.json();
    assert_eq!(upload["status"], "completed");
    assert_eq!(upload["filename"], "piped.jsonl");
    assert_eq!(upload["bytes"], bytes.len() as u64);
    let snapshot = server.upload(upload["id"].as_str().unwrap()).unwrap();
    assert_eq!(snapshot.content_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(snapshot.mime_type, "application/jsonl");
    assert_eq!(snapshot.completed_part_ids.map(|p| p.len()), Some(4));
    // The md5 is computed while reading, and sent.
    assert!(snapshot.content_md5.is_some());
}

#[test]
fn a_stream_shorter_or_longer_than_size_fails_and_the_upload_is_cancelled() {
    for (declared, sent, needle) in [
        (100 * KIB, 90 * KIB, "stdin ended after"),
        (100 * KIB, 100 * KIB + 1, "stdin holds more than --size"),
    ] {
        let server = server();
        let out = upload_stdin(&server, &declared.to_string(), content(sent));
        assert_eq!(out.code, Some(1), "{out:#?}");
        let error = out.json_error();
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{out:#?}"
        );
        assert_eq!(error["cleanup"]["action"], "cancelled", "{out:#?}");
        // Stdin cannot be kept for resume: no hint says it could.
        assert!(!out.has_hint("--keep-on-failure"), "{out:#?}");
        // Never completed: nothing truncated or cut short became a File.
        let uploads = server.uploads();
        assert_eq!(uploads.len(), 1, "{out:#?}");
        assert_eq!(uploads[0].status, UploadStatus::Cancelled);
        assert_eq!(server.stats().requests.complete, 0);
    }
}

#[test]
fn stdin_without_size_or_filename_or_with_resume_flags_is_refused_before_any_request() {
    let server = server();
    let (_dir, path, _) = temp_file(KIB, 1);
    let cases: [(&[&str], &str); 6] = [
        (&["-", "--filename", "a.jsonl"], "needs --size"),
        (&["-", "--size", "1KiB"], "needs --filename"),
        (
            &[
                "-",
                "--size",
                "1KiB",
                "--filename",
                "a",
                "--keep-on-failure",
            ],
            "cannot be resumed",
        ),
        (
            &[
                "-",
                "--size",
                "1KiB",
                "--filename",
                "a",
                "--journal",
                "j.json",
            ],
            "cannot be resumed",
        ),
        (
            &["-", "-", "--size", "1KiB", "--filename", "a"],
            "one upload",
        ),
        (&["--size", "1KiB"], "--size applies to `-`"),
    ];
    for (args, needle) in cases {
        let mut cmd = cli(&server);
        cmd.arg("upload").args(args).args(["--purpose", "batch"]);
        if args[0] != "-" {
            cmd.arg(&path);
        }
        let out = rejected_before_any_request(&server, &mut cmd);
        assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
        assert!(out.error_line().contains(needle), "{args:?}: {out:#?}");
    }
}
