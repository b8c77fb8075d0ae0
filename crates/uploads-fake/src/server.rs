//! The HTTP server: connection handling, routing, fault injection and the
//! four API operations.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use md5::Digest as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::clock::FakeClock;
use crate::config::{FakeConfig, Faults, Operation, RetryHint, Storage};
use crate::error::{invalid_type, invalid_value, missing, unknown_argument, ApiError};
use crate::state::{Counters, FileObject, Part, Stats, Upload, UploadSnapshot, UploadStatus};

/// Purposes accepted at create.
const PURPOSES: &[&str] = &[
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];
/// Largest JSON body accepted.
const MAX_JSON_BODY: usize = 1024 * 1024;
/// How much of a body is drained (read and thrown away) before an early error
/// response, so clients see the response rather than a reset connection.
const DRAIN_EXTRA: u64 = 1024 * 1024;

type Body = Full<Bytes>;

/// Faults currently in force plus the decision RNG.
struct FaultState {
    faults: Faults,
    rng: StdRng,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Pass,
    Fail500,
    Fail429,
    Drop,
    Stall,
}

/// The fault plan of one request.
struct Plan {
    decision: Decision,
    latency: Duration,
    bandwidth: Option<u64>,
    stall_for: Duration,
    retry_after: Duration,
    retry_hint: RetryHint,
}

/// State shared by the server tasks and the [`crate::FakeServer`] handle.
pub(crate) struct Inner {
    pub api_key: String,
    pub storage: Storage,
    pub storage_dir: Option<PathBuf>,
    _temp_dir: Option<tempfile::TempDir>,
    pub max_part_bytes: u64,
    pub max_upload_bytes: u64,
    pub upload_ttl: Duration,
    pub state_file: Option<PathBuf>,
    pub clock: FakeClock,
    uploads: Mutex<HashMap<String, Upload>>,
    upload_seq: AtomicU64,
    faults: Mutex<FaultState>,
    counters: Mutex<Counters>,
    pub in_flight: watch::Sender<usize>,
    max_in_flight: AtomicUsize,
    pub holds: watch::Sender<usize>,
    /// Bumped on every state change, so tests can wait for one instead of polling.
    pub changes: watch::Sender<u64>,
    persist_lock: Mutex<()>,
    request_prefix: u64,
    request_counter: AtomicU64,
}

/// Locks a std mutex, ignoring poisoning (state stays usable after a panic
/// in a test thread).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `prefix` followed by 24 random lowercase hex digits.
fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(rand::random::<[u8; 12]>()))
}

/// Removes files, ignoring errors (they may already be gone).
fn remove_files(paths: impl IntoIterator<Item = PathBuf>) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

impl Inner {
    pub fn new(config: FakeConfig, clock: FakeClock) -> io::Result<Self> {
        let (storage_dir, temp_dir) = match &config.storage {
            Storage::Disk => {
                let dir = tempfile::Builder::new().prefix("uploads-fake-").tempdir()?;
                (Some(dir.path().to_path_buf()), Some(dir))
            }
            Storage::DiskAt(path) => {
                std::fs::create_dir_all(path)?;
                (Some(path.clone()), None)
            }
            Storage::HashOnly | Storage::Discard => (None, None),
        };
        let inner = Self {
            api_key: config.api_key,
            storage: config.storage,
            storage_dir,
            _temp_dir: temp_dir,
            max_part_bytes: config.max_part_bytes,
            max_upload_bytes: config.max_upload_bytes,
            upload_ttl: config.upload_ttl,
            state_file: config.state_file,
            clock,
            uploads: Mutex::new(HashMap::new()),
            upload_seq: AtomicU64::new(0),
            faults: Mutex::new(FaultState {
                rng: StdRng::seed_from_u64(config.faults.seed),
                faults: config.faults,
            }),
            counters: Mutex::new(Counters::default()),
            in_flight: watch::Sender::new(0),
            max_in_flight: AtomicUsize::new(0),
            holds: watch::Sender::new(0),
            changes: watch::Sender::new(0),
            persist_lock: Mutex::new(()),
            request_prefix: rand::random(),
            request_counter: AtomicU64::new(0),
        };
        inner.persist();
        Ok(inner)
    }

    fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("req_{:016x}{:016x}", self.request_prefix, n)
    }

    // ----- faults -----

    pub fn set_faults(&self, faults: Faults) {
        let mut st = lock(&self.faults);
        st.rng = StdRng::seed_from_u64(faults.seed);
        st.faults = faults;
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).faults.clone()
    }

    /// Draws the fault decision for a request to `op` (None if faults do not
    /// apply to it).
    fn plan(&self, op: Operation) -> Option<Plan> {
        let mut st = lock(&self.faults);
        if !st.faults.apply_to.contains(&op) {
            return None;
        }
        let f = &st.faults;
        let any_random =
            f.fail_500 > 0.0 || f.fail_429 > 0.0 || f.drop_connection > 0.0 || f.stall > 0.0;
        let decision = if any_random {
            let r: f64 = st.rng.random();
            let f = &st.faults;
            let mut acc = f.fail_500;
            if r < acc {
                Decision::Fail500
            } else {
                acc += f.fail_429;
                if r < acc {
                    Decision::Fail429
                } else {
                    acc += f.drop_connection;
                    if r < acc {
                        Decision::Drop
                    } else {
                        acc += f.stall;
                        if r < acc {
                            Decision::Stall
                        } else {
                            Decision::Pass
                        }
                    }
                }
            }
        } else {
            Decision::Pass
        };
        let f = &st.faults;
        Some(Plan {
            decision,
            latency: f.latency,
            bandwidth: f.bandwidth.filter(|b| *b > 0),
            stall_for: f.stall_for,
            retry_after: f.retry_after,
            retry_hint: f.retry_hint,
        })
    }

    // ----- stats -----

    pub fn stats(&self) -> Stats {
        let c = lock(&self.counters);
        Stats {
            requests: c.requests,
            faults: c.faults,
            parts_in_flight: *self.in_flight.borrow(),
            max_parts_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            part_bytes_received: c.part_bytes_received,
            part_bytes_stored: c.part_bytes_stored,
            parts_stored: c.parts_stored,
        }
    }

    pub fn reset_stats(&self) {
        let mut c = lock(&self.counters);
        *c = Counters::default();
        self.max_in_flight
            .store(*self.in_flight.borrow(), Ordering::SeqCst);
    }

    fn counters(&self) -> MutexGuard<'_, Counters> {
        lock(&self.counters)
    }

    fn enter_part(self: &Arc<Self>) -> InFlightGuard {
        self.in_flight.send_modify(|n| {
            *n += 1;
            self.max_in_flight.fetch_max(*n, Ordering::SeqCst);
        });
        InFlightGuard(self.clone())
    }

    // ----- state -----

    fn uploads(&self) -> MutexGuard<'_, HashMap<String, Upload>> {
        lock(&self.uploads)
    }

    /// Snapshots of every upload, in creation order, refreshing expiry.
    pub fn snapshots(&self) -> Vec<UploadSnapshot> {
        let now = self.clock.now_unix();
        let mut doomed: Option<Vec<PathBuf>> = None;
        let mut snaps: Vec<(u64, UploadSnapshot)> = {
            let mut map = self.uploads();
            map.values_mut()
                .map(|u| {
                    if let Some(paths) = u.refresh_expiry(now) {
                        doomed.get_or_insert_with(Vec::new).extend(paths);
                    }
                    (u.seq, u.snapshot())
                })
                .collect()
        };
        snaps.sort_by_key(|(seq, _)| *seq);
        if let Some(paths) = doomed {
            self.after_expiry(paths);
        }
        snaps.into_iter().map(|(_, s)| s).collect()
    }

    /// Snapshot of one upload, refreshing expiry.
    pub fn snapshot(&self, id: &str) -> Option<UploadSnapshot> {
        let now = self.clock.now_unix();
        let (snap, doomed) = {
            let mut map = self.uploads();
            let u = map.get_mut(id)?;
            let doomed = u.refresh_expiry(now);
            (u.snapshot(), doomed)
        };
        if let Some(paths) = doomed {
            self.after_expiry(paths);
        }
        Some(snap)
    }

    fn after_expiry(&self, paths: Vec<PathBuf>) {
        // An expiry is a state change even when no files were stored.
        remove_files(paths);
        self.persist();
    }

    /// Called after every state change: wakes [`FakeServer::wait_for_upload`] waiters and
    /// rewrites the state file (if configured) atomically.
    pub fn persist(&self) {
        self.changes.send_modify(|n| *n += 1);
        let Some(path) = &self.state_file else {
            return;
        };
        let _guard = lock(&self.persist_lock);
        let mut snaps: Vec<(u64, UploadSnapshot)> = self
            .uploads()
            .values()
            .map(|u| (u.seq, u.snapshot()))
            .collect();
        snaps.sort_by_key(|(seq, _)| *seq);
        let snaps: Vec<UploadSnapshot> = snaps.into_iter().map(|(_, s)| s).collect();
        let result = (|| -> io::Result<()> {
            let data = serde_json::to_vec_pretty(&snaps)?;
            let mut tmp = path.clone().into_os_string();
            tmp.push(".tmp");
            let tmp = PathBuf::from(tmp);
            std::fs::write(&tmp, data)?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "failed to write state file");
        }
    }

    /// Reads the assembled content of a completed upload (disk modes only).
    pub fn read_content(&self, id: &str) -> io::Result<Vec<u8>> {
        if !self.storage.keeps_bytes() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "content is only kept with Storage::Disk / Storage::DiskAt",
            ));
        }
        let paths = {
            let map = self.uploads();
            let u = map.get(id).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no upload {id}"))
            })?;
            let ids = match (&u.status, &u.completed_part_ids) {
                (UploadStatus::Completed, Some(ids)) => ids,
                _ => {
                    return Err(io::Error::other(format!(
                        "upload {id} is {}, not completed",
                        u.status
                    )))
                }
            };
            ids.iter()
                .map(|pid| {
                    u.part(pid)
                        .and_then(|p| p.path.clone())
                        .ok_or_else(|| io::Error::other(format!("part {pid} has no stored data")))
                })
                .collect::<io::Result<Vec<_>>>()?
        };
        let mut out = Vec::new();
        for p in paths {
            out.extend(std::fs::read(p)?);
        }
        Ok(out)
    }
}

