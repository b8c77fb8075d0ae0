//! Validation of a create request, in one place: the request builder and the upload's input
//! both check their fields here.

use std::time::Duration;

use openai_uploads_generated::models::{
    file_expiration_after, CreateUploadRequest, FileExpirationAfter,
};

use crate::error::{Error, Result};
use crate::timeout::format_duration;
use crate::types::Purpose;

/// The most bytes one upload may hold (8 GiB).
pub const MAX_UPLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// Bounds of `expires_after` accepted by the API: 1 hour to 30 days.
pub const EXPIRES_AFTER_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(3600)..=Duration::from_secs(2_592_000);

/// The fields of a create request as given (any may be missing until validated).
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateInput {
    pub(crate) filename: Option<String>,
    pub(crate) purpose: Option<Purpose>,
    pub(crate) bytes: Option<u64>,
    pub(crate) mime_type: Option<String>,
    pub(crate) expires_after: Option<Duration>,
}

impl CreateInput {
    /// The request, or the first field that is missing or out of the API's bounds.
    pub(crate) fn validate(&self) -> Result<CreateUploadRequest> {
        let filename = self
            .filename
            .clone()
            .ok_or_else(|| Error::invalid_input("filename is required"))?;
        if filename.trim().is_empty() {
            return Err(Error::invalid_input("filename must not be empty"));
        }
        let purpose = self
            .purpose
            .clone()
            .ok_or_else(|| Error::invalid_input("purpose is required"))?;
        if purpose.as_str().is_empty() {
            return Err(Error::invalid_input("purpose must not be empty"));
        }
        let bytes = self
            .bytes
            .ok_or_else(|| Error::invalid_input("bytes (the total size) is required"))?;
        check_upload_size(bytes)?;
        let mime_type = self
            .mime_type
            .clone()
            .ok_or_else(|| Error::invalid_input("mime_type is required"))?;
        if mime_type.parse::<mime_guess::mime::Mime>().is_err() {
            return Err(Error::invalid_input(format!(
                "invalid mime_type {mime_type:?}"
            )));
        }
        let mut request = CreateUploadRequest::new(filename, purpose, bytes, mime_type);
        if let Some(after) = self.expires_after {
            check_expires_after(after)?;
            request.expires_after = Some(FileExpirationAfter::new(
                file_expiration_after::Anchor::CreatedAt,
                after.as_secs(),
            ));
        }
        Ok(request)
    }
}

/// Checks a total upload size against the API's limits.
pub(crate) fn check_upload_size(bytes: u64) -> Result<()> {
    if bytes == 0 {
        return Err(Error::invalid_input(
            "an upload must not be empty: it needs at least 1 byte",
        ));
    }
    if bytes > MAX_UPLOAD_BYTES {
        return Err(Error::invalid_input(format!(
            "an upload may hold at most {MAX_UPLOAD_BYTES} bytes (8 GiB), got {bytes}"
        )));
    }
    Ok(())
}

/// Checks an `expires_after` against the API's bounds.
pub(crate) fn check_expires_after(after: Duration) -> Result<()> {
    if EXPIRES_AFTER_RANGE.contains(&after) {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "expires_after must be between 1 hour and 30 days (3600 to 2592000 seconds), got {} \
         ({} seconds)",
        format_duration(after),
        after.as_secs()
    )))
}
