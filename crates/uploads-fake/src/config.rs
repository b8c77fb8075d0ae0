//! Server configuration: storage mode, limits, and the random-fraction form of faults.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::{Fault, FaultPlan};
use crate::link::LinkModel;
use crate::router::Operation;

/// The API key the fake accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str = "sk-fake-uploads";
/// Default maximum size of one part: 64 MiB, like the real API.
pub const DEFAULT_MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// Default maximum size of one upload: 8 GiB, like the real API.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// Default lifetime of a pending upload: one hour, like the real API.
pub const DEFAULT_UPLOAD_TTL: Duration = Duration::from_secs(3600);

/// Where (and whether) part bytes are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Storage {
    /// Parts are streamed to files in a temporary directory owned by the
    /// server and removed when the server is dropped. Full verification:
    /// per-part sha256, md5 check at complete, content hashes and
    /// [`FakeServer::read_content`](crate::FakeServer::read_content).
    #[default]
    Disk,
    /// Like [`Storage::Disk`] but in the given directory (created if missing,
    /// never removed by the server). Part files are named `<part_id>.part`.
    DiskAt(PathBuf),
    /// Throughput mode: part bytes are hashed (sha256 per part) and dropped.
    /// The `md5` given at complete is NOT verified (it cannot be: the bytes
    /// are gone), content hashes are `None`, `read_content` fails.
    HashOnly,
    /// Raw ingest mode: part bytes are only counted. No per-part sha256, no
    /// md5 check, no content hashes, `read_content` fails.
    Discard,
}

impl Storage {
    /// Whether this mode keeps the part bytes on disk.
    pub fn keeps_bytes(&self) -> bool {
        matches!(self, Storage::Disk | Storage::DiskAt(_))
    }

    /// Whether this mode computes a sha256 for every part.
    pub fn hashes_parts(&self) -> bool {
        !matches!(self, Storage::Discard)
    }
}

/// How a 429 response tells the client when to retry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryHint {
    /// No retry header at all.
    None,
    /// `retry-after-ms: <milliseconds>` (what the OpenAI API sends).
    #[default]
    Millis,
    /// `Retry-After: <seconds>` (delay rounded up to whole seconds).
    Seconds,
    /// `Retry-After: <HTTP-date>` (fake clock now + delay, rounded up to the
    /// next whole second).
    HttpDate,
}

/// Random fault fractions, the simple form of a [`FaultPlan`]. Change them
/// at runtime with [`FakeServer::set_faults`](crate::FakeServer::set_faults).
///
/// They convert into a plan ([`Faults::to_plan`]: one `fraction` rule per
/// kind and listed operation) and a link model ([`Faults::link`]: `latency`
/// and `bandwidth`, which apply to every route).
///
/// For every request to an operation listed in [`Faults::apply_to`], one
/// random number is drawn from `StdRng::seed_from_u64(seed)` in arrival order
/// and compared against the cumulative fractions in this order: `fail_500`,
/// `fail_429`, `drop_connection`, `stall`. So with the same seed and the same
/// request order, the same requests fail. The fractions should sum to at most 1.
///
/// Every fault happens before a part is stored, so a faulted part request
/// never leaves a part behind.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seed of the decision RNG (re-seeded each time faults are set).
    pub seed: u64,
    /// Fraction of requests answered `500` (`type: "server_error"`) after the
    /// request body has been read.
    pub fail_500: f64,
    /// Fraction of requests answered `429` (`type: "requests"`,
    /// `code: "rate_limit_exceeded"`) after the body has been read.
    pub fail_429: f64,
    /// The delay advertised by 429 responses.
    pub retry_after: Duration,
    /// Which header carries the 429 retry delay.
    pub retry_hint: RetryHint,
    /// Fraction of requests whose connection is dropped after roughly half of
    /// the request body has been read, without any response.
    pub drop_connection: f64,
    /// Fraction of requests that hang for [`Faults::stall_for`] before being
    /// handled normally (to exercise client timeouts; [`Fault::Delay`]).
    pub stall: f64,
    /// How long a stalled request hangs.
    pub stall_for: Duration,
    /// Latency added to every request (of every route) before it is handled.
    pub latency: Duration,
    /// Cap on how fast request bodies are read, in bytes per second per
    /// connection (every route).
    pub bandwidth: Option<u64>,
    /// Operations the faults apply to. Default: only `AddPart`.
    pub apply_to: Vec<Operation>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            seed: 0,
            fail_500: 0.0,
            fail_429: 0.0,
            retry_after: Duration::from_millis(100),
            retry_hint: RetryHint::Millis,
            drop_connection: 0.0,
            stall: 0.0,
            stall_for: Duration::from_secs(30),
            latency: Duration::ZERO,
            bandwidth: None,
            apply_to: vec![Operation::AddPart],
        }
    }
}

impl Faults {
    /// No faults at all (same as `Faults::default()`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the RNG seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the fraction of requests answered 500.
    pub fn with_fail_500(mut self, fraction: f64) -> Self {
        self.fail_500 = fraction;
        self
    }

    /// Sets the fraction of requests answered 429 and how the delay is advertised.
    pub fn with_fail_429(mut self, fraction: f64, retry_after: Duration, hint: RetryHint) -> Self {
        self.fail_429 = fraction;
        self.retry_after = retry_after;
        self.retry_hint = hint;
        self
    }