/// Decrements the in-flight gauge when a part request finishes (or is dropped).
struct InFlightGuard(Arc<Inner>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

// ===================================================================
// Connection handling
// ===================================================================

/// Per-connection control: a request handler notifies `abort` to have the
/// connection closed without a response.
#[derive(Clone)]
struct ConnCtx {
    abort: Arc<Notify>,
}

/// Accepts connections until `shutdown` becomes true (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    inner: Arc<Inner>,
    mut shutdown: watch::Receiver<bool>,
) {
    let conn_shutdown = shutdown.clone();
    loop {
        tokio::select! {
            _ = async { shutdown.wait_for(|s| *s).await.map(|_| ()) } => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_conn(stream, inner.clone(), conn_shutdown.clone()));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn serve_conn(stream: TcpStream, inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let ctx = ConnCtx {
        abort: Arc::new(Notify::new()),
    };
    let abort = ctx.abort.clone();
    let svc = service_fn(move |req| {
        let inner = inner.clone();
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(handle(inner, ctx, req).await) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        res = conn => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection error");
            }
        }
        _ = abort.notified() => {
            tracing::debug!("dropping connection (injected fault)");
        }
        _ = async { shutdown.wait_for(|s| *s).await.map(|_| ()) } => {}
    }
}

/// Closes the current connection without answering; never returns.
async fn abort_connection<T>(ctx: &ConnCtx) -> T {
    ctx.abort.notify_one();
    std::future::pending().await
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let data = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(data)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn error_response(err: &ApiError) -> Response<Body> {
    let mut resp = json_response(err.status, &err.body());
    for (name, value) in &err.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(name.clone(), v);
        }
    }
    resp
}

/// The routes of the API.
enum Route {
    Create,
    AddPart(String),
    Complete(String),
    Cancel(String),
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/v1/uploads")?;
        if rest.is_empty() {
            return Some(Route::Create);
        }
        let rest = rest.strip_prefix('/')?;
        let (id, action) = rest.split_once('/')?;
        if id.is_empty() || action.contains('/') {
            return None;
        }
        let id = id.to_string();
        match action {
            "parts" => Some(Route::AddPart(id)),
            "complete" => Some(Route::Complete(id)),
            "cancel" => Some(Route::Cancel(id)),
            _ => None,
        }
    }

    fn op(&self) -> Operation {
        match self {
            Route::Create => Operation::Create,
            Route::AddPart(_) => Operation::AddPart,
            Route::Complete(_) => Operation::Complete,
            Route::Cancel(_) => Operation::Cancel,
        }
    }
}

