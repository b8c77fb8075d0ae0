//! [`RawResponse`]: the HTTP answer behind an error, kept as it came (status, every header, the
//! start of the body), and the headers the SDK reads from it.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

/// How many characters of a response body an [`Error`](crate::Error) keeps ([`RawResponse::body_snippet`]).
pub const BODY_SNIPPET_CHARS: usize = 512;

/// The HTTP response an [`Error`](super::Error) was decoded from: its status, all its headers and
/// the start of its body (at most 512 characters), for what the typed error does not model.
/// `Debug` shows header names only: a response header may carry a cookie.
#[derive(Clone)]
pub struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body_snippet: String,
}

impl RawResponse {
    pub(super) fn new(status: StatusCode, headers: HeaderMap, body: &str) -> RawResponse {
        RawResponse {
            status,
            headers,
            body_snippet: snippet(body),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Every header of the response.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The start of the body, trimmed (an ellipsis marks a cut).
    pub fn body_snippet(&self) -> &str {
        &self.body_snippet
    }

    /// A header's value, when present and text.
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field(
                "headers",
                &self.headers.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            )
            .field("body_snippet", &self.body_snippet)
            .finish()
    }
}

/// The start of `body`, trimmed, at most [`BODY_SNIPPET_CHARS`] characters.
pub(super) fn snippet(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(BODY_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

/// Parses `retry-after-ms` (milliseconds, may be fractional), then `Retry-After` (seconds, may be
/// fractional, or an HTTP-date).
pub(super) fn retry_after_from_headers(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // `try_from_secs_f64`: a server-sent value too large for a Duration (say `1e30`) must be
    // ignored, not panic.
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if let Ok(delay) = Duration::try_from_secs_f64(ms / 1000.0) {
            return Some(delay);
        }
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// `x-should-retry: true|false`, when present.
pub(super) fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]);
        assert_eq!(
            retry_after_from_headers(&h),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn retry_after_seconds_and_fractions() {
        assert_eq!(
            retry_after_from_headers(&headers(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after_from_headers(&headers(&[("retry-after", "0.25")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after_from_headers(&headers(&[("retry-after", "soon")])),
            None
        );
    }

    #[test]
    fn retry_after_out_of_range_is_ignored_not_a_panic() {
        for value in ["1e30", "-1", "NaN", "inf"] {
            assert_eq!(
                retry_after_from_headers(&headers(&[("retry-after", value)])),
                None,
                "{value}"
            );
        }
        assert_eq!(
            retry_after_from_headers(&headers(&[("retry-after-ms", "1e300")])),
            None
        );
        // An unusable retry-after-ms falls back to Retry-After.
        assert_eq!(
            retry_after_from_headers(&headers(&[
                ("retry-after-ms", "1e300"),
                ("retry-after", "2")
            ])),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let when = SystemTime::now() + Duration::from_secs(30);
        let h = headers(&[("retry-after", &httpdate::fmt_http_date(when))]);
        let got = retry_after_from_headers(&h).expect("parsed");
        assert!(
            got > Duration::from_secs(27) && got <= Duration::from_secs(30),
            "{got:?}"
        );
        let past = SystemTime::now() - Duration::from_secs(30);
        let h = headers(&[("retry-after", &httpdate::fmt_http_date(past))]);
        assert_eq!(retry_after_from_headers(&h), Some(Duration::ZERO));
    }

    #[test]
    fn should_retry_header_values() {
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "true")])),
            Some(true)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "false")])),
            Some(false)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "maybe")])),
            None
        );
        assert_eq!(should_retry_header(&HeaderMap::new()), None);
    }
}
