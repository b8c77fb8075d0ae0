//! `openai-uploads demo`: a self-contained, verified upload against an embedded fake API.
//!
//! Starts [`uploads_fake::FakeServer`] on 127.0.0.1, writes a temporary file of pseudo-random
//! bytes (hashing it with sha256 as it is written), uploads it with the SDK exactly as `upload`
//! would, then checks that the sha256 of the content the server assembled from the parts equals
//! the local one. Needs no API key and no network; cleans up after itself.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::HumanBytes;
use sha2::{Digest, Sha256};
use uploads_ext::limits::{DEFAULT_CONCURRENCY, MAX_UPLOAD_BYTES};
use uploads_ext::upload::auto_part_size;
use uploads_ext::RetryPolicy;
use uploads_ext::{Client, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Faults, RetryHint};

use crate::args::DemoArgs;
use crate::duration::human_duration;
use crate::failure::Failure;
use crate::interrupt::Interrupt;
use crate::outcome::{self, Context};
use crate::output::{print_stdout, to_json};
use crate::progress::Tracker;
use crate::size::MIB;

/// Seed of the fault decisions with `--faults`, so that runs are comparable.
pub const FAULT_SEED: u64 = 7;
/// Retry policy with `--faults`: more retries than the default 2 (which could, rarely, give up
/// on a part) and shorter backoff, so that the demo stays quick.
pub fn fault_retry_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .max_retries(6)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(1))
        .build()
}

/// Runs the demo.
pub async fn demo(args: DemoArgs) -> Result<(), Failure> {
    if args.size > MAX_UPLOAD_BYTES {
        return Err(Failure::invalid_input(format!(
            "--size may be at most 8 GiB ({MAX_UPLOAD_BYTES} bytes), got {}",
            args.size
        )));
    }
    let faults = if args.faults {
        Faults::default()
            .with_seed(FAULT_SEED)
            .with_fail_500(0.15)
            .with_fail_429(0.1, Duration::from_millis(200), RetryHint::Millis)
    } else {
        Faults::none()
    };
    let server = FakeServer::start_background(FakeConfig::default().with_faults(faults))
        .map_err(|e| Failure::other(format!("cannot start the embedded fake server: {e}")))?;
    let result = run(&server, &args).await;
    server.shutdown().await;
    result
}

/// The demo's outcome, as printed with `--json`.
#[derive(Debug, serde::Serialize)]
struct Report {
    /// The completed Upload, as the API returned it.
    upload: uploads_ext::Upload,
    bytes: u64,
    parts: usize,
    part_size: u64,
    concurrency: usize,
    seconds: f64,
    mib_per_sec: f64,
    /// Faults the server injected (and the client recovered from).
    faults_injected: u64,
    /// sha256 of the local file.
    sha256: String,
    /// sha256 of the content the server assembled from the parts.
    server_sha256: Option<String>,
    verified: bool,
}