async fn handle(inner: Arc<Inner>, ctx: ConnCtx, req: Request<Incoming>) -> Response<Body> {
    let request_id = inner.next_request_id();
    let mut resp = match dispatch(&inner, &ctx, req).await {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => {
            tracing::debug!(status = %e.status, message = %e.message, "error response");
            error_response(&e)
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

fn check_auth(inner: &Inner, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "You didn't provide an API key. You need to provide your API key in an \
             Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ));
    };
    let value = value.to_str().unwrap_or("");
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match token {
        Some(t) if t == inner.api_key => Ok(()),
        Some(t) => {
            let shown: String = if t.len() > 8 {
                format!("{}****{}", &t[..3.min(t.len())], &t[t.len() - 4..])
            } else {
                "****".to_string()
            };
            Err(ApiError::unauthorized(format!(
                "Incorrect API key provided: {shown}."
            )))
        }
        None => Err(ApiError::unauthorized(
            "You didn't provide an API key. You need to provide your API key in an \
             Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )),
    }
}

async fn dispatch(
    inner: &Arc<Inner>,
    ctx: &ConnCtx,
    req: Request<Incoming>,
) -> Result<Value, ApiError> {
    let route = Route::parse(req.uri().path());
    let op = route.as_ref().map(Route::op);
    inner.counters().requests.bump(op);
    let gauge = (op == Some(Operation::AddPart)).then(|| inner.enter_part());

    if let Err(e) = check_auth(inner, req.headers()) {
        inner.counters().requests.unauthorized += 1;
        return Err(e);
    }
    let Some(route) = route else {
        return Err(ApiError::not_found(format!(
            "Invalid URL ({} {})",
            req.method(),
            req.uri().path()
        )));
    };
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed(format!(
            "Invalid method for URL ({} {})",
            req.method(),
            req.uri().path()
        )));
    }
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let op = route.op();

    if op == Operation::AddPart {
        // Wait while tests hold part requests (see FakeServer::hold_parts).
        let mut holds = inner.holds.subscribe();
        let _ = holds.wait_for(|n| *n == 0).await;
    }

    let plan = inner.plan(op);
    let mut body = ReqBody::new(body, plan.as_ref().and_then(|p| p.bandwidth));
    if let Some(plan) = &plan {
        if !plan.latency.is_zero() {
            tokio::time::sleep(plan.latency).await;
        }
        match plan.decision {
            Decision::Pass => {}
            Decision::Stall => {
                inner.counters().faults.stalled += 1;
                tokio::time::sleep(plan.stall_for).await;
            }
            Decision::Fail500 => {
                inner.counters().faults.server_error += 1;
                body.drain(u64::MAX).await;
                return Err(ApiError::server_error(
                    "The server had an error while processing your request. Sorry about that!",
                ));
            }
            Decision::Fail429 => {
                inner.counters().faults.rate_limited += 1;
                body.drain(u64::MAX).await;
                return Err(rate_limited(inner, plan));
            }
            Decision::Drop => {
                inner.counters().faults.dropped += 1;
                let half = content_length(&headers).map(|n| n / 2).unwrap_or(1);
                body.drain(half.max(1)).await;
                // Leave the gauge before the client can observe the drop.
                drop(gauge);
                return abort_connection(ctx).await;
            }
        }
    }

    match route {
        Route::Create => create(inner, body).await,
        Route::AddPart(id) => add_part(inner, &id, &headers, body).await,
        Route::Complete(id) => complete(inner, &id, body).await,
        Route::Cancel(id) => {
            body.drain(DRAIN_EXTRA).await;
            cancel(inner, &id)
        }
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn rate_limited(inner: &Inner, plan: &Plan) -> ApiError {
    let err = ApiError::rate_limited(
        "Rate limit reached for requests (injected by uploads-fake). Please try again later.",
    );
    let delay = plan.retry_after;
    match plan.retry_hint {
        RetryHint::None => err,
        RetryHint::Millis => err.with_header(
            hyper::header::HeaderName::from_static("retry-after-ms"),
            delay.as_millis().to_string(),
        ),
        RetryHint::Seconds => {
            let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            err.with_header(hyper::header::RETRY_AFTER, secs.to_string())
        }
        RetryHint::HttpDate => {
            let at = inner.clock.now() + delay;
            let secs = at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                .unwrap_or(0);
            let at = UNIX_EPOCH + Duration::from_secs(secs);
            err.with_header(hyper::header::RETRY_AFTER, httpdate::fmt_http_date(at))
        }
    }
}

// ===================================================================
// Request bodies
// ===================================================================

/// A request body read chunk by chunk, optionally throttled.
struct ReqBody {
    body: Incoming,
    bandwidth: Option<u64>,
    started: Instant,
    read: u64,
}

impl ReqBody {
    fn new(body: Incoming, bandwidth: Option<u64>) -> Self {
        Self {
            body,
            bandwidth,
            started: Instant::now(),
            read: 0,
        }
    }

    /// The next data chunk, `None` at the end.
    async fn chunk(&mut self) -> Option<Result<Bytes, hyper::Error>> {
        loop {
            let frame = match self.body.frame().await? {
                Ok(f) => f,
                Err(e) => return Some(Err(e)),
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            self.read += data.len() as u64;
            if let Some(rate) = self.bandwidth {
                let due = self.started + Duration::from_secs_f64(self.read as f64 / rate as f64);
                tokio::time::sleep_until(due).await;
            }
            return Some(Ok(data));
        }
    }

    /// Reads and discards up to about `limit` bytes (stops early on error).
    async fn drain(&mut self, limit: u64) {
        let start = self.read;
        while self.read - start < limit {
            match self.chunk().await {
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    }

    /// Reads the whole body as JSON.
    async fn json(&mut self) -> Result<Value, ApiError> {
        let mut buf = Vec::new();
        while let Some(chunk) = self.chunk().await {
            let chunk =
                chunk.map_err(|e| ApiError::invalid(format!("Failed to read body: {e}")))?;
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_JSON_BODY {
                return Err(ApiError::invalid("Request body too large."));
            }
        }
        serde_json::from_slice(&buf).map_err(|_| {
            ApiError::invalid(
                "We could not parse the JSON body of your request. (HINT: This likely means \
                 you aren't using your HTTP library correctly. The OpenAI API expects a JSON \
                 payload, but what was sent was not valid JSON.)",
            )
        })
    }

    fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<Bytes, hyper::Error>> + Send + 'static {
        futures_util::stream::unfold(self, |mut body| async move {
            body.chunk().await.map(|c| (c, body))
        })
    }
}

// ===================================================================
// Operations
// ===================================================================

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], prefix: &str) -> Result<(), ApiError> {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(unknown_argument(&format!("{prefix}{key}")));
        }
    }
    Ok(())
}

fn require_object(v: &Value) -> Result<&Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid request body: expected a JSON object, but got {} instead.",
            crate::error::type_name(v)
        ))
    })
}

