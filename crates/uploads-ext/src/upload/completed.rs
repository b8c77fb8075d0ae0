//! [`CompletedUpload`]: what a successful upload returns.

use crate::error::{Error, ErrorKind, Result};
use crate::types::{OpenAiFile, Upload, UploadStatus};

/// A completed Upload and its File. Only built from a `complete` answer whose status is
/// `completed` and that carries a File, so [`file_id`](Self::file_id) needs no `expect`.
#[derive(Debug, Clone)]
pub struct CompletedUpload {
    upload: Upload,
    file: OpenAiFile,
    bytes: u64,
}

impl CompletedUpload {
    /// Checks a `complete` answer; `bytes` is the content's size.
    pub(crate) fn from_answer(upload: Upload, bytes: u64) -> Result<CompletedUpload> {
        let done = Self::from_answer_unchecked(upload, bytes)?;
        done.check_size()?;
        Ok(done)
    }

    /// A completed upload whose File was found (not answered by `complete`): the Upload is
    /// rebuilt from what is known of it. `times`: its `created_at` and `expires_at`, when known.
    pub(crate) fn found(
        upload_id: &str,
        file: OpenAiFile,
        bytes: u64,
        times: Option<(i64, i64)>,
    ) -> Result<CompletedUpload> {
        let mut upload = Upload::default();
        upload.id = upload_id.to_owned();
        upload.object = Some(crate::types::UploadObject::Upload);
        upload.status = UploadStatus::Completed;
        upload.bytes = bytes;
        upload.filename = file.filename.clone();
        upload.purpose = file.purpose.as_str().into();
        // Unknown times: the File's creation (the Upload's is not later) and no expiry (0).
        (upload.created_at, upload.expires_at) = times.unwrap_or((file.created_at, 0));
        upload.file = Some(file);
        let done = Self::from_answer_unchecked(upload, bytes)?;
        done.check_size()?;
        Ok(done)
    }

    /// The File's `bytes` must be the size uploaded: a server that does not verify the md5 still
    /// cannot hand back a truncated File unnoticed.
    fn check_size(&self) -> Result<()> {
        if self.file.bytes == self.bytes {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::FileSizeMismatch,
            format!(
                "upload {} completed, but its File {} has {} bytes where {} were uploaded: the \
                 File is not the content sent; delete it and upload again (the upload was not \
                 cancelled)",
                self.upload.id, self.file.id, self.file.bytes, self.bytes
            ),
        )
        .with_upload_id(self.upload.id.clone()))
    }

    fn from_answer_unchecked(upload: Upload, bytes: u64) -> Result<CompletedUpload> {
        if upload.status != UploadStatus::Completed {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                format!(
                    "complete answered with status {:?}, not completed",
                    upload.status.as_str()
                ),
            )
            .with_upload_id(upload.id.clone()));
        }
        let Some(file) = upload.file.clone() else {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                "complete answered without a File",
            )
            .with_upload_id(upload.id.clone()));
        };
        Ok(CompletedUpload {
            file,
            upload,
            bytes,
        })
    }

    /// The created File's id, e.g. to start a fine-tuning job.
    pub fn file_id(&self) -> &str {
        &self.file.id
    }

    /// The created File.
    pub fn file(&self) -> &OpenAiFile {
        &self.file
    }

    /// The completed Upload, as the API returned it. When its `complete` answer was lost and its
    /// File was found instead (see [`Client::settle_upload`](crate::Client::settle_upload)), it
    /// is rebuilt from what is known: the File, and the `created_at` and `expires_at` of the
    /// create answer (in an upload or a resume) or of
    /// [`SettleRequest::upload_times`](super::SettleRequest::upload_times); without those, the
    /// File's `created_at` and an `expires_at` of 0.
    pub fn upload(&self) -> &Upload {
        &self.upload
    }

    /// The Upload's id.
    pub fn upload_id(&self) -> &str {
        &self.upload.id
    }

    /// Bytes uploaded.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The completed Upload, owned.
    pub fn into_upload(self) -> Upload {
        self.upload
    }
}