async fn run(server: &FakeServer, args: &DemoArgs) -> Result<(), Failure> {
    let dir = tempfile::Builder::new()
        .prefix("openai-uploads-demo")
        .tempdir()
        .map_err(|e| Failure::other(format!("cannot create a temporary directory: {e}")))?;
    let path = dir.path().join("demo.bin");
    let size = args.size;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let sha256 = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || write_random_file(&path, size, seed))
            .await
            .map_err(|e| Failure::other(format!("the file writer failed: {e}")))?
            .map_err(|e| Failure::other(format!("cannot write the demo file: {e}")))?
    };

    let concurrency = args.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    let part_size = args
        .part_size
        .unwrap_or_else(|| auto_part_size(size, concurrency));
    if !args.json {
        print_stdout(&format!(
            "demo: uploading {} of pseudo-random bytes to an embedded fake Uploads API at {}\n",
            HumanBytes(size),
            server.base_url()
        ))?;
    }

    // The fake is local: never send its traffic through a proxy from the environment.
    let http = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Failure::other(format!("cannot build the HTTP client: {e}")))?;
    let mut client = Client::builder()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .http_client(http)
        .ignore_env();
    if args.faults {
        client = client.retry_policy(fault_retry_policy());
    }
    let client = client
        .build()
        .map_err(|e| outcome::from_error(&e, &Context::default()))?;

    let tracker = Tracker::new();
    let interrupt = Interrupt::install(&tracker, Context::default(), args.json);
    let mut builder = client
        .upload_file(&path)
        .purpose(Purpose::UserData)
        .filename("demo.bin")
        .mime_type("application/octet-stream")
        .concurrency(concurrency)
        .on_progress(tracker.callback())
        .cancellation_token(interrupt.token());
    if let Some(part_size) = args.part_size {
        builder = builder.part_size(part_size);
    }
    let started = Instant::now();
    let result = builder.send().await;
    let elapsed = started.elapsed();
    tracker.finish();
    let upload = result.map_err(|e| {
        let context = Context {
            signal: interrupt.received(),
            upload_id: tracker.upload_id(),
            ..Context::default()
        };
        outcome::from_error(&e, &context)
    })?;

    let snapshot = server.upload(upload.upload_id()).ok_or_else(|| {
        Failure::other(format!(
            "the fake server does not know upload {}",
            upload.upload_id()
        ))
    })?;
    let server_sha256 = snapshot.content_sha256.clone();
    let verified = server_sha256.as_deref() == Some(sha256.as_str());
    let parts = snapshot
        .completed_part_ids
        .as_ref()
        .map(Vec::len)
        .unwrap_or_else(|| tracker.last().parts_total);
    let seconds = elapsed.as_secs_f64();
    let report = Report {
        bytes: size,
        parts,
        part_size,
        concurrency,
        seconds,
        mib_per_sec: size as f64 / MIB as f64 / seconds.max(1e-9),
        faults_injected: server.stats().faults.total(),
        sha256,
        server_sha256,
        verified,
        upload: upload.into_upload(),
    };

    if args.json {
        print_stdout(&to_json(&report)?)?;
    } else {
        print_stdout(&human_report(&report, args.faults))?;
    }
    if !verified {
        return Err(Failure::other(format!(
            "verification failed: the server assembled content with sha256 {}, the file has {}",
            report.server_sha256.as_deref().unwrap_or("(none)"),
            report.sha256
        )));
    }
    Ok(())
}

fn human_report(r: &Report, faults: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "upload id: {}", r.upload.id);
    let _ = writeln!(
        out,
        "file id:   {}",
        r.upload
            .file
            .as_ref()
            .map(|f| f.id.as_str())
            .unwrap_or("(none)")
    );
    let _ = writeln!(out, "status:    {}", r.upload.status);
    let _ = writeln!(
        out,
        "size:      {} bytes ({}) in {} parts of up to {}, {} at a time",
        r.bytes,
        HumanBytes(r.bytes),
        r.parts,
        HumanBytes(r.part_size),
        r.concurrency
    );
    let elapsed = Duration::from_secs_f64(r.seconds);
    let _ = writeln!(
        out,
        "time:      {} ({}/s)",
        human_duration(elapsed),
        HumanBytes((r.bytes as f64 / r.seconds.max(1e-9)) as u64)
    );
    if faults {
        let _ = writeln!(
            out,
            "faults:    {} injected (HTTP 500/429), all retried",
            r.faults_injected
        );
    }
    if r.verified {
        let _ = writeln!(
            out,
            "verified: server assembled identical bytes (sha256 {})",
            r.sha256
        );
    } else {
        let _ = writeln!(
            out,
            "NOT verified: server sha256 {} != local sha256 {}",
            r.server_sha256.as_deref().unwrap_or("(none)"),
            r.sha256
        );
    }
    out
}

/// Writes `size` pseudo-random bytes (xorshift64*, from `seed`) to `path` in 1 MiB chunks and
/// returns their sha256 as lowercase hex.
pub fn write_random_file(path: &Path, size: u64, seed: u64) -> std::io::Result<String> {
    let mut file = std::fs::File::create(path)?;
    let mut hasher = Sha256::new();
    // splitmix64 of the seed: distinct seeds give distinct, non-zero states.
    let mut state = {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)).max(1)
    };
    let mut buf = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_file_has_the_size_and_hash_it_reports() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let size = MIB + 13;
        let sha = write_random_file(&path, size, 42).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(sha, hex::encode(Sha256::digest(&bytes)));
        // Not a constant fill: the generator actually varies.
        assert_ne!(bytes[..8], bytes[8..16]);
        // Same seed, same bytes.
        let again = dir.path().join("g.bin");
        assert_eq!(write_random_file(&again, size, 42).unwrap(), sha);
        assert_ne!(write_random_file(&again, size, 43).unwrap(), sha);
    }
}