fn required_string(obj: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(invalid_type(name, "a string", other)),
    }
}

fn required_integer(obj: &Map<String, Value>, name: &str) -> Result<i128, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::Number(n)) if n.is_u64() => Ok(i128::from(n.as_u64().unwrap_or(0))),
        Some(Value::Number(n)) if n.is_i64() => Ok(i128::from(n.as_i64().unwrap_or(0))),
        Some(other) => Err(invalid_type(name, "an integer", other)),
    }
}

async fn create(inner: &Arc<Inner>, mut body: ReqBody) -> Result<Value, ApiError> {
    let value = body.json().await?;
    let obj = require_object(&value)?;
    check_keys(
        obj,
        &["filename", "purpose", "bytes", "mime_type", "expires_after"],
        "",
    )?;
    let filename = required_string(obj, "filename")?;
    if filename.is_empty() {
        return Err(invalid_value("filename", "must be a non-empty string."));
    }
    let purpose = required_string(obj, "purpose")?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(invalid_value(
            "purpose",
            format!(
                "'{purpose}'. Supported values are: 'assistants', 'batch', 'fine-tune', \
                 'vision', 'user_data', and 'evals'."
            ),
        ));
    }
    let bytes = required_integer(obj, "bytes")?;
    let max = inner.max_upload_bytes;
    if bytes < 1 || bytes > i128::from(max) {
        return Err(invalid_value(
            "bytes",
            format!("{bytes}. Must be between 1 and {max}."),
        ));
    }
    let bytes = bytes as u64;
    let mime_type = required_string(obj, "mime_type")?;
    if mime_type.is_empty() {
        return Err(invalid_value("mime_type", "must be a non-empty string."));
    }
    let file_expires_after = match obj.get("expires_after") {
        None | Some(Value::Null) => None,
        Some(Value::Object(ea)) => {
            check_keys(ea, &["anchor", "seconds"], "expires_after.")?;
            let anchor = match ea.get("anchor") {
                None | Some(Value::Null) => return Err(missing("expires_after.anchor")),
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(invalid_type("expires_after.anchor", "a string", other)),
            };
            if anchor != "created_at" {
                return Err(invalid_value(
                    "expires_after.anchor",
                    format!("'{anchor}'. Supported values are: 'created_at'."),
                ));
            }
            let seconds = match ea.get("seconds") {
                None | Some(Value::Null) => return Err(missing("expires_after.seconds")),
                Some(Value::Number(n)) if n.is_u64() || n.is_i64() => {
                    n.as_i64().map(i128::from).unwrap_or(i128::MAX)
                }
                Some(other) => {
                    return Err(invalid_type("expires_after.seconds", "an integer", other))
                }
            };
            if !(3600..=2_592_000).contains(&seconds) {
                return Err(invalid_value(
                    "expires_after.seconds",
                    format!("{seconds}. Must be between 3600 and 2592000."),
                ));
            }
            Some(seconds as u64)
        }
        Some(other) => return Err(invalid_type("expires_after", "an object", other)),
    };

    let now = inner.clock.now_unix();
    let upload = Upload {
        seq: inner.upload_seq.fetch_add(1, Ordering::Relaxed),
        id: new_id("upload_"),
        status: UploadStatus::Pending,
        bytes,
        filename,
        purpose,
        mime_type,
        created_at: now,
        expires_at: now + inner.upload_ttl.as_secs(),
        file_expires_after,
        parts: Vec::new(),
        part_index: HashMap::new(),
        completing: false,
        completed_part_ids: None,
        file: None,
        content_sha256: None,
        content_md5: None,
    };
    let json = upload.to_json();
    inner.uploads().insert(upload.id.clone(), upload);
    inner.persist();
    Ok(json)
}

