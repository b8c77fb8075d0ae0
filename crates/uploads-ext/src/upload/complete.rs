//! `complete`, told honestly: an outcome that may have happened is never followed by a cancel,
//! and an unknown one is settled at once (see `settle`).

use openai_uploads_generated::models::CompleteUploadRequest;

use crate::error::{Error, ErrorKind, Result};

use super::completed::CompletedUpload;
use super::context::UploadContext;
use super::handle::Finalizer;
use super::journal::{JournalFile, JournalState};
use super::settle::{settle, SettleRequest, Settlement};

/// Sends `complete` with the part ids in file order. The journal says `completing` first, and
/// the cleanup may not cancel until the answer proves nothing happened. `times`: the Upload's
/// `created_at` and `expires_at` (server clock), to find its File if the answer is lost.
pub(crate) async fn complete(
    ctx: &UploadContext,
    part_ids: Vec<String>,
    md5: Option<String>,
    journal: &mut Option<JournalFile>,
    finalizer: &mut Finalizer,
    sent_before: bool,
    times: (i64, i64),
) -> Result<CompletedUpload> {
    if let Some(file) = journal.as_mut() {
        file.set_state(JournalState::Completing)?;
    }
    finalizer.may_cancel(false);
    let mut request = CompleteUploadRequest::new(part_ids.clone());
    request.md5 = md5.clone();
    let options = crate::options::RequestOptions::default();
    let (result, lost_before) = ctx
        .client()
        .complete_tracking(ctx.upload_id(), request, &options)
        .await;
    let upload = match result {
        Ok(upload) => upload,
        Err(err) => {
            let err = err.with_upload_id(ctx.upload_id());
            let maybe_done = lost_before || sent_before;
            if err.outcome_unknown() || maybe_done {
                // No answer, or a later "not pending" after an answer we never saw: settle it.
                let input = ctx.input();
                let mut target = SettleRequest::new(
                    ctx.upload_id(),
                    input.filename.clone(),
                    input.total,
                    input.purpose.clone(),
                    times.0,
                )
                .upload_times(times.0, times.1)
                .part_ids(part_ids);
                target.md5 = md5;
                let first = (!err.outcome_unknown()).then_some(&err);
                let settled = settle(ctx.client(), &target, first).await;
                return conclude(ctx.upload_id(), settled, journal, finalizer, Some(err));
            }
            // A definite refusal (md5 mismatch, bad part ids, ...): nothing happened.
            if let Some(file) = journal.as_mut() {
                let _ = file.set_state(JournalState::InProgress);
            }
            finalizer.may_cancel(true);
            return Err(err);
        }
    };
    let completed = CompletedUpload::from_answer(upload, ctx.input().total)
        .inspect_err(|err| completed_but_wrong(err, journal, finalizer))?;
    tracing::info!(upload_id = %ctx.upload_id(), file_id = completed.file_id(), "upload completed");
    Ok(completed)
}

/// Turns a settlement into the upload's outcome; a definite answer moves the journal out of
/// `completing` (removed, or back to `in_progress` after a refusal). `lost`: the error of the
/// `complete` whose answer was lost, kept (status, request id) when the outcome stays unknown.
pub(crate) fn conclude(
    upload_id: &str,
    settled: Result<Settlement>,
    journal: &mut Option<JournalFile>,
    finalizer: &mut Finalizer,
    lost: Option<Error>,
) -> Result<CompletedUpload> {
    let settlement = settled.inspect_err(|err| completed_but_wrong(err, journal, finalizer))?;
    let gone = |journal: &mut Option<JournalFile>, finalizer: &mut Finalizer, what: &str| {
        if let Some(file) = journal.take() {
            super::journal::remove(&file.path);
        }
        finalizer.settled();
        format!(
            "upload {upload_id} was {what} on the server before it completed: no File was made; \
             its journal was removed, so running the same upload again starts afresh"
        )
    };
    match settlement {
        Settlement::Completed(done) => {
            tracing::info!(
                upload_id,
                file_id = done.file_id(),
                "upload settled: completed"
            );
            Ok(*done)
        }
        Settlement::Cancelled => {
            let message = gone(journal, finalizer, "cancelled");
            Err(Error::new(ErrorKind::Cancelled, message).with_upload_id(upload_id))
        }
        Settlement::Expired => {
            let message = gone(journal, finalizer, "expired");
            Err(Error::new(ErrorKind::Expired, message).with_upload_id(upload_id))
        }
        Settlement::Refused { reason } => {
            if let Some(file) = journal.as_mut() {
                let _ = file.set_state(JournalState::InProgress);
            }
            finalizer.may_cancel(true);
            Err(Error::new(
                ErrorKind::BadRequest,
                format!("upload {upload_id} is still pending and complete was refused: {reason}"),
            )
            .with_upload_id(upload_id))
        }
        Settlement::Unknown { reason } => Err(unknown(upload_id, &reason, lost)),
    }
}

/// A completed upload whose File is wrong: nothing to resume, nothing to cancel.
fn completed_but_wrong(err: &Error, journal: &mut Option<JournalFile>, finalizer: &mut Finalizer) {
    if err.kind() == ErrorKind::FileSizeMismatch {
        if let Some(file) = journal.take() {
            super::journal::remove(&file.path);
        }
        finalizer.settled();
    }
}

fn unknown(upload_id: &str, reason: &str, lost: Option<Error>) -> Error {
    let message = format!(
        "the outcome of completing upload {upload_id} is unknown (an answer was lost, and \
         settling it got no definite answer: {reason}); it was not cancelled: resume or rerun \
         to settle it again before uploading the file anew"
    );
    match lost {
        Some(err) => err.with_kind(ErrorKind::CompletionUnknown, message),
        None => Error::new(ErrorKind::CompletionUnknown, message),
    }
    .with_upload_id(upload_id)
}
