//! The retry tests' mockito helpers: a client whose sleeper records the delays it is asked for
//! and returns at once, and canned answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mockito::{Mock, ServerGuard};
use serde_json::json;
use uploads_ext::rt::{Sleep, SleepFuture};
use uploads_ext::{Client, ClientBuilder};

/// Records every requested delay and returns immediately.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Duration>>>);

impl Recorder {
    /// The delays asked for so far.
    pub fn delays(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl Sleep for Recorder {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.0.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// A client builder with a test key and the recorder as its sleeper.
pub fn builder(base_url: String, recorder: &Recorder) -> ClientBuilder {
    Client::builder()
        .ignore_env()
        .api_key("sk-test-retries")
        .base_url(base_url)
        .sleep_impl(recorder.clone())
}

/// A client of `server` built by [`builder`].
pub fn client(server: &ServerGuard, recorder: &Recorder) -> Client {
    builder(server.url(), recorder).build().unwrap()
}

/// A pending Upload object.
pub fn upload_json() -> String {
    json!({
        "id": "upload_abc", "object": "upload", "bytes": 5, "created_at": 1,
        "filename": "a.jsonl", "purpose": "fine-tune", "status": "pending", "expires_at": 2
    })
    .to_string()
}

/// An upload part object.
pub fn part_json() -> String {
    json!({"id": "part_1", "object": "upload.part", "created_at": 1, "upload_id": "upload_abc"})
        .to_string()
}

/// A `server_error` envelope naming `status`.
pub fn error_body(status: usize) -> String {
    json!({"error": {"message": format!("status {status}"), "type": "server_error",
                     "param": null, "code": null}})
    .to_string()
}

/// A mock answering `POST path` with `status` exactly `hits` times.
pub async fn failing(server: &mut ServerGuard, path: &str, status: usize, hits: usize) -> Mock {
    server
        .mock("POST", path)
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(error_body(status))
        .expect(hits)
        .create_async()
        .await
}

/// The documented backoff for retry `n` (1-based): 0.5 s * 2^(n-1), at most 8 s, times a jitter
/// in [0.75, 1.0]. `slack` widens the lower bound for delays applied through the rate-limit gate.
pub fn assert_backoff(delays: &[Duration], slack: Duration, context: &str) {
    for (i, d) in delays.iter().enumerate() {
        let nominal = Duration::from_millis(500 * (1 << i)).min(Duration::from_secs(8));
        let low = nominal.mul_f64(0.75).saturating_sub(slack);
        assert!(
            *d >= low && *d <= nominal,
            "{context}: retry {} waited {d:?}, expected {low:?}..={nominal:?}",
            i + 1
        );
    }
}

/// Every delay is within `tolerance` below `expected`.
pub fn assert_close(delays: &[Duration], expected: Duration, tolerance: Duration, context: &str) {
    for d in delays {
        assert!(
            *d <= expected && *d + tolerance >= expected,
            "{context}: waited {d:?}, expected {expected:?} (-{tolerance:?})"
        );
    }
}

/// How much earlier than asked a delay applied through the rate-limit gate may end.
pub const GATE_SLACK: Duration = Duration::from_millis(250);
