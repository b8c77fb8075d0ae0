//! The one place that decides what a failed upload, resume or cancel means to the user: exit
//! code, kind, message, what cleanup did, and the next command to run.
//!
//! Hints follow the error: "resume" only when a retry can help (transient failures, or after
//! fixing the key or the file) and the upload was kept; otherwise say what is wrong and offer
//! `openai-uploads cancel ID` while the upload may still be pending. Claims about cleanup are
//! only what is known: "was cancelled" only after a cancel succeeded.

use std::path::{Path, PathBuf};

use uploads_ext::{Error, ErrorKind};

use crate::describe::describe;
use crate::duration::human_duration;
use crate::failure::{Cleanup, Failure, EXIT_FAILURE, EXIT_INVALID_INPUT, EXIT_OUTCOME_UNKNOWN};
use crate::signal::{Signal, CLEANUP_GRACE};

/// Which command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommandKind {
    /// `upload` (and anything before a command runs, such as building the client).
    #[default]
    Upload,
    /// `resume`.
    Resume,
    /// `cancel`: no cleanup of its own, and no next step beyond what is wrong.
    Cancel,
}

/// What the command knows beyond the error itself.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Which command failed.
    pub command: CommandKind,
    /// The failure policy is "keep": a failed upload stays pending for `resume`.
    pub keep: bool,
    /// The resume journal, when one is written (upload) or read (resume).
    pub journal: Option<PathBuf>,
    /// The signal that stopped the command, if one did.
    pub signal: Option<Signal>,
    /// The upload id reported by progress, for errors that do not carry it.
    pub upload_id: Option<String>,
    /// The content comes from stdin (`upload -`): it cannot be read again, so no upload of it
    /// can be kept for resume.
    pub from_stdin: bool,
    /// Running the same command again settles an unknown outcome (a batch with a manifest).
    pub rerun_settles: bool,
}

/// The failure an SDK error becomes.
pub fn from_error(err: &Error, ctx: &Context) -> Failure {
    let upload_id = err
        .upload_id()
        .map(str::to_owned)
        .or_else(|| ctx.upload_id.clone())
        .or_else(|| {
            // A refused resume (corrupt journal, changed file) must still name its upload.
            (ctx.command == CommandKind::Resume)
                .then(|| ctx.journal.as_deref().and_then(journal_upload_id))
                .flatten()
        });
    let mut failure = Failure::new(exit_code(err, ctx), kind_name(err), describe(err));
    failure.upload_id = upload_id.clone();
    failure.request_id = err.request_id().map(str::to_owned);
    failure.status = err.status().map(|s| s.as_u16());
    if ctx.command != CommandKind::Cancel {
        failure.cleanup = upload_id.as_ref().map(|_| cleanup(err, ctx));
    }

    if completion_unknown(err) {
        // The SDK already tried to settle it (complete again, the Files list) and got no answer;
        // after a signal, the `complete` in flight was waited for and did not answer in time.
        if let Some(signal) = ctx.signal {
            failure.message = format!(
                "interrupted by {} while completing: {}",
                signal.name(),
                failure.message
            );
        }
        let id = upload_id.as_deref().unwrap_or("UPLOAD_ID");
        failure.hints.push(settle_hint(id, ctx));
        return failure;
    }
    if let Some(signal) = ctx.signal {
        failure.kind = "interrupted".to_owned();
        let mut message = match &upload_id {
            Some(id) => format!("interrupted by {}: upload {id} stopped", signal.name()),
            None => format!(
                "interrupted by {} before an upload was created",
                signal.name()
            ),
        };
        if err.kind() != ErrorKind::Cancelled {
            // Something else failed on the way out: say it too.
            message = format!("{message} ({})", failure.message);
        }
        failure.message = message;
    } else if let Some(hint) = what_is_wrong(err) {
        failure.hints.push(hint.to_owned());
    }

    if let (Some(id), Some(cleanup)) = (&upload_id, &failure.cleanup) {
        let retry_helps = ctx.signal.is_some() || transient(err) || fixable(err);
        let hints = next_steps(id, cleanup, retry_helps, ctx);
        // The SDK's message may already say that the upload was cancelled.
        let said = failure
            .message
            .contains(&format!("upload {id} was cancelled"));
        failure.hints.extend(
            hints
                .into_iter()
                .filter(|h| !(said && h.ends_with("was cancelled"))),
        );
    } else if matches!(err.cleanup(), Some(uploads_ext::Cleanup::Unidentified)) {
        failure.cleanup = Some(Cleanup::Unidentified);
        failure.hints.push(
            "the answer to create was lost: an upload may exist whose id is unknown; it was not \
             cancelled and expires unused an hour after its creation"
                .to_owned(),
        );
    } else if ctx.signal.is_none() && transient(err) && ctx.command == CommandKind::Upload {
        failure
            .hints
            .push("no upload was created: run the same command again".to_owned());
    }
    failure
}