/// Finds a pending, unexpired upload; `action` is used in messages. When
/// the check makes the upload expire, the part files to delete are put in
/// `expired` (the caller calls [`Inner::after_expiry`] once unlocked).
fn check_pending(
    inner: &Inner,
    map: &mut HashMap<String, Upload>,
    id: &str,
    action: &str,
    expired: &mut Option<Vec<PathBuf>>,
) -> Result<(), ApiError> {
    let now = inner.clock.now_unix();
    let Some(u) = map.get_mut(id) else {
        return Err(ApiError::not_found(format!(
            "No upload found with id '{id}'."
        )));
    };
    if let Some(paths) = u.refresh_expiry(now) {
        *expired = Some(paths);
        return Err(ApiError::invalid(format!(
            "Cannot {action} upload {id} because it has expired (status 'expired')."
        )));
    }
    if u.status != UploadStatus::Pending {
        return Err(ApiError::invalid(format!(
            "Cannot {action} upload {id} because its status is '{}'.",
            u.status
        )));
    }
    if u.completing {
        return Err(ApiError::invalid(format!(
            "Cannot {action} upload {id} because it is being completed."
        )));
    }
    Ok(())
}

/// Runs `check_pending` under the lock and handles an expiry it triggers.
fn ensure_pending(inner: &Inner, id: &str, action: &str) -> Result<(), ApiError> {
    let mut expired = None;
    let res = check_pending(inner, &mut inner.uploads(), id, action, &mut expired);
    if let Some(paths) = expired {
        inner.after_expiry(paths);
    }
    res
}

/// Where the bytes of a part being received go.
struct PartSink {
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    path: Option<PathBuf>,
    sha: Option<Sha256>,
    size: u64,
    committed: bool,
}

impl PartSink {
    async fn new(inner: &Inner, part_id: &str) -> io::Result<Self> {
        let (file, path) = match &inner.storage_dir {
            Some(dir) if inner.storage.keeps_bytes() => {
                let path = dir.join(format!("{part_id}.part"));
                let f = tokio::fs::File::create(&path).await?;
                (
                    Some(tokio::io::BufWriter::with_capacity(1 << 20, f)),
                    Some(path),
                )
            }
            _ => (None, None),
        };
        Ok(Self {
            file,
            path,
            sha: inner.storage.hashes_parts().then(Sha256::new),
            size: 0,
            committed: false,
        })
    }

    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.size += data.len() as u64;
        if let Some(sha) = &mut self.sha {
            sha.update(data);
        }
        if let Some(f) = &mut self.file {
            f.write_all(data).await?;
        }
        Ok(())
    }

    async fn finish(&mut self) -> io::Result<Option<String>> {
        if let Some(f) = &mut self.file {
            f.flush().await?;
        }
        self.file = None;
        Ok(self.sha.take().map(|s| hex::encode(s.finalize())))
    }
}

