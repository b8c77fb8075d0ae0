//! `uploads-fake`: runs the fake OpenAI Uploads API server from the command line.
//!
//! Prints one JSON line `{"base_url":"http://127.0.0.1:PORT/v1","api_key":"…"}`
//! to stdout, then serves until SIGINT or SIGTERM (or, with
//! `--exit-on-stdin-eof`, until stdin reaches EOF) and exits with status 0.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use uploads_fake::{
    FakeConfig, FakeServer, FaultPlan, Faults, LinkModel, RetryHint, Route, Storage,
    DEFAULT_API_KEY,
};

/// Storage mode names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum StorageArg {
    /// Stream parts to a temporary directory (full verification).
    Disk,
    /// Keep only sizes and sha256 per part (no md5 check at complete).
    Hash,
    /// Only count bytes.
    Discard,
}

/// Retry hint styles on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RetryHintArg {
    /// No retry header.
    None,
    /// `retry-after-ms: N`.
    Ms,
    /// `Retry-After: N` (seconds).
    Seconds,
    /// `Retry-After: <HTTP-date>`.
    Date,
}

/// Route names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RouteArg {
    /// `POST /v1/uploads`
    Create,
    /// `POST /v1/uploads/{id}/parts`
    AddPart,
    /// `POST /v1/uploads/{id}/complete`
    Complete,
    /// `POST /v1/uploads/{id}/cancel`
    Cancel,
    /// `GET /v1/files`
    ListFiles,
    /// `GET /v1/files/{file_id}`
    RetrieveFile,
}

impl From<RouteArg> for Route {
    fn from(r: RouteArg) -> Route {
        match r {
            RouteArg::Create => Route::Create,
            RouteArg::AddPart => Route::AddPart,
            RouteArg::Complete => Route::Complete,
            RouteArg::Cancel => Route::Cancel,
            RouteArg::ListFiles => Route::ListFiles,
            RouteArg::RetrieveFile => Route::RetrieveFile,
        }
    }
}

/// A fake of the OpenAI Uploads API for tests.
#[derive(Debug, Parser)]
#[command(name = "uploads-fake", version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Accepted API key.
    #[arg(long, default_value = DEFAULT_API_KEY)]
    api_key: String,
    /// Storage mode.
    #[arg(long, value_enum, default_value = "disk")]
    storage: StorageArg,
    /// Directory for part files with `--storage disk` (default: a temporary
    /// directory removed at exit).
    #[arg(long)]
    storage_dir: Option<PathBuf>,
    /// A fault plan as JSON (see the crate README). Replaces the fraction
    /// flags below, which must then stay unset.
    #[arg(long, value_name = "FILE")]
    fault_plan: Option<PathBuf>,
    /// Seed of the fault decision RNG.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fraction of requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    fail_500: f64,
    /// Fraction of requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    fail_429: f64,
    /// Retry delay advertised by 429 responses, in milliseconds.
    #[arg(long, default_value_t = 100)]
    retry_after_ms: u64,
    /// Header style of the 429 retry delay.
    #[arg(long, value_enum, default_value = "ms")]
    retry_hint: RetryHintArg,
    /// Fraction of requests whose connection is dropped mid-body.
    #[arg(long = "drop", default_value_t = 0.0)]
    drop_fraction: f64,
    /// Fraction of requests that are held for `--stall-ms` before being handled.
    #[arg(long, default_value_t = 0.0)]
    stall: f64,
    /// How long a stalled request is held, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    stall_ms: u64,
    /// Routes the fraction flags apply to.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "add-part")]
    faults_apply_to: Vec<RouteArg>,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Request body bandwidth cap per connection, in bytes per second.
    #[arg(long)]
    bandwidth: Option<u64>,
    /// One link for all connections, in bytes per second, shared fairly (each
    /// of n bodies crossing it at once gets 1/n).
    #[arg(long)]
    shared_bandwidth: Option<u64>,
    /// Offset of the server's clock in seconds (negative: behind the real clock).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset_secs: i64,
    /// Maximum part size in bytes.
    #[arg(long)]
    max_part_bytes: Option<u64>,
    /// Rewrite a JSON array of upload snapshots to this path after every
    /// state change.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Also exit when stdin reaches EOF (for a parent that holds a pipe).
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

impl Args {
    fn config(self) -> Result<FakeConfig, String> {
        let storage = match (self.storage, self.storage_dir) {
            (StorageArg::Disk, None) => Storage::Disk,
            (StorageArg::Disk, Some(dir)) => Storage::DiskAt(dir),
            (StorageArg::Hash, _) => Storage::HashOnly,
            (StorageArg::Discard, _) => Storage::Discard,
        };
        let retry_hint = match self.retry_hint {
            RetryHintArg::None => RetryHint::None,
            RetryHintArg::Ms => RetryHint::Millis,
            RetryHintArg::Seconds => RetryHint::Seconds,
            RetryHintArg::Date => RetryHint::HttpDate,
        };
        let faults = Faults::default()
            .with_seed(self.seed)
            .with_fail_500(self.fail_500)
            .with_fail_429(
                self.fail_429,
                Duration::from_millis(self.retry_after_ms),
                retry_hint,
            )
            .with_drop_connection(self.drop_fraction)
            .with_stall(self.stall, Duration::from_millis(self.stall_ms))
            .with_apply_to(self.faults_apply_to.into_iter().map(Route::from));
        let mut plan = faults.to_plan();
        if let Some(path) = &self.fault_plan {
            if !plan.is_empty() {
                return Err(
                    "--fault-plan replaces the fraction flags; give one or the other".into(),
                );
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            plan = FaultPlan::from_json(&text)
                .map_err(|e| format!("invalid fault plan {}: {e}", path.display()))?;
        }
        let link = LinkModel::new()
            .latency(Duration::from_millis(self.latency_ms))
            .per_connection(self.bandwidth.unwrap_or(0))
            .shared(self.shared_bandwidth.unwrap_or(0));
        let mut config = FakeConfig::default()
            .with_port(self.port)
            .with_api_key(self.api_key)
            .with_storage(storage)
            .with_faults(faults)
            .with_fault_plan(plan)
            .with_link(link)
            .with_clock_offset_secs(self.clock_offset_secs);
        if let Some(max) = self.max_part_bytes {
            config = config.with_max_part_bytes(max);
        }
        if let Some(path) = self.state_file {
            config = config.with_state_file(path);
        }
        Ok(config)
    }
}

/// Resolves on SIGINT or SIGTERM (SIGINT only where there is no SIGTERM).
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Resolves when stdin reaches EOF (or fails).
async fn stdin_eof() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let _ = rx.await;
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("uploads-fake: {message}");
    std::process::exit(1);
}

fn main() {
    let args = Args::parse();
    let exit_on_eof = args.exit_on_stdin_eof;
    let config = args.config().unwrap_or_else(|e| fail(e));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(e));
    runtime.block_on(async move {
        let server = FakeServer::start_with(config)
            .await
            .unwrap_or_else(|e| fail(format!("failed to start: {e}")));
        let line = serde_json::json!({
            "base_url": server.base_url(),
            "api_key": server.api_key(),
        });
        {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                std::process::exit(1);
            }
        }
        tokio::select! {
            _ = termination() => {}
            _ = stdin_eof(), if exit_on_eof => {}
        }
        server.shutdown().await;
    });
}
