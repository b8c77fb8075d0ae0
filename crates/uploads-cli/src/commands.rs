//! `upload` (a file, or `-` for stdin), `resume` and `cancel`: the commands that talk to the
//! real API.

use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::HumanBytes;
use uploads_ext::{CancelOutcome, CompletedUpload, FailurePolicy, Purpose, Upload};

use crate::args::{CancelArgs, ResumeArgs, UploadArgs};
use crate::client::client;
use crate::duration::human_duration;
use crate::failure::Failure;
use crate::interrupt::Interrupt;
use crate::outcome::{self, CommandKind, Context};
use crate::output::{print_stdout, to_json};
use crate::progress::Tracker;
use crate::signal::SDK_CANCEL_TIMEOUT;
use crate::stdin::Exactly;

/// The journal written next to FILE when `--keep-on-failure` is given without `--journal`.
pub fn default_journal(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".upload-journal.json");
    PathBuf::from(name)
}

/// `openai-uploads upload FILE --purpose P ...`
pub async fn upload(args: UploadArgs) -> Result<(), Failure> {
    crate::purpose::check(&args.purpose, args.allow_unknown_purpose)?;
    let stdin_size = stdin_size(&args)?;
    if stdin_size.is_none() && crate::batch::is_batch(&args) {
        return crate::batch::upload_many(args).await;
    }
    let file = &args.files[0];
    let client = crate::client::client_for_one(&args.client, args.concurrency)?;
    if stdin_size.is_none() {
        check_file(file)?;
    }
    let journal = match (&args.journal, args.keep_on_failure) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(default_journal(file)),
        (None, false) => None,
    };
    if let Some(journal) = &journal {
        check_journal_path(journal)?;
    }
    let context = Context {
        command: CommandKind::Upload,
        keep: args.keep_on_failure,
        journal: journal.clone(),
        from_stdin: stdin_size.is_some(),
        ..Context::default()
    };

    let tracker = Tracker::new();
    let interrupt = Interrupt::install(&tracker, context.clone(), args.json);
    let builder = match stdin_size {
        Some(size) => client.upload_reader(Exactly::new(tokio::io::stdin(), size), size),
        None => client.upload_file(file),
    };
    let mut builder = builder
        .purpose(Purpose::from(args.purpose.clone()))
        .md5(!args.no_md5)
        .fail_if_too_slow(args.fail_if_too_slow)
        .failure_policy(policy(args.keep_on_failure))
        .on_progress(tracker.callback())
        .cancellation_token(interrupt.token())
        .cancel_timeout(SDK_CANCEL_TIMEOUT);
    if let Some(retries) = args.client.max_retries {
        // An explicit bound counts every attempt of a part: no extra round beyond it.
        builder = builder.part_retries(retries).part_rounds(0);
    }
    if let Some(mime_type) = &args.mime_type {
        builder = builder.mime_type(mime_type.clone());
    }
    if let Some(filename) = &args.filename {
        builder = builder.filename(filename.clone());
    }
    if let Some(part_size) = args.part_size {
        builder = builder.part_size(part_size);
    }
    if let Some(concurrency) = args.concurrency {
        builder = builder.concurrency(concurrency);
    }
    if let Some(after) = args.expires_after {
        builder = builder.expires_after(after);
    }
    if let Some(journal) = &journal {
        builder = builder.journal(journal);
    }
    run_to_end(builder.send(), &tracker, &interrupt, context, args.json).await
}

/// `Some(--size)` when `upload -` reads stdin; refuses what cannot go with it (and `--size`
/// without it) before any request.
fn stdin_size(args: &UploadArgs) -> Result<Option<u64>, Failure> {
    let reads_stdin = args.files.iter().any(|f| f.as_os_str() == "-");
    if !reads_stdin {
        return match args.size {
            Some(_) => Err(Failure::invalid_input(
                "--size applies to `-` (an upload from stdin); a file's size is read from the file",
            )),
            None => Ok(None),
        };
    }
    let b = &args.batch;
    if args.files.len() > 1
        || b.manifest.is_some()
        || !b.include.is_empty()
        || !b.exclude.is_empty()
    {
        return Err(Failure::invalid_input(
            "`-` (stdin) is one upload: give it alone, without batch flags (a file named `-` is \
             `./-`)",
        ));
    }
    if args.keep_on_failure || args.journal.is_some() {
        return Err(Failure::invalid_input(
            "an upload from stdin cannot be resumed (stdin cannot be read again): leave out \
             --keep-on-failure and --journal",
        ));
    }
    let Some(size) = args.size else {
        return Err(Failure::invalid_input(
            "reading stdin needs --size: the exact number of bytes it holds",
        )
        .with_hint("e.g. openai-uploads upload - --size \"$(stat -c %s data.jsonl)\" ..."));
    };
    if args.filename.is_none() {
        return Err(Failure::invalid_input(
            "reading stdin needs --filename: the name the File gets (e.g. data.jsonl)",
        ));
    }
    Ok(Some(size))
}

