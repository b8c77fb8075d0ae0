//! Settling an upload whose `complete` outcome is unknown (its answer lost, a kill while it ran).
//!
//! The API cannot read an Upload, but `complete` answers for it: sent again, a pending upload
//! just completes, and an upload that is no longer pending is refused with an error naming its
//! status. For `completed` the File it produced is found in `GET /files` (by filename, bytes,
//! purpose and creation time, paginating); `cancelled` and `expired` are definite answers too.

use openai_uploads_generated::models::CompleteUploadRequest;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::options::RequestOptions;
use crate::types::{OpenAiFile, Purpose, UploadStatus};

use super::completed::CompletedUpload;

/// Files asked for per page of `GET /files` while looking for an upload's File.
const PAGE: u32 = 100;
/// Most pages read (newest first) before giving up: 5,000 Files of the purpose since the upload.
const MAX_PAGES: usize = 50;
/// Most `complete` requests one settle sends (each with the client's own retries).
const MAX_ROUNDS: usize = 2;

/// What [`Client::settle_upload`] needs: the upload's id and what identifies its File.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SettleRequest {
    /// The Upload's id.
    pub upload_id: String,
    /// The upload's (and so its File's) filename.
    pub filename: String,
    /// The upload's size in bytes (its File has exactly this many).
    pub bytes: u64,
    /// The purpose the upload was created with.
    pub purpose: Purpose,
    /// A lower bound of the Upload's `created_at` (Unix seconds, server clock): its File is not
    /// older. A bound too low only makes the search longer (and may find a look-alike File).
    pub created_after: i64,
    /// The part ids in file order, to complete the upload if it is still pending (empty: a
    /// pending upload cannot be completed, only its status learnt).
    pub part_ids: Vec<String>,
    /// The md5 of the content (lowercase hex), sent with `complete` when known.
    pub md5: Option<String>,
    /// The Upload's exact `created_at` (Unix seconds, server clock), when known (from its
    /// create answer or a journal). With [`upload_expires_at`](Self::upload_expires_at) it fills
    /// the Upload that is rebuilt around a File found after a lost answer; see
    /// [`CompletedUpload::upload`].
    pub upload_created_at: Option<i64>,
    /// The Upload's exact `expires_at` (Unix seconds, server clock), when known.
    pub upload_expires_at: Option<i64>,
}

impl SettleRequest {
    /// A request without part ids or md5 (set them with [`part_ids`](Self::part_ids) and
    /// [`md5`](Self::md5) to complete an upload that is still pending).
    pub fn new(
        upload_id: impl Into<String>,
        filename: impl Into<String>,
        bytes: u64,
        purpose: impl Into<Purpose>,
        created_after: i64,
    ) -> SettleRequest {
        SettleRequest {
            upload_id: upload_id.into(),
            filename: filename.into(),
            bytes,
            purpose: purpose.into(),
            created_after,
            part_ids: Vec::new(),
            md5: None,
            upload_created_at: None,
            upload_expires_at: None,
        }
    }

    /// The Upload's exact `created_at` and `expires_at`, as its create answer gave them.
    pub fn upload_times(mut self, created_at: i64, expires_at: i64) -> Self {
        self.upload_created_at = Some(created_at);
        self.upload_expires_at = Some(expires_at);
        self
    }

    /// The part ids in the order their bytes form the file.
    pub fn part_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.part_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The md5 of the whole content as lowercase hex.
    pub fn md5(mut self, md5: impl Into<String>) -> Self {
        self.md5 = Some(md5.into());
        self
    }
}

/// What became of an upload, as settled by [`Client::settle_upload`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Settlement {
    /// The upload completed (now, or before): its File, found or answered.
    Completed(Box<CompletedUpload>),
    /// The server says the upload was cancelled: no File was made.
    Cancelled,
    /// The server says the upload expired before it completed: no File was made.
    Expired,
    /// The upload is still pending and `complete` was refused (e.g. an md5 or part mismatch):
    /// nothing was completed.
    Refused {
        /// The server's answer.
        reason: String,
    },
    /// No definite answer could be had (no answer, the upload is still being completed, or it
    /// completed but its File could not be told apart); settling again later may answer it.
    Unknown {
        /// Why the outcome is still unknown.
        reason: String,
    },
}

impl Settlement {
    /// A short word for the outcome: `completed`, `cancelled`, `expired`, `refused`, `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Settlement::Completed(_) => "completed",
            Settlement::Cancelled => "cancelled",
            Settlement::Expired => "expired",
            Settlement::Refused { .. } => "refused",
            Settlement::Unknown { .. } => "unknown",
        }
    }
}

impl Client {
    /// Settles an upload whose `complete` outcome is unknown: sends `complete` again (a pending
    /// upload completes, with `part_ids` and `md5`), and when the server answers that the upload
    /// is no longer pending, reads the status it names: for `completed`, finds the File in
    /// `GET /files` (by filename, bytes, purpose and `created_at >= created_after`, paginating);
    /// `cancelled` and `expired` are returned as such. Only when none of this answers is the
    /// outcome [`Settlement::Unknown`].
    ///
    /// Errors: invalid input, and [`ErrorKind::FileSizeMismatch`] when a `complete` answered
    /// with a File whose size is not `bytes`.
    pub async fn settle_upload(&self, request: SettleRequest) -> Result<Settlement> {
        if request.upload_id.trim().is_empty() || request.filename.is_empty() {
            return Err(Error::invalid_input(
                "settling needs the upload id and the upload's filename",
            ));
        }
        settle(self, &request, None).await
    }
}

