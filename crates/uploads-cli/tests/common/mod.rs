//! Shared by the CLI's integration tests: running the binary against the fake server, a child
//! process whose stderr can be waited on line by line, and a scripted HTTP server for answers
//! the fake never gives (HTML error pages, lost answers, odd `complete` results).

#![allow(dead_code)] // Each test file uses a different subset.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use uploads_fake::{FakeConfig, FakeServer};

pub const BIN: &str = env!("CARGO_BIN_EXE_openai-uploads");
pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;
/// Bound on every wait for the child (never a synchronisation sleep).
pub const WAIT: Duration = Duration::from_secs(60);

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as exactly one JSON value.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {self:#?}"))
    }

    /// The `error` object of a `--json` failure.
    pub fn json_error(&self) -> Value {
        let value = self.json();
        let error = value
            .get("error")
            .unwrap_or_else(|| panic!("no \"error\" object: {self:#?}"));
        assert_eq!(
            error["exit_code"].as_i64().map(|c| c as i32),
            self.code,
            "{self:#?}"
        );
        error.clone()
    }

    /// The `hint: ` lines of stderr.
    pub fn hints(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("hint: "))
            .collect()
    }

    /// Whether a hint line contains `needle`.
    pub fn has_hint(&self, needle: &str) -> bool {
        self.hints().iter().any(|h| h.contains(needle))
    }

    /// The hint offering `openai-uploads cancel ID` is there.
    pub fn offers_cancel(&self, id: &str) -> bool {
        self.has_hint(&format!("openai-uploads cancel {id}"))
    }

    /// The `error: ` line of stderr.
    pub fn error_line(&self) -> &str {
        self.stderr
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or_else(|| panic!("no error line: {self:#?}"))
    }
}

pub fn server() -> FakeServer {
    FakeServer::start_background(FakeConfig::default()).expect("fake server starts")
}

/// The binary with a clean environment pointed at `base_url` with `api_key`.
pub fn cli_at(base_url: &str, api_key: &str) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("OPENAI_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd.env("OPENAI_BASE_URL", base_url)
        .env("OPENAI_API_KEY", api_key)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    cmd
}

