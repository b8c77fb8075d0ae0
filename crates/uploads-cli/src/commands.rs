//! `upload`, `resume` and `cancel`: the commands that talk to the real API.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use uploads_ext::{Client, ErrorKind, FailurePolicy, Purpose, Upload};

use crate::failure::Failure;
use crate::progress::{Interrupt, Tracker};
use crate::size::human_bytes;
use crate::{print_stdout, to_json, CancelArgs, ResumeArgs, UploadArgs};

/// The journal written next to FILE when `--keep-on-failure` is given without `--journal`.
pub fn default_journal(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".upload-journal.json");
    PathBuf::from(name)
}

/// A client configured from the environment. A missing `OPENAI_API_KEY` is a usage error.
pub fn client_from_env() -> Result<Client, Failure> {
    // The SDK checks the key (and base URL); its InvalidInput maps to the usage exit code.
    Client::from_env().map_err(|e| {
        let failure = sdk_failure(&e, false);
        if e.kind() == ErrorKind::InvalidInput {
            failure.with_hint(
                "`openai-uploads demo` runs against an embedded fake server without a key",
            )
        } else {
            failure
        }
    })
}

/// [`Failure::from_sdk`], with the error's underlying cause (e.g. the OS error of a missing
/// file) appended when the message does not already say it.
pub fn sdk_failure(err: &uploads_ext::Error, interrupted: bool) -> Failure {
    let mut failure = Failure::from_sdk(err, interrupted);
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !failure.message.contains(&text) {
            failure.message.push_str(": ");
            failure.message.push_str(&text);
        }
        source = cause.source();
    }
    failure
}

/// `openai-uploads upload FILE --purpose P ...`
pub async fn upload(args: UploadArgs) -> Result<(), Failure> {
    let client = client_from_env()?;
    let policy = if args.keep_on_failure {
        FailurePolicy::Keep
    } else {
        FailurePolicy::Cancel
    };
    let journal = match (&args.journal, args.keep_on_failure) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(default_journal(&args.file)),
        (None, false) => None,
    };
    if let Some(journal) = &journal {
        if journal.exists() {
            return Err(Failure::usage(format!(
                "the journal {} already exists (from an earlier upload)",
                journal.display()
            ))
            .with_hint(format!(
                "finish that upload with: openai-uploads resume {}",
                journal.display()
            ))
            .with_hint("or delete the journal, or choose another path with --journal"));
        }
    }

    let tracker = Tracker::new();
    let interrupt = Interrupt::install(&tracker);
    let mut builder = client
        .upload_file(&args.file)
        .purpose(Purpose::from(args.purpose.clone()))
        .md5(!args.no_md5)
        .failure_policy(policy)
        .on_progress(tracker.callback())
        .cancellation_token(interrupt.token());
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
    if let Some(seconds) = args.expires_after {
        builder = builder.expires_after(Duration::from_secs(seconds));
    }
    if let Some(journal) = &journal {
        builder = builder.journal(journal);
    }

    let started = Instant::now();
    let result = builder.send().await;
    tracker.finish();
    match result {
        Ok(upload) => print_upload(upload.upload(), &tracker, started.elapsed(), args.json),
        Err(err) => {
            let mut failure = sdk_failure(&err, interrupt.interrupted());
            if let Some(id) = err.upload_id() {
                failure = match (policy, &journal) {
                    (FailurePolicy::Keep, Some(journal)) if journal.exists() => failure
                        .with_hint(format!(
                            "upload {id} was kept (pending until it expires); the journal is {}",
                            journal.display()
                        ))
                        .with_hint(format!(
                            "resume with: openai-uploads resume {}",
                            journal.display()
                        )),
                    (FailurePolicy::Keep, _) => failure.with_hint(format!(
                        "upload {id} was left pending; cancel it with: openai-uploads cancel {id}"
                    )),
                    _ if err.kind() != ErrorKind::InvalidInput => failure.with_hint(format!(
                        "upload {id} was cancelled; rerun with --keep-on-failure to keep a \
                         failed upload resumable"
                    )),
                    _ => failure,
                };
            }
            Err(failure)
        }
    }
}

/// `openai-uploads resume JOURNAL ...`
pub async fn resume(args: ResumeArgs) -> Result<(), Failure> {
    let client = client_from_env()?;
    let policy = if args.cancel_on_failure {
        FailurePolicy::Cancel
    } else {
        FailurePolicy::Keep
    };
    let tracker = Tracker::new();
    let interrupt = Interrupt::install(&tracker);
    let mut builder = client
        .resume_upload(&args.journal)
        .failure_policy(policy)
        .on_progress(tracker.callback())
        .cancellation_token(interrupt.token());
    if let Some(concurrency) = args.concurrency {
        builder = builder.concurrency(concurrency);
    }
    let started = Instant::now();
    let result = builder.send().await;
    tracker.finish();
    match result {
        Ok(upload) => print_upload(upload.upload(), &tracker, started.elapsed(), args.json),
        Err(err) => {
            let mut failure = sdk_failure(&err, interrupt.interrupted());
            let resumable = !matches!(
                err.kind(),
                ErrorKind::Journal
                    | ErrorKind::Cancelled
                    | ErrorKind::Expired
                    | ErrorKind::FileChanged
                    | ErrorKind::NotFound
            ) || interrupt.interrupted();
            if policy == FailurePolicy::Keep && resumable && args.journal.exists() {
                failure = failure.with_hint(format!(
                    "the upload is still pending: retry with: openai-uploads resume {}",
                    args.journal.display()
                ));
            }
            Err(failure)
        }
    }
}

/// `openai-uploads cancel UPLOAD_ID ...`
pub async fn cancel(args: CancelArgs) -> Result<(), Failure> {
    let client = client_from_env()?;
    let upload = client
        .cancel_upload(&args.upload_id)
        .send()
        .await
        .map_err(|e| sdk_failure(&e, false))?;
    if args.json {
        print_stdout(&to_json(&upload)?)
    } else {
        print_stdout(&format!(
            "upload id: {}\nfilename:  {}\nstatus:    {}\n",
            upload.id, upload.filename, upload.status
        ))
    }
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
        human_bytes(bytes),
        progress.parts_total,
        if progress.parts_total == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "status:    {}", upload.status);
    let secs = elapsed.as_secs_f64();
    let _ = writeln!(
        out,
        "elapsed:   {secs:.2} s ({:.1} MiB/s)",
        bytes as f64 / crate::size::MIB as f64 / secs.max(1e-9)
    );
    print_stdout(&out)
}