impl Drop for PartSink {
    fn drop(&mut self) {
        if !self.committed {
            self.file = None;
            if let Some(p) = self.path.take() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

async fn add_part(
    inner: &Arc<Inner>,
    id: &str,
    headers: &HeaderMap,
    mut body: ReqBody,
) -> Result<Value, ApiError> {
    if let Err(e) = ensure_pending(inner, id, "add a part to") {
        body.drain(inner.max_part_bytes.saturating_add(DRAIN_EXTRA))
            .await;
        return Err(e);
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = match multer::parse_boundary(content_type) {
        Ok(b) => b,
        Err(_) => {
            body.drain(inner.max_part_bytes.saturating_add(DRAIN_EXTRA))
                .await;
            return Err(ApiError::invalid(format!(
                "Invalid Content-Type header ({content_type:?}): expected multipart/form-data \
                 with a boundary."
            )));
        }
    };

    let part_id = new_id("part_");
    let mut sink = PartSink::new(inner, &part_id)
        .await
        .map_err(|e| ApiError::server_error(format!("Failed to store part: {e}")))?;
    let mut multipart = multer::Multipart::new(body.into_stream(), boundary);
    let mut found = false;
    let max = inner.max_part_bytes;
    let bad_multipart = |e: multer::Error| {
        ApiError::invalid(format!("Could not parse multipart form: {e}")).with_param("data")
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        let name = field.name().unwrap_or("").to_string();
        if name != "data" {
            return Err(unknown_argument(&name));
        }
        if found {
            return Err(
                ApiError::invalid("Expected exactly one 'data' field, got several.")
                    .with_param("data"),
            );
        }
        found = true;
        while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
            inner.counters().part_bytes_received += chunk.len() as u64;
            if sink.size + chunk.len() as u64 > max {
                return Err(ApiError::invalid(format!(
                    "Part is too large: the maximum part size is {max} bytes."
                ))
                .with_param("data"));
            }
            sink.write(&chunk)
                .await
                .map_err(|e| ApiError::server_error(format!("Failed to store part: {e}")))?;
        }
    }
    if !found {
        return Err(missing("data"));
    }
    if sink.size == 0 {
        return Err(invalid_value("data", "the part is empty.").with_code("empty_file"));
    }
    let sha256 = sink
        .finish()
        .await
        .map_err(|e| ApiError::server_error(format!("Failed to store part: {e}")))?;

    // Commit, re-checking the upload (it may have been cancelled meanwhile).
    let now = inner.clock.now_unix();
    let mut expired = None;
    let result = {
        let mut map = inner.uploads();
        match check_pending(inner, &mut map, id, "add a part to", &mut expired) {
            Err(e) => Err(e),
            Ok(()) => {
                let u = map.get_mut(id).expect("checked above");
                let idx = u.parts.len();
                u.parts.push(Part {
                    id: part_id.clone(),
                    size: sink.size,
                    sha256,
                    created_at: now,
                    path: sink.path.clone(),
                });
                u.part_index.insert(part_id.clone(), idx);
                sink.committed = true;
                Ok(())
            }
        }
    };
    if let Some(paths) = expired {
        inner.after_expiry(paths);
    }
    result?;
    {
        let mut c = inner.counters();
        c.parts_stored += 1;
        c.part_bytes_stored += sink.size;
    }
    inner.persist();
    Ok(json!({
        "id": part_id,
        "object": "upload.part",
        "created_at": now,
        "upload_id": id,
    }))
}

/// Clears the `completing` flag unless disarmed (e.g. when the complete
/// request is dropped while hashing).
struct CompletingGuard<'a> {
    inner: &'a Inner,
    id: &'a str,
    armed: bool,
}

impl Drop for CompletingGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(u) = self.inner.uploads().get_mut(self.id) {
                u.completing = false;
            }
        }
    }
}

/// Streams the files in order and returns (sha256, md5) in lowercase hex.
fn hash_files(paths: &[PathBuf]) -> io::Result<(String, String)> {
    use std::io::Read;
    let mut sha = Sha256::new();
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    for p in paths {
        let mut f = std::fs::File::open(p)?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
            md5.update(&buf[..n]);
        }
    }
    Ok((hex::encode(sha.finalize()), hex::encode(md5.finalize())))
}