/// `openai-uploads resume JOURNAL ...`
pub async fn resume(args: ResumeArgs) -> Result<(), Failure> {
    let client = crate::client::client_for_one(&args.client, args.concurrency)?;
    if !args.journal.is_file() {
        return Err(Failure::invalid_input(format!(
            "{}: no such journal (it is written by `upload --journal` or --keep-on-failure, and \
             removed when the upload completes)",
            args.journal.display()
        )));
    }
    let keep = !args.cancel_on_failure;
    let context = Context {
        command: CommandKind::Resume,
        keep,
        journal: Some(args.journal.clone()),
        ..Context::default()
    };
    let tracker = Tracker::new();
    let interrupt = Interrupt::install(&tracker, context.clone(), args.json);
    let mut builder = client
        .resume_upload(&args.journal)
        .failure_policy(policy(keep))
        .fail_if_too_slow(args.fail_if_too_slow)
        .on_progress(tracker.callback())
        .cancellation_token(interrupt.token())
        .cancel_timeout(SDK_CANCEL_TIMEOUT);
    if let Some(retries) = args.client.max_retries {
        // An explicit bound counts every attempt of a part: no extra round beyond it.
        builder = builder.part_retries(retries).part_rounds(0);
    }
    if let Some(concurrency) = args.concurrency {
        builder = builder.concurrency(concurrency);
    }
    run_to_end(builder.send(), &tracker, &interrupt, context, args.json).await
}

/// `openai-uploads cancel UPLOAD_ID ...`
pub async fn cancel(args: CancelArgs) -> Result<(), Failure> {
    let id = args.upload_id.trim();
    if id.is_empty() {
        return Err(Failure::invalid_input(
            "the upload id is empty (it looks like upload_abc123)",
        ));
    }
    if id.contains(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace()) {
        return Err(Failure::invalid_input(format!(
            "{id:?} is not an upload id (it looks like upload_abc123)"
        )));
    }
    let client = client(&args.client)?;
    let context = Context {
        command: CommandKind::Cancel,
        ..Context::default()
    };
    let upload = match client.cancel_upload(id).ensure().await {
        Ok(CancelOutcome::Cancelled(upload)) => *upload,
        // The server says the upload is cancelled (typically a retry whose first answer was
        // lost): the cancel happened, only the Upload's details are not in this answer.
        Ok(_) => {
            return if args.json {
                print_stdout(&to_json(
                    &serde_json::json!({"id": id, "object": "upload", "status": "cancelled"}),
                )?)
            } else {
                print_stdout(&format!("upload id: {id}\nstatus:    cancelled\n"))
            };
        }
        Err(e) => return Err(outcome::from_error(&e, &context)),
    };
    if args.json {
        print_stdout(&to_json(&upload)?)
    } else {
        print_stdout(&format!(
            "upload id: {}\nfilename:  {}\nstatus:    {}\n",
            upload.id, upload.filename, upload.status
        ))
    }
}

fn policy(keep: bool) -> FailurePolicy {
    if keep {
        FailurePolicy::Keep
    } else {
        FailurePolicy::Cancel
    }
}

/// Runs an upload or resume to its end: the SDK's answer, or [`crate::signal::CLEANUP_GRACE`]
/// after a signal, whichever comes first; then prints the result or builds the failure.
async fn run_to_end(
    send: impl Future<Output = uploads_ext::Result<CompletedUpload>>,
    tracker: &Tracker,
    interrupt: &Interrupt,
    mut context: Context,
    json: bool,
) -> Result<(), Failure> {
    let started = Instant::now();
    let result = tokio::select! {
        biased;
        result = send => result,
        signal = interrupt.grace_expired() => {
            tracker.finish();
            let id = tracker.upload_id();
            let completing = tracker.all_parts_accepted();
            return Err(outcome::cleanup_timed_out(signal, id.as_deref(), &context, completing));
        }
    };
    tracker.finish();
    match result {
        Ok(done) => print_upload(done.upload(), tracker, started.elapsed(), json),
        Err(err) => {
            context.signal = interrupt.received();
            context.upload_id = tracker.upload_id();
            Err(outcome::from_error(&err, &context))
        }
    }
}

