//! The link model: latency and bandwidth caps, per connection and shared by
//! all connections, applied to request bodies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The network between client and server: a one-way latency and bandwidth
/// caps on request bodies (uploads) of every route.
///
/// ```
/// use std::time::Duration;
/// // A home uplink of 5 Mbit/s with 20 ms to the API.
/// let uplink = uploads_fake::LinkModel::new()
///     .latency(Duration::from_millis(20))
///     .shared(5_000_000 / 8);
/// assert_eq!(uplink.shared, Some(625_000));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkModel {
    /// Added before each request is handled (and so before each answer).
    #[serde(default, with = "millis")]
    pub latency: Duration,
    /// Cap per connection in bytes per second.
    #[serde(default)]
    pub per_connection: Option<u64>,
    /// One link of this many bytes per second shared by all connections:
    /// while `n` request bodies cross it, each gets a fair `1/n` of it.
    #[serde(default)]
    pub shared: Option<u64>,
}

impl LinkModel {
    /// An unlimited link without latency.
    pub fn new() -> LinkModel {
        LinkModel::default()
    }

    /// Sets the one-way latency added before each answer.
    pub fn latency(mut self, one_way: Duration) -> LinkModel {
        self.latency = one_way;
        self
    }

    /// Caps every connection at `bytes_per_sec` (0 = unlimited).
    pub fn per_connection(mut self, bytes_per_sec: u64) -> LinkModel {
        self.per_connection = Some(bytes_per_sec).filter(|b| *b > 0);
        self
    }

    /// One link of `bytes_per_sec` for all connections together, shared
    /// fairly: each of `n` bodies crossing it at once gets `bytes_per_sec / n`
    /// (0 = unlimited).
    pub fn shared(mut self, bytes_per_sec: u64) -> LinkModel {
        self.shared = Some(bytes_per_sec).filter(|b| *b > 0);
        self
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// How much unused link time may be caught up on at once: keeps short gaps
/// (a reader busy elsewhere) from lowering the rate, while bytes over any
/// window stay within rate × (window + this).
const BURST: Duration = Duration::from_millis(50);

/// Largest step a chunk crosses the link in: a big chunk waits for its
/// bytes step by step instead of all at once, so rates hold within a step.
const QUANTUM: u64 = 16 * 1024;

/// A bandwidth cap (a token bucket holding at most [`BURST`] of credit):
/// every step reserves the next free slot of the link and waits until its
/// bytes have "passed".
#[derive(Debug)]
pub(crate) struct Pacer {
    rate: u64,
    next_free: Mutex<Instant>,
}

impl Pacer {
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            rate: bytes_per_sec.max(1),
            next_free: Mutex::new(Instant::now()),
        }
    }

    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Reserves `bytes` of the link at its rate and returns when they have passed.
    pub fn reserve(&self, bytes: u64) -> Instant {
        self.reserve_at(bytes, self.rate)
    }

    /// Reserves `bytes` at `rate` bytes per second (a share of the link that
    /// changes as connections come and go).
    fn reserve_at(&self, bytes: u64, rate: u64) -> Instant {
        let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let start = (*next).max(now.checked_sub(BURST).unwrap_or(now));
        *next = start + Duration::from_secs_f64(bytes as f64 / rate.max(1) as f64);
        *next
    }
}

/// One link of a fixed rate shared by all connections: while `n` request
/// bodies are crossing it, each gets `rate / n`.
#[derive(Debug)]
pub(crate) struct SharedLink {
    rate: u64,
    active: AtomicU64,
}

impl SharedLink {
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            rate: bytes_per_sec.max(1),
            active: AtomicU64::new(0),
        }
    }
}

/// One body's share of a [`SharedLink`]: counted among the active bodies
/// from its first byte until it ends, pauses or is dropped.
#[derive(Debug)]
struct Share {
    link: Arc<SharedLink>,
    pacer: Pacer,
    joined: bool,
}