/// The binary pointed at `server`.
pub fn cli(server: &FakeServer) -> Command {
    cli_at(&server.base_url(), &server.api_key())
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("the binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `cmd` with `input` on its stdin (closed after it; a child that exits without reading it
/// all is fine).
pub fn run_with_stdin(cmd: &mut Command, input: Vec<u8>) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("the binary runs");
    writer.join().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs a command that must fail before any request and checks nothing reached the server.
pub fn rejected_before_any_request(server: &FakeServer, cmd: &mut Command) -> Run {
    let out = run(cmd);
    assert!(
        server.uploads().is_empty(),
        "an upload was created: {out:#?}"
    );
    assert_eq!(server.stats().requests.total(), 0, "{out:#?}");
    // Stdout holds nothing, or with --json the one error object.
    assert!(
        out.stdout.is_empty() || out.json().get("error").is_some(),
        "{out:#?}"
    );
    out
}

/// Writes `len` deterministic, non-repeating bytes and returns their sha256 (hex).
pub fn write_file(path: &Path, len: usize, seed: u8) -> String {
    let bytes: Vec<u8> = (0..len)
        .map(|i| ((i as u64).wrapping_mul(2_654_435_761) >> 7) as u8 ^ seed)
        .collect();
    std::fs::write(path, &bytes).unwrap();
    hex::encode(Sha256::digest(&bytes))
}

pub fn temp_file(len: usize, seed: u8) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.jsonl");
    let sha = write_file(&path, len, seed);
    (dir, path, sha)
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A running binary whose stderr lines arrive on a channel, so a test can wait for "upload X
/// started" before sending a signal.
pub struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Spawned {
    pub fn start(cmd: &mut Command) -> Spawned {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Spawned {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most [`WAIT`]) for a stderr line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no stderr line with {needle:?}; got {:#?}", self.stderr);
                }
            }
        }
    }

    /// Sends `signal` (e.g. "TERM") to the process.
    #[cfg(unix)]
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the exit and collects the output. A child still running after [`WAIT`] is
    /// killed (the test then fails on its exit code), so a hang cannot stall the suite.
    pub fn finish(mut self) -> Run {
        let (exited, watchdog) = mpsc::channel::<()>();
        let pid = self.pid();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(WAIT) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        });
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).unwrap();
        }
        let status = self.child.wait().unwrap();
        let _ = exited.send(());
        // The reader thread ends at EOF, which the exit guarantees.
        while let Ok(line) = self.lines.recv_timeout(WAIT) {
            self.stderr.push(line);
        }
        let mut stderr = self.stderr.join("\n");
        stderr.push('\n');
        Run {
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

/// A request as the scripted server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The request's headers, names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The value of header `name` (lowercase), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The scripted server's answer to one request.
pub enum Reply {
    /// A JSON body with this status.
    Json(u16, Value),
    /// A body with this status and content type.
    Raw(u16, &'static str, String),
    /// Close the connection without answering (after reading the whole request).
    Drop,
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A minimal HTTP/1.1 server on 127.0.0.1 answering each request with `handler(request, n)`,
/// where `n` counts earlier requests to the same path.
pub struct ScriptedServer {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ScriptedServer {
    pub fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let seen = seen.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { break };
                    let (seen, handler) = (seen.clone(), handler.clone());
                    std::thread::spawn(move || serve(stream, &seen, &*handler));
                }
            });
        }
        ScriptedServer { addr, seen }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests had a path ending in `suffix`.
    pub fn count(&self, suffix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.path.ends_with(suffix))
            .count()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or("").to_owned();
        let path = words.next().unwrap_or("").to_owned();
        let (mut length, mut chunked) = (0usize, false);
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            headers.push((name.clone(), value.to_owned()));
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
        if !read_body(&mut reader, length, chunked) {
            return;
        }
        let request = Seen {
            method,
            path,
            headers,
        };
        let n = {
            let mut seen = seen.lock().unwrap();
            let n = seen.iter().filter(|s| s.path == request.path).count();
            seen.push(request.clone());
            n
        };
        let (status, content_type, body) = match handler(&request, n) {
            Reply::Json(status, value) => (status, "application/json", value.to_string()),
            Reply::Raw(status, content_type, body) => (status, content_type, body),
            Reply::Drop => return,
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             x-request-id: req_scripted_{n}\r\n\r\n",
            reason(status),
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

fn read_body(reader: &mut impl BufRead, length: usize, chunked: bool) -> bool {
    if !chunked {
        let mut body = vec![0; length];
        return reader.read_exact(&mut body).is_ok();
    }
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return false;
        }
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16);
        let Ok(size) = size else { return false };
        // The chunk and its CRLF (the last chunk is followed by an empty trailer line).
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return false;
        }
        if size == 0 {
            return true;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

/// The scripted upload id.
pub const SCRIPTED_ID: &str = "upload_scripted";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An Upload object as the API sends it.
pub fn upload_json(status: &str, bytes: usize, file: bool) -> Value {
    let mut upload = serde_json::json!({
        "id": SCRIPTED_ID, "object": "upload", "created_at": now(), "filename": "train.jsonl",
        "bytes": bytes, "purpose": "fine-tune", "status": status, "expires_at": now() + 3600,
    });
    if file {
        upload["file"] = serde_json::json!({
            "id": "file-scripted", "object": "file", "bytes": bytes, "created_at": now(),
            "filename": "train.jsonl", "purpose": "fine-tune",
        });
    }
    upload
}

/// The usual answers of a scripted upload of `bytes` (one part), with `complete` left to
/// `on_complete(n)`; cancel answers with a cancelled Upload.
pub fn scripted_upload(
    bytes: usize,
    on_complete: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> ScriptedServer {
    ScriptedServer::start(move |seen, n| {
        if seen.path.ends_with("/uploads") {
            Reply::Json(200, upload_json("pending", bytes, false))
        } else if seen.path.ends_with("/parts") {
            Reply::Json(
                200,
                serde_json::json!({
                    "id": format!("part_{n}"), "object": "upload.part", "created_at": now(),
                    "upload_id": SCRIPTED_ID,
                }),
            )
        } else if seen.path.ends_with("/complete") {
            on_complete(n)
        } else if seen.path.ends_with("/cancel") {
            Reply::Json(200, upload_json("cancelled", bytes, false))
        } else {
            Reply::Json(404, serde_json::json!({"error": {"message": "no route"}}))
        }
    })
}
