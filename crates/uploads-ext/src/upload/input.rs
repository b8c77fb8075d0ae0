//! The input of an upload: the caller's settings as given ([`UploadInputBuilder`],
//! [`ResumeInputBuilder`], [`RunSettings`]) and, once checked, the validated, immutable
//! [`UploadInput`]. Every limit is checked here, before any request; nothing below sees a
//! builder.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::{Client, CreateInput};
use crate::error::{Error, Result};
use crate::part::MAX_PART_BYTES;
use crate::retry::DEFAULT_PART_RETRIES;
use crate::types::Purpose;

use super::journal::Journal;
use super::progress::ProgressFn;
use super::source::{BoxReader, Source, SourceRequest};
use super::{
    auto_part_size, guess_mime_type, FailurePolicy, DEFAULT_CANCEL_TIMEOUT, DEFAULT_EXPIRY_MARGIN,
    DEFAULT_PART_ROUNDS, MAX_CONCURRENCY, MAX_PARTS, PARTS_PER_SLOT,
};

/// Whether and how the md5 sent with `complete` is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Md5Choice {
    /// No md5 is sent.
    Off,
    /// Computed from the content while the parts are sent.
    Compute,
    /// Computed by the caller.
    Given([u8; 16]),
}

/// How a run goes, whatever the content: what a resume may change too. Not yet checked.
#[derive(Clone)]
pub(crate) struct RunSettings {
    /// `None`: adaptive, from [`super::DEFAULT_CONCURRENCY`] up to the client's budget.
    pub concurrency: Option<usize>,
    pub part_retries: u32,
    pub part_rounds: u32,
    pub expiry_margin: Duration,
    pub on_progress: Option<ProgressFn>,
    pub failure_policy: FailurePolicy,
    pub cancel_timeout: Duration,
    pub deadline: Option<Duration>,
    pub fail_if_too_slow: bool,
    pub cancel: CancellationToken,
    /// The journal stays after success: the caller (a batch) records the File first.
    pub keep_journal_on_success: bool,
}

impl RunSettings {
    pub(crate) fn new(failure_policy: FailurePolicy) -> RunSettings {
        RunSettings {
            concurrency: None,
            part_retries: DEFAULT_PART_RETRIES,
            part_rounds: DEFAULT_PART_ROUNDS,
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
            on_progress: None,
            failure_policy,
            cancel_timeout: DEFAULT_CANCEL_TIMEOUT,
            deadline: None,
            fail_if_too_slow: false,
            cancel: CancellationToken::new(),
            keep_journal_on_success: false,
        }
    }

    fn check(self, client: &Client) -> Result<Run> {
        let concurrency = check_concurrency(client, self.concurrency)?;
        Ok(Run {
            concurrency,
            adaptive: self.concurrency.is_none(),
            part_retries: self.part_retries,
            part_rounds: self.part_rounds,
            expiry_margin: self.expiry_margin,
            on_progress: self.on_progress,
            failure_policy: self.failure_policy,
            cancel_timeout: self.cancel_timeout,
            deadline: self.deadline,
            fail_if_too_slow: self.fail_if_too_slow,
            cancel: self.cancel,
            keep_journal_on_success: self.keep_journal_on_success,
        })
    }
}

/// The concurrency of one upload, checked against its limit and the client's budget: an
/// explicit concurrency above [`Client::max_parts_in_flight`] is refused (it could never be
/// reached); the default (adaptive) may grow up to the budget, its ceiling.
pub(crate) fn check_concurrency(client: &Client, concurrency: Option<usize>) -> Result<usize> {
    let budget = client.max_parts_in_flight();
    match concurrency {
        None => Ok(MAX_CONCURRENCY.min(budget)),
        Some(c) if c == 0 || c > MAX_CONCURRENCY => Err(Error::invalid_input(format!(
            "concurrency must be 1 to {MAX_CONCURRENCY}, got {c}"
        ))),
        Some(c) if c > budget => Err(Error::invalid_input(format!(
            "concurrency {c} is above the client's budget of {budget} parts in flight: raise it \
             with ClientBuilder::max_parts_in_flight({c}), or lower the concurrency"
        ))),
        Some(c) => Ok(c),
    }
}

/// [`RunSettings`], checked.
pub(crate) struct Run {
    /// The fixed number of parts in flight, or the ceiling of an adaptive one.
    pub concurrency: usize,
    /// No explicit concurrency: adapt within `1..=concurrency` (see [`super::adaptive`]).
    pub adaptive: bool,
    pub part_retries: u32,
    pub part_rounds: u32,
    pub expiry_margin: Duration,
    pub on_progress: Option<ProgressFn>,
    pub failure_policy: FailurePolicy,
    pub cancel_timeout: Duration,
    pub deadline: Option<Duration>,
    pub fail_if_too_slow: bool,
    pub cancel: CancellationToken,
    pub keep_journal_on_success: bool,
}

/// The settings of a new upload as the caller gave them.
pub(crate) struct UploadInputBuilder {
    pub source: SourceRequest,
    pub purpose: Option<Purpose>,
    pub mime_type: Option<String>,
    pub filename: Option<String>,
    pub expires_after: Option<Duration>,
    pub part_size: Option<u64>,
    pub md5: Md5Choice,
    pub journal: Option<PathBuf>,
    pub run: RunSettings,
}

