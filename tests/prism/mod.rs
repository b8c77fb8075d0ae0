//! A running Prism mock server for the conformance tests: found through `$PRISM_BIN` or
//! `scripts/bootstrap`'s install, started on a free port and killed on drop. Each test binary uses
//! a subset.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use uploads_ext::Client;

/// Readiness polling: at most this many connection attempts...
const READY_ATTEMPTS: u32 = 240;
/// ...this far apart (about 60 s in all).
const READY_INTERVAL: Duration = Duration::from_millis(250);

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

pub fn prism_bin() -> PathBuf {
    let from_env = std::env::var_os("PRISM_BIN").map(PathBuf::from);
    if let Some(bin) = from_env.as_ref().filter(|b| b.is_file()) {
        return bin.clone();
    }
    let fallback = workspace_root().join("tools/node_modules/.bin/prism");
    if fallback.is_file() {
        return fallback;
    }
    panic!(
        "Prism is not installed (PRISM_BIN={from_env:?}, and {} does not exist): run \
         scripts/bootstrap (it runs `npm ci` in tools/; needs Node.js and npm)",
        fallback.display()
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `prism mock --errors`, killed on drop.
pub struct Prism {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Prism {
    /// `prism mock <spec> --port P --host 127.0.0.1 --errors`, plus `extra` arguments.
    pub async fn start(extra: &[&str]) -> Prism {
        // The free port can be taken between probing and Prism binding it: try a few ports.
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Prism::try_start(extra).await {
                Ok(prism) => return prism,
                Err(why) => last_failure = why,
            }
        }
        panic!("Prism did not start: {last_failure}");
    }

    pub async fn try_start(extra: &[&str]) -> Result<Prism, String> {
        let bin = prism_bin();
        let spec = workspace_root().join("generated/openapi.yaml");
        assert!(spec.is_file(), "{} is missing", spec.display());
        let port = free_port();
        let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prism-{port}.log"));
        let out = std::fs::File::create(&log).expect("create the Prism log");
        let err = out.try_clone().expect("clone the log handle");
        let child = Command::new(&bin)
            .arg("mock")
            .arg(&spec)
            .args([
                "--port",
                &port.to_string(),
                "--host",
                "127.0.0.1",
                "--errors",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}); run scripts/bootstrap (needs Node.js)",
                    bin.display()
                )
            });
        let mut prism = Prism {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        for _ in 0..READY_ATTEMPTS {
            if let Some(status) = prism.child.try_wait().expect("poll Prism") {
                return Err(format!("Prism exited with {status}:\n{}", prism.log_text()));
            }
            if tokio::net::TcpStream::connect(prism.addr).await.is_ok() {
                return Ok(prism);
            }
            tokio::time::sleep(READY_INTERVAL).await;
        }
        Err(format!(
            "Prism did not listen on {} within {:?}:\n{}",
            prism.addr,
            READY_INTERVAL * READY_ATTEMPTS,
            prism.log_text()
        ))
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn client(&self) -> Client {
        Client::builder()
            .ignore_env()
            .api_key("sk-conformance")
            .base_url(self.url())
            .organization("org-conformance")
            .project("proj-conformance")
            .max_retries(0)
            .build()
            .expect("client builds")
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            // Keep the log of a failed test for inspection; drop the others.
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Unwraps a client result, showing Prism's log (which names the violated rule) on failure.
macro_rules! conforms {
    ($prism:expr, $what:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(err) => panic!(
                "{} was not accepted by the spec: {err}\n--- Prism log ---\n{}",
                $what,
                $prism.log_text()
            ),
        }
    };
}

/// Sends a raw request and returns (status, content type, decoded JSON body).
pub async fn raw(request: reqwest::RequestBuilder) -> (u16, String, Value) {
    let response = request.send().await.expect("Prism answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("HTTP {status} body is not JSON ({e}): {text}"));
    (status, content_type, body)
}
