//! One rate-limit pause per client: a 429 on one upload's part holds back every upload of the
//! client for the time the server asked. Checked against a scripted loopback server that records
//! when each request arrives; no sleeps synchronise the test.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::json;
use tokio::sync::watch;
use uploads_ext::rt::{Sleep, SleepFuture};
use uploads_ext::{Client, Purpose};

const PAUSE: Duration = Duration::from_millis(300);

/// The client's sleeper: really sleeps, and tells the server when the first pause begins. The
/// first sleep after a 429 is the rate-limited request's own wait at the client's gate, which
/// the client starts right after it deferred the gate.
#[derive(Debug)]
struct SignallingSleep(watch::Sender<bool>);

impl Sleep for SignallingSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.0.send_replace(true);
        Box::pin(tokio::time::sleep(duration))
    }
}

#[derive(Default)]
struct Log {
    /// (arrival, upload id, route) of every request.
    arrivals: Vec<(Instant, String, &'static str)>,
    /// When the 429 was sent.
    rate_limited_at: Option<Instant>,
}

struct Script {
    log: Mutex<Log>,
    paused: watch::Receiver<bool>,
}

fn json_response(status: u16, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if status == 429 {
        response = response.header("retry-after-ms", PAUSE.as_millis().to_string());
    }
    response
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn upload(id: &str, status: &str, bytes: u64) -> serde_json::Value {
    let mut upload = json!({
        "id": id, "object": "upload", "created_at": 1_700_000_000, "expires_at": 1_700_003_600,
        "filename": format!("{id}.bin"), "bytes": bytes, "purpose": "batch", "status": status,
    });
    if status == "completed" {
        upload["file"] = json!({
            "id": format!("file-{id}"), "object": "file", "bytes": bytes,
            "created_at": 1_700_000_000, "filename": format!("{id}.bin"), "purpose": "batch",
        });
    }
    upload
}

/// Upload `a`'s first part gets a 429; upload `b`'s first part is answered only once the
/// client has started pausing, so everything `b` sends afterwards is subject to the pause.
async fn handle(
    script: Arc<Script>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let segments: Vec<&str> = path.trim_start_matches("/v1/uploads").split('/').collect();
    let (id, route) = match segments.as_slice() {
        [""] => {
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let name = request["filename"].as_str().unwrap();
            let id = format!("upload_{}", name.trim_end_matches(".bin"));
            script
                .log
                .lock()
                .unwrap()
                .arrivals
                .push((arrived, id.clone(), "create"));
            let bytes = request["bytes"].as_u64().unwrap();
            return Ok(json_response(200, upload(&id, "pending", bytes)));
        }
        ["", id, "parts"] => (id.to_string(), "parts"),
        ["", id, "complete"] => (id.to_string(), "complete"),
        _ => (String::new(), "other"),
    };
    let first_part_of = |log: &Log, upload: &str| {
        !log.arrivals
            .iter()
            .any(|(_, id, r)| id == upload && *r == "parts")
    };
    let (rate_limit, wait_for_pause) = {
        let mut log = script.log.lock().unwrap();
        let decision = (
            route == "parts" && id == "upload_a" && first_part_of(&log, "upload_a"),
            route == "parts" && id == "upload_b" && first_part_of(&log, "upload_b"),
        );
        log.arrivals.push((arrived, id.clone(), route));
        decision
    };
    match route {
        "parts" if rate_limit => {
            script.log.lock().unwrap().rate_limited_at = Some(Instant::now());
            let error = json!({"error": {"message": "Rate limit reached", "type": "requests",
                "param": null, "code": "rate_limit_exceeded"}});
            Ok(json_response(429, error))
        }
        "parts" => {
            if wait_for_pause {
                let mut paused = script.paused.clone();
                paused.wait_for(|p| *p).await.unwrap();
            }
            let n = script.log.lock().unwrap().arrivals.len();
            Ok(json_response(
                200,
                json!({"id": format!("part_{n}"), "object": "upload.part",
                    "created_at": 1_700_000_000, "upload_id": id}),
            ))
        }
        "complete" => Ok(json_response(200, upload(&id, "completed", 8))),
        _ => Ok(json_response(
            404,
            json!({"error": {"message": "no such route"}}),
        )),
    }
}

async fn serve(script: Arc<Script>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let script = script.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(script.clone(), req));
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    format!("http://{addr}/v1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_one_upload_pauses_every_upload_of_the_client() {
    let (paused_tx, paused_rx) = watch::channel(false);
    let script = Arc::new(Script {
        log: Mutex::new(Log::default()),
        paused: paused_rx,
    });
    let base_url = serve(script.clone()).await;
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-test")
        .base_url(base_url)
        .max_parts_in_flight(4)
        .sleep_impl(SignallingSleep(paused_tx))
        .build()
        .unwrap();
    let start = |name: &str| {
        client
            .upload_bytes(vec![7u8; 8])
            .filename(format!("{name}.bin"))
            .purpose(Purpose::Batch)
            .part_size(4)
            .concurrency(1)
            .md5(false)
            .spawn()
    };
    let (a, b) = (start("a"), start("b"));
    let (a, b) = tokio::time::timeout(Duration::from_secs(30), async {
        (a.join().await.unwrap(), b.join().await.unwrap())
    })
    .await
    .expect("deadlocked");
    assert_eq!(
        (a.file_id(), b.file_id()),
        ("file-upload_a", "file-upload_b")
    );

    let log = script.log.lock().unwrap();
    let limited = log.rate_limited_at.expect("the 429 was sent");
    let parts_of = |upload: &str| -> Vec<Instant> {
        log.arrivals
            .iter()
            .filter(|(_, id, r)| id == upload && *r == "parts")
            .map(|(t, _, _)| *t)
            .collect()
    };
    let (a_parts, b_parts) = (parts_of("upload_a"), parts_of("upload_b"));
    assert_eq!(
        a_parts.len(),
        3,
        "a's first part was sent again after the 429"
    );
    assert_eq!(b_parts.len(), 2);
    // b's second part could only be sent after its first was answered, which was after the
    // client began its pause: it waited for the whole of it, although b never saw a 429.
    assert!(
        b_parts[1] >= limited + PAUSE,
        "b's part went out {:?} after the 429, inside the {PAUSE:?} pause",
        b_parts[1] - limited
    );
    assert!(a_parts[1] >= limited + PAUSE);
}
