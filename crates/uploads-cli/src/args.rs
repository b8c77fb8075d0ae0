//! The command line: every subcommand and flag, as clap parses them. Nothing here runs a
//! command; `main` dispatches the parsed [`Cli`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::{duration, size};

/// Exit codes and the `--json` failure format, shown by `--help`.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0              success
  1              failure (API error, network, file changed, verification failed)
  2              usage error or invalid input (bad flag, missing or empty file, unusable
                 journal, no API key), detected before any upload is created
  3              outcome unknown: the answer to `complete` was lost and settling it got no
                 definite answer; rerun the same command (or `status`) to settle it
  129, 130, 143  stopped by SIGHUP, SIGINT (Ctrl-C) or SIGTERM: the upload is cancelled (or
                 kept with --keep-on-failure) within about 10 s, then its id and the next
                 command are printed

With --json, stdout gets exactly one JSON object: the result, or on failure
{\"error\": {\"exit_code\", \"kind\", \"message\", \"upload_id\", \"request_id\", \"status\",
\"cleanup\", \"hints\"}}; prose and logs go to stderr.";

/// Upload large files to the OpenAI Uploads API: parallel parts, retries, md5 check, resume.
///
/// Environment: OPENAI_API_KEY (required by upload, resume, cancel and status), OPENAI_BASE_URL
/// (default `https://api.openai.com/v1`), OPENAI_ORG_ID, OPENAI_PROJECT_ID, RUST_LOG (log filter
/// for stderr, default "warn").
///
#[derive(Debug, Parser)]
#[command(name = "openai-uploads", version, about, long_about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// -q / -v.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload a file (up to 8 GiB) in parallel parts and print the resulting Upload and File;
    /// or many files / a directory, one line (or JSON line) per file.
    #[command(after_help = EXIT_CODES_HELP)]
    Upload(Box<UploadArgs>),
    /// Finish an upload kept by `upload --keep-on-failure`, from its journal.
    #[command(after_help = EXIT_CODES_HELP)]
    Resume(ResumeArgs),
    /// Cancel a pending upload.
    #[command(after_help = EXIT_CODES_HELP)]
    Cancel(CancelArgs),
    /// Settle an upload whose outcome is unknown (exit 3 earlier): complete it if still pending,
    /// or find its File; prints the File (exit 0), or says it was cancelled or expired (exit 1),
    /// or that it is still unknown (exit 3).
    #[command(after_help = EXIT_CODES_HELP)]
    Status(StatusArgs),
    /// Upload a generated file to an embedded fake of the API and verify the result (no API key,
    /// no network needed; cargo feature `demo`, on by default).
    Demo(DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: `openai-uploads man > openai-uploads.1`.
    Man,
}

/// Arguments of `openai-uploads upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The file to upload; or several files, or one directory (uploaded recursively, see
    /// --include/--exclude), each file as its own upload through one shared budget; or `-` for
    /// stdin (with --size and --filename; a file named `-` is `./-`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// With `-`: the exact number of bytes stdin holds (same units as --part-size). A stream
    /// that ends sooner or holds more fails before the upload is completed.
    #[arg(long, value_name = "SIZE", value_parser = size::parse_size)]
    pub size: Option<u64>,
    // What the file is for; the help lists the purposes the generated enum knows.
    #[arg(long, help = crate::purpose::help())]
    pub purpose: String,
    /// Send a --purpose this version does not know, as given.
    #[arg(long)]
    pub allow_unknown_purpose: bool,
    /// The file's MIME type (default: guessed from the extension; `.jsonl` is
    /// application/jsonl; unknown extensions are application/octet-stream).
    #[arg(long, value_name = "TYPE")]
    pub mime_type: Option<String>,
    /// The name the uploaded File gets (default: FILE's name).
    #[arg(long, value_name = "NAME")]
    pub filename: Option<String>,
    /// Bytes per part, 1 byte to 64 MiB: a number of bytes, or with a unit K/KB/KiB, M/MB/MiB,
    /// G/GB/GiB (all binary: K = 1024). Default: the file split across the concurrency (without
    /// --concurrency: two parts per slot of the client's budget, room for adaptive concurrency
    /// to grow), rounded up to a MiB, at least 1 MiB.
    #[arg(long, value_name = "SIZE", value_parser = size::parse_size)]
    pub part_size: Option<u64>,
    /// Fixes the parts sent at once, 1 to 64 (default: adaptive, from 8 up to 32 following the
    /// measured throughput).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Do not send the content's md5 for the API to check.
    #[arg(long)]
    pub no_md5: bool,
    /// Stop (and clean up) at once when the upload is found too slow to finish before it
    /// expires, instead of sending until it does; without it, a warning says the rate it needs.
    #[arg(long)]
    pub fail_if_too_slow: bool,
    /// On failure or a signal (Ctrl-C, SIGTERM, SIGHUP), leave the upload pending (instead of cancelling it) so that
    /// `openai-uploads resume JOURNAL` can finish it. Without --journal, the journal is written
    /// to FILE.upload-journal.json.
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Write a resume journal here after each part (removed when the upload completes).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Make the created File expire this long after its creation, 1 hour to 30 days: seconds
    /// (3600 to 2592000) or a duration with units (`2h`, `7d`).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_expires_after)]
    pub expires_after: Option<Duration>,
    /// Print only the final Upload object as JSON on stdout (on failure: one error object).
    /// With several files or a directory: one JSON line per file, `{"path", "bytes", "status",
    /// "upload_id", "file_id", "error"}`, as each finishes (status `completed`,
    /// `already_uploaded` or `failed`, with `error` as in a failure object), and one line
    /// `{"path", "status": "skipped_link"}` per symbolic link not followed; a batch that cannot
    /// start (nothing to upload, a manifest in use, ...) prints one error object instead.
    #[arg(long)]
    pub json: bool,
    /// Request timeout and retries.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Several files or a directory.
    #[command(flatten)]
    pub batch: BatchArgs,
}

