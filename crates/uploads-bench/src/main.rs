//! Benchmark: upload a 1 GiB file through `uploads-ext` to the fake server and print a table of
//! throughput and the uploading process's peak RSS, on plain loopback and with a simulated WAN
//! (latency plus a per-connection bandwidth cap on the server side), next to the server's raw
//! ingest rate (the ceiling).
//!
//! Run: `cargo run --release -p uploads-bench` (or `-- --size-mib 256` for a quicker look).
//!
//! md5 bounds the SDK on fast links (it hashes the content once), so a plain `md5sum` of the same
//! file is the yardstick: at default settings an upload should take at most 1.1 x its time, and
//! at most 1.2 x when the server itself is busy on the same cores (hashing every part).
//!
//! Each measured upload runs in a child process (this binary re-executed with `child`), so its
//! peak RSS (`VmHWM`) is the client's alone; the fake server runs in the parent, in `Discard`
//! mode (bytes counted, not stored) so disk speed does not cap the figures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use uploads_ext::upload::DEFAULT_CONCURRENCY;
use uploads_ext::{Client, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Faults, Storage};
use yardstick::{md5_in_process, md5sum_of, Hasher};

mod content;
mod yardstick;

use content::write_file;

const MIB: u64 = 1024 * 1024;

#[derive(Parser)]
#[command(about = "Throughput and peak RSS of uploads-ext against the fake server")]
struct Args {
    #[command(subcommand)]
    command: Option<Role>,
    /// Size of the uploaded file in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Simulated WAN: one-way latency added per request, in milliseconds.
    #[arg(long, default_value_t = 50)]
    wan_latency_ms: u64,
    /// Simulated WAN: per-connection bandwidth cap, in MiB/s.
    #[arg(long, default_value_t = 32)]
    wan_cap_mib: u64,
    /// Skip the WAN rows (they take longest).
    #[arg(long)]
    no_wan: bool,
    /// Runs of each loopback row; the median time is reported (peak RSS: the largest).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

#[derive(Subcommand)]
enum Role {
    /// Internal: one measured upload (prints a JSON result line).
    Child {
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        concurrency: usize,
        /// Send in-memory parts with raw HTTP instead of the SDK (the ingest ceiling).
        #[arg(long)]
        raw: bool,
        /// Upload without computing the md5.
        #[arg(long)]
        no_md5: bool,
    },
}

#[derive(Serialize, Deserialize)]
struct Measurement {
    bytes: u64,
    seconds: f64,
    peak_rss_kib: u64,
    parts: usize,
    /// Part requests the server answered (set by the parent; 0 for rows without the server).
    #[serde(default)]
    part_requests: u64,
}

fn main() {
    let args = Args::parse();
    match args.command {
        Some(Role::Child {
            base_url,
            api_key,
            file,
            concurrency,
            raw,
            no_md5,
        }) => {
            let m = child(&base_url, &api_key, &file, concurrency, raw, !no_md5);
            println!("{}", serde_json::to_string(&m).unwrap());
        }
        None => parent(&args),
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn child(
    base_url: &str,
    api_key: &str,
    file: &Path,
    concurrency: usize,
    raw: bool,
    md5: bool,
) -> Measurement {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = Client::builder()
            .ignore_env()
            .base_url(base_url)
            .api_key(api_key)
            .build()
            .unwrap();
        let size = std::fs::metadata(file).unwrap().len();
        let started = Instant::now();
        let parts = if raw {
            raw_ingest(&client, base_url, api_key, size, concurrency).await
        } else {
            let upload = client
                .upload_file(file)
                .purpose(Purpose::Batch)
                .concurrency(concurrency)
                .md5(md5)
                .send()
                .await
                .unwrap_or_else(|e| panic!("upload failed: {e}"));
            assert_eq!(upload.bytes(), size);
            size.div_ceil(uploads_ext::upload::auto_part_size(size, concurrency)) as usize
        };
        Measurement {
            bytes: size,
            seconds: started.elapsed().as_secs_f64(),
            peak_rss_kib: peak_rss_kib(),
            parts,
            part_requests: 0,
        }
    })
}

/// The ceiling: the same number of bytes as 64 MiB parts of one shared in-memory buffer, sent
/// with plain reqwest (no file reads, no md5, no retries), `concurrency` at a time.
async fn raw_ingest(
    client: &Client,
    base_url: &str,
    api_key: &str,
    size: u64,
    concurrency: usize,
) -> usize {
    use futures_util::StreamExt;
    let upload = client
        .create_upload()
        .filename("ceiling.bin")
        .purpose(Purpose::Batch)
        .bytes(size)
        .mime_type("application/octet-stream")
        .send()
        .await
        .unwrap();
    let part = 64 * MIB;
    let buffer = bytes::Bytes::from(vec![0x5au8; part as usize]);
    let http = reqwest::Client::new();
    let url = format!("{base_url}/uploads/{}/parts", upload.id);
    let count = size.div_ceil(part) as usize;
    let ids: Vec<String> = futures_util::stream::iter(0..count)
        .map(|i| {
            let len = (size - i as u64 * part).min(part) as usize;
            let body = buffer.slice(..len);
            let (http, url) = (http.clone(), url.clone());
            async move {
                let form = reqwest::multipart::Form::new().part(
                    "data",
                    reqwest::multipart::Part::stream_with_length(body, len as u64)
                        .file_name("p")
                        .mime_str("application/octet-stream")
                        .unwrap(),
                );
                let resp = http
                    .post(url)
                    .bearer_auth(api_key)
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                let v: serde_json::Value = resp.json().await.unwrap();
                v["id"].as_str().unwrap().to_owned()
            }
        })
        .buffered(concurrency)
        .collect()
        .await;
    client
        .complete_upload(&upload.id)
        .part_ids(ids)
        .send()
        .await
        .unwrap();
    count
}

struct Row {
    scenario: String,
    /// Whether the row measures the SDK (the ceiling does not, so no memory target applies).
    sdk: bool,
    concurrency: usize,
    m: Measurement,
    target: Option<(f64, String)>,
}

fn run_child(
    server: &FakeServer,
    file: &Path,
    concurrency: usize,
    raw: bool,
    md5: bool,
) -> Measurement {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child",
        "--base-url",
        &server.base_url(),
        "--api-key",
        &server.api_key(),
    ])
    .arg("--file")
    .arg(file)
    .args(["--concurrency", &concurrency.to_string()]);
    if raw {
        cmd.arg("--raw");
    }
    if !md5 {
        cmd.arg("--no-md5");
    }
    server.reset_stats();
    let out = cmd.output().expect("spawn child");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m: Measurement = serde_json::from_slice(&out.stdout).expect("child result");
    // What the server saw, second copies of stragglers and retries included.
    m.part_requests = server.stats().requests.add_part;
    m
}

