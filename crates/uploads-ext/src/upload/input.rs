//! The validated, immutable input of an upload: everything fixed before the first request.
//!
//! The builder ends here; nothing below it sees the builder.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::client::check_upload_size;
use crate::error::{Error, Result};
use crate::part::MAX_PART_BYTES;
use crate::types::Purpose;

use super::builder::{BuilderSource, UploadFileBuilder};
use super::journal::{FileIdentity, Journal};
use super::progress::ProgressFn;
use super::source::BoxReader;
use super::{auto_part_size, guess_mime_type, MAX_CONCURRENCY, MAX_PARTS, READER_AUTO_PART_BYTES};

/// Where the content comes from, once checked.
pub(crate) enum SourceSpec {
    File {
        path: PathBuf,
        identity: FileIdentity,
    },
    Bytes(Bytes),
    /// The reader itself travels beside the input (it is consumed, the input is shared).
    Reader,
}

/// Settings of the run that do not describe the content.
pub(crate) struct RunSettings {
    pub concurrency: usize,
    pub part_retries: u32,
    pub part_rounds: u32,
    pub expiry_margin: Duration,
    pub on_progress: Option<ProgressFn>,
}

/// Everything an upload needs, validated.
pub(crate) struct UploadInput {
    pub source: SourceSpec,
    pub total: u64,
    pub part_size: u64,
    pub parts: usize,
    pub filename: String,
    pub purpose: Purpose,
    pub mime_type: String,
    pub expires_after: Option<Duration>,
    pub md5: bool,
    /// Where the resume journal lives, if any.
    pub journal: Option<PathBuf>,
    pub run: RunSettings,
}

impl UploadInput {
    /// The byte range of part `index`.
    pub(crate) fn range(&self, index: usize) -> std::ops::Range<u64> {
        let start = index as u64 * self.part_size;
        start..(start + self.part_size).min(self.total)
    }
}

/// Validates a builder (and, for a resume, its journal): every limit is checked here, before any
/// request. Returns the input and the reader of a reader source.
pub(crate) fn validate(
    b: UploadFileBuilder,
    resume: Option<&Journal>,
) -> Result<(UploadInput, Option<BoxReader>)> {
    if b.concurrency == 0 || b.concurrency > MAX_CONCURRENCY {
        return Err(Error::invalid_input(format!(
            "concurrency must be 1 to {MAX_CONCURRENCY}, got {}",
            b.concurrency
        )));
    }
    let mut reader = None;
    let (source, default_name, total) = match (b.source, resume) {
        (_, Some(j)) => {
            let identity = FileIdentity::of(&j.path)?;
            let path = j.path.clone();
            (SourceSpec::File { path, identity }, None, j.file.size)
        }
        (BuilderSource::File(path), None) => {
            let identity = FileIdentity::of(&path)?;
            // Open once now: an unreadable file fails here, before any request.
            std::fs::File::open(&path)
                .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let path = std::path::absolute(&path).unwrap_or(path);
            let size = identity.size;
            (SourceSpec::File { path, identity }, name, size)
        }
        (BuilderSource::Bytes(bytes), None) => {
            let size = bytes.len() as u64;
            (SourceSpec::Bytes(bytes), None, size)
        }
        (BuilderSource::Reader(r, len), None) => {
            reader = Some(r);
            (SourceSpec::Reader, None, len)
        }
        (BuilderSource::Resume(path), None) => {
            return Err(Error::invalid_input(format!(
                "resume of {} without its journal",
                path.display()
            )))
        }
    };
    if total == 0 {
        return Err(Error::invalid_input(
            "the content is empty: nothing to upload",
        ));
    }
    check_upload_size(total)?;
    let filename = match resume {
        Some(j) => j.filename.clone(),
        None => b.filename.or(default_name).ok_or_else(|| {
            Error::invalid_input("a file name is required for bytes and reader uploads")
        })?,
    };
    if filename.trim().is_empty() {
        return Err(Error::invalid_input("the file name must not be empty"));
    }
    let purpose = match resume {
        Some(j) => Purpose::from(j.purpose.clone()),
        None => b
            .purpose
            .ok_or_else(|| Error::invalid_input("purpose is required"))?,
    };
    let mime_type = match resume {
        Some(j) => j.mime_type.clone(),
        None => b.mime_type.unwrap_or_else(|| guess_mime_type(&filename)),
    };
    if mime_type.parse::<mime_guess::mime::Mime>().is_err() {
        return Err(Error::invalid_input(format!(
            "invalid MIME type {mime_type:?}"
        )));
    }
    let part_size = match (resume, b.part_size) {
        (Some(j), _) => j.part_size,
        (None, Some(size)) => size,
        // Reader parts are buffered: cap them so memory stays near concurrency x 8 MiB.
        (None, None) if matches!(source, SourceSpec::Reader) => {
            auto_part_size(total, b.concurrency).min(READER_AUTO_PART_BYTES)
        }
        (None, None) => auto_part_size(total, b.concurrency),
    };
    if part_size == 0 || part_size > MAX_PART_BYTES {
        return Err(Error::invalid_input(format!(
            "part size must be 1 byte to 64 MiB ({MAX_PART_BYTES} bytes), got {part_size}"
        )));
    }
    let parts = total.div_ceil(part_size);
    if parts > MAX_PARTS {
        return Err(Error::invalid_input(format!(
            "{total} bytes in parts of {part_size} makes {parts} parts, more than {MAX_PARTS}: \
             use a larger part size"
        )));
    }
    if let Some(journal) = &b.journal {
        let SourceSpec::File { path, .. } = &source else {
            return Err(Error::invalid_input(
                "a resume journal needs a file source (bytes and readers cannot be re-read)",
            ));
        };
        if resume.is_none() {
            super::journal::check_storable(path)?;
            super::journal::check_new_journal(journal)?;
        }
    }
    let input = UploadInput {
        source,
        total,
        part_size,
        parts: parts as usize,
        filename,
        purpose,
        mime_type,
        expires_after: b.expires_after,
        md5: resume.map(|j| j.md5).unwrap_or(b.md5),
        journal: b.journal,
        run: RunSettings {
            concurrency: b.concurrency,
            part_retries: b.part_retries,
            part_rounds: b.part_rounds,
            expiry_margin: b.expiry_margin,
            on_progress: b.on_progress,
        },
    };
    Ok((input, reader))
}