/// How to learn an unknown outcome without uploading the file again: the journal's resume, a
/// rerun whose manifest settles it, or `status`.
fn settle_hint(id: &str, ctx: &Context) -> String {
    let status = format!("`openai-uploads status {id} FILE --purpose PURPOSE`");
    let how = match existing_journal(ctx) {
        Some(journal) => format!(
            "`openai-uploads resume {}` (or {status})",
            journal.display()
        ),
        None if ctx.rerun_settles => format!("the same command again (or {status})"),
        None => status,
    };
    format!("do not upload the file again yet: settle it with {how}; exit 3 while still unknown")
}

/// The report when the command stops without the SDK's answer: a second signal, or the cleanup
/// took longer than [`CLEANUP_GRACE`]. `all_parts_accepted`: the upload was at its `complete`,
/// whose outcome is then unknown.
pub fn abandoned(
    signal: Signal,
    upload_id: Option<&str>,
    ctx: &Context,
    why: &str,
    all_parts_accepted: bool,
) -> Failure {
    let mut failure = Failure::new(signal.exit_code(), "interrupted", why);
    let Some(id) = upload_id else {
        failure.message = format!("{why}; no upload had been created");
        return failure;
    };
    failure.upload_id = Some(id.to_owned());
    if all_parts_accepted {
        failure.exit_code = EXIT_OUTCOME_UNKNOWN;
        failure.kind = "completion_unknown".to_owned();
        failure.message = format!(
            "{why}; every part of upload {id} was sent and its `complete` may have been too: the \
             upload may have completed (it was not cancelled)"
        );
        failure.cleanup = Some(Cleanup::Retained {
            journal: existing_journal(ctx),
        });
        failure.hints.push(settle_hint(id, ctx));
        return failure;
    }
    failure.message = format!("{why}; upload {id} was not cleaned up");
    let journal = existing_journal(ctx);
    if ctx.keep {
        failure.cleanup = Some(Cleanup::Retained {
            journal: journal.clone(),
        });
        if let Some(journal) = journal {
            failure.hints.push(format!(
                "upload {id} stays pending until it expires; resume with: openai-uploads \
                 resume {}",
                journal.display()
            ));
        }
    } else {
        failure.cleanup = Some(Cleanup::CancelUnconfirmed);
    }
    failure.hints.push(format!(
        "upload {id} may still be pending: cancel it with: openai-uploads cancel {id}"
    ));
    failure
}

/// The report when the SDK's cleanup is still running [`CLEANUP_GRACE`] after a signal.
pub fn cleanup_timed_out(
    signal: Signal,
    upload_id: Option<&str>,
    ctx: &Context,
    all_parts_accepted: bool,
) -> Failure {
    abandoned(
        signal,
        upload_id,
        ctx,
        &format!(
            "interrupted by {}: the cleanup did not finish within {}",
            signal.name(),
            human_duration(CLEANUP_GRACE)
        ),
        all_parts_accepted,
    )
}

/// 0/1/2/3 or the signal's code. An unknown outcome is 3 even after a signal: whether the File
/// exists is what the caller must learn.
fn exit_code(err: &Error, ctx: &Context) -> u8 {
    if completion_unknown(err) {
        return EXIT_OUTCOME_UNKNOWN;
    }
    if let Some(signal) = ctx.signal {
        return signal.exit_code();
    }
    match err.kind() {
        ErrorKind::InvalidInput => EXIT_INVALID_INPUT,
        // Another process is resuming: nothing wrong with the input, try again later.
        ErrorKind::Journal if err.is_journal_locked() => EXIT_FAILURE,
        // The journal given to `resume`, or one that cannot be written before the upload exists.
        ErrorKind::Journal if ctx.command == CommandKind::Resume || err.upload_id().is_none() => {
            EXIT_INVALID_INPUT
        }
        // The file is missing or unreadable before anything was created: the input is at fault.
        ErrorKind::Io if err.upload_id().is_none() && err.attempts() == 0 => EXIT_INVALID_INPUT,
        _ => EXIT_FAILURE,
    }
}

/// The answer to `complete` was lost and a retry says the upload is no longer pending.
fn completion_unknown(err: &Error) -> bool {
    err.kind() == ErrorKind::CompletionUnknown
}

/// A retry of the whole upload (or `resume`) may succeed without changing anything.
fn transient(err: &Error) -> bool {
    err.is_transient()
}

/// A retry may succeed once the user fixed something local (the key, the file's permissions).
fn fixable(err: &Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::Authentication | ErrorKind::PermissionDenied | ErrorKind::Io
    )
}

