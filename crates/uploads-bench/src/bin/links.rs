//! Benchmark rows of issue 16, side by side in one run: the SDK's defaults against fixed 8 parts
//! in flight and an openai-python-like sequential uploader (`upload_file_chunked`: one 64 MiB
//! part at a time), on the fake server's link model (`LinkModel`, `Fault::Throttle`).
//!
//! Run: `cargo run --release -p uploads-bench --bin links` (`-- --runs 3`, `-- --rows wan,shared`).
//! The fake server runs in this process in `Discard` mode, so the figures compare client
//! strategies on a simulated link, not disks. Every row prints the median of `--runs` runs
//! (the slow rows, `uplink` and `sequential`, run once).
//!
//! Rows (targets from the issue):
//! - `wan`: 20 MB/s per connection, 50 ms latency, 256 MiB: defaults >= 1.6x fixed 8;
//! - `shared`: one 40 MB/s link for all connections, 256 MiB: >= 90 % of the link, no more
//!   retries than fixed 8;
//! - `uplink`: a shared 2 MB/s uplink, 64 MiB, defaults: completes, no part cut;
//! - `straggler`: the `wan` link with one part request in twenty (and the third) slowed
//!   tenfold: <= 1.3x the
//!   `wan` time, extra bytes <= 10 %;
//! - `md5`: the `wan` link, defaults with md5 on vs off: on <= 1.05x off;
//! - `loopback`: no link model, 1 GiB (`--loopback-mib`), md5 on and off.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;

#[path = "../content.rs"]
mod content;
use content::write_file;
use uploads_ext::{Client, Purpose};
use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, LinkModel, Route, Stats, Storage};

const MIB: u64 = 1024 * 1024;
const MB: u64 = 1_000_000;

#[derive(Parser)]
#[command(about = "Adaptive concurrency, stragglers and md5 pacing on simulated links")]
struct Args {
    /// Runs per row; the median time is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Comma-separated rows to run (wan, shared, uplink, straggler, md5, loopback).
    #[arg(long, default_value = "wan,shared,uplink,straggler,md5,loopback")]
    rows: String,
    /// Size of the loopback file in MiB.
    #[arg(long, default_value_t = 1024)]
    loopback_mib: u64,
}

/// How the uploader under test runs.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The SDK with nothing set.
    Defaults,
    /// `concurrency(8)`: the previous default, fixed.
    Fixed8,
    /// One 64 MiB part at a time, like openai-python's `upload_file_chunked`.
    Sequential,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Defaults => "defaults",
            Mode::Fixed8 => "fixed 8",
            Mode::Sequential => "sequential (openai-python-like)",
        }
    }
}

struct Outcome {
    seconds: f64,
    stats: Stats,
}

struct Bench {
    runtime: tokio::runtime::Runtime,
    server: FakeServer,
    dir: tempfile::TempDir,
}

impl Bench {
    fn file(&self, mib: u64) -> std::path::PathBuf {
        let path = self.dir.path().join(format!("{mib}.bin"));
        if !path.exists() {
            write_file(&path, mib * MIB);
        }
        path
    }

    /// One upload of `file` under `link` and `plan`; the server's stats of that upload.
    fn once(
        &self,
        file: &Path,
        mode: Mode,
        md5: bool,
        link: LinkModel,
        plan: &FaultPlan,
    ) -> Outcome {
        self.server.set_link(link);
        self.server.set_fault_plan(plan.clone());
        self.server.reset_stats();
        let client = Client::builder()
            .ignore_env()
            .base_url(self.server.base_url())
            .api_key(self.server.api_key())
            .build()
            .unwrap();
        let size = std::fs::metadata(file).unwrap().len();
        let started = Instant::now();
        self.runtime.block_on(async {
            let mut b = client.upload_file(file).purpose(Purpose::Batch).md5(md5);
            b = match mode {
                Mode::Defaults => b,
                Mode::Fixed8 => b.concurrency(8),
                Mode::Sequential => b.concurrency(1).part_size(64 * MIB),
            };
            let done = b
                .send()
                .await
                .unwrap_or_else(|e| panic!("upload failed: {e}"));
            assert_eq!(done.bytes(), size);
        });
        Outcome {
            seconds: started.elapsed().as_secs_f64(),
            stats: self.server.stats(),
        }
    }

    fn median(&self, runs: usize, f: impl Fn() -> Outcome) -> Outcome {
        let mut all: Vec<Outcome> = (0..runs.max(1)).map(|_| f()).collect();
        all.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        all.swap_remove(all.len() / 2)
    }
}

struct Line {
    row: String,
    mode: Mode,
    mib: u64,
    out: Outcome,
    note: String,
}

