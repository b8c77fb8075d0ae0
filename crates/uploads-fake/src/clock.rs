//! A controllable wall clock used for `created_at`, `expires_at` and expiry checks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The fake server's clock: the real system time plus an offset that tests can
/// move forward with [`FakeClock::advance`].
///
/// Every timestamp the server produces (`created_at`, `expires_at`, the
/// `Retry-After` HTTP-date) and every expiry decision uses this clock, so
/// advancing it by an hour makes every pending upload created "now" expire the
/// next time it is touched. Clones share the same offset.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    offset_ms: Arc<AtomicU64>,
}

impl FakeClock {
    /// A clock that starts at the real system time (offset zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`. The clock never moves backwards.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// How far the clock has been advanced in total.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }

    /// The current fake time.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset()
    }

    /// The current fake time as Unix seconds (what the API's timestamps use).
    pub fn now_unix(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward() {
        let clock = FakeClock::new();
        let before = clock.now_unix();
        clock.advance(Duration::from_secs(3600));
        let after = clock.now_unix();
        assert!(after >= before + 3600);
        assert_eq!(clock.offset(), Duration::from_secs(3600));
        let shared = clock.clone();
        shared.advance(Duration::from_secs(1));
        assert_eq!(clock.offset(), Duration::from_secs(3601));
    }
}