/// Runs a scenario `runs` times: the median duration, the largest peak RSS.
fn median_of(runs: usize, mut once: impl FnMut() -> Measurement) -> Measurement {
    let mut all: Vec<Measurement> = (0..runs.max(1)).map(|_| once()).collect();
    let peak = all.iter().map(|m| m.peak_rss_kib).max().unwrap_or(0);
    all.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let mut median = all.swap_remove(all.len() / 2);
    median.peak_rss_kib = peak;
    median
}

fn mib_s(m: &Measurement) -> f64 {
    m.bytes as f64 / MIB as f64 / m.seconds
}

fn parent(args: &Args) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.bin");
    eprint!("writing a {} MiB file... ", args.size_mib);
    write_file(&file, args.size_mib * MIB);
    eprintln!("done");

    let loopback = Faults::none();
    let wan = Faults::none()
        .with_latency(Duration::from_millis(args.wan_latency_ms))
        .with_bandwidth(args.wan_cap_mib * MIB);
    let server = FakeServer::start_background(
        FakeConfig::default()
            .with_storage(Storage::Discard)
            .with_faults(loopback.clone()),
    )
    .unwrap();

    let mut rows = Vec::new();
    eprintln!("ceiling: raw ingest, concurrency {DEFAULT_CONCURRENCY}");
    let ceiling = median_of(args.runs, || {
        run_child(&server, &file, DEFAULT_CONCURRENCY, true, false)
    });
    let ceiling_rate = mib_s(&ceiling);
    rows.push(Row {
        scenario: "ceiling (raw HTTP from memory)".into(),
        sdk: false,
        concurrency: DEFAULT_CONCURRENCY,
        m: ceiling,
        target: None,
    });
    eprintln!("yardstick: md5sum of the file");
    let md5sum = median_of(args.runs, || md5sum_of(&file));
    let md5_rate = mib_s(&md5sum);
    rows.push(Row {
        scenario: "yardstick: md5sum of the file".into(),
        sdk: false,
        concurrency: 1,
        m: md5sum,
        target: None,
    });
    for (scenario, hasher) in [
        (
            "md5 in process: the md-5 crate 0.10 (portable)",
            Hasher::Md5Crate,
        ),
        (
            "md5 in process: the md-5 crate 0.11 (uploads-ext's)",
            Hasher::Md5Crate011,
        ),
    ] {
        eprintln!("{scenario}");
        rows.push(Row {
            scenario: scenario.into(),
            sdk: false,
            concurrency: 1,
            m: median_of(args.runs, || md5_in_process(&file, hasher)),
            target: None,
        });
    }
    let within = |factor: f64| {
        (
            md5_rate / factor,
            format!("<= {factor} x md5sum time (>= {:.0})", md5_rate / factor),
        )
    };
    for c in [1, DEFAULT_CONCURRENCY] {
        eprintln!("loopback, concurrency {c}");
        let m = median_of(args.runs, || run_child(&server, &file, c, false, true));
        let target = (c == DEFAULT_CONCURRENCY).then(|| within(1.1));
        rows.push(Row {
            scenario: "loopback".into(),
            sdk: true,
            concurrency: c,
            m,
            target,
        });
    }
    eprintln!("loopback, concurrency {DEFAULT_CONCURRENCY}, md5 off");
    let m = median_of(args.runs, || {
        run_child(&server, &file, DEFAULT_CONCURRENCY, false, false)
    });
    rows.push(Row {
        scenario: "loopback, md5 off".into(),
        sdk: true,
        concurrency: DEFAULT_CONCURRENCY,
        m,
        target: Some((
            0.8 * ceiling_rate,
            format!(">= 80% of ceiling ({:.0})", 0.8 * ceiling_rate),
        )),
    });
    eprintln!("loopback, concurrency {DEFAULT_CONCURRENCY}, server busy hashing every part");
    let busy = FakeServer::start_background(
        FakeConfig::default()
            .with_storage(Storage::HashOnly)
            .with_faults(Faults::none()),
    )
    .unwrap();
    let m = median_of(args.runs, || {
        run_child(&busy, &file, DEFAULT_CONCURRENCY, false, true)
    });
    rows.push(Row {
        scenario: "loopback, server hashing (sha256 per part)".into(),
        sdk: true,
        concurrency: DEFAULT_CONCURRENCY,
        m,
        target: Some(within(1.2)),
    });
    drop(busy);
    if !args.no_wan {
        server.set_faults(wan);
        for c in [1, DEFAULT_CONCURRENCY] {
            eprintln!("WAN, concurrency {c}");
            let m = run_child(&server, &file, c, false, true);
            let want = 0.8 * c as f64 * args.wan_cap_mib as f64;
            rows.push(Row {
                scenario: format!(
                    "WAN ({} ms, {} MiB/s per connection)",
                    args.wan_latency_ms, args.wan_cap_mib
                ),
                sdk: true,
                concurrency: c,
                m,
                target: Some((want, format!(">= 0.8 x {c} x cap ({want:.0})"))),
            });
        }
    }

    println!();
    println!(
        "| scenario | concurrency | parts | part requests | seconds | MiB/s | peak RSS (MiB) | target | met |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut all_met = true;
    for r in &rows {
        let rate = mib_s(&r.m);
        let rss = r.m.peak_rss_kib as f64 / 1024.0;
        let rss_ok = !r.sdk || rss < 64.0;
        let mut targets: Vec<String> = r.target.iter().map(|(_, text)| text.clone()).collect();
        if r.sdk {
            targets.push("RSS < 64 MiB".into());
        }
        let met = rss_ok && r.target.as_ref().is_none_or(|(want, _)| rate >= *want);
        all_met &= met;
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.0} | {:.1} | {} | {} |",
            r.scenario,
            r.concurrency,
            r.m.parts,
            r.m.part_requests,
            r.m.seconds,
            rate,
            rss,
            if targets.is_empty() {
                "-".to_owned()
            } else {
                targets.join("; ")
            },
            if met { "yes" } else { "NO" }
        );
    }
    println!();
    println!(
        "{} MiB file, median of {} runs on loopback, machine: {} cores; all targets met: {}",
        args.size_mib,
        args.runs,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        if all_met { "yes" } else { "NO" }
    );
    std::io::stdout().flush().unwrap();
}