fn main() {
    let args = Args::parse();
    let rows: Vec<&str> = args.rows.split(',').map(str::trim).collect();
    let bench = Bench {
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
        server: FakeServer::start_background(FakeConfig::default().with_storage(Storage::Discard))
            .unwrap(),
        dir: tempfile::tempdir().unwrap(),
    };
    let wan = LinkModel::new()
        .latency(Duration::from_millis(50))
        .per_connection(20 * MB);
    let none = FaultPlan::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut run = |row: &str,
                   mode: Mode,
                   mib: u64,
                   md5: bool,
                   link: LinkModel,
                   plan: &FaultPlan,
                   runs: usize| {
        eprintln!("{row}: {}", mode.name());
        let file = bench.file(mib);
        let out = bench.median(runs, || bench.once(&file, mode, md5, link, plan));
        lines.push(Line {
            row: row.to_owned(),
            mode,
            mib,
            out,
            note: String::new(),
        });
    };
    let n = args.runs;
    if rows.contains(&"wan") {
        for mode in [Mode::Sequential, Mode::Fixed8, Mode::Defaults] {
            let runs = if mode == Mode::Sequential { 1 } else { n };
            run(
                "wan 20 MB/s/conn + 50 ms",
                mode,
                256,
                true,
                wan,
                &none,
                runs,
            );
        }
    }
    if rows.contains(&"shared") {
        let link = LinkModel::new().shared(40 * MB);
        for mode in [Mode::Fixed8, Mode::Defaults] {
            run("shared 40 MB/s link", mode, 256, true, link, &none, n);
        }
    }
    if rows.contains(&"uplink") {
        let link = LinkModel::new().shared(2 * MB);
        run(
            "shared 2 MB/s uplink",
            Mode::Defaults,
            64,
            true,
            link,
            &none,
            1,
        );
    }
    if rows.contains(&"straggler") {
        // One part request in twenty (and the third, so that an 8-part upload has one too)
        // crawls at a tenth of the connection's 20 MB/s.
        let slow = Fault::Throttle {
            bytes_per_sec: 2 * MB,
        };
        let plan =
            FaultPlan::new()
                .nth(Route::AddPart, 3, slow.clone())
                .every(Route::AddPart, 20, slow);
        for mode in [Mode::Fixed8, Mode::Defaults] {
            run(
                "wan + 1 part in 20 slowed 10x",
                mode,
                256,
                true,
                wan,
                &plan,
                n,
            );
        }
    }
    if rows.contains(&"md5") {
        run("wan, md5 off", Mode::Defaults, 256, false, wan, &none, n);
        run("wan, md5 on", Mode::Defaults, 256, true, wan, &none, n);
    }
    if rows.contains(&"loopback") {
        let mib = args.loopback_mib;
        run(
            "loopback, md5 off",
            Mode::Defaults,
            mib,
            false,
            LinkModel::new(),
            &none,
            n,
        );
        run(
            "loopback, md5 on",
            Mode::Defaults,
            mib,
            true,
            LinkModel::new(),
            &none,
            n,
        );
    }
    annotate(&mut lines);
    println!();
    println!("| row | uploader | MiB | seconds | MB/s | part requests | parts | retries+copies | bytes received / size | note |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for l in &lines {
        let s = &l.out.stats;
        let size = l.mib * MIB;
        println!(
            "| {} | {} | {} | {:.2} | {:.1} | {} | {} | {} | {:.3} | {} |",
            l.row,
            l.mode.name(),
            l.mib,
            l.out.seconds,
            size as f64 / MB as f64 / l.out.seconds,
            s.requests.add_part,
            s.parts_stored,
            s.requests.add_part - s.parts_stored,
            s.part_bytes_received as f64 / size as f64,
            l.note
        );
    }
    println!();
    println!(
        "median of {} runs (slow rows once); machine: {} cores, shared with other work",
        args.runs,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
}

/// The targets, judged against the other rows of the same run.
fn annotate(lines: &mut [Line]) {
    let time = |lines: &[Line], row: &str, mode: Mode| {
        lines
            .iter()
            .find(|l| l.row == row && l.mode == mode)
            .map(|l| l.out.seconds)
    };
    let wan = "wan 20 MB/s/conn + 50 ms";
    let fixed = time(lines, wan, Mode::Fixed8);
    let seq = time(lines, wan, Mode::Sequential);
    let defaults_wan = time(lines, wan, Mode::Defaults);
    let md5_off = time(lines, "wan, md5 off", Mode::Defaults);
    let shared_fixed_retries = lines
        .iter()
        .find(|l| l.row == "shared 40 MB/s link" && l.mode == Mode::Fixed8)
        .map(|l| l.out.stats.requests.add_part - l.out.stats.parts_stored);
    for l in lines.iter_mut() {
        let secs = l.out.seconds;
        let size = l.mib * MIB;
        l.note = match (l.row.as_str(), l.mode) {
            (r, Mode::Defaults) if r == wan => {
                let mut n = String::new();
                if let Some(f) = fixed {
                    n += &format!("{:.2}x fixed 8 (target >= 1.6)", f / secs);
                }
                if let Some(s) = seq {
                    n += &format!("; {:.1}x sequential", s / secs);
                }
                n
            }
            ("shared 40 MB/s link", mode) => {
                let share = size as f64 / secs / (40 * MB) as f64 * 100.0;
                let retries = l.out.stats.requests.add_part - l.out.stats.parts_stored;
                let more = match (mode, shared_fixed_retries) {
                    (Mode::Defaults, Some(f)) => format!(" (fixed 8: {f})"),
                    _ => String::new(),
                };
                format!("{share:.1} % of link (target >= 90); retries {retries}{more}")
            }
            ("shared 2 MB/s uplink", _) => {
                let cut = l.out.stats.requests.add_part - l.out.stats.parts_stored;
                format!("completed; part requests beyond parts: {cut} (target 0)")
            }
            ("wan + 1 part in 20 slowed 10x", _) => {
                let extra = (l.out.stats.part_bytes_received as f64 / size as f64 - 1.0) * 100.0;
                let vs = defaults_wan
                    .map(|w| format!("{:.2}x no-straggler defaults (target <= 1.3); ", secs / w))
                    .unwrap_or_default();
                format!("{vs}extra bytes {extra:.1} % (target <= 10)")
            }
            ("wan, md5 on", _) => md5_off
                .map(|off| format!("{:.3}x md5 off (target <= 1.05)", secs / off))
                .unwrap_or_default(),
            _ => String::new(),
        };
    }
}
