//! Retry policy: which failures are retried, and how long to wait.
//!
//! Mirrors the official OpenAI SDKs: retry 408, 409, 429, 5xx, timeouts and connection errors
//! (never other 4xx); `x-should-retry: true|false` overrides that decision; the server's
//! `retry-after-ms` or `Retry-After` (seconds or HTTP-date) is honoured when it is positive and at
//! most [`RetryPolicy::max_server_delay`] (default [`DEFAULT_MAX_SERVER_DELAY`]); otherwise the
//! delay is exponential backoff with jitter: `initial_backoff * 2^(attempt-1)`, capped at
//! `max_backoff`, scaled by a random factor in `[0.75, 1.0]`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;

/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
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

/// A boxed future returned by [`Sleep::sleep`].
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the client waits between attempts. The default uses `tokio::time::sleep`; tests can
/// inject an implementation that records delays instead of waiting.
pub trait Sleep: Send + Sync + std::fmt::Debug {
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;

    /// The current time on this sleeper's clock (a test sleeper that does not really wait can
    /// advance a virtual clock instead). Default: `Instant::now()`.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// [`Sleep`] with `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A shared "nobody sends before" deadline. Every attempt waits on it; a rate-limit answer pushes
/// it out. A chunked upload shares one gate across all its parts, so a 429 pauses the whole
/// upload once instead of each part backing off on its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct BackoffGate {
    resume_at: Arc<Mutex<Option<Instant>>>,
}

impl BackoffGate {
    /// Pushes the deadline to at least `now + delay`.
    pub(crate) fn defer(&self, delay: Duration, sleeper: &dyn Sleep) {
        let target = sleeper.now() + delay;
        let mut guard = self.resume_at.lock().expect("gate lock");
        if guard.is_none_or(|t| t < target) {
            *guard = Some(target);
        }
    }

    /// Waits until the deadline (if any) has passed.
    pub(crate) async fn wait(&self, sleeper: &dyn Sleep) {
        let remaining = {
            let guard = self.resume_at.lock().expect("gate lock");
            guard.and_then(|t| t.checked_duration_since(sleeper.now()))
        };
        if let Some(d) = remaining.filter(|d| !d.is_zero()) {
            sleeper.sleep(d).await;
        }
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

    /// A sleeper that does not wait: it advances a virtual clock and records each sleep.
    #[derive(Debug)]
    struct VirtualSleep {
        start: Instant,
        slept: Mutex<Vec<Duration>>,
    }

    impl Sleep for VirtualSleep {
        fn sleep(&self, duration: Duration) -> SleepFuture {
            self.slept.lock().unwrap().push(duration);
            Box::pin(std::future::ready(()))
        }
        fn now(&self) -> Instant {
            self.start + self.slept.lock().unwrap().iter().sum::<Duration>()
        }
    }

    #[tokio::test]
    async fn one_deferral_pauses_every_waiter_until_the_deadline() {
        let sleeper = VirtualSleep {
            start: Instant::now(),
            slept: Mutex::new(Vec::new()),
        };
        let gate = BackoffGate::default();
        gate.wait(&sleeper).await;
        assert!(
            sleeper.slept.lock().unwrap().is_empty(),
            "open gate must not sleep"
        );
        gate.defer(Duration::from_secs(3), &sleeper);
        // A shorter deferral never pulls the deadline in.
        gate.defer(Duration::from_secs(1), &sleeper);
        let shared = gate.clone();
        shared.wait(&sleeper).await;
        assert_eq!(*sleeper.slept.lock().unwrap(), vec![Duration::from_secs(3)]);
        // The deadline has passed on the virtual clock: the next waiter goes straight through.
        gate.wait(&sleeper).await;
        assert_eq!(sleeper.slept.lock().unwrap().len(), 1);
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
