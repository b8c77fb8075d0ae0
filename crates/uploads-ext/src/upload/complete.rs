//! `complete`, told honestly: an outcome that may have happened is never followed by a cancel.

use openai_uploads_generated::models::CompleteUploadRequest;

use crate::error::{Error, ErrorKind, Result};

use super::completed::CompletedUpload;
use super::context::UploadContext;
use super::handle::Finalizer;
use super::journal::{JournalFile, JournalState};

/// Sends `complete` with the part ids in file order. The journal says `completing` first, and
/// the cleanup may not cancel until the answer proves nothing happened.
pub(crate) async fn complete(
    ctx: &UploadContext,
    part_ids: Vec<String>,
    md5: Option<String>,
    journal: &mut Option<JournalFile>,
    finalizer: &mut Finalizer,
    sent_before: bool,
) -> Result<CompletedUpload> {
    if let Some(file) = journal.as_mut() {
        file.set_state(JournalState::Completing)?;
    }
    finalizer.may_cancel(false);
    let mut request = CompleteUploadRequest::new(part_ids);
    request.md5 = md5;
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
                // No answer, or a later "not pending" after an answer we never saw.
                return Err(unknown(ctx.upload_id(), err));
            }
            // A definite refusal (md5 mismatch, bad part ids, ...): nothing happened.
            if let Some(file) = journal.as_mut() {
                let _ = file.set_state(JournalState::InProgress);
            }
            finalizer.may_cancel(true);
            return Err(err);
        }
    };
    let completed = CompletedUpload::from_answer(upload, ctx.input().total)?;
    tracing::info!(upload_id = %ctx.upload_id(), file_id = completed.file_id(), "upload completed");
    Ok(completed)
}

fn unknown(upload_id: &str, err: Error) -> Error {
    let said = match err.api_error() {
        Some(api) if !api.message.is_empty() => format!("; the server now says: {}", api.message),
        _ => String::new(),
    };
    err.with_kind(
        ErrorKind::CompletionUnknown,
        format!(
            "the outcome of completing upload {upload_id} is unknown (an answer was lost{said}); \
             it has probably completed: look for its File before uploading again. It was not \
             cancelled"
        ),
    )
}