impl UploadInputBuilder {
    pub(crate) fn new(source: SourceRequest) -> UploadInputBuilder {
        UploadInputBuilder {
            source,
            purpose: None,
            mime_type: None,
            filename: None,
            expires_after: None,
            part_size: None,
            md5: Md5Choice::Compute,
            journal: None,
            run: RunSettings::new(FailurePolicy::Cancel),
        }
    }

    /// Checks everything; returns the input and the reader of a reader source.
    pub(crate) fn build(self, client: &Client) -> Result<(UploadInput, Option<BoxReader>)> {
        let run = self.run.check(client)?;
        let checked = self.source.check()?;
        let source = checked.source;
        let total = source.len();
        let filename = self.filename.or(checked.default_name).ok_or_else(|| {
            Error::invalid_input("a file name is required for bytes and reader uploads")
        })?;
        let purpose = self
            .purpose
            .ok_or_else(|| Error::invalid_input("purpose is required"))?;
        let mime_type = self.mime_type.unwrap_or_else(|| guess_mime_type(&filename));
        // Adaptive: enough parts to grow into; fixed: one part per slot.
        let spread = if run.adaptive {
            run.concurrency * PARTS_PER_SLOT
        } else {
            run.concurrency
        };
        let auto = auto_part_size(total, spread);
        let part_size = self
            .part_size
            .unwrap_or_else(|| source.auto_part_cap().map_or(auto, |cap| auto.min(cap)));
        if let Some(journal) = &self.journal {
            let Some((path, _)) = source.file() else {
                return Err(Error::invalid_input(
                    "a resume journal needs a file source (bytes and readers cannot be re-read)",
                ));
            };
            super::journal::check_storable(path)?;
            super::journal::check_new_journal(journal)?;
        }
        let input = UploadInput::new(
            Content {
                source,
                filename,
                purpose,
                mime_type,
                expires_after: self.expires_after,
                part_size,
                md5: self.md5,
                journal: self.journal,
            },
            total,
            run,
        )?;
        Ok((input, checked.reader))
    }
}

/// The settings of a resume as the caller gave them: the journal decides the content.
pub(crate) struct ResumeInputBuilder {
    pub journal: PathBuf,
    pub run: RunSettings,
}

impl ResumeInputBuilder {
    pub(crate) fn new(journal: PathBuf) -> ResumeInputBuilder {
        // The caller kept this upload on purpose: a failed resume keeps it too unless told.
        ResumeInputBuilder {
            journal,
            run: RunSettings::new(FailurePolicy::Keep),
        }
    }

    /// Checks the settings; the journal itself is read later, under its lock.
    pub(crate) fn build(self, client: &Client) -> Result<ResumeInput> {
        Ok(ResumeInput {
            journal: self.journal,
            run: self.run.check(client)?,
        })
    }
}

/// A checked resume request, before its journal is read.
pub(crate) struct ResumeInput {
    pub journal: PathBuf,
    pub run: Run,
}

/// What describes the content and its Upload, before the layout is checked.
struct Content {
    source: Source,
    filename: String,
    purpose: Purpose,
    mime_type: String,
    expires_after: Option<Duration>,
    part_size: u64,
    md5: Md5Choice,
    journal: Option<PathBuf>,
}

/// Everything an upload needs, validated.
pub(crate) struct UploadInput {
    pub source: Source,
    pub total: u64,
    pub part_size: u64,
    pub parts: usize,
    pub filename: String,
    pub purpose: Purpose,
    pub mime_type: String,
    pub expires_after: Option<Duration>,
    pub md5: Md5Choice,
    /// Where the resume journal lives, if any.
    pub journal: Option<PathBuf>,
    pub run: Run,
}

impl UploadInput {
    /// The input a journal describes, for its file as it is now (compared by the resume).
    pub(crate) fn from_journal(j: &Journal, resume: ResumeInput) -> Result<Self> {
        let content = Content {
            source: Source::journaled(&j.path)?,
            filename: j.filename.clone(),
            purpose: Purpose::from(j.purpose.clone()),
            mime_type: j.mime_type.clone(),
            expires_after: None,
            part_size: j.part_size,
            md5: if j.md5 {
                Md5Choice::Compute
            } else {
                Md5Choice::Off
            },
            journal: Some(resume.journal),
        };
        UploadInput::new(content, j.file.size, resume.run)
    }

    /// Checks the create request (the one rule set of `POST /uploads`) and the part layout.
    fn new(c: Content, total: u64, run: Run) -> Result<UploadInput> {
        CreateInput {
            filename: Some(c.filename.clone()),
            purpose: Some(c.purpose.clone()),
            bytes: Some(total),
            mime_type: Some(c.mime_type.clone()),
            expires_after: c.expires_after,
        }
        .validate()?;
        let part_size = c.part_size;
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
        Ok(UploadInput {
            source: c.source,
            total,
            part_size,
            parts: parts as usize,
            filename: c.filename,
            purpose: c.purpose,
            mime_type: c.mime_type,
            expires_after: c.expires_after,
            md5: c.md5,
            journal: c.journal,
            run,
        })
    }

    /// The byte range of part `index`.
    pub(crate) fn range(&self, index: usize) -> std::ops::Range<u64> {
        let start = index as u64 * self.part_size;
        start..(start + self.part_size).min(self.total)
    }
}
