//! Decoding into [`Error`], in one place: HTTP error responses (the body decoded once), the
//! generated crate's errors, reqwest's.

use openai_uploads_generated::apis::{Error as GeneratedError, ResponseContent};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Serialize;

use super::api::{ApiError, Envelope};
use super::local::{LengthMismatch, SourceFailure};
use super::raw::{retry_after_from_headers, should_retry_header, RawResponse};
use super::{Error, ErrorKind};

impl Error {
    /// An error answer whose body was decoded (or not) into `api`: kept with the raw answer.
    pub(super) fn from_decoded(
        status: StatusCode,
        headers: HeaderMap,
        body: &str,
        api: Option<ApiError>,
    ) -> Error {
        let message = match &api {
            Some(api) if !api.message.is_empty() => api.message.clone(),
            _ => format!("HTTP {status}"),
        };
        let mut err = Error::new(ErrorKind::from_status(status), message);
        err.inner.retry_after = retry_after_from_headers(&headers);
        err.inner.should_retry_header = should_retry_header(&headers);
        err.inner.raw = Some(RawResponse::new(status, headers, body));
        err.inner.api = api;
        err
    }

    /// Maps the generated crate's error; the generated type never reaches users. An error
    /// answer's body was already parsed by the generated code (its `entity`): the envelope is
    /// taken from that parse, not from the text again.
    pub(crate) fn from_generated<T: Serialize>(err: GeneratedError<T>) -> Error {
        match err {
            GeneratedError::ResponseError(ResponseContent {
                status,
                headers,
                content,
                entity,
            }) => {
                let api = entity
                    .and_then(|e| serde_json::to_value(e).ok())
                    .and_then(|v| serde_json::from_value::<Envelope>(v).ok())
                    .map(|e| e.error);
                Error::from_decoded(status, headers, &content, api)
            }
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
                    format!("could not decode the HTTP {} response", status.as_u16()),
                )
                .with_source(source);
                // A success status means the server performed the request.
                err.inner.outcome_unknown = status.is_success();
                if status.is_success() {
                    err.inner.undecoded_id = object_id(&content);
                }
                err.inner.raw = Some(RawResponse::new(status, headers, &content));
                err
            }
            GeneratedError::Reqwest(e) => Error::from_reqwest(e),
            GeneratedError::Serde(e) => {
                Error::new(ErrorKind::Decode, "could not encode or decode JSON").with_source(e)
            }
            GeneratedError::Io(e) => Error::io("I/O error", e),
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Error {
        // reqwest errors carry the URL but never headers; strip the URL anyway so no query
        // string can leak through the source chain.
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
        // Only a failed connect proves the request never reached the server.
        let unknown = matches!(kind, ErrorKind::Timeout | ErrorKind::Connection) && !e.is_connect();
        let mut err = Error::new(kind, what).with_source(e);
        err.inner.outcome_unknown = unknown;
        err
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
                .is_some_and(|inner| inner.is::<LengthMismatch>())
            {
                return Some(ErrorKind::FileChanged);
            }
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<SourceFailure>())
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

/// The top-level `"id"` string of a JSON-ish body that could not be decoded as the expected
/// object, so that an Upload created behind an undecodable answer can still be named and cancelled.
fn object_id(body: &str) -> Option<String> {
    let plausible = |id: &str| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) {
        let id = map.get("id").and_then(|v| v.as_str())?;
        return plausible(id).then(|| id.to_owned());
    }
    // Truncated or malformed JSON: look for the first `"id": "..."`.
    let at = body.find("\"id\"")?;
    let rest = body[at + 4..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let id = &rest[..end];
    plausible(id).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_id_from_json_and_from_broken_json() {
        assert_eq!(
            object_id(r#"{"id":"upload_1","x":1}"#).as_deref(),
            Some("upload_1")
        );
        assert_eq!(
            object_id(r#"{"object":"upload", "id" : "upload_2", "byt"#).as_deref(),
            Some("upload_2")
        );
        assert_eq!(object_id("<html>502</html>"), None);
        assert_eq!(object_id(r#"{"id": "bad id\u0000"}"#), None);
    }
}
