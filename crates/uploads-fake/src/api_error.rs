//! The API error envelope.

use hyper::header::HeaderName;
use hyper::StatusCode;
use serde_json::{json, Value};

/// An error response in the OpenAI envelope
/// `{"error":{"message","type","param","code"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: Option<&'static str>,
    pub headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            headers: Vec::new(),
        }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 404 `invalid_request_error`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request_error", message)
    }

    /// 405 `invalid_request_error`, naming the method the URL takes.
    pub fn method_not_allowed(message: impl Into<String>, allowed: &hyper::Method) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            message,
        )
        .with_header(hyper::header::ALLOW, allowed.as_str())
    }

    /// 401 `invalid_request_error` / `invalid_api_key`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
            .with_code("invalid_api_key")
    }

    /// 500 `server_error`.
    pub fn server_error(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }

    /// 429 `requests` / `rate_limit_exceeded`.
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "requests", message)
            .with_code("rate_limit_exceeded")
    }

    /// 404 for an unknown upload id.
    pub fn no_upload(id: &str) -> Self {
        Self::not_found(format!("No upload found with id '{id}'."))
    }

    /// The envelope of an injected status: type and code fit the status.
    pub fn injected(status: StatusCode) -> Self {
        match status.as_u16() {
            429 => Self::rate_limited(
                "Rate limit reached for requests (injected by uploads-fake). Please try again later.",
            ),
            401 => Self::unauthorized("Incorrect API key provided (injected by uploads-fake)."),
            503 => Self::new(
                status,
                "server_error",
                "The server is overloaded or not ready yet (injected by uploads-fake).",
            ),
            500..=599 => Self::new(
                status,
                "server_error",
                "The server had an error while processing your request. Sorry about that!",
            ),
            _ => Self::new(
                status,
                "invalid_request_error",
                format!("Injected {status} (uploads-fake)."),
            ),
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

/// Name of a JSON value's type, for "invalid type" messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `Missing required parameter: 'x'.`
pub(crate) fn missing(param: &str) -> ApiError {
    ApiError::invalid(format!("Missing required parameter: '{param}'."))
        .with_param(param)
        .with_code("missing_required_parameter")
}

/// `Invalid type for 'x': expected T, but got U instead.`
pub(crate) fn invalid_type(param: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::invalid(format!(
        "Invalid type for '{param}': expected {expected}, but got {} instead.",
        type_name(got)
    ))
    .with_param(param)
    .with_code("invalid_type")
}

/// `Invalid value for 'x': ...`
pub(crate) fn invalid_value(param: &str, detail: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("Invalid value for '{param}': {detail}"))
        .with_param(param)
        .with_code("invalid_value")
}

/// `Unrecognized request argument supplied: x`
pub(crate) fn unknown_argument(param: &str) -> ApiError {
    ApiError::invalid(format!("Unrecognized request argument supplied: {param}"))
        .with_param(param)
        .with_code("unknown_parameter")
}
