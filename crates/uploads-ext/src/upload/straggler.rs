//! Straggler re-send: near the end of an upload, a part much slower than its peers is sent
//! again on another connection, and the first copy to be accepted is the one used.
//!
//! The last parts of an upload decide when it ends: one slow path (a congested proxy, a bad
//! route) would hold the whole file while the other connections idle. Like the S3 transfer
//! manager, which re-sends requests slower than the 95th percentile, a part in flight is a
//! straggler when its time exceeds `max(2 x median, p95)` of the accepted parts' times (scaled
//! to its size). Once at most a quarter of the slots are busy (the upload is draining), idle slots
//! cost nothing, so the bar drops to `max(1.25 x median, p90)`: a "hedged request" in the
//! words of Dean and Barroso's *The Tail at Scale*. Either way a part is never a straggler
//! before [`MIN_STRAGGLER_TIME`], and a second copy is only sent once every part has been
//! started and a slot is idle. A second copy is harmless: only the part ids listed at
//! `complete` count, and the first accepted copy's id is the one recorded; the other copy is
//! dropped (its request aborted). Extra bytes stay bounded: at most one copy per part and at
//! most [`MAX_EXTRA_SHARE`] of the upload's bytes in copies.
//!
//! The bytes a part has handed to its connection do not tell a slow path early: socket
//! buffers take a 4 MiB body at once on a fast machine, whatever the path behind them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most bytes sent in second copies, as a share of the upload's size.
pub const MAX_EXTRA_SHARE: f64 = 0.10;
/// Accepted parts needed before any part is judged slow.
const MIN_SAMPLES: usize = 3;
/// The least time a part is in flight before it can be a straggler. Parts that finish in
/// milliseconds are judged by scheduler noise, not by their path (a busy laptop or CI runner
/// pauses a task for tens of milliseconds), and a second copy on a fresh connection (TCP and
/// TLS handshakes: several round trips on a long path) cannot win much below this.
pub const MIN_STRAGGLER_TIME: Duration = Duration::from_millis(250);

/// One part in flight.
#[derive(Debug)]
struct Flight {
    started: Instant,
    len: u64,
    copies: u8,
    /// Whether a second copy was ever sent.
    copied: bool,
}

/// The parts in flight and the times of the accepted ones.
#[derive(Debug)]
pub(crate) struct Stragglers {
    flights: HashMap<usize, Flight>,
    /// Seconds per byte of every accepted part, in arrival order.
    costs: Vec<f64>,
    extra: u64,
    extra_cap: u64,
    enabled: bool,
}

impl Stragglers {
    /// Tracks an upload of `total` bytes; `enabled: false` only records.
    pub(crate) fn new(total: u64, enabled: bool) -> Stragglers {
        Stragglers {
            flights: HashMap::new(),
            costs: Vec::new(),
            extra: 0,
            extra_cap: (total as f64 * MAX_EXTRA_SHARE) as u64,
            enabled,
        }
    }

    /// Part `index` of `len` bytes was sent (its first copy).
    pub(crate) fn started(&mut self, index: usize, len: u64) {
        self.flights.insert(
            index,
            Flight {
                started: Instant::now(),
                len,
                copies: 1,
                copied: false,
            },
        );
    }

    /// A copy of `index` ended without being accepted: whether another copy is still in flight
    /// (then the failure means nothing).
    pub(crate) fn copy_failed(&mut self, index: usize) -> bool {
        match self.flights.get_mut(&index) {
            Some(f) if f.copies > 1 => {
                f.copies -= 1;
                true
            }
            _ => {
                self.flights.remove(&index);
                false
            }
        }
    }

    /// Part `index` was accepted and is no longer in flight: its time since its first copy
    /// started, or `None` for a late copy of an accepted part. The time counts among its
    /// peers' unless a second copy was sent (then it is no one copy's time).
    pub(crate) fn accepted(&mut self, index: usize) -> Option<Duration> {
        let f = self.flights.remove(&index)?;
        let elapsed = f.started.elapsed();
        if !f.copied {
            self.costs.push(elapsed.as_secs_f64() / f.len.max(1) as f64);
        }
        Some(elapsed)
    }

