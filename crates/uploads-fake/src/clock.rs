//! A controllable wall clock used for `created_at`, `expires_at` and expiry checks.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The fake server's clock: the real system time plus a signed offset.
///
/// Every timestamp the server produces (`created_at`, `expires_at`, the
/// `Retry-After` HTTP-date) and every expiry decision uses this clock. Move it
/// forward with [`FakeClock::advance`] to expire uploads without waiting, or
/// set a negative offset with [`FakeClock::set_offset_secs`] to make the
/// server's clock run behind the client's (clock skew in either direction).
/// Clones share the same offset.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    offset_ms: Arc<AtomicI64>,
}

impl FakeClock {
    /// A clock that starts at the real system time (offset zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (on top of any offset already set).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                Some(v.saturating_add(ms))
            });
    }

    /// Sets the offset: server clock = real clock + `secs` (negative: the
    /// server's clock is behind the client's).
    pub fn set_offset_secs(&self, secs: i64) {
        self.offset_ms
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// The signed offset from the real clock, in milliseconds.
    pub fn offset_millis(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// How far the clock runs ahead of the real clock (zero when it runs behind;
    /// see [`FakeClock::offset_millis`] for the signed value).
    pub fn offset(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.offset_millis()).unwrap_or(0))
    }

    /// The current fake time.
    pub fn now(&self) -> SystemTime {
        let ms = self.offset_millis();
        let real = SystemTime::now();
        if ms >= 0 {
            real + Duration::from_millis(ms.unsigned_abs())
        } else {
            real.checked_sub(Duration::from_millis(ms.unsigned_abs()))
                .unwrap_or(UNIX_EPOCH)
        }
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

    fn real_unix() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

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

    #[test]
    fn signed_offset_runs_behind_and_ahead() {
        let clock = FakeClock::new();
        clock.set_offset_secs(-7200);
        let behind = clock.now_unix();
        let real = real_unix();
        assert!(
            behind + 7200 >= real && behind + 7200 <= real + 2,
            "{behind} vs {real}"
        );
        assert_eq!(clock.offset(), Duration::ZERO);
        assert_eq!(clock.offset_millis(), -7_200_000);
        // Advancing from behind moves towards the real clock.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.offset_millis(), -3_600_000);
        clock.set_offset_secs(90);
        let ahead = clock.now_unix();
        let real = real_unix();
        assert!(
            ahead >= real + 89 && ahead <= real + 92,
            "{ahead} vs {real}"
        );
    }
}
