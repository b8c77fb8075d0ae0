//! The per-attempt stall watch: a bound on time *without progress*, not on the whole attempt.
//!
//! A 64 MiB part on a 100 KB/s link takes ten minutes and is fine as long as bytes keep moving;
//! a connection that stalls (no connect, no body piece taken, no answer) is cut off and its part
//! retried. Like the AWS CRT S3 client (which cuts a connection moving less than 1 byte/s over
//! 30 s), the rule is a throughput floor over a window, in two phases:
//!
//! - **While the body is handed over**, progress is counted in pieces of at most 64 KiB
//!   ([`crate::part`] splits the body; the connection asks for the next piece only once it took
//!   the previous one). The window is the client's `timeout` and the floor is one piece: an
//!   attempt that has the connection take no piece for `timeout` is cut. A part sharing a slow
//!   uplink with seven others still moves a piece every fraction of a second, so it is never
//!   cut, whereas the old 512 KiB steps could take longer than a short timeout.
//! - **Once the whole body is handed over**, the client cannot see its bytes move any more: they
//!   sit in socket buffers and proxies on the way (several MiB per connection even on
//!   loopback), and drain at the connection's share of the link. The answer is then waited for
//!   `timeout` plus the time the bytes that may still be in transit (the part, at most
//!   [`MAX_BYTES_IN_TRANSIT`]) need at the floor rate [`STALL_FLOOR_BYTES_PER_SEC`]. A slow but
//!   moving connection is above the floor and is not cut; one that stopped after its last write
//!   is cut after at most `timeout` + 8 MiB / 16 KiB/s (about 8.5 minutes).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};

/// The old name, for code not yet moved to [`format_duration`].
pub(crate) use format_duration as human;

/// The throughput floor of a part's connection once its body is handed over: the bytes that may
/// still be in transit are allowed this rate to reach the server before the answer is given up
/// on (see [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).
pub const STALL_FLOOR_BYTES_PER_SEC: u64 = 16 * 1024;

/// The most bytes of a part assumed to be still in transit (socket buffers, proxies) when the
/// client has handed over its last byte.
pub const MAX_BYTES_IN_TRANSIT: u64 = 8 * 1024 * 1024;

/// Shared progress of one request's attempts: the instant of the last progress and, for a
/// request with a body, how much of the body the current attempt has handed over.
#[derive(Debug, Clone)]
pub(crate) struct ProgressSignal {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    /// Nanoseconds after `origin` of the last progress.
    last: AtomicU64,
    /// Bytes of the body each attempt hands over (0: no body counted).
    body: u64,
    /// Bytes of the body the current attempt has handed over.
    moved: AtomicU64,
}

impl ProgressSignal {
    /// A signal for a request whose body is not counted.
    pub(crate) fn new() -> ProgressSignal {
        ProgressSignal::for_body(0)
    }

    /// A signal for a request that hands over `body` counted bytes per attempt.
    pub(crate) fn for_body(body: u64) -> ProgressSignal {
        ProgressSignal {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                last: AtomicU64::new(0),
                body,
                moved: AtomicU64::new(0),
            }),
        }
    }

    /// Records progress now.
    pub(crate) fn touch(&self) {
        let nanos = self.inner.origin.elapsed().as_nanos() as u64;
        self.inner.last.fetch_max(nanos, Ordering::Relaxed);
    }

    /// Records that the connection took `bytes` more of the body.
    pub(crate) fn advance(&self, bytes: u64) {
        self.inner.moved.fetch_add(bytes, Ordering::Relaxed);
        self.touch();
    }

    /// A new attempt: nothing of its body handed over yet, progress now.
    fn restart(&self) {
        self.inner.moved.store(0, Ordering::Relaxed);
        self.touch();
    }

    fn last(&self) -> Instant {
        self.inner.origin + Duration::from_nanos(self.inner.last.load(Ordering::Relaxed))
    }

    /// Extra time allowed after the last byte was handed over (zero before).
    fn in_transit_allowance(&self) -> Duration {
        let body = self.inner.body;
        if body == 0 || self.inner.moved.load(Ordering::Relaxed) < body {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(
            body.min(MAX_BYTES_IN_TRANSIT) as f64 / STALL_FLOOR_BYTES_PER_SEC as f64,
        )
    }
}

/// Runs `attempt`, failing with [`ErrorKind::Timeout`] once it moves less than the floor (see
/// the module docs): no progress for `limit`, plus the in-transit allowance once the whole body
/// is handed over.
pub(crate) async fn without_progress_for<T>(
    limit: Duration,
    signal: &ProgressSignal,
    attempt: impl Future<Output = Result<T>>,
) -> Result<T> {
    signal.restart();
    tokio::pin!(attempt);
    loop {
        let deadline = signal.last() + limit + signal.in_transit_allowance();
        tokio::select! {
            biased;
            outcome = &mut attempt => return outcome,
            _ = tokio::time::sleep_until(deadline) => {
                let allowance = signal.in_transit_allowance();
                if signal.last() + limit + allowance <= Instant::now() {
                    let message = if allowance.is_zero() {
                        format!("no progress for {}", format_duration(limit))
                    } else {
                        format!(
                            "no progress for {} (plus {} for the part's bytes still in transit \
                             at {} KiB/s)",
                            format_duration(limit),
                            format_duration(allowance),
                            STALL_FLOOR_BYTES_PER_SEC / 1024
                        )
                    };
                    // Sent or not, we cannot tell: the server may have performed it.
                    return Err(Error::new(ErrorKind::Timeout, message).mark_outcome_unknown());
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

    #[tokio::test(start_paused = true)]
    async fn pieces_keep_a_slow_body_alive_and_its_bytes_in_transit_get_their_time() {
        let limit = Duration::from_secs(1);
        let body = 1024 * 1024;
        let signal = ProgressSignal::for_body(body);
        // 16 pieces of 64 KiB, one every 800 ms: slower than a 512 KiB step per second, never
        // a second without progress; then the answer comes 30 s after the last byte (the
        // buffered bytes draining), within 1 s + 1 MiB at the floor (64 s).
        let slow = {
            let signal = signal.clone();
            async move {
                for _ in 0..16 {
                    tokio::time::sleep(Duration::from_millis(800)).await;
                    signal.advance(64 * 1024);
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            }
        };
        without_progress_for(limit, &signal, slow).await.unwrap();
        // The same body stalled mid-way is cut after the limit alone...
        let stalled = {
            let signal = signal.clone();
            async move {
                signal.advance(64 * 1024);
                std::future::pending::<()>().await;
                Ok(())
            }
        };
        let started = Instant::now();
        let err = without_progress_for(limit, &signal, stalled)
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), limit);
        assert_eq!(err.to_string(), "no progress for 1 s");
        // ... and an answer that never comes after the last byte is cut after the allowance.
        let silent = {
            let signal = signal.clone();
            async move {
                signal.advance(body);
                std::future::pending::<()>().await;
                Ok(())
            }
        };
        let started = Instant::now();
        let err = without_progress_for(limit, &signal, silent)
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), limit + Duration::from_secs(64));
        assert!(err.to_string().contains("plus 1 min 04 s"), "{err}");
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
