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

    /// The completed Upload, as the API returned it.
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
