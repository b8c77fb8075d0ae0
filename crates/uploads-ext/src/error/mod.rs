//! The one error type of this crate.
//!
//! [`Error`] is opaque: match on [`Error::kind`] (a `#[non_exhaustive]` [`ErrorKind`]) and read
//! the details through accessors ([`Error::status`], [`Error::api_error`], [`Error::request_id`],
//! [`Error::retry_after`], [`Error::part`], [`Error::raw_response`], ...). Keeping the fields
//! private lets the crate add context (for example the failing part of a chunked upload) without
//! breaking callers, and keeps secrets out: no error ever holds the API key or request headers.
//!
//! `Display` describes this error only, never its cause: print the chain with the cause's own
//! `Display` (`{:#}` of anyhow, `std::error::Report`, or a loop over [`source`](std::error::Error::source)).
//!
//! This module imports nothing of the crate: everything above it builds errors, it builds on
//! nothing. Whether an error is worth retrying is decided in `retry/classify.rs`.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

mod api;
mod convert;
mod kind;
pub(crate) mod local;
mod raw;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

pub use api::ApiError;
pub use kind::ErrorKind;
pub use raw::{RawResponse, BODY_SNIPPET_CHARS};

/// The part of a chunked upload an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartContext {
    /// Zero-based index of the part in file order.
    pub index: usize,
    /// The part's byte range in the source.
    pub range: Range<u64>,
}

/// What the upload's one cleanup path did with the server-side Upload after a failure, an abort
/// or a cancellation; see [`Error::cleanup`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cleanup {
    /// The Upload was cancelled on the server (the cancel request succeeded).
    Cancelled,
    /// Cancelling failed or timed out: the Upload may still be pending until it expires.
    /// Cancel it yourself (`openai-uploads cancel ID`).
    CancelFailed {
        /// Why the cancel failed.
        reason: String,
    },
    /// The Upload was left as it is on purpose ([`crate::FailurePolicy::Keep`], or an outcome
    /// that a cancel could make worse, such as an unknown `complete`).
    Retained {
        /// The resume journal that describes it, if any.
        journal: Option<std::path::PathBuf>,
    },
    /// Refused before taking over the Upload that a journal names: a resume whose journal could
    /// not be used or is locked by another process resuming it ([`Error::is_journal_locked`]),
    /// or a new upload whose journal already describes one. That Upload ([`Error::upload_id`])
    /// was left as it was: still pending unless it expired or someone else finishes or cancels
    /// it. Nothing was cancelled.
    LeftAlone,
    /// No Upload had been created: nothing to clean up.
    NotNeeded,
    /// The `create` request's outcome is unknown (its answer was lost or could not be decoded
    /// and named no id): an Upload may exist that nobody can name. Nothing was cancelled; such
    /// an Upload expires unused (an hour after creation).
    Unidentified,
}

impl fmt::Display for Cleanup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cleanup::Cancelled => f.write_str("the upload was cancelled"),
            Cleanup::CancelFailed { reason } => write!(f, "could not cancel the upload: {reason}"),
            Cleanup::Retained { journal: Some(j) } => {
                write!(f, "the upload was left pending (journal {})", j.display())
            }
            Cleanup::Retained { journal: None } => f.write_str("the upload was left as it is"),
            Cleanup::LeftAlone => {
                f.write_str("the upload was left as it was (the resume did not take it over)")
            }
            Cleanup::NotNeeded => f.write_str("no upload had been created"),
            Cleanup::Unidentified => {
                f.write_str("an upload may have been created but its id is unknown")
            }
        }
    }
}