    /// Sets the fraction of requests whose connection is dropped mid-body.
    pub fn with_drop_connection(mut self, fraction: f64) -> Self {
        self.drop_connection = fraction;
        self
    }

    /// Sets the fraction of requests that stall, and for how long.
    pub fn with_stall(mut self, fraction: f64, stall_for: Duration) -> Self {
        self.stall = fraction;
        self.stall_for = stall_for;
        self
    }

    /// Sets the latency added to every affected request.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the body read bandwidth cap in bytes per second.
    pub fn with_bandwidth(mut self, bytes_per_sec: u64) -> Self {
        self.bandwidth = Some(bytes_per_sec);
        self
    }

    /// Sets the operations the faults apply to.
    pub fn with_apply_to(mut self, ops: impl IntoIterator<Item = Operation>) -> Self {
        self.apply_to = ops.into_iter().collect();
        self
    }

    /// The fault plan these fractions stand for: per listed operation, one
    /// `fraction` rule per kind in the order 500, 429, drop, stall.
    pub fn to_plan(&self) -> FaultPlan {
        let kinds = [
            (self.fail_500, Fault::status(500)),
            (
                self.fail_429,
                Fault::rate_limited(self.retry_after, self.retry_hint),
            ),
            (self.drop_connection, Fault::DropMidBody),
            (self.stall, Fault::Delay(self.stall_for)),
        ];
        let mut plan = FaultPlan::new().seed(self.seed);
        for &op in &self.apply_to {
            for (fraction, fault) in &kinds {
                if *fraction > 0.0 {
                    plan = plan.random(op, *fraction, fault.clone());
                }
            }
        }
        plan
    }

    /// The link model of `latency` and `bandwidth` (per connection).
    pub fn link(&self) -> LinkModel {
        LinkModel::new()
            .latency(self.latency)
            .per_connection(self.bandwidth.unwrap_or(0))
    }
}

/// Configuration of a [`FakeServer`](crate::FakeServer).
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The only accepted bearer token. Default [`DEFAULT_API_KEY`].
    pub api_key: String,
    /// Where part bytes go. Default [`Storage::Disk`].
    pub storage: Storage,
    /// Initial random faults (used for whatever `fault_plan` and `link` leave unset).
    /// Default: none.
    pub faults: Faults,
    /// Initial fault plan; `None`: [`Faults::to_plan`] of `faults`.
    pub fault_plan: Option<FaultPlan>,
    /// Initial link model; `None`: [`Faults::link`] of `faults`.
    pub link: Option<LinkModel>,
    /// Initial offset of the server's clock in seconds (negative: behind).
    pub clock_offset_secs: i64,
    /// Largest accepted part. Default 64 MiB.
    pub max_part_bytes: u64,
    /// Largest accepted `bytes` at create. Default 8 GiB.
    pub max_upload_bytes: u64,
    /// How long a pending upload lives. Default one hour.
    pub upload_ttl: Duration,
    /// Port to listen on (on 127.0.0.1). Default 0: an ephemeral port.
    pub port: u16,
    /// When set, a JSON array of [`UploadSnapshot`](crate::UploadSnapshot)
    /// is atomically rewritten to this path after every state change.
    pub state_file: Option<PathBuf>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_string(),
            storage: Storage::Disk,
            faults: Faults::default(),
            fault_plan: None,
            link: None,
            clock_offset_secs: 0,
            max_part_bytes: DEFAULT_MAX_PART_BYTES,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            upload_ttl: DEFAULT_UPLOAD_TTL,
            port: 0,
            state_file: None,
        }
    }
}

impl FakeConfig {
    /// Sets the accepted API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// Sets the storage mode.
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// Sets the initial faults.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the initial fault plan (takes precedence over `faults`' fractions).
    pub fn with_fault_plan(mut self, plan: FaultPlan) -> Self {
        self.fault_plan = Some(plan);
        self
    }

    /// Sets the link model (takes precedence over `faults`' latency and bandwidth).
    pub fn with_link(mut self, link: LinkModel) -> Self {
        self.link = Some(link);
        self
    }

    /// Sets the initial clock offset in seconds (negative: the server runs behind).
    pub fn with_clock_offset_secs(mut self, secs: i64) -> Self {
        self.clock_offset_secs = secs;
        self
    }

    /// The plan the server starts with.
    pub(crate) fn initial_plan(&self) -> FaultPlan {
        self.fault_plan
            .clone()
            .unwrap_or_else(|| self.faults.to_plan())
    }

    /// The link model the server starts with.
    pub(crate) fn initial_link(&self) -> LinkModel {
        self.link.unwrap_or_else(|| self.faults.link())
    }

    /// Sets the maximum part size.
    pub fn with_max_part_bytes(mut self, bytes: u64) -> Self {
        self.max_part_bytes = bytes;
        self
    }

    /// Sets the maximum upload size accepted at create.
    pub fn with_max_upload_bytes(mut self, bytes: u64) -> Self {
        self.max_upload_bytes = bytes;
        self
    }

    /// Sets the lifetime of pending uploads.
    pub fn with_upload_ttl(mut self, ttl: Duration) -> Self {
        self.upload_ttl = ttl;
        self
    }

    /// Sets the port (0 = ephemeral).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the state file rewritten after every state change.
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }
}
