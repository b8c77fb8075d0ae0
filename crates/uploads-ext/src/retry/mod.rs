//! Retry policy: which failures are retried, and how long to wait.
//!
//! Mirrors the official OpenAI SDKs: retry 408, 409, 429, 5xx, timeouts and connection errors
//! (never other 4xx); `x-should-retry: true|false` overrides that decision; the server's
//! `retry-after-ms` or `Retry-After` (seconds or HTTP-date) is honoured when it is positive and at
//! most [`RetryPolicy::max_server_delay`] (default [`DEFAULT_MAX_SERVER_DELAY`]); otherwise the
//! delay is exponential backoff with jitter: `initial_backoff * 2^(attempt-1)`, capped at
//! `max_backoff`, scaled by a random factor in `[0.75, 1.0]`.

pub(crate) mod classify;
mod gate;

use std::time::Duration;

use rand::Rng;

/// The sleeping seam moved to [`crate::rt`]; re-exported here for existing callers.
pub use crate::rt::{Sleep, SleepFuture, TokioSleep};
pub(crate) use gate::BackoffGate;

/// Default number of retries after the first attempt of a single request.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default retries of each part of a chunked upload (parts are idempotent: a re-sent part just
/// gets a new id), see [`crate::UploadFileBuilder::part_retries`].
pub const DEFAULT_PART_RETRIES: u32 = 5;
/// Largest server-requested delay honoured as-is; longer ones fall back to backoff.
pub const DEFAULT_MAX_SERVER_DELAY: Duration = Duration::from_secs(60);

/// When and how to retry a failed request.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// First backoff delay.
    pub initial_backoff: Duration,
    /// Largest backoff delay.
    pub max_backoff: Duration,
    /// Largest server-requested delay honoured (see the module docs).
    pub max_server_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_server_delay: DEFAULT_MAX_SERVER_DELAY,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The delay before retry number `retry` (1-based), given what the server asked for.
    pub fn delay(&self, retry: u32, server_delay: Option<Duration>) -> Duration {
        if let Some(d) = server_delay {
            if !d.is_zero() && d <= self.max_server_delay {
                return d;
            }
        }
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let capped = exp.min(self.max_backoff);
        let jitter = rand::rng().random_range(0.75..=1.0);
        capped.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let policy = RetryPolicy::default();
        for retry in 1..=8 {
            let nominal = policy
                .initial_backoff
                .saturating_mul(1 << (retry - 1))
                .min(policy.max_backoff);
            let d = policy.delay(retry, None);
            assert!(
                d <= nominal && d >= nominal.mul_f64(0.75),
                "retry {retry}: {d:?}"
            );
        }
    }

    #[test]
    fn server_delay_honoured_only_within_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        let over = policy.delay(1, Some(Duration::from_secs(600)));
        assert!(over <= policy.initial_backoff, "{over:?}");
        let zero = policy.delay(1, Some(Duration::ZERO));
        assert!(zero >= policy.initial_backoff.mul_f64(0.75), "{zero:?}");
    }
}