/// What was done about the upload, as the SDK reports it.
fn cleanup(err: &Error, ctx: &Context) -> Cleanup {
    match err.cleanup() {
        Some(uploads_ext::Cleanup::Cancelled) => Cleanup::Cancelled,
        Some(uploads_ext::Cleanup::CancelFailed { reason }) => Cleanup::CancelFailed {
            reason: reason.clone(),
        },
        Some(uploads_ext::Cleanup::Retained { journal }) => Cleanup::Retained {
            journal: journal.clone().filter(|j| j.exists()),
        },
        // Another process is resuming this upload: it is that process's to finish or cancel.
        Some(uploads_ext::Cleanup::LeftAlone) if err.is_journal_locked() => Cleanup::NotNeeded,
        // A refused resume left its upload as it was: pending, as far as anyone knows.
        Some(uploads_ext::Cleanup::LeftAlone) => Cleanup::Retained {
            journal: existing_journal(ctx),
        },
        Some(uploads_ext::Cleanup::NotNeeded) => Cleanup::NotNeeded,
        Some(uploads_ext::Cleanup::Unidentified) => Cleanup::Unidentified,
        // Not reported (a single request, or a cleanup kind this CLI does not know yet).
        _ => match err.kind() {
            ErrorKind::Expired | ErrorKind::NotFound | ErrorKind::Cancelled => Cleanup::NotNeeded,
            _ if ctx.keep => Cleanup::Retained {
                journal: existing_journal(ctx),
            },
            _ => Cleanup::CancelUnconfirmed,
        },
    }
}

/// What to run next for upload `id`.
fn next_steps(id: &str, cleanup: &Cleanup, retry_helps: bool, ctx: &Context) -> Vec<String> {
    let cancel = format!("openai-uploads cancel {id}");
    match cleanup {
        Cleanup::Cancelled => {
            let mut hints = vec![format!("upload {id} was cancelled")];
            if retry_helps && offers_keep(ctx) {
                hints.push(
                    "rerun with --keep-on-failure to keep a failed upload resumable".to_owned(),
                );
            }
            hints
        }
        Cleanup::CancelFailed { reason } => vec![format!(
            "could not cancel upload {id} ({reason}): cancel it with: {cancel}"
        )],
        Cleanup::CancelUnconfirmed => {
            let mut hints = vec![format!(
                "upload {id} was to be cancelled, but whether that happened is not known; if it \
                 is still pending, cancel it with: {cancel}"
            )];
            if retry_helps && offers_keep(ctx) {
                hints.push(
                    "rerun with --keep-on-failure to keep a failed upload resumable".to_owned(),
                );
            }
            hints
        }
        Cleanup::Retained { journal } => match journal {
            Some(journal) if retry_helps => vec![
                format!(
                    "upload {id} was kept (pending until it expires); the journal is {}",
                    journal.display()
                ),
                format!("resume with: openai-uploads resume {}", journal.display()),
                format!("or cancel it with: {cancel}"),
            ],
            _ => vec![format!(
                "upload {id} was not cancelled{}: if it is still pending, cancel it with: \
                 {cancel}",
                if retry_helps {
                    ""
                } else {
                    ", and resuming will not fix this"
                }
            )],
        },
        Cleanup::NotNeeded | Cleanup::Unidentified => Vec::new(),
    }
}

/// Whether `--keep-on-failure` could have kept this upload resumable.
fn offers_keep(ctx: &Context) -> bool {
    ctx.command == CommandKind::Upload && !ctx.from_stdin
}

/// What is wrong, for errors whose message alone does not say what to do.
fn what_is_wrong(err: &Error) -> Option<&'static str> {
    Some(match err.kind() {
        ErrorKind::Authentication => "check OPENAI_API_KEY (and OPENAI_BASE_URL if you set it)",
        ErrorKind::PermissionDenied => {
            "this API key may not use the Uploads API; check its project and permissions"
        }
        ErrorKind::NotFound => "no such upload: check the id, and OPENAI_BASE_URL if you set it",
        ErrorKind::RateLimited => "rate limited: try again later, or lower --concurrency",
        ErrorKind::Connection | ErrorKind::Timeout => {
            "check your network connection and OPENAI_BASE_URL; on a slow link raise --timeout"
        }
        ErrorKind::Expired => "uploads expire an hour after creation: start a new upload",
        _ => return None,
    })
}

/// The stable name of an error kind in `--json` output.
fn kind_name(err: &Error) -> &'static str {
    match err.kind() {
        ErrorKind::CompletionUnknown => "completion_unknown",
        ErrorKind::FileSizeMismatch => "file_size_mismatch",
        ErrorKind::UnexpectedResponse => "unexpected_response",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Io => "io",
        ErrorKind::FileChanged => "file_changed",
        ErrorKind::BadRequest => "bad_request",
        ErrorKind::Authentication => "authentication",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::Unprocessable => "unprocessable",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Server => "server",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Connection => "connection",
        ErrorKind::Decode => "decode",
        ErrorKind::Expired => "expired",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::Journal => "journal",
        _ => "other",
    }
}

fn existing_journal(ctx: &Context) -> Option<PathBuf> {
    ctx.journal.clone().filter(|j| j.exists())
}

/// The `upload_id` recorded in a journal, read leniently (the journal may be one the SDK
/// refuses).
fn journal_upload_id(path: &Path) -> Option<String> {
    // Only a regular file: a device or FIFO given as a journal would be read forever.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read(path).ok()?;
    // The snapshot line (events may follow it).
    let first = text.split(|b| *b == b'\n').next()?;
    let value: serde_json::Value = serde_json::from_slice(first).ok()?;
    value
        .get("upload_id")?
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}
