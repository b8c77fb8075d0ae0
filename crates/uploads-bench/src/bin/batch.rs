//! Benchmark rows for many files through one client (`Client::upload_dir`): files/s and MiB/s of
//! a batch against the same files uploaded one after another, and the share of a simulated
//! shared link (the fake server's `LinkModel::shared` cap) a batch reaches.
//!
//! Run: `cargo run --release -p uploads-bench --bin batch` (defaults: 1,000 files of 1 MiB,
//! 10 files of 100 MiB, a 64 MiB/s link with 20 ms latency); `-- --small-files 200 --big-mib 20`
//! for a quicker look. The fake server runs in this process in `Discard` mode (bytes counted,
//! not stored), so the figures compare client strategies, not disks.
//!
//! Target: on the shared link, the batch's aggregate rate reaches at least 90 % of the link.
//!
//! One run (2 shared cores, release build, defaults):
//!
//! | row | files | seconds | files/s | MiB/s |
//! |---|---|---|---|---|
//! | 1000 x 1 MiB, one after another | 1000 | 4.88 | 205.1 | 205.1 |
//! | 1000 x 1 MiB, one batch | 1000 | 3.31 | 301.8 | 301.8 |
//! | 10 x 100 MiB, one after another | 10 | 2.92 | 3.4 | 342.6 |
//! | 10 x 100 MiB, one batch | 10 | 2.45 | 4.1 | 408.4 |
//! | 32 x 16 MiB, 64 MiB/s link, budget 16 | 32 | 8.43 | 3.8 | 60.8 (94.9 %) |
//! | 32 x 16 MiB, 64 MiB/s link, budget 32 | 32 | 8.32 | 3.8 | 61.5 (96.1 %) |
//!
//! On loopback the client and the in-process server share two cores (md5 and the server's
//! work bound both), so a batch gains 1.2-1.5x; on a link with latency the gain is what the
//! budget's parallelism buys. The link share varies between runs on a busy machine (88 % was
//! seen with budget 16 while other builds ran).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use uploads_ext::{Client, Purpose};
use uploads_fake::{FakeConfig, FakeServer, LinkModel, Storage};

const MIB: u64 = 1024 * 1024;

#[derive(Parser)]
#[command(about = "Many files through one client: batch vs one after another, and link share")]
struct Args {
    /// Number of small files.
    #[arg(long, default_value_t = 1000)]
    small_files: usize,
    /// Size of each small file in MiB.
    #[arg(long, default_value_t = 1)]
    small_mib: u64,
    /// Number of big files.
    #[arg(long, default_value_t = 10)]
    big_files: usize,
    /// Size of each big file in MiB.
    #[arg(long, default_value_t = 100)]
    big_mib: u64,
    /// The simulated shared link's cap, in MiB/s.
    #[arg(long, default_value_t = 64)]
    link_mib: u64,
    /// The simulated link's one-way latency, in milliseconds.
    #[arg(long, default_value_t = 20)]
    link_latency_ms: u64,
    /// Parts in flight across all files (the client's budget).
    #[arg(long, default_value_t = 16)]
    max_parts_in_flight: usize,
}

/// One measured run.
struct Row {
    name: String,
    files: usize,
    bytes: u64,
    seconds: f64,
}

impl Row {
    fn files_per_sec(&self) -> f64 {
        self.files as f64 / self.seconds
    }

    fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / MIB as f64 / self.seconds
    }
}

/// Writes `count` files of `mib` MiB (distinct contents) under a new directory of `root`.
fn write_files(root: &Path, name: &str, count: usize, mib: u64) -> (PathBuf, Vec<PathBuf>) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("create the data directory");
    let mut block = vec![0u8; MIB as usize];
    let files = (0..count)
        .map(|i| {
            let path = dir.join(format!("{name}-{i:05}.jsonl"));
            let mut file = std::fs::File::create(&path).expect("create a data file");
            for m in 0..mib {
                let seed = (i as u64) << 32 | m;
                for (j, b) in block.iter_mut().enumerate() {
                    *b = ((j as u64).wrapping_mul(2_654_435_761) ^ seed) as u8;
                }
                std::io::Write::write_all(&mut file, &block).expect("write a data file");
            }
            path
        })
        .collect();
    (dir, files)
}

fn client(server: &FakeServer, budget: usize) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .max_parts_in_flight(budget)
        .build()
        .expect("a client of the fake server")
}

