//! The server's lifecycle (start, shutdown) and the handle tests use to
//! steer and inspect it.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use crate::clock::FakeClock;
use crate::config::FakeConfig;
use crate::faults::{FaultPlan, InjectedFault};
use crate::fractions::Faults;
use crate::http;
use crate::link::LinkModel;
use crate::route::Route;
use crate::service::Service;
use crate::state::UploadSnapshot;
use crate::stats::Stats;
use crate::storage::Storage;

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
    inner: Arc<Service>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    runner: Runner,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .field("storage", &self.inner.storage.mode)
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
        let inner = Arc::new(Service::new(config)?);
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(http::serve(listener, inner.clone(), rx));
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
        let inner = Arc::new(Service::new(config)?);
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
                            http::serve(listener, task_inner, rx).await;
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
        &self.inner.storage.mode
    }

    /// The directory part files are written to (disk modes only).
    pub fn storage_dir(&self) -> Option<&Path> {
        self.inner.storage.dir.as_deref()
    }

    /// Replaces the fault plan with [`Faults::to_plan`] and the link model
    /// with [`Faults::link`]; the decision RNG is re-seeded with
    /// `faults.seed`, so decisions restart from the beginning of the sequence.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.set_faults(faults);
    }

    /// The random fault settings last given to [`FakeServer::set_faults`]
    /// (or the config); see [`FakeServer::fault_plan`] for the plan in force.
    pub fn faults(&self) -> Faults {
        self.inner.faults()
    }

    /// Replaces the fault plan, re-seeds its random draws and restarts the
    /// per-route request counters (`nth` counts from here).
    pub fn set_fault_plan(&self, plan: FaultPlan) {
        self.inner.set_fault_plan(plan);
    }

    /// The fault plan in force.
    pub fn fault_plan(&self) -> FaultPlan {
        self.inner.fault_plan()
    }

    /// Every fault injected since the server started, in order of injection.
    pub fn injected(&self) -> Vec<InjectedFault> {
        self.inner.injected()
    }

    /// Replaces the link model (latency and bandwidth caps).
    pub fn set_link(&self, link: LinkModel) {
        self.inner.set_link(link);
    }

    /// The link model in force.
    pub fn link(&self) -> LinkModel {
        self.inner.link()
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
        self.inner.store.snapshot(id)
    }

    /// Snapshots of every upload, in creation order.
    pub fn uploads(&self) -> Vec<UploadSnapshot> {
        self.inner.store.snapshots()
    }

    /// The assembled content of a completed upload: its parts concatenated
    /// in `part_ids` order. Only with [`Storage::Disk`] / [`Storage::DiskAt`];
    /// reads everything into memory, so use it for small test files.
    pub fn read_content(&self, id: &str) -> io::Result<Vec<u8>> {
        self.inner
            .storage
            .read_all(&self.inner.store.content_paths(id)?)
    }

    /// The server's clock; advance it to expire uploads, or give it a signed
    /// offset ([`FakeClock::set_offset_secs`]) to skew it either way.
    pub fn clock(&self) -> &FakeClock {
        self.inner.clock()
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

    /// Waits until at most `n` part requests are in flight (e.g. until the
    /// requests a fault stalled have ended because their clients hung up).
    pub async fn wait_for_parts_in_flight_at_most(&self, n: usize) {
        let mut rx = self.inner.in_flight.subscribe();
        let _ = rx.wait_for(|v| *v <= n).await;
    }

    /// Waits until at least `n` requests to `route` have arrived (as [`Stats::requests`] counts
    /// them, since the last [`reset_stats`](Self::reset_stats)), e.g. until a client's cancel has
    /// reached the server, whatever the fault plan does to it.
    pub async fn wait_for_requests(&self, route: Route, n: u64) {
        let mut rx = self.inner.requests_seen.subscribe();
        loop {
            // Mark the current version seen before checking, so no request is missed.
            rx.borrow_and_update();
            if self.stats().requests.get(route) >= n {
                return;
            }
            // The sender lives in `self.inner`, so this only waits.
            let _ = rx.changed().await;
        }
    }

    /// Waits until upload `id` exists and `pred` holds for its snapshot (re-checked after every
    /// state change), e.g. until a client's background cancel has arrived. Returns the snapshot.
    pub async fn wait_for_upload(
        &self,
        id: &str,
        mut pred: impl FnMut(&UploadSnapshot) -> bool,
    ) -> UploadSnapshot {
        let mut rx = self.inner.store.changes.subscribe();
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
    inner: Arc<Service>,
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
