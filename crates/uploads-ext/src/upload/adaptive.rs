//! Adaptive concurrency: how many parts of one upload are in flight, adjusted to the goodput
//! measured (bytes of parts the server accepted, per second), unless
//! [`concurrency`](super::UploadFileBuilder::concurrency) fixes it.
//!
//! # The algorithm
//! A delay- and loss-aware AIMD on the number of parts in flight, probed by goodput:
//!
//! - **Start** at [`ADAPTIVE_START`] parts (or the ceiling, if lower). The ceiling is the
//!   client's [`max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) budget (capped at
//!   [`MAX_CONCURRENCY`](super::MAX_CONCURRENCY)); every part still takes a permit of that budget,
//!   so uploads sharing a client never exceed it together.
//! - **Windows.** Decisions are taken once per window: as many accepted parts as the level had
//!   at the window's start (about one "round trip" of parts). A window's goodput is its accepted
//!   bytes over its wall time; a part's cost is its time per byte.
//! - **Slow start.** While each window's goodput beats the previous one's by more than
//!   [`GAIN`] (10 %), every accepted part adds one part in flight (the level doubles per window,
//!   like TCP slow start). The first window that gains less ends slow start and falls back to
//!   the previous window's level: the extra connections bought nothing.
//! - **Congestion avoidance.** Afterwards, a window adds one part (additive increase, probing
//!   whether one more connection still raises total throughput) unless it shows congestion.
//! - **Multiplicative decrease.** A 429, a 5xx, a timeout or a dropped connection on any attempt,
//!   or latency inflation (a window that gained less than 10 % while its parts cost more than
//!   [`INFLATION`] times the best cost seen, or over 10 % more than the previous window's at a
//!   lower level: the extra parts only queue on a shared link) cut the level by a quarter, at
//!   most once per window (one loss event per round trip, as in TCP).
//!
//! The level never leaves `1..=ceiling`. The automatic part size is chosen with it
//! ([`auto_part_size`](super::auto_part_size) over [`PARTS_PER_SLOT`] times the ceiling), so an
//! upload has enough parts to grow into, within the API's 64 MiB per part and 8 GB per upload.
//!
//! # Anchors
//! - The AWS CRT S3 client derives its connection count from a throughput target rather than
//!   asking the user; here the target is found by probing instead of configured.
//! - TCP congestion control (RFC 5681 slow start and AIMD; delay-based variants such as
//!   TCP Vegas and BBR, which back off when queueing delay grows without more delivery rate).
//! - The S3 transfer manager's parallel parts (a fixed default of 10 in the v2 Java SDK)
//!   as the fixed baseline this improves on.

use std::time::{Duration, Instant};

/// Parts in flight an adaptive upload starts with (the former fixed default).
pub const ADAPTIVE_START: usize = 8;
/// A window must raise goodput by this fraction to count as a gain.
pub(crate) const GAIN: f64 = 0.10;
/// A part costing more than this many times the best cost seen is inflated (queueing).
pub(crate) const INFLATION: f64 = 2.0;
/// With adaptive concurrency the automatic part size aims at this many parts per slot of the
/// ceiling: enough parts to grow into and to finish evenly.
pub const PARTS_PER_SLOT: usize = 2;

/// The number of parts of one upload in flight.
#[derive(Debug)]
pub(crate) struct Concurrency {
    level: usize,
    ceiling: usize,
    adaptive: bool,
    slow_start: bool,
    window: Window,
    /// Goodput, level and mean cost of the previous window.
    previous: Option<(f64, usize, f64)>,
    /// Lowest time per byte of any accepted part.
    best_cost: Option<f64>,
    /// Congestion signals seen (see [`Concurrency::congested`]) and those already acted on.
    cut_in_window: bool,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    /// Parts the window waits for.
    len: usize,
    level_at_start: usize,
    parts: usize,
    bytes: u64,
    cost_sum: f64,
}

impl Window {
    fn new(level: usize, now: Instant) -> Window {
        Window {
            started: now,
            len: level.max(1),
            level_at_start: level,
            parts: 0,
            bytes: 0,
            cost_sum: 0.0,
        }
    }
}

impl Concurrency {
    /// A fixed level (an explicit `concurrency(n)`).
    pub(crate) fn fixed(n: usize) -> Concurrency {
        Concurrency::new(n, n, false, Instant::now())
    }

    /// An adaptive level within `1..=ceiling`.
    pub(crate) fn adaptive(ceiling: usize) -> Concurrency {
        let ceiling = ceiling.max(1);
        Concurrency::new(ADAPTIVE_START.min(ceiling), ceiling, true, Instant::now())
    }

    fn new(level: usize, ceiling: usize, adaptive: bool, now: Instant) -> Concurrency {
        Concurrency {
            level,
            ceiling,
            adaptive,
            slow_start: adaptive,
            window: Window::new(level, now),
            previous: None,
            best_cost: None,
            cut_in_window: false,
        }
    }