/// The error type of every fallible operation in this crate.
///
/// Opaque: match on [`Error::kind`] (a `#[non_exhaustive]` [`ErrorKind`]) and read the details
/// through accessors ([`Error::status`], [`Error::api_error`], [`Error::request_id`],
/// [`Error::retry_after`], [`Error::part`], [`Error::raw_response`], ...). No error holds the API
/// key or request headers.
///
/// `Display` describes this error only, never its cause: print the chain with the cause's own
/// `Display` (`{:#}` of anyhow, or a loop over [`source`](std::error::Error::source)).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    operation: Option<&'static str>,
    upload_id: Option<String>,
    /// The HTTP answer this error was decoded from, if one arrived.
    raw: Option<RawResponse>,
    /// The envelope decoded from `raw`'s body (decoded once, when the error is built).
    api: Option<ApiError>,
    /// Read from `raw`'s headers when the error is built (an HTTP-date is relative to then).
    retry_after: Option<Duration>,
    should_retry_header: Option<bool>,
    part: Option<PartContext>,
    attempts: u32,
    cleanup: Option<Cleanup>,
    /// The request may have been performed although no answer says so (answer lost, timed out
    /// after sending, or a 2xx that could not be decoded).
    outcome_unknown: bool,
    /// The `id` found in an undecodable success body (a created Upload's id).
    undecoded_id: Option<String>,
    /// A journal's lock is held by another process (see [`Error::is_journal_locked`]).
    journal_locked: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` with `message`, e.g. to stand in for the SDK in your own tests.
    /// Errors of HTTP answers are built with [`Error::from_http_response`].
    ///
    /// ```
    /// use uploads_ext::{Error, ErrorKind};
    ///
    /// let err = Error::new(ErrorKind::Timeout, "no progress for 10 s");
    /// assert!(err.is_timeout());
    /// assert_eq!(err.to_string(), "no progress for 10 s");
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                operation: None,
                upload_id: None,
                raw: None,
                api: None,
                retry_after: None,
                should_retry_header: None,
                part: None,
                attempts: 0,
                cleanup: None,
                outcome_unknown: false,
                undecoded_id: None,
                journal_locked: false,
                source: None,
            }),
        }
    }

    /// The error the SDK makes of an HTTP answer that is not a success: the kind from the status,
    /// the API's error envelope decoded from `body`, the request id and retry hints from
    /// `headers`. For your own tests, e.g. of how your code handles a rate limit:
    ///
    /// ```
    /// use uploads_ext::{Error, ErrorKind};
    /// use uploads_ext::http::{HeaderMap, StatusCode};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("retry-after", "2".parse().unwrap());
    /// let body = r#"{"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}"#;
    /// let err = Error::from_http_response(StatusCode::TOO_MANY_REQUESTS, &headers, body);
    /// assert_eq!(err.kind(), ErrorKind::RateLimited);
    /// assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(2)));
    /// assert_eq!(err.api_error().unwrap().code.as_deref(), Some("rate_limit_exceeded"));
    /// ```
    pub fn from_http_response(status: StatusCode, headers: &HeaderMap, body: &str) -> Error {
        let api = serde_json::from_str::<api::Envelope>(body)
            .ok()
            .map(|e| e.error);
        Error::from_decoded(status, headers.clone(), body, api)
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// A local I/O failure; the OS reason is its source.
    pub(crate) fn io(message: impl Into<String>, source: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, message).with_source(source)
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_operation(mut self, operation: &'static str) -> Error {
        self.inner.operation.get_or_insert(operation);
        self
    }

    pub(crate) fn with_upload_id(mut self, upload_id: impl Into<String>) -> Error {
        if self.inner.upload_id.is_none() {
            self.inner.upload_id = Some(upload_id.into());
        }
        self
    }

    pub(crate) fn with_part(mut self, part: PartContext) -> Error {
        self.inner.part.get_or_insert(part);
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Error {
        self.inner.attempts = attempts;
        self
    }

    pub(crate) fn with_cleanup(mut self, cleanup: Cleanup) -> Error {
        self.inner.cleanup = Some(cleanup);
        self
    }

    /// The message alone (without operation, part or status).
    pub(crate) fn message(&self) -> &str {
        &self.inner.message
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind, message: impl Into<String>) -> Error {
        self.inner.kind = kind;
        self.inner.message = message.into();
        self
    }

    pub(crate) fn mark_outcome_unknown(mut self) -> Error {
        self.inner.outcome_unknown = true;
        self
    }

    pub(crate) fn mark_journal_locked(mut self) -> Error {
        self.inner.journal_locked = true;
        self
    }

    /// Whether the failed request may nevertheless have been performed by the server (its
    /// answer was lost, timed out, or was a success that could not be decoded).
    pub(crate) fn outcome_unknown(&self) -> bool {
        self.inner.outcome_unknown
    }

    /// The object id found in an undecodable success answer, if any.
    pub(crate) fn undecoded_id(&self) -> Option<&str> {
        self.inner.undecoded_id.as_deref()
    }

    /// `x-should-retry: true|false` of the answer, when present.
    pub(crate) fn should_retry_header(&self) -> Option<bool> {
        self.inner.should_retry_header
    }

    /// The broad category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.raw.as_ref().map(RawResponse::status)
    }

    /// The API's error envelope (`type`, `code`, `param`, `message`), when the response had one.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// The Upload status the API's error message names ("... because its status is
    /// 'cancelled'"), see [`ApiError::upload_status`]. A retried `cancel` whose first answer was
    /// lost gets `Some(Cancelled)`: the upload *is* cancelled.
    pub fn upload_status(&self) -> Option<openai_uploads_generated::models::upload::Status> {
        self.api_error()?.upload_status()
    }

    /// The HTTP answer this error was decoded from (status, every header, the body's start),
    /// when one arrived.
    pub fn raw_response(&self) -> Option<&RawResponse> {
        self.inner.raw.as_ref()
    }

    /// The `x-request-id` header of the failing response: quote it to OpenAI support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.raw.as_ref()?.header("x-request-id")
    }

    /// The delay the server asked for (`retry-after-ms` or `Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The start of a response body that carried no API error envelope (at most
    /// [`BODY_SNIPPET_CHARS`] characters), e.g. a proxy's HTML error page.
    pub fn body_snippet(&self) -> Option<&str> {
        match (&self.inner.raw, &self.inner.api) {
            (Some(raw), None) => Some(raw.body_snippet()),
            _ => None,
        }
    }

    /// The operation that failed: `create_upload`, `add_upload_part`, `complete_upload`,
    /// `cancel_upload`, or `upload_file` for orchestration-level failures.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The upload this error is about, when one had been created.
    pub fn upload_id(&self) -> Option<&str> {
        self.inner.upload_id.as_deref()
    }

    /// The part of a chunked upload that failed (index and byte range).
    pub fn part(&self) -> Option<&PartContext> {
        self.inner.part.as_ref()
    }

    /// How many attempts were made before giving up (0 when no request was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// What the upload's cleanup did with the server-side Upload (for errors of
    /// [`Client::upload_file`](crate::Client::upload_file) and friends; `None` for single
    /// requests).
    pub fn cleanup(&self) -> Option<&Cleanup> {
        self.inner.cleanup.as_ref()
    }

    /// Whether this is a timeout.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether a resume was refused because another process holds the journal's lock (it is
    /// resuming the same upload right now). The kind is [`ErrorKind::Journal`]; nothing is
    /// wrong with the journal or the input: wait for the other process, or try again later.
    pub fn is_journal_locked(&self) -> bool {
        self.inner.journal_locked
    }

    /// Whether this is a connection failure.
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connection
    }

    /// Whether the API answered with an error status.
    pub fn is_api_error(&self) -> bool {
        self.inner.raw.is_some() && self.inner.kind != ErrorKind::Decode
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        if let Some(op) = inner.operation {
            write!(f, "{op}: ")?;
        }
        if let Some(part) = &inner.part {
            write!(
                f,
                "part {} (bytes {}..{}): ",
                part.index, part.range.start, part.range.end
            )?;
        }
        f.write_str(&inner.message)?;
        if let Some(status) = self.status() {
            write!(f, " (HTTP {}", status.as_u16())?;
            if let Some(api) = &inner.api {
                if let Some(t) = &api.error_type {
                    write!(f, ", type {t}")?;
                }
                if let Some(c) = &api.code {
                    write!(f, ", code {c}")?;
                }
                if let Some(p) = &api.param {
                    write!(f, ", param {p}")?;
                }
            }
            f.write_str(")")?;
        }
        if let Some(id) = &inner.upload_id {
            write!(f, " [upload {id}]")?;
        }
        if let Some(id) = self.request_id() {
            write!(f, " [request {id}]")?;
        }
        if inner.attempts > 1 {
            write!(f, " after {} attempts", inner.attempts)?;
        }
        if let Some(snippet) = self.body_snippet() {
            write!(f, "; body: {snippet}")?;
        }
        match (&inner.cleanup, &inner.upload_id) {
            (Some(Cleanup::CancelFailed { reason }), Some(id)) => {
                write!(f, "; could not cancel upload {id}: {reason}")?
            }
            (Some(Cleanup::Cancelled), Some(id)) => write!(f, "; upload {id} was cancelled")?,
            _ => {}
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Error")
            .field("kind", &inner.kind)
            .field("message", &inner.message)
            .field("operation", &inner.operation)
            .field("upload_id", &inner.upload_id)
            .field("part", &inner.part)
            .field("status", &self.status())
            .field("api", &inner.api)
            .field("request_id", &self.request_id())
            .field("retry_after", &inner.retry_after)
            .field("attempts", &inner.attempts)
            .field("body_snippet", &self.body_snippet())
            .field("cleanup", &inner.cleanup)
            .field("journal_locked", &inner.journal_locked)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for `Result<T, uploads_ext::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
