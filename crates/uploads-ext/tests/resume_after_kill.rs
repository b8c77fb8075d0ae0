//! Resume after the uploading process is killed: a real child process uploads with a journal and
//! is SIGKILLed mid-upload; a second process resumes from the journal, sends only the missing
//! parts and completes with identical bytes.
//!
//! This test binary plays three roles, chosen by the `UPLOADS_TEST_ROLE` environment variable:
//! the parent (default), `upload` and `resume`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use uploads_ext::upload::FailurePolicy;
use uploads_ext::{Client, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Faults, UploadStatus};

const PART: u64 = 64 * 1024;
const PARTS: u64 = 16;
const KILL_AFTER_PARTS: usize = 4;

fn main() {
    match std::env::var("UPLOADS_TEST_ROLE").as_deref() {
        Ok("upload") => child_upload(),
        Ok("resume") => child_resume(),
        _ => {
            parent();
            println!("resume_after_kill: 1 passed, 0 failed");
        }
    }
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var(name).unwrap_or_else(|_| panic!("{name} not set")))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Uploads with a journal and prints `completed N` after each durable part, until killed.
fn child_upload() {
    let client = Client::from_env().expect("client from env");
    let (file, journal) = (
        env_path("UPLOADS_TEST_FILE"),
        env_path("UPLOADS_TEST_JOURNAL"),
    );
    let result = runtime().block_on(
        client
            .upload_file(file)
            .purpose(Purpose::Batch)
            .part_size(PART)
            .concurrency(2)
            .failure_policy(FailurePolicy::Keep)
            .journal(journal)
            .on_progress(|p| {
                if p.parts_completed > 0 {
                    println!("completed {}", p.parts_completed);
                }
            })
            .send(),
    );
    // Reaching here means the parent did not kill us in time: say so and fail.
    eprintln!("child finished before being killed: {result:?}");
    std::process::exit(3);
}

/// Resumes from the journal and prints the completed upload's id.
fn child_resume() {
    let client = Client::from_env().expect("client from env");
    let journal = env_path("UPLOADS_TEST_JOURNAL");
    match runtime().block_on(client.resume_upload(journal).concurrency(3).send()) {
        Ok(upload) => println!("{}", upload.upload_id()),
        Err(e) => {
            eprintln!("resume failed: {e}");
            std::process::exit(1);
        }
    }
}

fn child(role: &str, server: &FakeServer, file: &Path, journal: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("UPLOADS_TEST_ROLE", role)
        .env("OPENAI_BASE_URL", server.base_url())
        .env("OPENAI_API_KEY", server.api_key())
        .env_remove("OPENAI_ORG_ID")
        .env_remove("OPENAI_PROJECT_ID")
        .env("UPLOADS_TEST_FILE", file)
        .env("UPLOADS_TEST_JOURNAL", journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

fn parent() {
    // Latency on parts keeps the upload in progress long enough to be killed mid-way.
    let server = FakeServer::start_background(
        FakeConfig::default().with_faults(Faults::none().with_latency(Duration::from_millis(40))),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..PART * PARTS)
        .map(|i| (i * 7 + i / 1000) as u8)
        .collect();
    std::fs::write(&file, &bytes).unwrap();
    let journal = dir.path().join("upload.journal.json");

    let mut uploader = child("upload", &server, &file, &journal).spawn().unwrap();
    let stdout = BufReader::new(uploader.stdout.take().unwrap());
    let mut seen = 0usize;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("completed ") {
            seen = n.parse().unwrap();
            if seen >= KILL_AFTER_PARTS {
                break;
            }
        }
    }
    assert!(
        seen >= KILL_AFTER_PARTS,
        "uploader ended before {KILL_AFTER_PARTS} parts"
    );
    uploader.kill().unwrap(); // SIGKILL: no cleanup, no cancel
    let status = uploader.wait().unwrap();
    assert!(!status.success(), "the uploader was killed");

    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    let id = uploads[0].id.clone();
    assert_eq!(
        uploads[0].status,
        UploadStatus::Pending,
        "killed upload stays pending"
    );
    // The journal: a snapshot line, then one appended line per accepted part.
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok()) // a kill may tear the last line
        .collect();
    assert_eq!(lines[0]["upload_id"], id.as_str());
    let journaled = lines.iter().filter(|l| l.get("part").is_some()).count() as u64;
    assert!(
        journaled >= KILL_AFTER_PARTS as u64 && journaled < PARTS,
        "{journaled} parts journaled"
    );

    server.reset_stats();
    let output = child("resume", &server, &file, &journal).output().unwrap();
    assert!(
        output.status.success(),
        "resume failed: {:?}",
        output.status
    );
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), id);

    let snap = server.upload(&id).unwrap();
    assert_eq!(snap.status, UploadStatus::Completed);
    assert_eq!(
        server.read_content(&id).unwrap(),
        bytes,
        "assembled bytes differ"
    );
    let stats = server.stats();
    assert_eq!(
        stats.requests.add_part,
        PARTS - journaled,
        "resume sends only missing parts"
    );
    assert_eq!(stats.requests.create, 0);
    assert!(!journal.exists(), "journal removed after completion");
}
