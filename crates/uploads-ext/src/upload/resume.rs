//! Journal <-> input checks before a resume sends anything.

use crate::error::{Error, ErrorKind, Result};
use crate::rt::Clock;

use super::input::UploadInput;
use super::journal::{Journal, JournalState};

/// Refuses a resume that cannot work; every refusal names the upload.
pub(crate) fn check_resumable(j: &Journal, input: &UploadInput, clock: &dyn Clock) -> Result<()> {
    let id = j.upload_id.clone();
    if j.state == JournalState::Cancelled {
        return Err(Error::new(
            ErrorKind::Cancelled,
            format!("upload {id} was cancelled: it cannot be resumed; start a new upload"),
        )
        .with_upload_id(id));
    }
    if let Some((path, identity)) = input.source.file() {
        if identity != j.file {
            return Err(Error::new(
                ErrorKind::FileChanged,
                format!(
                    "{} changed since the upload started (size {} -> {}, or modification \
                     time): start a new upload",
                    path.display(),
                    j.file.size,
                    identity.size
                ),
            )
            .with_upload_id(id));
        }
    }
    let left = j.seconds_left(clock);
    if left <= 0 {
        return Err(Error::new(
            ErrorKind::Expired,
            format!(
                "upload {id} expired {} ago",
                crate::timeout::human(std::time::Duration::from_secs(left.unsigned_abs()))
            ),
        )
        .with_upload_id(id));
    }
    for p in &j.parts {
        if p.index >= input.parts || input.range(p.index) != (p.start..p.end) {
            return Err(Error::new(
                ErrorKind::Journal,
                format!("journal part {} does not match the part layout", p.index),
            )
            .with_upload_id(id));
        }
    }
    Ok(())
}