/// How requests are made (upload, resume, cancel).
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The API's base URL, including /v1 (default: OPENAI_BASE_URL, else
    /// `https://api.openai.com/v1`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The organization the requests count against, sent as `OpenAI-Organization` (default:
    /// OPENAI_ORG_ID).
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<String>,
    /// The project the requests count against, sent as `OpenAI-Project` (default:
    /// OPENAI_PROJECT_ID).
    #[arg(long, value_name = "PROJECT_ID")]
    pub project: Option<String>,
    /// Give up on a request attempt after this long without progress (connecting, between
    /// 64 KiB pieces of the body, waiting for the answer; after a part's last byte, its bytes
    /// still in transit get extra time at 16 KiB/s); a slow upload whose bytes keep moving is
    /// never cut off, a stalled part is retried. Seconds (`30`, `2.5`) or a duration with
    /// units (`10m`, `1h 30m`); default 10m.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_duration)]
    pub timeout: Option<Duration>,
    /// Retries of a failed request before giving up on it (default 2, and for each part 5 plus
    /// one more round once the others are done). Given, it bounds every request and part to
    /// 1 + N attempts in all, rounds included; 0 disables retrying: one attempt each.
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
}

/// Arguments of `openai-uploads resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The journal written by `upload --journal` / `--keep-on-failure`.
    pub journal: PathBuf,
    /// Fixes the parts sent at once, 1 to 64 (default: adaptive, from 8 up to 32 following the
    /// measured throughput).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Cancel the upload if this attempt fails too (default: keep it pending, resumable).
    #[arg(long)]
    pub cancel_on_failure: bool,
    /// Stop at once when the upload is found too slow to finish before it expires.
    #[arg(long)]
    pub fail_if_too_slow: bool,
    /// Print only the final Upload object as JSON on stdout (on failure: one error object).
    #[arg(long)]
    pub json: bool,
    /// Request timeout and retries.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `openai-uploads cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The id of the pending upload (`upload_...`).
    pub upload_id: String,
    /// Print only the cancelled Upload object as JSON on stdout (on failure: one error object).
    #[arg(long)]
    pub json: bool,
    /// Request timeout and retries.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `openai-uploads status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The id of the upload (`upload_...`).
    pub upload_id: String,
    /// The file that was uploaded: its name and size identify the upload's File.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    // The purpose the upload was created with.
    #[arg(long, help = crate::purpose::help())]
    pub purpose: String,
    /// Accept a --purpose this version does not know, as given.
    #[arg(long)]
    pub allow_unknown_purpose: bool,
    /// The name the upload gave its File (default: FILE's name).
    #[arg(long, value_name = "NAME")]
    pub filename: Option<String>,
    /// Only Files created at or after this Unix time (seconds) can be the upload's (default: 0,
    /// any; give the upload's creation time when the same file was uploaded more than once).
    #[arg(long, value_name = "UNIX_SECS", default_value_t = 0)]
    pub since: i64,
    /// Print the settlement as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Request timeout and retries.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `openai-uploads demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Size of the generated file (same units as --part-size).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = size::parse_size)]
    pub size: u64,
    /// Parts sent at once, 1 to 64 (default 8, fixed, so that the report can state it).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Bytes per part, 1 byte to 64 MiB (default: automatic, as for upload).
    #[arg(long, value_name = "SIZE", value_parser = size::parse_size)]
    pub part_size: Option<u64>,
    /// Make the fake server fail some part requests (500s and 429s, fixed seed) to show retries.
    #[arg(long)]
    pub faults: bool,
    /// Print the result as one JSON object on stdout (on failure: one error object).
    #[arg(long)]
    pub json: bool,
}

impl Command {
    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        match self {
            Command::Upload(a) => a.json,
            Command::Resume(a) => a.json,
            Command::Cancel(a) => a.json,
            Command::Status(a) => a.json,
            Command::Demo(a) => a.json,
            Command::Completions(_) | Command::Man => false,
        }
    }
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print only errors and results: no progress bar, no per-file lines, logs at `error`.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log output on stderr: -v info, -vv debug, -vvv trace (RUST_LOG, when set, wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Arguments of `openai-uploads completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    pub shell: clap_complete::Shell,
}

/// Flags of `upload` that only apply to several files or a directory.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// With a directory: upload only files matching this glob (repeatable). A pattern without
    /// `/` matches file names at any depth (`*.jsonl`); one with `/` matches the path relative
    /// to the directory (`train/**/*.jsonl`).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// With a directory: leave out files matching this glob (repeatable; same rules).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Keep a manifest of the batch here: run the same command again to skip the files already
    /// uploaded and resume the ones that were in flight (failed files are kept pending for it).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Files uploading at once (default 32).
    #[arg(long, value_name = "N")]
    pub files_in_flight: Option<usize>,
    /// Parts in flight at once across all files (default 16).
    #[arg(long, value_name = "N")]
    pub max_parts_in_flight: Option<usize>,
    /// A directory (or patterns) with no file to upload is a success, not an error (exit 2).
    #[arg(long)]
    pub allow_empty: bool,
}
