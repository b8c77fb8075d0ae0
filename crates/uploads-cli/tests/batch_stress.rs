//! Exactly-once batches under kill -9: a batch of hundreds of small files is killed (SIGKILL)
//! at seeded pseudo-random moments and rerun with the same `--manifest` until a run succeeds;
//! no file may ever be a File twice on the server, and (once an ambiguous `complete` settles,
//! issue 18 item 1) no rerun may stay stuck.
//! Unix only (SIGKILL). Also: two runs with one manifest at once, the second refused.

#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use common::*;
use uploads_fake::UploadStatus;

const FILES: usize = 300;
/// Runs killed before one is left to finish.
const KILLS: usize = 12;
/// Runs after the kills before the batch counts as stuck.
const FINISHING_RUNS: usize = 4;

/// A small seeded generator (xorshift64*): the same kill points on every run of the test.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn batch(server: &uploads_fake::FakeServer, data: &Path, manifest: &Path) -> std::process::Command {
    let mut cmd = cli(server);
    cmd.arg("upload")
        .arg(data)
        .arg("--manifest")
        .arg(manifest)
        .args(["--purpose", "batch", "--json", "--files-in-flight", "24"])
        .args(["--max-parts-in-flight", "24"]);
    cmd
}

/// Runs the batch; with `kill_after = Some(k)`, sends SIGKILL once `k` files were uploaded by
/// this run (a file is reported after its manifest line is written, while others are
/// mid-flight; files an earlier run uploaded do not count).
/// Returns the exit code (`None`: killed) and the reported lines.
fn run_once(
    cmd: &mut std::process::Command,
    kill_after: Option<usize>,
) -> (Option<i32>, Vec<serde_json::Value>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut statuses = Vec::new();
    if kill_after == Some(0) {
        child.kill().unwrap();
    }
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        statuses.push(value);
        let new = statuses
            .iter()
            .filter(|l| l["status"] != "already_uploaded")
            .count();
        if kill_after == Some(new) {
            child.kill().unwrap();
        }
    }
    let status = child.wait().unwrap();
    (status.code(), statuses)
}

/// What a stress run left: the runs, and how many completed Files each filename has.
struct Stress {
    server: uploads_fake::FakeServer,
    dir: tempfile::TempDir,
    history: Vec<String>,
    /// Kinds of the failures of every run (`completion_unknown`, ...).
    failure_kinds: Vec<String>,
    finished: bool,
}

impl Stress {
    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn manifest(&self) -> std::path::PathBuf {
        self.dir.path().join("batch.manifest")
    }

    fn completed_per_filename(&self) -> HashMap<String, usize> {
        let mut completed: HashMap<String, usize> = HashMap::new();
        for upload in self.server.uploads() {
            if upload.status == UploadStatus::Completed {
                *completed.entry(upload.filename).or_default() += 1;
            }
        }
        completed
    }
}

/// Kills the batch [`KILLS`] times at seeded points, then reruns it (at most
/// [`FINISHING_RUNS`] times) until a run exits 0.
fn stress() -> Stress {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..FILES {
        write_file(
            &data.join(format!("f{i:04}.jsonl")),
            200 + (i * 37) % 3000,
            i as u8,
        );
    }
    let manifest = dir.path().join("batch.manifest");
    let mut rng = Rng(0x5eed_0018);
    let (mut history, mut failure_kinds) = (Vec::new(), Vec::new());
    let mut finished = false;
    let mut left = FILES;
    for round in 0..KILLS + FINISHING_RUNS {
        // Kill points spread over what is left, some right at the start.
        let kill_after = (round < KILLS).then(|| rng.below(left as u64 / 2) as usize);
        let (code, lines) = run_once(&mut batch(&server, &data, &manifest), kill_after);
        let count = |s: &str| lines.iter().filter(|l| l["status"] == s).count();
        history.push(format!(
            "run {round}: kill after {kill_after:?}, exit {code:?}, {} completed, {} already \
             uploaded, {} failed",
            count("completed"),
            count("already_uploaded"),
            count("failed")
        ));
        left = left.saturating_sub(count("completed"));
        failure_kinds.extend(
            lines
                .iter()
                .filter_map(|l| l["error"]["kind"].as_str().map(str::to_owned)),
        );
        if code == Some(0) {
            finished = true;
            assert_eq!(lines.len(), FILES, "{history:#?}");
            break;
        }
    }
    Stress {
        server,
        dir,
        history,
        failure_kinds,
        finished,
    }
}

#[test]
fn a_batch_killed_at_random_moments_never_uploads_a_file_twice() {
    let run = stress();
    let history = &run.history;
    let completed = run.completed_per_filename();
    let twice: Vec<_> = completed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "uploaded more than once: {twice:?}\n{history:#?}"
    );
    // A kill can only leave a file whose `complete` may have happened: never another failure.
    assert!(
        run.failure_kinds.iter().all(|k| k == "completion_unknown"),
        "{:?}\n{history:#?}",
        run.failure_kinds
    );
    // Every file is either a File once, or still journaled to be settled (never lost).
    let journals = std::fs::read_dir(run.dir.path().join("batch.manifest.d"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".journal")
        })
        .count();
    assert!(completed.len() + journals >= FILES, "{history:#?}");
    if run.finished {
        assert_eq!(completed.len(), FILES, "{history:#?}");
        assert_eq!(journals, 0, "{history:#?}");
        // A run after success sends nothing.
        let creates = run.server.stats().requests.create;
        let (code, lines) = run_once(&mut batch(&run.server, &run.data(), &run.manifest()), None);
        assert_eq!(code, Some(0));
        assert!(lines.iter().all(|l| l["status"] == "already_uploaded"));
        assert_eq!(run.server.stats().requests.create, creates);
    }
}

/// Reruns end: every ambiguous `complete` a kill left is settled by a later run (through the
/// Files list), so a CI job that reruns until success finishes.
#[test]
fn a_batch_killed_at_random_moments_finishes_on_rerun() {
    let run = stress();
    assert!(run.finished, "the batch never finished: {:#?}", run.history);
    let completed = run.completed_per_filename();
    assert_eq!(completed.len(), FILES, "{:#?}", run.history);
    assert!(completed.values().all(|n| *n == 1), "{:#?}", run.history);
}

#[test]
fn a_second_run_with_the_same_manifest_is_refused_and_names_it() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..3 {
        write_file(&data.join(format!("f{i}.jsonl")), 1000, i as u8);
    }
    let manifest = dir.path().join("m.jsonl");
    let hold = server.hold_parts();
    let mut first = batch(&server, &data, &manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    block_on(server.wait_for_parts_in_flight(1));
    let second = run(&mut batch(&server, &data, &manifest));
    assert_eq!(second.code, Some(1), "{second:#?}");
    let error = second.json_error();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("m.jsonl is in use by another run"),
        "{second:#?}"
    );
    assert!(second.error_line().contains("m.jsonl"), "{second:#?}");
    drop(hold);
    assert!(first.wait().unwrap().success());
    assert_eq!(server.stats().requests.create, 3);
}