/// Uploads `files` one after another.
async fn one_after_another(client: &Client, name: &str, files: &[PathBuf], bytes: u64) -> Row {
    let started = Instant::now();
    for file in files {
        client
            .upload_file(file)
            .purpose(Purpose::Batch)
            .send()
            .await
            .expect("an upload of the sequential row");
    }
    Row {
        name: format!("{name}, one after another"),
        files: files.len(),
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Uploads the directory as one batch.
async fn batch(client: &Client, name: &str, dir: &Path, files: usize, bytes: u64) -> Row {
    let started = Instant::now();
    let summary = client
        .upload_dir(dir)
        .purpose(Purpose::Batch)
        .send()
        .await
        .expect("the batch starts");
    assert!(
        summary.all_completed(),
        "a file of the batch row failed: {:?}",
        summary.failed().next()
    );
    assert_eq!(summary.files.len(), files);
    Row {
        name: format!("{name}, one batch"),
        files,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn print_rows(rows: &[Row]) {
    println!(
        "| {:<44} | {:>6} | {:>9} | {:>8} | {:>8} |",
        "row", "files", "seconds", "files/s", "MiB/s"
    );
    println!(
        "|{:-<46}|{:->8}|{:->11}|{:->10}|{:->10}|",
        "", "", "", "", ""
    );
    for r in rows {
        println!(
            "| {:<44} | {:>6} | {:>9.2} | {:>8.1} | {:>8.1} |",
            r.name,
            r.files,
            r.seconds,
            r.files_per_sec(),
            r.mib_per_sec()
        );
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let root = tempfile::tempdir().expect("a temporary directory");
    let server = FakeServer::start_with(FakeConfig::default().with_storage(Storage::Discard))
        .await
        .expect("the fake server starts");
    let client = client(&server, args.max_parts_in_flight);
    let mut rows = Vec::new();

    for (name, count, mib) in [
        ("small", args.small_files, args.small_mib),
        ("big", args.big_files, args.big_mib),
    ] {
        if count == 0 {
            continue;
        }
        eprintln!("writing {count} files of {mib} MiB ...");
        let (dir, files) = write_files(root.path(), name, count, mib);
        let bytes = count as u64 * mib * MIB;
        let label = format!("{count} x {mib} MiB");
        let sequential = one_after_another(&client, &label, &files, bytes).await;
        let together = batch(&client, &label, &dir, count, bytes).await;
        eprintln!(
            "{label}: batch {:.1}x the files/s of one after another",
            together.files_per_sec() / sequential.files_per_sec()
        );
        rows.push(sequential);
        rows.push(together);
        std::fs::remove_dir_all(&dir).expect("remove the data directory");
    }

    // The shared link: enough files that the budget is full all the time.
    let link = args.link_mib * MIB;
    server.set_link(
        LinkModel::new()
            .latency(Duration::from_millis(args.link_latency_ms))
            .shared(link),
    );
    let count = 32;
    let mib = (args.link_mib / 4).max(1);
    eprintln!("writing {count} files of {mib} MiB for the shared link ...");
    let (dir, _) = write_files(root.path(), "link", count, mib);
    let bytes = count as u64 * mib * MIB;
    let mut shares = Vec::new();
    // The client's budget, and twice it: all parts in flight share the link equally, so they
    // tend to finish together and the link idles for a round trip before the next ones flow;
    // more parts in flight make those gaps a smaller share.
    for budget in [args.max_parts_in_flight, 2 * args.max_parts_in_flight] {
        let client = self::client(&server, budget);
        let label = format!("{count} x {mib} MiB, {} MiB/s link", args.link_mib);
        let mut row = batch(&client, &label, &dir, count, bytes).await;
        row.name = row
            .name
            .replace(", one batch", &format!(", budget {budget}"));
        shares.push((budget, row.mib_per_sec() / args.link_mib as f64));
        rows.push(row);
    }

    print_rows(&rows);
    for (budget, share) in shares {
        println!(
            "shared link, budget {budget}: the batch reached {:.1} % of {} MiB/s ({} ms \
             latency); target >= 90 %: {}",
            share * 100.0,
            args.link_mib,
            args.link_latency_ms,
            if share >= 0.9 { "met" } else { "NOT met" }
        );
    }
    println!(
        "peak parts in flight at the server: {} (largest budget {})",
        server.stats().max_parts_in_flight,
        2 * args.max_parts_in_flight
    );
}
