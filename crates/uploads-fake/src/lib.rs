//! A faithful, stateful fake of the OpenAI Uploads API for tests.
//!
//! [`FakeServer`] is a real HTTP/1.1 server on `127.0.0.1` (ephemeral port by
//! default) that implements the four Uploads endpoints under `/v1`:
//!
//! * `POST /v1/uploads` – create (full request validation, 400 on any violation),
//! * `POST /v1/uploads/{id}/parts` – add a part (`multipart/form-data`, field
//!   `data`; streamed to disk, size limited while streaming),
//! * `POST /v1/uploads/{id}/complete` – complete (ownership, duplicates, total
//!   size and optional md5 checks; computes the content's sha256 and md5),
//! * `POST /v1/uploads/{id}/cancel` – cancel.
//!
//! Every response carries `x-request-id` and `content-type: application/json`;
//! errors use the API envelope `{"error":{"message","type","param","code"}}`.
//! Bearer auth is enforced on every route. Uploads expire one hour after
//! creation on a controllable [`FakeClock`].
//!
//! Faults ([`Faults`]) can be injected deterministically from a seed: 500s,
//! 429s with a configurable retry hint, dropped connections, stalls, added
//! latency and a bandwidth cap. Tests inspect the server with
//! [`FakeServer::stats`], [`FakeServer::upload`] and
//! [`FakeServer::read_content`].
//!
//! ```no_run
//! use uploads_fake::{FakeConfig, FakeServer, Faults};
//!
//! # async fn example() -> std::io::Result<()> {
//! let server = FakeServer::start_with(
//!     FakeConfig::default().with_faults(Faults::default().with_seed(7).with_fail_500(0.2)),
//! )
//! .await?;
//! let base_url = server.base_url(); // "http://127.0.0.1:PORT/v1"
//! let api_key = server.api_key();   // "sk-fake-uploads"
//! // ... point the client under test at base_url / api_key ...
//! # let _ = (base_url, api_key);
//! let stats = server.stats();
//! assert!(stats.max_parts_in_flight <= 4);
//! for upload in server.uploads() {
//!     println!("{} {} {:?}", upload.id, upload.status, upload.content_sha256);
//! }
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The `uploads-fake` binary runs the same server from the command line (see
//! the crate README).

mod clock;
mod config;
mod error;
mod server;
mod state;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};

pub use clock::FakeClock;
pub use config::{
    FakeConfig, Faults, Operation, RetryHint, Storage, DEFAULT_API_KEY, DEFAULT_MAX_PART_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_UPLOAD_TTL,
};
pub use state::{FaultCounts, PartSnapshot, RequestCounts, Stats, UploadSnapshot, UploadStatus};

use server::Inner;

/// How the server's accept loop runs.
enum Runner {
    /// A task on the caller's tokio runtime.
    Task(tokio::task::JoinHandle<()>),
    /// A dedicated thread with its own runtime; the receiver fires when the
    /// runtime has shut down.
    Thread {
        thread: std::thread::JoinHandle<()>,
        done: oneshot::Receiver<()>,
    },
    /// Already stopped.
    Stopped,
}

/// A running fake Uploads API server. Dropping it stops the server (and
/// removes its temporary storage directory once in-flight requests end).
pub struct FakeServer {
    inner: Arc<Inner>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    runner: Runner,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .field("storage", &self.inner.storage)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Starts a server with the default configuration on the current tokio
    /// runtime.
    pub async fn start() -> io::Result<FakeServer> {
        Self::start_with(FakeConfig::default()).await
    }

