//! Conversions into [`Error`]: HTTP error responses, the generated crate's errors, reqwest's.

use openai_uploads_generated::apis::{Error as GeneratedError, ResponseContent};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::{Envelope, Error, ErrorKind, BODY_SNIPPET_CHARS};

impl Error {
    /// Builds an error from an HTTP response that was not a success.
    pub(crate) fn from_response(status: StatusCode, headers: &HeaderMap, body: &str) -> Error {
        let api = serde_json::from_str::<Envelope>(body).ok().map(|e| e.error);
        let kind = ErrorKind::from_status(status);
        let message = match &api {
            Some(api) if !api.message.is_empty() => api.message.clone(),
            _ => format!("HTTP {status}"),
        };
        let mut err = Error::new(kind, message);
        err.inner.status = Some(status);
        err.inner.request_id = header_str(headers, "x-request-id");
        err.inner.retry_after = crate::retry::classify::retry_after_from_headers(headers);
        err.inner.should_retry_header = crate::retry::classify::should_retry_header(headers);
        if api.is_none() {
            err.inner.body_snippet = Some(snippet(body));
        }
        err.inner.api = api;
        err
    }

    /// Maps the generated crate's error; the generated type never reaches users.
    pub(crate) fn from_generated<T>(err: GeneratedError<T>) -> Error {
        match err {
            GeneratedError::ResponseError(ResponseContent {
                status,
                headers,
                content,
                ..
            }) => Error::from_response(status, &headers, &content),
            GeneratedError::UndecodableResponse(
                ResponseContent {
                    status,
                    headers,
                    content,
                    ..
                },
                source,
            ) => {
                let mut err = Error::new(
                    ErrorKind::Decode,
                    format!("could not decode the HTTP {status} response: {source}"),
                )
                .with_source(source);
                err.inner.status = Some(status);
                err.inner.request_id = header_str(&headers, "x-request-id");
                err.inner.body_snippet = Some(snippet(&content));
                // A success status means the server performed the request.
                err.inner.outcome_unknown = status.is_success();
                if status.is_success() {
                    err.inner.undecoded_id = crate::retry::classify::object_id(&content);
                }
                err
            }
            GeneratedError::Reqwest(e) => Error::from_reqwest(e),
            GeneratedError::Serde(e) => Error::new(
                ErrorKind::Decode,
                format!("could not encode or decode JSON: {e}"),
            )
            .with_source(e),
            GeneratedError::Io(e) => Error::io("I/O error", e),
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Error {
        // reqwest errors carry the URL but never headers; strip the URL anyway so the message
        // stays short and no query string can leak.
        let e = e.without_url();
        let (kind, what) = if let Some(kind) = local_body_failure(&e) {
            (kind, "the part's source failed")
        } else if e.is_timeout() {
            (ErrorKind::Timeout, "request timed out")
        } else if e.is_connect() {
            (ErrorKind::Connection, "could not connect")
        } else if e.is_decode() {
            (ErrorKind::Decode, "could not decode the response body")
        } else if e.is_builder() {
            (ErrorKind::InvalidInput, "could not build the request")
        } else {
            (ErrorKind::Connection, "connection failed")
        };
        let message = format!("{what}: {}", error_chain(&e));
        // Only a failed connect proves the request never reached the server.
        let unknown = matches!(kind, ErrorKind::Timeout | ErrorKind::Connection) && !e.is_connect();
        let mut err = Error::new(kind, message).with_source(e);
        err.inner.outcome_unknown = unknown;
        err
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn snippet(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(BODY_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

/// Whether the request failed because its body source (a local file or stream) failed, rather
/// than the network: such failures are not fixed by retrying.
fn local_body_failure(e: &reqwest::Error) -> Option<ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<crate::part::LengthMismatch>())
            {
                return Some(ErrorKind::FileChanged);
            }
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<crate::part::SourceFailure>())
            {
                return Some(ErrorKind::Io);
            }
            if matches!(
                io.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ) {
                return Some(ErrorKind::Io);
            }
        }
        source = s.source();
    }
    None
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
