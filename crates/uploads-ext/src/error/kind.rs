//! [`ErrorKind`]: what went wrong, broadly.

use std::fmt;

use reqwest::StatusCode;

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
    /// HTTP 429: rate limited; see [`Error::retry_after`](crate::Error::retry_after).
    RateLimited,
    /// HTTP 5xx: the server failed.
    Server,
    /// The request timed out (connect or whole-request timeout).
    Timeout,
    /// The connection failed or was dropped before a response was read.
    Connection,
    /// A response arrived but could not be decoded (HTML error page, malformed JSON, wrong
    /// content type); see [`Error::body_snippet`](crate::Error::body_snippet).
    Decode,
    /// The upload expired (one hour after creation, or its `expires_at`) or would expire before
    /// the remaining parts could be sent.
    Expired,
    /// The upload was cancelled: by the caller (handle or dropped future), or on the server.
    Cancelled,
    /// A resume journal is unusable (unreadable, wrong version, for another upload/file, or
    /// locked by another process resuming it).
    Journal,
    /// A `complete` request's outcome is still unknown after settling it: its answer was lost,
    /// timed out or could not be decoded, and neither sending `complete` again nor the Files list
    /// gave a definite answer (see [`Client::settle_upload`](crate::Client::settle_upload)). Nothing
    /// was cancelled; settling again later (a resume, a rerun) may answer it.
    /// See [`Error::upload_id`](crate::Error::upload_id).
    CompletionUnknown,
    /// The upload completed, but its File's `bytes` differ from the size uploaded: the server
    /// holds a File that is not the content sent. The completed upload is never cancelled; the
    /// message names the File (delete it and upload again).
    FileSizeMismatch,
    /// A success answer that breaks the API's promise, e.g. a `complete` whose status is not
    /// `completed` or that carries no File.
    UnexpectedResponse,
}

impl ErrorKind {
    pub(super) fn from_status(status: StatusCode) -> ErrorKind {
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

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Io => "local I/O error",
            ErrorKind::FileChanged => "file changed",
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Authentication => "authentication failed",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unprocessable => "unprocessable request",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Server => "server error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connection => "connection failed",
            ErrorKind::Decode => "undecodable response",
            ErrorKind::Expired => "upload expired",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Journal => "unusable journal",
            ErrorKind::CompletionUnknown => "completion unknown",
            ErrorKind::FileSizeMismatch => "file size mismatch",
            ErrorKind::UnexpectedResponse => "unexpected response",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds_and_kinds_read_as_words() {
        let kind = |s: u16| ErrorKind::from_status(StatusCode::from_u16(s).unwrap());
        assert_eq!(kind(401), ErrorKind::Authentication);
        assert_eq!(kind(429), ErrorKind::RateLimited);
        assert_eq!(kind(503), ErrorKind::Server);
        assert_eq!(kind(418), ErrorKind::BadRequest);
        assert_eq!(ErrorKind::RateLimited.to_string(), "rate limited");
        assert_eq!(
            ErrorKind::CompletionUnknown.to_string(),
            "completion unknown"
        );
    }
}
