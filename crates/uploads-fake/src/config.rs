//! Server configuration: key, storage, limits, the initial faults, link and
//! clock offset.

use std::path::PathBuf;
use std::time::Duration;

use crate::faults::FaultPlan;
use crate::fractions::Faults;
use crate::link::LinkModel;
use crate::storage::Storage;

/// The API key the fake accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str = "sk-fake-uploads";
/// Default maximum size of one part: 64 MiB, like the real API.
pub const DEFAULT_MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// Default maximum size of one upload: 8 GiB, like the real API.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// Default lifetime of a pending upload: one hour, like the real API.
pub const DEFAULT_UPLOAD_TTL: Duration = Duration::from_secs(3600);

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