async fn complete(inner: &Arc<Inner>, id: &str, mut body: ReqBody) -> Result<Value, ApiError> {
    let value = body.json().await?;
    let obj = require_object(&value)?;
    check_keys(obj, &["part_ids", "md5"], "")?;
    let part_ids: Vec<String> = match obj.get("part_ids") {
        None | Some(Value::Null) => return Err(missing("part_ids")),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_type(&format!("part_ids[{i}]"), "a string", other)),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(invalid_type("part_ids", "an array", other)),
    };
    let md5_given = match obj.get("md5") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(invalid_type("md5", "a string", other)),
    };

    // Phase 1: validate and mark as completing.
    let paths = {
        let mut map = inner.uploads();
        let mut expired = None;
        if let Err(e) = check_pending(inner, &mut map, id, "complete", &mut expired) {
            drop(map);
            if let Some(paths) = expired {
                inner.after_expiry(paths);
            }
            return Err(e);
        }
        let u = map.get_mut(id).expect("checked above");
        if part_ids.is_empty() {
            return Err(
                invalid_value("part_ids", "must contain at least one part id.")
                    .with_code("invalid_value"),
            );
        }
        let mut seen = HashSet::new();
        let mut total: u64 = 0;
        let mut paths = Vec::with_capacity(part_ids.len());
        for pid in &part_ids {
            let Some(part) = u.part(pid) else {
                return Err(ApiError::invalid(format!(
                    "Part '{pid}' does not belong to upload {id}."
                ))
                .with_param("part_ids"));
            };
            if !seen.insert(pid.as_str()) {
                return Err(ApiError::invalid(format!(
                    "Part '{pid}' is listed more than once in part_ids."
                ))
                .with_param("part_ids"));
            }
            total += part.size;
            if let Some(p) = &part.path {
                paths.push(p.clone());
            }
        }
        if total != u.bytes {
            return Err(ApiError::invalid(format!(
                "The listed parts contain {total} bytes, but the upload was created with \
                 bytes={}. The total size of the parts must equal the bytes specified at creation.",
                u.bytes
            ))
            .with_param("part_ids"));
        }
        u.completing = true;
        paths
    };
    let mut guard = CompletingGuard {
        inner,
        id,
        armed: true,
    };

    // Phase 2: hash the content (disk modes only).
    let hashes = if inner.storage.keeps_bytes() {
        let h = tokio::task::spawn_blocking(move || hash_files(&paths))
            .await
            .map_err(|e| ApiError::server_error(format!("Hashing failed: {e}")))?
            .map_err(|e| ApiError::server_error(format!("Could not read parts: {e}")))?;
        if let Some(given) = &md5_given {
            if !given.eq_ignore_ascii_case(&h.1) {
                return Err(ApiError::invalid(format!(
                    "The md5 checksum provided ({given}) does not match the md5 of the \
                     uploaded parts ({}).",
                    h.1
                ))
                .with_param("md5"));
            }
        }
        Some(h)
    } else {
        None
    };

    // Phase 3: commit.
    let (json, unused) = {
        let mut map = inner.uploads();
        let u = map
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("No upload found with id '{id}'.")))?;
        guard.armed = false;
        u.completing = false;
        let now = inner.clock.now_unix();
        u.status = UploadStatus::Completed;
        u.file = Some(FileObject {
            id: new_id("file-"),
            bytes: u.bytes,
            created_at: now,
            expires_at: u.file_expires_after.map(|s| now + s),
        });
        if let Some((sha, md5)) = hashes {
            u.content_sha256 = Some(sha);
            u.content_md5 = Some(md5);
        }
        let used: HashSet<&str> = part_ids.iter().map(String::as_str).collect();
        let unused: Vec<PathBuf> = u
            .parts
            .iter_mut()
            .filter(|p| !used.contains(p.id.as_str()))
            .filter_map(|p| p.path.take())
            .collect();
        u.completed_part_ids = Some(part_ids);
        (u.to_json(), unused)
    };
    remove_files(unused);
    inner.persist();
    Ok(json)
}

fn cancel(inner: &Arc<Inner>, id: &str) -> Result<Value, ApiError> {
    let now = inner.clock.now_unix();
    let (result, doomed) = {
        let mut map = inner.uploads();
        let Some(u) = map.get_mut(id) else {
            return Err(ApiError::not_found(format!(
                "No upload found with id '{id}'."
            )));
        };
        if let Some(paths) = u.refresh_expiry(now) {
            (
                Err(ApiError::invalid(format!(
                    "Cannot cancel upload {id} because it has expired (status 'expired')."
                ))),
                Some(paths),
            )
        } else {
            match u.status {
                UploadStatus::Cancelled => (Ok((u.to_json(), false)), None),
                UploadStatus::Pending if u.completing => (
                    Err(ApiError::invalid(format!(
                        "Cannot cancel upload {id} because it is being completed."
                    ))),
                    None,
                ),
                UploadStatus::Pending => {
                    u.status = UploadStatus::Cancelled;
                    let paths = u.take_part_paths();
                    (Ok((u.to_json(), true)), Some(paths))
                }
                status => (
                    Err(ApiError::invalid(format!(
                        "Cannot cancel upload {id} because its status is '{status}'."
                    ))),
                    None,
                ),
            }
        }
    };
    if let Some(paths) = doomed {
        remove_files(paths);
        inner.persist();
    }
    result.map(|(json, _)| json)
}
