//! `openai-uploads upload FILE FILE ...` and `openai-uploads upload DIR`: many files through one
//! client, one aggregate progress bar, one line per finished file (or one JSON line with
//! `--json`), a manifest that makes the same command restartable.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use uploads_ext::{BatchBuilder, BatchProgress, FailurePolicy, FileOutcome, FileResult, Purpose};

use crate::args::UploadArgs;
use crate::failure::{Failure, EXIT_FAILURE, EXIT_INVALID_INPUT, EXIT_OUTCOME_UNKNOWN};
use crate::interrupt::Interrupt;
use crate::outcome::{self, CommandKind, Context};
use crate::output::print_stdout;
use crate::progress::Tracker;
use crate::signal::SDK_CANCEL_TIMEOUT;

/// Whether `upload` was given several files, a directory, or batch flags.
pub fn is_batch(args: &UploadArgs) -> bool {
    let b = &args.batch;
    args.files.len() > 1
        || args.files.first().is_some_and(|f| f.is_dir())
        || b.manifest.is_some()
        || !b.include.is_empty()
        || !b.exclude.is_empty()
}

/// One line of `--json` output per file.
#[derive(Debug, Serialize)]
struct FileLine<'a> {
    path: String,
    bytes: u64,
    /// `completed`, `already_uploaded` (per the manifest) or `failed`.
    status: &'static str,
    upload_id: Option<&'a str>,
    file_id: Option<&'a str>,
    error: Option<&'a crate::failure::Report>,
}

/// `openai-uploads upload FILE... | DIR ...`
pub async fn upload_many(args: UploadArgs) -> Result<(), Failure> {
    let batch = builder(&args)?;
    let keep = args.keep_on_failure || args.batch.manifest.is_some();
    let context = Context {
        command: CommandKind::Upload,
        keep,
        rerun_settles: args.batch.manifest.is_some(),
        ..Context::default()
    };
    let tracker = Tracker::new();
    let interrupt = Interrupt::install(&tracker, context.clone(), args.json);
    let bar = Bar::new();
    let on_progress = bar.clone();
    let mut handle = batch
        .cancellation_token(interrupt.token())
        .on_progress(move |p| on_progress.update(p))
        .start()
        .await
        .map_err(|e| outcome::from_error(&e, &context))?;
    if handle.progress().files_total == 0 && !args.batch.allow_empty {
        bar.finish();
        return Err(nothing_to_upload(&args, handle.skipped_links().len()));
    }

    let mut counts = Counts::default();
    for link in handle.skipped_links() {
        counts.links += 1;
        if args.json {
            print_stdout(&link_line(link)?)?;
        }
        if !crate::conventions::quiet() {
            bar.note(&format!(
                "skipped   {} (a symbolic link: not followed)",
                link.display()
            ));
        }
    }
    loop {
        let file = tokio::select! {
            biased;
            file = handle.next() => file,
            signal = interrupt.grace_expired() => {
                bar.finish();
                return Err(outcome::cleanup_timed_out(signal, None, &context, false));
            }
        };
        let Some(file) = file else { break };
        let mut ctx = context.clone();
        ctx.signal = interrupt.received();
        let report = file.error().map(|e| outcome::from_error(e, &ctx));
        counts.add(file, report.as_ref());
        if args.json {
            print_stdout(&json_line(file, report.as_ref())?)?;
        }
        if !crate::conventions::quiet() || report.is_some() {
            bar.note(&human_line(file, report.as_ref()));
        }
    }
    bar.finish();
    let mut summary = format!(
        "{} uploaded, {} already uploaded, {} failed",
        counts.completed, counts.skipped, counts.failed
    );
    if counts.links > 0 {
        summary.push_str(&format!(
            ", {} symbolic link(s) skipped (not followed)",
            counts.links
        ));
    }
    if counts.failed == 0 {
        if !crate::conventions::quiet() {
            eprintln!("{summary}");
        }
        return Ok(());
    }
    let code = match interrupt.received() {
        Some(signal) => signal.exit_code(),
        None => counts.exit_code,
    };
    let mut failure = Failure::new(code, "batch_failed", summary);
    if args.batch.manifest.is_some() {
        failure = failure
            .with_hint("run the same command again to retry the failed files and skip the others");
    }
    // Each file was reported on its own line (and JSON line): only the prose summary is left.
    Err(failure.already_reported_if(args.json))
}

