//! The per-attempt timeout: a bound on time *without progress*, not on the whole attempt.
//!
//! A 64 MiB part on a 100 KB/s link takes ten minutes and is fine as long as bytes keep moving;
//! a connection that stalls (no connect, no body write accepted, no answer) is cut off after
//! `timeout`. Progress is signalled by the request body as the connection takes each chunk; the
//! clock starts when the attempt starts and restarts at each chunk, so the wait for the answer
//! after the last chunk is bounded too.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};

/// The old name, for code not yet moved to [`format_duration`].
pub(crate) use format_duration as human;

/// Shared "last progress" instant of one request's attempts.
#[derive(Debug, Clone)]
pub(crate) struct ProgressSignal {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    /// Nanoseconds after `origin` of the last progress.
    last: AtomicU64,
}

impl ProgressSignal {
    pub(crate) fn new() -> ProgressSignal {
        ProgressSignal {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                last: AtomicU64::new(0),
            }),
        }
    }

    /// Records progress now.
    pub(crate) fn touch(&self) {
        let nanos = self.inner.origin.elapsed().as_nanos() as u64;
        self.inner.last.fetch_max(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.inner.origin + Duration::from_nanos(self.inner.last.load(Ordering::Relaxed))
    }
}

/// Runs `attempt`, failing with [`ErrorKind::Timeout`] once `limit` passes without progress.
pub(crate) async fn without_progress_for<T>(
    limit: Duration,
    signal: &ProgressSignal,
    attempt: impl Future<Output = Result<T>>,
) -> Result<T> {
    signal.touch();
    tokio::pin!(attempt);
    loop {
        let deadline = signal.last() + limit;
        tokio::select! {
            biased;
            outcome = &mut attempt => return outcome,
            _ = tokio::time::sleep_until(deadline) => {
                if signal.last() + limit <= Instant::now() {
                    // Sent or not, we cannot tell: the server may have performed it.
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no progress for {}", format_duration(limit)),
                    )
                    .mark_outcome_unknown());
                }
            }
        }
    }
}

/// A duration as people read it in a message: `500 ms`, `8 s`, `1.5 s`, `10 min 00 s`,
/// `2 h 03 min`; never `0ns`. Every duration the SDK writes goes through it; front ends can
/// reuse it so their messages read the same.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(uploads_ext::format_duration(Duration::from_millis(1500)), "1.5 s");
/// assert_eq!(uploads_ext::format_duration(Duration::from_secs(245)), "4 min 05 s");
/// ```
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let secs = d.as_secs();
    if d.is_zero() {
        "0 s".to_owned()
    } else if ms == 0 {
        // Below a millisecond still reads as something, not as nothing.
        "< 1 ms".to_owned()
    } else if ms < 1_000 {
        format!("{ms} ms")
    } else if secs < 60 && ms.is_multiple_of(1_000) {
        format!("{secs} s")
    } else if secs < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if secs < 3_600 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        format!("{} h {:02} min", secs / 3_600, (secs % 3_600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn steady_progress_is_never_cut_off_but_a_stall_is() {
        let signal = ProgressSignal::new();
        let limit = Duration::from_secs(10);
        // 60 s of work that makes progress every 5 s: longer than the limit, still fine.
        let steady = {
            let signal = signal.clone();
            async move {
                for _ in 0..12 {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    signal.touch();
                }
                Ok(())
            }
        };
        without_progress_for(limit, &signal, steady).await.unwrap();
        // Work that goes quiet after one step.
        let stalled = {
            let signal = signal.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(5)).await;
                signal.touch();
                std::future::pending::<()>().await;
                Ok(())
            }
        };
        let started = tokio::time::Instant::now();
        let err = without_progress_for(limit, &signal, stalled)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.outcome_unknown());
        assert_eq!(started.elapsed(), Duration::from_secs(15));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::ZERO), "0 s");
        assert_eq!(human(Duration::from_nanos(5)), "< 1 ms");
        assert_eq!(human(Duration::from_millis(500)), "500 ms");
        assert_eq!(human(Duration::from_secs(8)), "8 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_secs(600)), "10 min 00 s");
        assert_eq!(human(Duration::from_secs(245)), "4 min 05 s");
        assert_eq!(human(Duration::from_secs(7_380)), "2 h 03 min");
    }
}