    /// How long a part of `len` bytes may take before it is a straggler; lower while the
    /// upload is `draining` (at most a quarter of its slots busy).
    fn threshold(&self, len: u64, draining: bool) -> Option<Duration> {
        if self.costs.len() < MIN_SAMPLES {
            return None;
        }
        let mut sorted = self.costs.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |share: f64| {
            sorted[((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len()) - 1]
        };
        let median = sorted[sorted.len() / 2];
        let per_byte = if draining {
            (1.25 * median).max(at(0.90))
        } else {
            (2.0 * median).max(at(0.95))
        };
        Some(Duration::from_secs_f64(per_byte * len as f64).max(MIN_STRAGGLER_TIME))
    }

    /// The part to send a second copy of now, if any: the straggler furthest past its
    /// threshold among the parts with one copy, within the extra-bytes cap. Call only when
    /// every part has been started and a slot is idle; `draining`: at most a quarter of the slots
    /// are busy.
    pub(crate) fn pick(&mut self, draining: bool) -> Option<usize> {
        if !self.enabled {
            return None;
        }
        let now = Instant::now();
        let (index, len) = self
            .flights
            .iter()
            .filter(|(_, f)| f.copies == 1 && self.extra + f.len <= self.extra_cap)
            .filter_map(|(i, f)| {
                let limit = self.threshold(f.len, draining)?;
                let over = now.duration_since(f.started).as_secs_f64() / limit.as_secs_f64();
                (over > 1.0).then_some((*i, f.len, over))
            })
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(i, len, _)| (i, len))?;
        self.extra += len;
        if let Some(f) = self.flights.get_mut(&index) {
            f.copies += 1;
            f.copied = true;
        }
        Some(index)
    }

    /// When the next part in flight could become a straggler (to look again then).
    pub(crate) fn next_check(&self, draining: bool) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        self.flights
            .values()
            .filter(|f| f.copies == 1 && self.extra + f.len <= self.extra_cap)
            .filter_map(|f| Some(f.started + self.threshold(f.len, draining)?))
            .min()
    }

    /// Bytes sent in second copies so far.
    #[cfg(test)]
    pub(crate) fn extra_bytes(&self) -> u64 {
        self.extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_history(total: u64, costs: &[f64]) -> Stragglers {
        let mut s = Stragglers::new(total, true);
        s.costs = costs.to_vec();
        s
    }

    #[test]
    fn a_part_far_slower_than_its_peers_is_picked_once() {
        let mut s = with_history(1000, &[1e-6; 10]);
        s.started(3, 100);
        s.flights.get_mut(&3).unwrap().started = Instant::now() - Duration::from_secs(1);
        s.started(4, 100);
        assert_eq!(s.pick(false), Some(3));
        assert_eq!(s.pick(false), None, "one copy per part; part 4 is on time");
        assert_eq!(s.extra_bytes(), 100);
        // The copy that loses is dropped: its failure means nothing while the other runs.
        assert!(s.copy_failed(3));
        assert!(s.accepted(3).is_some());
        assert!(s.accepted(3).is_none(), "a late copy is not counted");
    }

    #[test]
    fn extra_bytes_stay_within_a_tenth_of_the_upload() {
        let mut s = with_history(1000, &[1e-6; 10]);
        for i in 0..3 {
            s.started(i, 60);
            s.flights.get_mut(&i).unwrap().started = Instant::now() - Duration::from_secs(1);
        }
        assert!(s.pick(false).is_some());
        assert_eq!(s.pick(false), None, "a second copy would pass 100 bytes");
        assert!(s.next_check(false).is_none());
    }

    #[test]
    fn a_part_of_fast_peers_is_not_a_straggler_before_the_floor() {
        // Peers took a microsecond: a part in flight for 100 ms is 100 000x slower, but such
        // a gap is scheduler noise, not a slow path.
        let mut s = with_history(1000, &[1e-8; 10]);
        s.started(0, 100);
        s.flights.get_mut(&0).unwrap().started = Instant::now() - Duration::from_millis(100);
        assert_eq!(s.pick(false), None);
        let due = s.next_check(false).unwrap();
        assert!(due > Instant::now() + MIN_STRAGGLER_TIME / 2, "{due:?}");
        s.flights.get_mut(&0).unwrap().started = Instant::now() - MIN_STRAGGLER_TIME * 2;
        assert_eq!(s.pick(false), Some(0));
    }

    #[test]
    fn a_draining_upload_hedges_sooner() {
        // Peers took 1 s per 1000 bytes; a part 1.5 s in flight is not a straggler while
        // the slots are busy, but is once most of them idle.
        let mut s = with_history(100_000, &[1e-3; 10]);
        s.started(0, 1000);
        s.flights.get_mut(&0).unwrap().started = Instant::now() - Duration::from_millis(1500);
        assert_eq!(s.pick(false), None);
        assert!(s.next_check(true).unwrap() <= Instant::now());
        assert_eq!(s.pick(true), Some(0));
        // Its time does not count among its peers': it is no one copy's time.
        s.accepted(0);
        assert_eq!(s.costs.len(), 10);
    }

    #[test]
    fn nothing_is_judged_without_enough_samples_or_when_disabled() {
        let mut s = with_history(1000, &[1e-6; 2]);
        s.started(0, 10);
        s.flights.get_mut(&0).unwrap().started = Instant::now() - Duration::from_secs(1);
        assert_eq!(s.pick(false), None);
        let mut off = Stragglers::new(1000, false);
        off.costs = vec![1e-6; 10];
        off.started(0, 10);
        assert_eq!(off.pick(false), None);
    }
}