/// The SDK batch for these arguments; flags that only make sense for one file are refused.
fn builder(args: &UploadArgs) -> Result<BatchBuilder, Failure> {
    for (given, flag) in [
        (args.filename.is_some(), "--filename"),
        (args.journal.is_some(), "--journal"),
        (args.mime_type.is_some(), "--mime-type"),
    ] {
        if given {
            return Err(Failure::invalid_input(format!(
                "{flag} applies to one file; with several files or a directory, names and types \
                 come from each file"
            ))
            .with_hint("use --manifest to make a batch resumable"));
        }
    }
    let b = &args.batch;
    if args.keep_on_failure && b.manifest.is_none() {
        return Err(Failure::invalid_input(
            "--keep-on-failure with several files needs --manifest: it keeps each file's journal, \
             so that running the same command again resumes the kept uploads",
        ));
    }
    let dir = match args.files.as_slice() {
        [one] if one.is_dir() => Some(one.clone()),
        _ => None,
    };
    if dir.is_none() && (!b.include.is_empty() || !b.exclude.is_empty()) {
        return Err(Failure::invalid_input(
            "--include and --exclude apply to a directory (give one directory)",
        ));
    }
    if let Some(dir) = args
        .files
        .iter()
        .find(|f| f.is_dir())
        .filter(|_| dir.is_none())
    {
        return Err(Failure::invalid_input(format!(
            "{} is a directory: give one directory, or files",
            dir.display()
        )));
    }
    let client = crate::client::client_with(&args.client, |c| match b.max_parts_in_flight {
        Some(n) => c.max_parts_in_flight(n),
        None => c,
    })?;
    // An empty batch is refused by the caller, with the CLI's words (see `nothing_to_upload`).
    let mut batch = match dir {
        Some(dir) => {
            let mut batch = client.upload_dir(dir);
            for p in &b.include {
                batch = batch.include(p.clone());
            }
            for p in &b.exclude {
                batch = batch.exclude(p.clone());
            }
            batch
        }
        None => client.upload_files(&args.files),
    };
    batch = batch
        .allow_empty(true)
        .purpose(Purpose::from(args.purpose.clone()))
        .md5(!args.no_md5)
        .fail_if_too_slow(args.fail_if_too_slow)
        .cancel_timeout(SDK_CANCEL_TIMEOUT);
    if args.keep_on_failure || b.manifest.is_some() {
        batch = batch.failure_policy(FailurePolicy::Keep);
    }
    if let Some(manifest) = &b.manifest {
        batch = batch.manifest(manifest);
    }
    if let Some(n) = b.files_in_flight {
        batch = batch.files_in_flight(n);
    }
    if let Some(size) = args.part_size {
        batch = batch.part_size(size);
    }
    if let Some(c) = args.concurrency {
        batch = batch.concurrency(c);
    }
    if let Some(r) = args.client.max_retries {
        // An explicit bound counts every attempt of a part: no extra round beyond it.
        batch = batch.part_retries(r).part_rounds(0);
    }
    if let Some(after) = args.expires_after {
        batch = batch.expires_after(after);
    }
    Ok(batch)
}

fn status(file: &FileOutcome) -> &'static str {
    match file.result {
        FileResult::Completed(_) => "completed",
        FileResult::AlreadyUploaded { .. } => "already_uploaded",
        _ => "failed",
    }
}