    /// Parts that may be in flight now.
    pub(crate) fn level(&self) -> usize {
        self.level
    }

    /// A part of `bytes` was accepted after `elapsed` (its last attempt's start to its answer).
    pub(crate) fn accepted(&mut self, bytes: u64, elapsed: Duration) {
        self.accepted_at(bytes, elapsed, Instant::now());
    }

    fn accepted_at(&mut self, bytes: u64, elapsed: Duration, now: Instant) {
        if !self.adaptive {
            return;
        }
        let cost = elapsed.as_secs_f64() / bytes.max(1) as f64;
        self.best_cost = Some(self.best_cost.map_or(cost, |b| b.min(cost)));
        let w = &mut self.window;
        w.parts += 1;
        w.bytes += bytes;
        w.cost_sum += cost;
        if self.slow_start {
            self.level = (self.level + 1).min(self.ceiling);
        }
        if self.window.parts >= self.window.len {
            self.end_window(now);
        }
    }

    fn end_window(&mut self, now: Instant) {
        let w = &self.window;
        let level_at_start = w.level_at_start;
        let secs = now.duration_since(w.started).as_secs_f64().max(1e-6);
        let goodput = w.bytes as f64 / secs;
        let cost = w.cost_sum / w.parts.max(1) as f64;
        let gained = self
            .previous
            .is_none_or(|(before, _, _)| goodput > before * (1.0 + GAIN));
        // Parts cost far more than the best seen, or more than in the previous window at a
        // lower level: the added parts only queue.
        let inflated = self.best_cost.is_some_and(|b| cost > b * INFLATION)
            || self.previous.is_some_and(|(_, level, before)| {
                level_at_start > level && cost > before * (1.0 + GAIN)
            });
        if self.slow_start {
            if !gained {
                self.slow_start = false;
                let back = self.previous.map_or(self.level, |(_, level, _)| level);
                self.level = back.clamp(1, self.ceiling);
            }
        } else if !gained && inflated {
            self.cut();
        } else if !self.cut_in_window {
            self.level = (self.level + 1).min(self.ceiling);
        }
        self.previous = Some((goodput, level_at_start, cost));
        self.cut_in_window = false;
        self.window = Window::new(self.level, now);
    }

    /// An attempt failed in a way that says the path is congested (429, 5xx, timeout, drop).
    pub(crate) fn congested(&mut self) {
        if !self.adaptive {
            return;
        }
        self.slow_start = false;
        if !self.cut_in_window {
            self.cut();
        }
    }

    fn cut(&mut self) {
        self.cut_in_window = true;
        self.level = (self.level - (self.level / 4).max(1)).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    /// Runs `windows` windows where `level` parts in flight give `goodput(level)` bytes/s and
    /// each part costs `cost(level)` seconds per byte.
    fn drive(
        c: &mut Concurrency,
        windows: usize,
        goodput: impl Fn(usize) -> f64,
        cost: impl Fn(usize) -> f64,
    ) {
        let mut now = Instant::now();
        c.window = Window::new(c.level, now);
        for _ in 0..windows {
            let level = c.level;
            let parts = c.window.len;
            let bytes = MB;
            let secs = (parts as u64 * bytes) as f64 / goodput(level);
            now += Duration::from_secs_f64(secs);
            for _ in 0..parts {
                let elapsed = Duration::from_secs_f64(cost(level) * bytes as f64);
                c.accepted_at(bytes, elapsed, now);
            }
        }
    }

    #[test]
    fn grows_to_the_ceiling_while_each_connection_adds_throughput() {
        let mut c = Concurrency::adaptive(32);
        assert_eq!(c.level(), ADAPTIVE_START);
        // A per-connection cap: n connections give n x 20 MB/s, each part costs the same.
        drive(&mut c, 6, |n| n as f64 * 20e6, |_| 1.0 / 20e6);
        assert_eq!(c.level(), 32);
    }

    #[test]
    fn stops_growing_on_a_shared_link_and_backs_off_when_parts_only_queue() {
        let mut c = Concurrency::adaptive(32);
        // A shared link: the total never rises, each part costs n times more.
        drive(&mut c, 12, |_| 40e6, |n| n as f64 / 40e6);
        assert!(c.level() <= 12, "level {}", c.level());
        assert!(c.level() >= 1);
    }

    #[test]
    fn congestion_cuts_by_a_quarter_once_per_window() {
        let mut c = Concurrency::adaptive(32);
        c.congested();
        assert_eq!(c.level(), 6);
        c.congested();
        assert_eq!(c.level(), 6, "one cut per window");
        for _ in 0..20 {
            c.cut();
        }
        assert_eq!(c.level(), 1, "never below one");
    }

    #[test]
    fn a_fixed_level_never_moves() {
        let mut c = Concurrency::fixed(5);
        c.congested();
        drive(&mut c, 5, |n| n as f64 * 20e6, |_| 1.0 / 20e6);
        assert_eq!(c.level(), 5);
    }
}
