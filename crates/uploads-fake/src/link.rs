//! The link model: latency and bandwidth caps, per connection and shared by
//! all connections, applied to request bodies.

use std::sync::Mutex;
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
    /// One cap in bytes per second shared by all connections together.
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

    /// Caps all connections together at `bytes_per_sec` (0 = unlimited).
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

/// A bandwidth cap (a token bucket holding at most [`BURST`] of credit):
/// every chunk reserves the next free slot of the link and waits until its
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

    /// Reserves `bytes` of the link and returns when they have passed.
    pub fn reserve(&self, bytes: u64) -> Instant {
        let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let start = (*next).max(now.checked_sub(BURST).unwrap_or(now));
        *next = start + Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        *next
    }
}