/// The status an error about a no-longer-pending upload names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    Completed,
    Cancelled,
    Expired,
    BeingCompleted,
}

/// Reads the upload status a refusal names ("... because its status is 'cancelled'.").
fn named_status(err: &Error) -> Option<Named> {
    if !matches!(
        err.kind(),
        ErrorKind::BadRequest | ErrorKind::Conflict | ErrorKind::Unprocessable
    ) {
        return None;
    }
    if err
        .api_error()?
        .message
        .to_ascii_lowercase()
        .contains("being completed")
    {
        return Some(Named::BeingCompleted);
    }
    match err.upload_status()? {
        UploadStatus::Completed => Some(Named::Completed),
        UploadStatus::Cancelled => Some(Named::Cancelled),
        UploadStatus::Expired => Some(Named::Expired),
        _ => None,
    }
}

/// Settles `request`. `first`: an answer already had (a retried `complete`'s "not pending"),
/// used instead of sending `complete` again.
pub(crate) async fn settle(
    client: &Client,
    request: &SettleRequest,
    first: Option<&Error>,
) -> Result<Settlement> {
    let id = request.upload_id.as_str();
    let mut had = first.map(|e| (named_status(e), e.to_string(), e.kind()));
    let mut reason = String::from("no answer");
    for _ in 0..MAX_ROUNDS {
        let (named, said, kind) = match had.take() {
            Some(answer) => answer,
            None => {
                let mut body = CompleteUploadRequest::new(request.part_ids.clone());
                body.md5 = request.md5.clone();
                let options = RequestOptions::default();
                match client.complete_tracking(id, body, &options).await.0 {
                    Ok(upload) => {
                        let done = CompletedUpload::from_answer(upload, request.bytes)?;
                        return Ok(Settlement::Completed(Box::new(done)));
                    }
                    Err(err) => (named_status(&err), err.to_string(), err.kind()),
                }
            }
        };
        match named {
            Some(Named::Completed) => return find_file(client, request).await,
            Some(Named::Cancelled) => return Ok(Settlement::Cancelled),
            Some(Named::Expired) => return Ok(Settlement::Expired),
            Some(Named::BeingCompleted) => reason = said,
            None if definite_refusal(kind) && !request.part_ids.is_empty() => {
                return Ok(Settlement::Refused { reason: said })
            }
            // Without part ids a pending upload cannot be completed, and the refusal says so.
            None if definite_refusal(kind) => {
                return Ok(Settlement::Unknown {
                    reason: format!(
                        "upload {id}: the server named no status, so it may still be pending \
                         (completing it needs its part ids: resume it from its journal): {said}"
                    ),
                })
            }
            None => reason = said,
        }
    }
    Ok(Settlement::Unknown {
        reason: format!("upload {id}: {reason}"),
    })
}

/// A refusal that proves the upload is pending and nothing happened (not a lost answer).
fn definite_refusal(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::BadRequest | ErrorKind::Unprocessable)
}

/// The completed upload's File: the one File of the purpose named `filename`, of `bytes` bytes,
/// created since `created_after`.
async fn find_file(client: &Client, request: &SettleRequest) -> Result<Settlement> {
    let id = &request.upload_id;
    let matches = |f: &OpenAiFile| {
        f.filename == request.filename
            && f.bytes == request.bytes
            && f.purpose.as_str() == request.purpose.as_str()
            && f.created_at >= request.created_after
    };
    let mut found: Vec<OpenAiFile> = Vec::new();
    let mut after: Option<String> = None;
    let mut complete_search = false;
    for _ in 0..MAX_PAGES {
        let mut list = client
            .list_files()
            .purpose(request.purpose.as_str())
            .limit(PAGE);
        if let Some(cursor) = after.take() {
            list = list.after(cursor);
        }
        let page = match list.send().await {
            Ok(page) => page,
            Err(err) => {
                return Ok(Settlement::Unknown {
                    reason: format!(
                        "upload {id} completed, but the Files could not be listed: {err}"
                    ),
                })
            }
        };
        // Newest first: a page ending before the bound ends the search.
        let past_bound = page
            .data
            .last()
            .is_none_or(|f| f.created_at < request.created_after);
        after = page
            .last_id
            .clone()
            .or_else(|| page.data.last().map(|f| f.id.clone()));
        found.extend(page.data.into_iter().filter(|f| matches(f)));
        if !page.has_more || past_bound || after.is_none() {
            complete_search = true;
            break;
        }
    }
    let what = format!(
        "File named {:?} of {} bytes for purpose {} created since {}",
        request.filename,
        request.bytes,
        request.purpose.as_str(),
        request.created_after
    );
    match found.len() {
        1 => {
            let file = found.pop().expect("one File");
            let done = CompletedUpload::found(
                id,
                file,
                request.bytes,
                request.upload_created_at.zip(request.upload_expires_at),
            )?;
            Ok(Settlement::Completed(Box::new(done)))
        }
        0 if complete_search => Ok(Settlement::Unknown {
            reason: format!("upload {id} completed, but no {what} is listed"),
        }),
        0 => Ok(Settlement::Unknown {
            reason: format!(
                "upload {id} completed, but no {what} is among the newest {} Files",
                PAGE as usize * MAX_PAGES
            ),
        }),
        n => Ok(Settlement::Unknown {
            reason: format!(
                "upload {id} completed, but {n} Files match ({}): which {what} is its File \
                 cannot be told (give a later created_after)",
                found
                    .iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
