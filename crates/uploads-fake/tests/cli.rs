//! Tests of the `uploads-fake` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use uploads_fake::{UploadSnapshot, UploadStatus};

#[tokio::test]
async fn binary_prints_its_address_and_serves_until_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_uploads-fake"))
        .args(["--api-key", "sk-cli-test", "--seed", "3", "--state-file"])
        .arg(&state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn uploads-fake");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(line.trim()).expect("one JSON line");
    let base = info["base_url"].as_str().unwrap().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{base}"
    );
    assert_eq!(info["api_key"], "sk-cli-test");

    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/uploads"))
        .bearer_auth("sk-cli-test")
        .json(&json!({"filename": "a.txt", "purpose": "user_data", "bytes": 3, "mime_type": "text/plain"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let form = reqwest::multipart::Form::new().part(
        "data",
        reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a"),
    );
    let resp = http
        .post(format!("{base}/uploads/{id}/parts"))
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

    drop(child.stdin.take());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("exits after stdin EOF")
        .unwrap();
    assert!(status.success());
}
