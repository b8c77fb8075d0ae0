//! Tests of the `uploads-fake` binary (built with the `cli` feature).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use uploads_fake::{UploadSnapshot, UploadStatus};

/// The running binary; killed on drop so a failing test leaves nothing behind.
struct Fake {
    child: Child,
    base: String,
}

impl Fake {
    /// Starts the binary and reads its address line.
    fn start(args: &[&str], stdin: Stdio) -> Fake {
        let mut child = Command::new(env!("CARGO_BIN_EXE_uploads-fake"))
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn uploads-fake");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut fake = Fake {
            child,
            base: String::new(),
        };
        let info: Value = serde_json::from_str(line.trim()).expect("one JSON line");
        fake.base = info["base_url"].as_str().unwrap().to_string();
        assert!(
            fake.base.starts_with("http://127.0.0.1:") && fake.base.ends_with("/v1"),
            "{}",
            fake.base
        );
        fake
    }

    /// Waits (bounded) for the process to exit.
    fn wait_exit(mut self) -> ExitStatus {
        let mut child = std::mem::replace(
            &mut self.child,
            Command::new("true").spawn().expect("spawn true"),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("uploads-fake exits")
            .unwrap()
    }

    async fn create(&self, key: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/uploads", self.base))
            .bearer_auth(key)
            .json(&json!({"filename": "a.txt", "purpose": "user_data", "bytes": 3, "mime_type": "text/plain"}))
            .send()
            .await
            .unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn binary_prints_its_address_and_exits_on_stdin_eof_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let mut fake = Fake::start(
        &[
            "--api-key",
            "sk-cli-test",
            "--seed",
            "3",
            "--exit-on-stdin-eof",
            "--state-file",
            state_arg,
        ],
        Stdio::piped(),
    );
    let resp = fake.create("sk-cli-test").await;
    assert_eq!(resp.status(), 200);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let form = reqwest::multipart::Form::new().part(
        "data",
        reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a"),
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/uploads/{id}/parts", fake.base))
        .bearer_auth("sk-cli-test")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // The state file is rewritten before the response is sent.
    let snaps: Vec<UploadSnapshot> =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].id, id);
    assert_eq!(snaps[0].status, UploadStatus::Pending);
    assert_eq!(snaps[0].parts.len(), 1);
    assert_eq!(snaps[0].parts[0].size, 3);

    drop(fake.child.stdin.take());
    assert!(fake.wait_exit().success());
}

/// With stdin at EOF from the start (`cmd < /dev/null &`), the server keeps
/// serving; SIGTERM ends it cleanly. The fault plan file and the clock
/// offset flags take effect.
#[cfg(unix)]
#[tokio::test]
async fn binary_serves_with_stdin_closed_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"rules": [{"route": "create", "nth": 2, "fault": {"kind": "html", "status": 502}}]}"#,
    )
    .unwrap();
    let fake = Fake::start(
        &[
            "--fault-plan",
            plan.to_str().unwrap(),
            "--clock-offset-secs",
            "-3600",
        ],
        Stdio::null(),
    );
    let key = uploads_fake::DEFAULT_API_KEY;
    let resp = fake.create(key).await;
    assert_eq!(resp.status(), 200);
    let created = resp.json::<Value>().await.unwrap()["created_at"]
        .as_u64()
        .unwrap();
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        created + 3600 >= real && created + 3600 <= real + 5,
        "{created} vs {real}"
    );
    let resp = fake.create(key).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert_eq!(fake.create(key).await.status(), 200);

    let status = Command::new("kill")
        .args(["-TERM", &fake.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(fake.wait_exit().success(), "SIGTERM ends it with status 0");
}

#[test]
fn binary_rejects_a_bad_plan_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"rules": [{"route": "create", "fault": {"kind": "stall"}}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_uploads-fake"))
        .arg("--fault-plan")
        .arg(&plan)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid fault plan") && err.contains("nth"),
        "{err}"
    );
}