/// The file must exist, be a file and hold at least one byte: checked before anything is
/// created, so a typo costs nothing.
fn check_file(path: &Path) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::invalid_input(format!(
            "{}: no such file",
            path.display()
        ))),
        Err(e) => Err(Failure::invalid_input(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
        Ok(meta) if meta.is_dir() => Err(Failure::invalid_input(format!(
            "{} is a directory, not a file",
            path.display()
        ))),
        Ok(meta) if meta.len() == 0 => Err(Failure::invalid_input(format!(
            "{} is empty: an upload needs at least 1 byte",
            path.display()
        ))),
        Ok(_) => Ok(()),
    }
}

/// A new upload's journal must not overwrite a live one (that would orphan its upload), and
/// its directory must exist. The journal of a dead upload (cancelled, or expired before its
/// `complete` was sent) is only a leftover: removed, and said so.
fn check_journal_path(journal: &Path) -> Result<(), Failure> {
    match std::fs::metadata(journal) {
        Ok(meta) if !meta.is_file() => {
            return Err(Failure::invalid_input(format!(
                "the journal {} is not a regular file: give the path of a regular file (it is \
                 created)",
                journal.display()
            )))
        }
        Ok(_) => {
            if let Some(dead) = dead_upload(journal) {
                std::fs::remove_file(journal).map_err(|e| {
                    Failure::invalid_input(format!(
                        "cannot remove the journal {} of an upload that was {dead}: {e}",
                        journal.display()
                    ))
                })?;
                let mut lock = journal.as_os_str().to_owned();
                lock.push(".lock");
                let _ = std::fs::remove_file(lock);
                eprintln!(
                    "removed the journal {} of an upload that was {dead}",
                    journal.display()
                );
                return Ok(());
            }
            return Err(Failure::invalid_input(format!(
                "the journal {} already exists (from an earlier upload)",
                journal.display()
            ))
            .with_hint(format!(
                "finish that upload with: openai-uploads resume {}",
                journal.display()
            ))
            .with_hint("or delete the journal, or choose another path with --journal"));
        }
        Err(_) => {}
    }
    let dir = match journal.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Failure::invalid_input(format!(
            "the journal's directory {} does not exist",
            dir.display()
        )));
    }
    Ok(())
}

/// Prints a completed upload: the Upload object as JSON, or a short summary.
fn print_upload(
    upload: &Upload,
    tracker: &Tracker,
    elapsed: Duration,
    json: bool,
) -> Result<(), Failure> {
    if json {
        return print_stdout(&to_json(upload)?);
    }
    let progress = tracker.last();
    let bytes = upload.bytes;
    let mut out = String::new();
    let _ = writeln!(out, "upload id: {}", upload.id);
    match &upload.file {
        Some(file) => {
            let _ = writeln!(out, "file id:   {}", file.id);
        }
        None => {
            let _ = writeln!(out, "file id:   (none)");
        }
    }
    let _ = writeln!(out, "filename:  {}", upload.filename);
    let _ = writeln!(
        out,
        "bytes:     {bytes} ({}) in {} part{}",
        HumanBytes(bytes),
        progress.parts_total,
        if progress.parts_total == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "status:    {}", upload.status);
    let per_second = bytes as f64 / elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "elapsed:   {} ({}/s)",
        human_duration(elapsed),
        HumanBytes(per_second as u64)
    );
    print_stdout(&out)
}

/// Why the upload of this journal is known to be dead (`cancelled`, or `expired` while only
/// parts were sent), read leniently: the snapshot line, then each state event after it.
fn dead_upload(journal: &Path) -> Option<&'static str> {
    let text = std::fs::read(journal).ok()?;
    let mut lines = text.split(|b| *b == b'\n');
    let snapshot: serde_json::Value = serde_json::from_slice(lines.next()?).ok()?;
    let mut state = snapshot.get("state")?.as_str()?.to_owned();
    for line in lines {
        let event = serde_json::from_slice::<serde_json::Value>(line).ok();
        if let Some(s) = event.as_ref().and_then(|e| e.get("state")?.as_str()) {
            state = s.to_owned();
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    let int = |name: &str| snapshot.get(name).and_then(|v| v.as_i64());
    let expires = match (int("started_at"), int("ttl_secs")) {
        (Some(start), Some(ttl)) => start + ttl,
        _ => int("expires_at")?,
    };
    match state.as_str() {
        "cancelled" => Some("cancelled"),
        "in_progress" if expires <= now => Some("expired"),
        _ => None,
    }
}
