//! The single retry decision: which failures a retry may fix, and what the server asked for.
//!
//! Every attempt's failure is judged here (`Client::execute` only asks), so the policy lives in
//! one place: retry 408, 409, 429, 5xx, timeouts and connection failures, never other 4xx, and let
//! `x-should-retry` override that.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::error::ErrorKind;

/// Whether a failure of this kind and status may succeed when retried.
pub(crate) fn is_retryable(
    kind: ErrorKind,
    status: Option<StatusCode>,
    should_retry_header: Option<bool>,
) -> bool {
    if let Some(should) = should_retry_header {
        return should;
    }
    match kind {
        ErrorKind::Timeout | ErrorKind::Connection => true,
        ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Conflict => true,
        _ => status.is_some_and(|s| s.as_u16() == 408),
    }
}

/// The top-level `"id"` string of a JSON-ish body that could not be decoded as the expected
/// object, so that an Upload created behind an undecodable answer can still be named and cancelled.
pub(crate) fn object_id(body: &str) -> Option<String> {
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

/// Parses `retry-after-ms` (milliseconds, may be fractional), then `Retry-After` (seconds, may be
/// fractional, or an HTTP-date).
pub(crate) fn retry_after_from_headers(headers: &HeaderMap) -> Option<Duration> {
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
pub(crate) fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
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

    #[test]
    fn only_transient_kinds_are_retryable_unless_the_server_says() {
        assert!(is_retryable(ErrorKind::Server, None, None));
        assert!(!is_retryable(
            ErrorKind::BadRequest,
            StatusCode::from_u16(400).ok(),
            None
        ));
        assert!(is_retryable(
            ErrorKind::BadRequest,
            StatusCode::from_u16(408).ok(),
            None
        ));
        assert!(!is_retryable(ErrorKind::Server, None, Some(false)));
        assert!(is_retryable(ErrorKind::BadRequest, None, Some(true)));
    }
}
