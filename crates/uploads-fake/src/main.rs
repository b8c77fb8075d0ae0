//! `uploads-fake`: runs the fake OpenAI Uploads API server from the command line.
//!
//! Prints one JSON line `{"base_url":"http://127.0.0.1:PORT/v1","api_key":"…"}`
//! to stdout, then serves until killed or until stdin reaches EOF.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use uploads_fake::{FakeConfig, FakeServer, Faults, RetryHint, Storage, DEFAULT_API_KEY};

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
    /// Seed of the fault decision RNG.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fraction of part requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    fail_500: f64,
    /// Fraction of part requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    fail_429: f64,
    /// Retry delay advertised by 429 responses, in milliseconds.
    #[arg(long, default_value_t = 100)]
    retry_after_ms: u64,
    /// Header style of the 429 retry delay.
    #[arg(long, value_enum, default_value = "ms")]
    retry_hint: RetryHintArg,
    /// Fraction of part requests whose connection is dropped mid-body.
    #[arg(long = "drop", default_value_t = 0.0)]
    drop_fraction: f64,
    /// Fraction of part requests that stall for `--stall-ms`.
    #[arg(long, default_value_t = 0.0)]
    stall: f64,
    /// How long a stalled request hangs, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    stall_ms: u64,
    /// Latency added to every part request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Request body bandwidth cap in bytes per second.
    #[arg(long)]
    bandwidth: Option<u64>,
    /// Maximum part size in bytes.
    #[arg(long)]
    max_part_bytes: Option<u64>,
    /// Rewrite a JSON array of upload snapshots to this path after every
    /// state change.
    #[arg(long)]
    state_file: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let storage = match (args.storage, args.storage_dir) {
        (StorageArg::Disk, None) => Storage::Disk,
        (StorageArg::Disk, Some(dir)) => Storage::DiskAt(dir),
        (StorageArg::Hash, _) => Storage::HashOnly,
        (StorageArg::Discard, _) => Storage::Discard,
    };
    let retry_hint = match args.retry_hint {
        RetryHintArg::None => RetryHint::None,
        RetryHintArg::Ms => RetryHint::Millis,
        RetryHintArg::Seconds => RetryHint::Seconds,
        RetryHintArg::Date => RetryHint::HttpDate,
    };
    let mut faults = Faults::default()
        .with_seed(args.seed)
        .with_fail_500(args.fail_500)
        .with_fail_429(
            args.fail_429,
            Duration::from_millis(args.retry_after_ms),
            retry_hint,
        )
        .with_drop_connection(args.drop_fraction)
        .with_stall(args.stall, Duration::from_millis(args.stall_ms))
        .with_latency(Duration::from_millis(args.latency_ms));
    faults.bandwidth = args.bandwidth;
    let mut config = FakeConfig::default()
        .with_port(args.port)
        .with_api_key(args.api_key)
        .with_storage(storage)
        .with_faults(faults);
    if let Some(max) = args.max_part_bytes {
        config = config.with_max_part_bytes(max);
    }
    if let Some(path) = args.state_file {
        config = config.with_state_file(path);
    }

    let server = match FakeServer::start_background(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("uploads-fake: failed to start: {e}");
            std::process::exit(1);
        }
    };
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

    // Serve until stdin reaches EOF (or fails); a kill ends the process anyway.
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 4096];
    while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
    drop(server);
}