fn json_line(file: &FileOutcome, report: Option<&Failure>) -> Result<String, Failure> {
    let line = FileLine {
        path: file.path.display().to_string(),
        bytes: file.bytes,
        status: status(file),
        upload_id: file.upload_id(),
        file_id: file.file_id(),
        error: report.map(|r| &**r),
    };
    let mut text = serde_json::to_string(&line)
        .map_err(|e| Failure::other(format!("cannot encode a result as JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// The failure of a batch with no file to upload (exit 2; `--allow-empty` accepts it).
fn nothing_to_upload(args: &UploadArgs, skipped_links: usize) -> Failure {
    let b = &args.batch;
    let mut message = match args.files.as_slice() {
        [dir] if dir.is_dir() => format!("no file to upload in {}", dir.display()),
        _ => "no file to upload".to_owned(),
    };
    if !b.include.is_empty() {
        message.push_str(&format!(" matches --include {}", b.include.join(", ")));
    }
    if !b.exclude.is_empty() {
        message.push_str(&format!(" (after --exclude {})", b.exclude.join(", ")));
    }
    if skipped_links > 0 {
        message.push_str(&format!(
            "; {skipped_links} symbolic link(s) were not followed"
        ));
    }
    Failure::invalid_input(format!("{message}: nothing was uploaded")).with_hint(
        "check the directory and the patterns; pass --allow-empty if an empty batch is expected",
    )
}

/// The `--json` line of a symbolic link the walk did not follow.
fn link_line(path: &std::path::Path) -> Result<String, Failure> {
    let line = serde_json::json!({"path": path.display().to_string(), "status": "skipped_link"});
    Ok(format!("{line}\n"))
}

fn human_line(file: &FileOutcome, report: Option<&Failure>) -> String {
    let path = file.path.display();
    match (&file.result, report) {
        (FileResult::Completed(done), _) => format!(
            "uploaded  {path} -> {} ({}, {})",
            done.file_id(),
            done.upload_id(),
            HumanBytes(file.bytes)
        ),
        (FileResult::AlreadyUploaded { file_id, .. }, _) => {
            format!("skipped   {path} -> {file_id} (uploaded by an earlier run)")
        }
        (_, Some(report)) => {
            // Each file's hints (resume, cancel, ...) stay with it: the summary has none of them.
            let mut line = format!("failed    {path}: {}", report.message);
            for hint in &report.hints {
                line.push_str(&format!("\n          hint: {hint}"));
            }
            line
        }
        (_, None) => format!("failed    {path}"),
    }
}

/// Tallies of the files and the exit code their failures add up to.
#[derive(Default)]
struct Counts {
    completed: usize,
    skipped: usize,
    links: usize,
    failed: usize,
    exit_code: u8,
}

impl Counts {
    fn add(&mut self, file: &FileOutcome, report: Option<&Failure>) {
        match (&file.result, report) {
            (FileResult::Completed(_), _) => self.completed += 1,
            (FileResult::AlreadyUploaded { .. }, _) => self.skipped += 1,
            (_, report) => {
                self.failed += 1;
                let code = report.map(|r| r.exit_code).unwrap_or(EXIT_FAILURE);
                // An unknown outcome matters most; invalid input only if nothing else failed.
                self.exit_code = match (self.exit_code, code) {
                    (EXIT_OUTCOME_UNKNOWN, _) | (_, EXIT_OUTCOME_UNKNOWN) => EXIT_OUTCOME_UNKNOWN,
                    (0 | EXIT_INVALID_INPUT, EXIT_INVALID_INPUT) => EXIT_INVALID_INPUT,
                    _ => EXIT_FAILURE,
                };
            }
        }
    }
}

/// The aggregate bar (stderr terminals only): bytes of all files, and files finished.
#[derive(Clone)]
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new() -> Bar {
        let shown = std::io::stderr().is_terminal() && !crate::conventions::quiet();
        Bar(shown.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.green} [{elapsed_precise}] [{wide_bar:.cyan/blue}] \
                     {binary_bytes}/{binary_total_bytes} done ({binary_bytes_per_sec}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        }))
    }

    fn update(&self, p: &BatchProgress) {
        if let Some(bar) = &self.0 {
            bar.set_length(p.bytes_total);
            // Acknowledged bytes drive the bar and its rate; sent bytes run ahead of them.
            bar.set_position(p.bytes_completed.min(p.bytes_total));
            bar.set_message(format!(
                "{} sent, {}/{} files",
                HumanBytes(p.bytes_sent),
                p.files_finished(),
                p.files_total
            ));
        }
    }

    /// Prints a line on stderr without tearing the bar.
    fn note(&self, line: &str) {
        match &self.0 {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
