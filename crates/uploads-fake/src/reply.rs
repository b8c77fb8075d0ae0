//! What a request gets: the answer a handler or a fault chose, before it
//! becomes an HTTP response (or a dropped connection).

use hyper::StatusCode;
use serde_json::Value;

use crate::api_error::ApiError;

/// What a request gets.
pub(crate) enum Reply {
    /// 200 with this JSON.
    Json(Value),
    /// The error envelope.
    Error(ApiError),
    /// A proxy's HTML error page.
    Html(StatusCode),
    /// 200 with a body that is not JSON.
    Undecodable,
    /// No answer: the connection is closed.
    Hangup,
}
