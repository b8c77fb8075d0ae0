//! Retries: the one decision whether a failure is retried (`classify.rs`), how long to wait
//! ([`RetryPolicy`]), and the client-wide rate-limit pause (`gate.rs`). Imports only `error`
//! and `rt`.

mod classify;
mod gate;

use std::time::Duration;

use rand::Rng;

pub(crate) use classify::{classify, RetryAction};
pub(crate) use gate::BackoffGate;

/// Default number of retries after the first attempt of a single request.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default retries of each part of a chunked upload (parts are idempotent: a re-sent part just
/// gets a new id), see [`crate::UploadFileBuilder::part_retries`].
pub const DEFAULT_PART_RETRIES: u32 = 5;
/// Largest server-requested delay honoured as-is; longer ones fall back to backoff.
pub const DEFAULT_MAX_SERVER_DELAY: Duration = Duration::from_secs(60);
const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(8);

/// When and how to retry a failed request; built with [`RetryPolicy::builder`].
///
/// Which failures are retried mirrors the official OpenAI SDKs: 408, 409, 429, 5xx, timeouts and
/// connection errors (never other 4xx, nor a 429 that says the quota is used up:
/// `insufficient_quota`); `x-should-retry: true|false` overrides that decision. The server's
/// `retry-after-ms` or `Retry-After` (seconds or HTTP-date) is honoured when it is positive and
/// at most [`max_server_delay`](Self::max_server_delay); otherwise the delay is exponential
/// backoff with jitter: `initial_backoff * 2^(retry-1)`, capped at `max_backoff`, scaled by a
/// random factor in `[0.75, 1.0]`. A rate limit pauses every upload of the client, not only the
/// request that met it.
///
/// ```
/// use std::time::Duration;
/// use uploads_ext::RetryPolicy;
///
/// let policy = RetryPolicy::builder()
///     .max_retries(5)
///     .initial_backoff(Duration::from_millis(200))
///     .build();
/// assert_eq!(policy.max_retries(), 5);
/// assert_eq!(policy.max_backoff(), RetryPolicy::default().max_backoff());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_server_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_server_delay: DEFAULT_MAX_SERVER_DELAY,
        }
    }
}

impl RetryPolicy {
    /// A builder starting from the default policy.
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            policy: RetryPolicy::default(),
        }
    }

    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Retries after the first attempt (0: none).
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The first backoff delay.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest backoff delay.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The largest server-requested delay honoured as-is.
    pub fn max_server_delay(&self) -> Duration {
        self.max_server_delay
    }

    /// The delay before retry number `retry` (1-based), given what the server asked for.
    pub(crate) fn delay(&self, retry: u32, server_delay: Option<Duration>) -> Duration {
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

/// Builds a [`RetryPolicy`]; unset values keep the default's.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until built"]
pub struct RetryPolicyBuilder {
    policy: RetryPolicy,
}

impl RetryPolicyBuilder {
    /// Retries after the first attempt (default [`DEFAULT_MAX_RETRIES`](crate::limits::DEFAULT_MAX_RETRIES); 0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.policy.max_retries = retries;
        self
    }

    /// The first backoff delay (default 500 ms); each retry doubles it.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.policy.initial_backoff = delay;
        self
    }

    /// The largest backoff delay (default 8 s).
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.policy.max_backoff = delay;
        self
    }

    /// The largest server-requested delay honoured as-is (default
    /// [`DEFAULT_MAX_SERVER_DELAY`](crate::limits::DEFAULT_MAX_SERVER_DELAY)); a longer one
    /// falls back to backoff.
    pub fn max_server_delay(mut self, delay: Duration) -> Self {
        self.policy.max_server_delay = delay;
        self
    }

    /// The policy.
    pub fn build(self) -> RetryPolicy {
        self.policy
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