impl Share {
    fn reserve(&mut self, bytes: u64) -> Instant {
        if !self.joined {
            self.joined = true;
            self.link.active.fetch_add(1, Ordering::SeqCst);
            // A fresh start: no credit saved while away.
            *self
                .pacer
                .next_free
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
        let n = self.link.active.load(Ordering::SeqCst).max(1);
        self.pacer.reserve_at(bytes, self.link.rate / n)
    }

    fn leave(&mut self) {
        if std::mem::take(&mut self.joined) {
            self.link.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.leave();
    }
}

/// The way one request body crosses the link: zero or more caps (the
/// connection's, a throttle fault's) and a share of the shared link.
#[derive(Debug, Default)]
pub(crate) struct LinkPath {
    caps: Vec<Arc<Pacer>>,
    share: Option<Share>,
}

impl LinkPath {
    pub fn new(caps: Vec<Arc<Pacer>>, shared: Option<Arc<SharedLink>>) -> Self {
        Self {
            caps,
            share: shared.map(|link| Share {
                link,
                pacer: Pacer::new(1),
                joined: false,
            }),
        }
    }

    /// Adds a cap for this body only.
    pub fn add_cap(&mut self, bytes_per_sec: u64) {
        self.caps.push(Arc::new(Pacer::new(bytes_per_sec)));
    }

    /// Returns once `len` bytes have crossed every cap and the shared link.
    pub async fn pass(&mut self, len: u64) {
        if self.caps.is_empty() && self.share.is_none() {
            return;
        }
        let mut left = len;
        while left > 0 {
            let step = left.min(QUANTUM);
            left -= step;
            let caps = self.caps.iter().map(|p| p.reserve(step));
            let shared = self.share.as_mut().map(|s| s.reserve(step));
            if let Some(due) = caps.chain(shared).max() {
                tokio::time::sleep_until(due).await;
            }
        }
    }

    /// Stops counting this body on the shared link (it ended or paused).
    pub fn leave(&mut self) {
        if let Some(share) = &mut self.share {
            share.leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `chunk`-byte chunks through `path` until `until`; returns the
    /// bytes that had passed by then (a chunk still on its way is not counted).
    async fn send_until(mut path: LinkPath, chunk: u64, until: Instant) -> u64 {
        let mut sent = 0;
        loop {
            path.pass(chunk).await;
            if Instant::now() > until {
                path.leave();
                return sent;
            }
            sent += chunk;
        }
    }

    /// Whether `got` is `want` within 3 % and one chunk (the one not counted).
    fn within(got: u64, want: u64, chunk: u64) -> bool {
        let slack = want as f64 * 0.03 + chunk as f64;
        (got as f64 - want as f64).abs() <= slack
    }

    #[tokio::test(start_paused = true)]
    async fn a_cap_holds_whatever_the_chunk_size() {
        for chunk in [1024, 64 * 1024, 1 << 20] {
            let cap = Arc::new(Pacer::new(1 << 20));
            let until = Instant::now() + Duration::from_secs(10);
            let sent = send_until(LinkPath::new(vec![cap], None), chunk, until).await;
            assert!(within(sent, 10 << 20, chunk), "{chunk}-byte chunks: {sent}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_shared_link_gives_each_active_body_an_equal_share() {
        let link = Arc::new(SharedLink::new(4 << 20));
        let start = Instant::now();
        let until = start + Duration::from_secs(8);
        // Big and small chunks alike get half of the link while both send...
        let big = tokio::spawn(send_until(
            LinkPath::new(vec![], Some(link.clone())),
            1 << 20,
            until,
        ));
        let small = tokio::spawn(send_until(
            LinkPath::new(vec![], Some(link.clone())),
            4096,
            until,
        ));
        // ... and a third that joins for the middle 4 s gets a third meanwhile.
        tokio::time::sleep_until(start + Duration::from_secs(2)).await;
        let third = send_until(
            LinkPath::new(vec![], Some(link.clone())),
            64 * 1024,
            start + Duration::from_secs(6),
        )
        .await;
        let (big, small) = (big.await.unwrap(), small.await.unwrap());
        // Each of the first two: 2 s at 1/2 + 4 s at 1/3 + 2 s at 1/2 of 4 MiB/s.
        let share_of_two = (4u64 << 20) * 4 / 2 + (4u64 << 20) * 4 / 3;
        assert!(
            within(big, share_of_two, 1 << 20),
            "{big} vs {share_of_two}"
        );
        assert!(
            within(small, share_of_two, 4096),
            "{small} vs {share_of_two}"
        );
        assert!(within(third, (4u64 << 20) * 4 / 3, 64 * 1024), "{third}");
        // The link is never exceeded (beyond the 50 ms of credit each may start with).
        assert!(big + small + third <= (4u64 << 20) * 8 + 3 * (256 << 10));
        assert_eq!(link.active.load(Ordering::SeqCst), 0, "all left");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cap_below_the_share_binds_and_a_throttle_adds_to_it() {
        let link = Arc::new(SharedLink::new(8 << 20));
        let until = Instant::now() + Duration::from_secs(4);
        // Alone on the link, but the connection's cap is 1 MiB/s.
        let capped = LinkPath::new(vec![Arc::new(Pacer::new(1 << 20))], Some(link.clone()));
        let sent = send_until(capped, 64 * 1024, until).await;
        assert!(within(sent, 4 << 20, 64 * 1024), "{sent}");
        // A throttled request on the same connection: 256 KiB/s.
        let mut throttled = LinkPath::new(vec![Arc::new(Pacer::new(1 << 20))], Some(link));
        throttled.add_cap(256 << 10);
        let until = Instant::now() + Duration::from_secs(4);
        let sent = send_until(throttled, 64 * 1024, until).await;
        assert!(within(sent, 1 << 20, 64 * 1024), "{sent}");
    }
}
