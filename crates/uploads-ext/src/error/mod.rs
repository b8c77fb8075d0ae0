//! The one error type of this crate.
//!
//! [`Error`] is opaque: match on [`Error::kind`] (a `#[non_exhaustive]` [`ErrorKind`]) and read
//! the details through accessors ([`Error::status`], [`Error::api_error`], [`Error::request_id`],
//! [`Error::retry_after`], [`Error::part`], ...). Keeping the fields private lets the crate add
//! context (for example the failing part of a chunked upload) without breaking callers, and keeps
//! secrets out: no error ever holds the API key or request headers.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

mod convert;

use reqwest::StatusCode;
use serde::Deserialize;

/// How many characters of an undecodable response body an [`Error`] keeps.
pub const BODY_SNIPPET_CHARS: usize = 512;

/// What went wrong, broadly. New kinds may be added: match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Input rejected before any request was sent (missing field, size limit, empty file, ...).
    InvalidInput,
    /// A local file could not be read (missing, unreadable) while preparing or sending an upload.
    Io,
    /// The file changed (size or modification time) during the upload or since the journal.
    FileChanged,
    /// HTTP 400 or another 4xx status without a kind of its own.
    BadRequest,
    /// HTTP 401: the API key is missing, wrong or revoked.
    Authentication,
    /// HTTP 403: the key may not do this.
    PermissionDenied,
    /// HTTP 404: no such upload (or wrong base URL).
    NotFound,
    /// HTTP 409: conflicting state.
    Conflict,
    /// HTTP 422: the request was well-formed but not processable.
    Unprocessable,
    /// HTTP 429: rate limited; see [`Error::retry_after`].
    RateLimited,
    /// HTTP 5xx: the server failed.
    Server,
    /// The request timed out (connect or whole-request timeout).
    Timeout,
    /// The connection failed or was dropped before a response was read.
    Connection,
    /// A response arrived but could not be decoded (HTML error page, malformed JSON, wrong
    /// content type); see [`Error::body_snippet`].
    Decode,
    /// The upload expired (one hour after creation, or its `expires_at`) or would expire before
    /// the remaining parts could be sent.
    Expired,
    /// The upload was cancelled: by the caller (handle or dropped future), or on the server.
    Cancelled,
    /// A resume journal is unusable (unreadable, wrong version, for another upload/file, or
    /// locked by another process resuming it).
    Journal,
    /// A `complete` request's outcome is unknown: its answer was lost, timed out or could not be
    /// decoded, and a retry found the upload no longer pending. The upload has probably
    /// completed (check its File in the dashboard or with the Files API); it was not cancelled.
    /// See [`Error::upload_id`].
    CompletionUnknown,
    /// A success answer that breaks the API's promise, e.g. a `complete` whose status is not
    /// `completed` or that carries no File.
    UnexpectedResponse,
}

impl ErrorKind {
    fn from_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            422 => ErrorKind::Unprocessable,
            429 => ErrorKind::RateLimited,
            s if s >= 500 => ErrorKind::Server,
            _ => ErrorKind::BadRequest,
        }
    }
}

/// The API's error envelope: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// Human-readable message from the API.
    #[serde(default)]
    pub message: String,
    /// Error type, e.g. `invalid_request_error`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The request parameter at fault, when the API names one.
    #[serde(default)]
    pub param: Option<String>,
    /// Machine-readable code, e.g. `invalid_api_key` (may be a string or number upstream).
    #[serde(default, deserialize_with = "string_or_number")]
    pub code: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

#[derive(Deserialize)]
struct Envelope {
    error: ApiError,
}

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

/// The error type of every fallible operation in this crate. See the [module docs](self).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    operation: Option<&'static str>,
    upload_id: Option<String>,
    status: Option<StatusCode>,
    api: Option<ApiError>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    should_retry_header: Option<bool>,
    body_snippet: Option<String>,
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
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                operation: None,
                upload_id: None,
                status: None,
                api: None,
                request_id: None,
                retry_after: None,
                should_retry_header: None,
                body_snippet: None,
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

    pub(crate) fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// A local I/O failure; the OS reason is part of the message (not only the source chain).
    pub(crate) fn io(message: impl Into<String>, source: std::io::Error) -> Error {
        let message = format!("{}: {source}", message.into());
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

    /// The broad category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The API's error envelope (`type`, `code`, `param`, `message`), when the response had one.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// The `x-request-id` header of the failing response: quote it to OpenAI support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The delay the server asked for (`retry-after-ms` or `Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The start of an undecodable response body (at most [`BODY_SNIPPET_CHARS`] characters).
    pub fn body_snippet(&self) -> Option<&str> {
        self.inner.body_snippet.as_deref()
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

    /// Whether retrying the same request could succeed: 408, 409, 429, 5xx, timeouts and
    /// connection failures, unless the server said otherwise with `x-should-retry`.
    pub fn is_retryable(&self) -> bool {
        crate::retry::classify::is_retryable(
            self.inner.kind,
            self.inner.status,
            self.inner.should_retry_header,
        )
    }

    /// Whether running the upload again (or resuming it) may succeed: the failure was the
    /// network's or the server's (timeouts, dropped connections, 429, 5xx), not the input's,
    /// the upload's state or a caller's decision. Hints like "retry with resume" should follow it.
    pub fn is_transient(&self) -> bool {
        match self.inner.kind {
            ErrorKind::CompletionUnknown | ErrorKind::Cancelled | ErrorKind::Expired => false,
            _ => self.is_retryable(),
        }
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
        self.inner.status.is_some() && self.inner.kind != ErrorKind::Decode
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
        if let Some(status) = inner.status {
            write!(f, " (HTTP {}", status.as_u16())?;
            if let Some(api) = &inner.api {
                if let Some(t) = &api.kind {
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
        if let Some(id) = &inner.request_id {
            write!(f, " [request {id}]")?;
        }
        if inner.attempts > 1 {
            write!(f, " after {} attempts", inner.attempts)?;
        }
        if let Some(snippet) = &inner.body_snippet {
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
            .field("status", &inner.status)
            .field("api", &inner.api)
            .field("request_id", &inner.request_id)
            .field("retry_after", &inner.retry_after)
            .field("attempts", &inner.attempts)
            .field("body_snippet", &inner.body_snippet)
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
