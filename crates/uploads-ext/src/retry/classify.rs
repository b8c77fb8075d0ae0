//! The single retry decision: [`classify`] answers, for a failed attempt, "retry? after what the
//! server asked for? pause every upload of the client?" as one [`RetryAction`].
//!
//! The request engine (`client/execute.rs`) and the part tracker ask it; nothing else judges
//! retryability. The policy mirrors the official SDKs: retry 408, 409, 429, 5xx, timeouts and
//! connection failures, never other 4xx, and let `x-should-retry` override that. A 429 that no
//! wait can fix (`insufficient_quota`: the account is out of credit) is not retried and pauses
//! nobody; a rate limit pauses every upload of the client, since the limit is the organisation's.

use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// API error `code`s (or `type`s) of a 429 that waiting does not fix.
const PERMANENT_429: [&str; 3] = [
    "insufficient_quota",
    "billing_hard_limit_reached",
    "billing_not_active",
];

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryAction {
    /// Give up: a retry cannot fix this.
    NoRetry,
    /// A retry may succeed.
    Retry {
        /// The delay the server asked for, if any (the policy decides whether to honour it).
        server_delay: Option<Duration>,
        /// Whether every request of the client waits too (a rate limit), not only this one.
        pause_client: bool,
    },
}

impl RetryAction {
    /// Whether a retry may succeed.
    pub(crate) fn should_retry(self) -> bool {
        matches!(self, RetryAction::Retry { .. })
    }
}

/// The one retry decision for a failed attempt.
pub(crate) fn classify(err: &Error) -> RetryAction {
    let retry = match err.should_retry_header() {
        Some(told) => told,
        None => match err.kind() {
            ErrorKind::Timeout | ErrorKind::Connection => true,
            ErrorKind::Server | ErrorKind::Conflict => true,
            ErrorKind::RateLimited => !is_permanent_429(err),
            _ => err.status().is_some_and(|s| s.as_u16() == 408),
        },
    };
    if !retry {
        return RetryAction::NoRetry;
    }
    RetryAction::Retry {
        server_delay: err.retry_after(),
        pause_client: err.kind() == ErrorKind::RateLimited && !is_permanent_429(err),
    }
}

/// A 429 that says the account, not the pace, is the problem.
fn is_permanent_429(err: &Error) -> bool {
    err.api_error().is_some_and(|api| {
        [api.code.as_deref(), api.error_type.as_deref()]
            .into_iter()
            .flatten()
            .any(|said| PERMANENT_429.contains(&said))
    })
}

impl Error {
    /// Whether retrying the same request could succeed: 408, 409, 429 (but not
    /// `insufficient_quota`), 5xx, timeouts and connection failures, unless the server said
    /// otherwise with `x-should-retry`.
    pub fn is_retryable(&self) -> bool {
        classify(self).should_retry()
    }

    /// Whether running the upload again (or resuming it) may succeed: the failure was the
    /// network's or the server's (timeouts, dropped connections, 429, 5xx), not the input's,
    /// the upload's state or a caller's decision. Hints like "retry with resume" should follow it.
    pub fn is_transient(&self) -> bool {
        match self.kind() {
            ErrorKind::CompletionUnknown | ErrorKind::Cancelled | ErrorKind::Expired => false,
            _ => self.is_retryable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use reqwest::StatusCode;

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Error {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Error::from_http_response(StatusCode::from_u16(status).unwrap(), &h, body)
    }

    fn envelope(error_type: &str, code: &str) -> String {
        format!(r#"{{"error": {{"message": "m", "type": "{error_type}", "code": "{code}"}}}}"#)
    }

    #[test]
    fn only_transient_failures_are_retried_unless_the_server_says() {
        assert!(classify(&answer(500, &[], "")).should_retry());
        assert!(classify(&answer(408, &[], "")).should_retry());
        assert!(classify(&answer(409, &[], "")).should_retry());
        assert!(!classify(&answer(400, &[], "")).should_retry());
        assert!(!classify(&answer(500, &[("x-should-retry", "false")], "")).should_retry());
        assert!(classify(&answer(400, &[("x-should-retry", "true")], "")).should_retry());
        assert!(classify(&Error::new(ErrorKind::Timeout, "t")).should_retry());
        assert!(!classify(&Error::new(ErrorKind::Io, "io")).should_retry());
    }

    #[test]
    fn a_rate_limit_pauses_the_client_with_the_servers_delay() {
        let err = answer(
            429,
            &[("retry-after", "3")],
            &envelope("requests", "rate_limit_exceeded"),
        );
        assert_eq!(
            classify(&err),
            RetryAction::Retry {
                server_delay: Some(Duration::from_secs(3)),
                pause_client: true
            }
        );
        // A 5xx waits on its own.
        assert_eq!(
            classify(&answer(503, &[], "")),
            RetryAction::Retry {
                server_delay: None,
                pause_client: false
            }
        );
    }

    #[test]
    fn an_empty_quota_is_neither_retried_nor_a_pause() {
        let by_code = answer(
            429,
            &[],
            &envelope("insufficient_quota", "insufficient_quota"),
        );
        assert_eq!(classify(&by_code), RetryAction::NoRetry);
        assert!(!by_code.is_retryable() && !by_code.is_transient());
        let by_type = answer(
            429,
            &[],
            r#"{"error": {"message": "m", "type": "insufficient_quota"}}"#,
        );
        assert_eq!(classify(&by_type), RetryAction::NoRetry);
    }
}
