//! Runtime seams: how the client waits ([`Sleep`]) and reads the wall clock ([`Clock`]).
//! Test seams, not API: hidden from the docs and outside semver promises.
//!
//! Tests inject a sleeper that advances a virtual monotonic clock instead of waiting, and a
//! wall clock that is off by hours, so nothing needs slack constants.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

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

/// The wall clock (Unix time), used where the SDK records or compares calendar times (the resume
/// journal's local start time). Only differences of this clock's readings are trusted.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Whole seconds since the Unix epoch (0 for a clock before 1970).
    fn unix_secs(&self) -> i64 {
        self.now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// [`Clock`] with `SystemTime::now()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