    /// Starts a server with `config` on the current tokio runtime.
    pub async fn start_with(config: FakeConfig) -> io::Result<FakeServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::new(config, FakeClock::new())?);
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, inner.clone(), rx));
        Ok(FakeServer {
            inner,
            addr,
            shutdown,
            runner: Runner::Task(task),
        })
    }

    /// Starts a server with `config` on its own thread with its own tokio
    /// runtime, for synchronous code, benchmarks and the CLI. Works whether
    /// or not the caller is inside a runtime.
    pub fn start_background(config: FakeConfig) -> io::Result<FakeServer> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let inner = Arc::new(Inner::new(config, FakeClock::new())?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("uploads-fake-worker")
            .build()?;
        let (shutdown, rx) = watch::channel(false);
        let (done_tx, done) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let task_inner = inner.clone();
        let thread = std::thread::Builder::new()
            .name("uploads-fake".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            server::serve(listener, task_inner, rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                drop(runtime);
                let _ = done_tx.send(());
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(io::Error::other(
                    "uploads-fake server thread failed to start",
                ));
            }
        }
        Ok(FakeServer {
            inner,
            addr,
            shutdown,
            runner: Runner::Thread { thread, done },
        })
    }

    /// The API base URL, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key the server accepts as `Authorization: Bearer <key>`.
    pub fn api_key(&self) -> String {
        self.inner.api_key.clone()
    }

    /// The storage mode.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The directory part files are written to (disk modes only).
    pub fn storage_dir(&self) -> Option<&Path> {
        self.inner.storage_dir.as_deref()
    }

    /// Replaces the fault settings; the decision RNG is re-seeded with
    /// `faults.seed`, so decisions restart from the beginning of the sequence.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.set_faults(faults);
    }

    /// The fault settings in force.
    pub fn faults(&self) -> Faults {
        self.inner.faults()
    }

    /// Request, fault, concurrency and byte counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Zeroes the counters; `max_parts_in_flight` restarts from the current
    /// number of part requests in flight.
    pub fn reset_stats(&self) {
        self.inner.reset_stats();
    }

    /// A snapshot of one upload (expiry is evaluated first), `None` if unknown.
    pub fn upload(&self, id: &str) -> Option<UploadSnapshot> {
        self.inner.snapshot(id)
    }

    /// Snapshots of every upload, in creation order.
    pub fn uploads(&self) -> Vec<UploadSnapshot> {
        self.inner.snapshots()
    }

    /// The assembled content of a completed upload: its parts concatenated
    /// in `part_ids` order. Only with [`Storage::Disk`] / [`Storage::DiskAt`];
    /// reads everything into memory, so use it for small test files.
    pub fn read_content(&self, id: &str) -> io::Result<Vec<u8>> {
        self.inner.read_content(id)
    }

    /// The server's clock; advance it to expire uploads.
    pub fn clock(&self) -> &FakeClock {
        &self.inner.clock
    }

    /// Holds every part request (after it is counted in flight and
    /// authenticated, before its body is read) until the returned guard, and
    /// every other outstanding hold, is dropped. Together with
    /// [`FakeServer::wait_for_parts_in_flight`] this lets tests observe a
    /// client's concurrency without sleeps.
    pub fn hold_parts(&self) -> PartsHold {
        self.inner.holds.send_modify(|n| *n += 1);
        PartsHold {
            inner: self.inner.clone(),
        }
    }

    /// Waits until at least `n` part requests are in flight at once.
    pub async fn wait_for_parts_in_flight(&self, n: usize) {
        let mut rx = self.inner.in_flight.subscribe();
        let _ = rx.wait_for(|v| *v >= n).await;
    }

    /// Waits until upload `id` exists and `pred` holds for its snapshot (re-checked after every
    /// state change), e.g. until a client's background cancel has arrived. Returns the snapshot.
    pub async fn wait_for_upload(
        &self,
        id: &str,
        mut pred: impl FnMut(&UploadSnapshot) -> bool,
    ) -> UploadSnapshot {
        let mut rx = self.inner.changes.subscribe();
        loop {
            // Mark the current version seen before checking, so no change is missed.
            rx.borrow_and_update();
            if let Some(snap) = self.upload(id).filter(|s| pred(s)) {
                return snap;
            }
            if rx.changed().await.is_err() {
                panic!("fake server stopped while waiting for upload {id}");
            }
        }
    }

    /// Stops the server: no new connections are accepted and open
    /// connections are closed. Waits for the accept loop (and, for
    /// [`FakeServer::start_background`], the server thread) to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        match std::mem::replace(&mut self.runner, Runner::Stopped) {
            Runner::Task(task) => {
                let _ = task.await;
            }
            Runner::Thread { thread, done } => {
                let _ = done.await;
                let _ = thread.join();
            }
            Runner::Stopped => {}
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Runner::Thread { thread, .. } = std::mem::replace(&mut self.runner, Runner::Stopped)
        {
            let _ = thread.join();
        }
    }
}

/// Guard returned by [`FakeServer::hold_parts`]; part requests proceed once
/// every guard is dropped.
#[must_use = "part requests are released as soon as the guard is dropped"]
pub struct PartsHold {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PartsHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartsHold").finish_non_exhaustive()
    }
}

impl PartsHold {
    /// Releases the hold (same as dropping it).
    pub fn release(self) {}
}

impl Drop for PartsHold {
    fn drop(&mut self) {
        self.inner.holds.send_modify(|n| *n = n.saturating_sub(1));
    }
}
