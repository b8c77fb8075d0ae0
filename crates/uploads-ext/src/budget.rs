//! The parts-in-flight budget of a client: a fair permit pool every upload of a
//! [`Client`](crate::Client) shares. A leaf: it knows nothing of the client that holds it.
//!
//! - **Parts in flight.** Each part of every upload started from a client (and from clients
//!   derived with [`Client::with_options`](crate::Client::with_options)) holds a permit of one semaphore from before its body
//!   is read until its last attempt ends. So at most
//!   [`max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) parts are in flight across all
//!   uploads, and each upload stays within its own
//!   [`concurrency`](crate::UploadFileBuilder::concurrency) too. A reader's part buffer is only
//!   allocated under a permit, and only under a share of the buffer budget below.
//! - **Buffered bytes.** A reader source's part is held in memory (a reader cannot be re-read
//!   for a retry). Before such a part is read it takes its size from a second client-wide
//!   pool of [`max_buffered_bytes`](crate::ClientBuilder::max_buffered_bytes) bytes (default
//!   [`DEFAULT_MAX_BUFFERED_BYTES`]) and gives it back when its last copy ends. So part data in
//!   memory stays within that budget however many uploads run and however far adaptive
//!   concurrency grows; file parts are streamed in [`FILE_READ_CHUNK`](crate::part::FILE_READ_CHUNK)
//!   reads (about `max_parts_in_flight x 512 KiB`) and bytes sources are the caller's memory,
//!   sent as zero-copy slices. A part larger than the whole budget runs alone.
//! - **Fair sharing.** The semaphore hands out permits in the order they were asked for, and
//!   an upload asks for one permit at a time (its next part), so uploads take turns: a big file
//!   does not starve small ones, and a small file waits for at most one part of each other
//!   upload, not for a big one's whole queue.
//!
//! The client also holds one rate-limit pause for all its uploads (`retry/gate.rs`): a 429 on
//! any request (a limit of the organisation, not of one upload) pauses every upload's parts,
//! creates and completes for the time the server asked. Cancels are not held back by it: a
//! cleanup must stay within its own bound.
//!
//! ```
//! use uploads_ext::Client;
//!
//! let client = Client::builder()
//!     .api_key("sk-...")
//!     .max_parts_in_flight(32)
//!     .build()?;
//! assert_eq!(client.max_parts_in_flight(), 32);
//! # Ok::<(), uploads_ext::Error>(())
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Parts in flight across all uploads of a client unless
/// [`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) says otherwise.
/// It is the ceiling adaptive concurrency grows into: 32 (it was 16) so that one upload on a
/// link whose connections are each capped (a long path, a per-flow shaper) can reach 4x the
/// 8 parts it starts with, while 200 uploads still do not open more than 32 connections. File
/// parts are streamed, so 32 parts cost about 16 MiB of buffers; reader parts are bounded by
/// [`DEFAULT_MAX_BUFFERED_BYTES`].
pub const DEFAULT_MAX_PARTS_IN_FLIGHT: usize = 32;
/// Bytes of reader parts held in memory at once across all uploads of a client unless
/// [`ClientBuilder::max_buffered_bytes`](crate::ClientBuilder::max_buffered_bytes) says otherwise
/// (16 reader parts of the automatic 8 MiB).
pub const DEFAULT_MAX_BUFFERED_BYTES: u64 = 128 * 1024 * 1024;
/// Smallest [`ClientBuilder::max_buffered_bytes`](crate::ClientBuilder::max_buffered_bytes) accepted.
pub const MIN_BUFFERED_BYTES: u64 = 1024 * 1024;
/// Largest [`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) accepted.
pub const MAX_PARTS_IN_FLIGHT: usize = 1024;

/// The parts-in-flight budget all uploads of a client share: a fair permit pool.
#[derive(Debug)]
pub(crate) struct Budget {
    parts: Arc<Semaphore>,
    limit: usize,
    buffer: Arc<Buffered>,
}

/// The buffered-bytes pool, in KiB permits (a semaphore counts at most `u32` per acquire).
#[derive(Debug)]
struct Buffered {
    kib: Arc<Semaphore>,
    limit: u64,
    now: AtomicU64,
    peak: AtomicU64,
}

/// A share of the buffered-bytes budget, given back when dropped.
#[derive(Debug)]
pub(crate) struct BufferPermit {
    _permit: OwnedSemaphorePermit,
    pool: Arc<Buffered>,
    bytes: u64,
}

impl Drop for BufferPermit {
    fn drop(&mut self) {
        self.pool.now.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

impl Budget {
    /// A budget of `limit` parts in flight (default [`DEFAULT_MAX_PARTS_IN_FLIGHT`]).
    pub(crate) fn new(limit: Option<usize>, buffered: Option<u64>) -> Result<Budget> {
        let limit = limit.unwrap_or(DEFAULT_MAX_PARTS_IN_FLIGHT);
        if limit == 0 || limit > MAX_PARTS_IN_FLIGHT {
            return Err(Error::invalid_input(format!(
                "max_parts_in_flight must be 1 to {MAX_PARTS_IN_FLIGHT}, got {limit}"
            )));
        }
        let bytes = buffered.unwrap_or(DEFAULT_MAX_BUFFERED_BYTES);
        if !(MIN_BUFFERED_BYTES..=u64::from(u32::MAX) * 1024).contains(&bytes) {
            return Err(Error::invalid_input(format!(
                "max_buffered_bytes must be at least {MIN_BUFFERED_BYTES}, got {bytes}"
            )));
        }
        Ok(Budget {
            parts: Arc::new(Semaphore::new(limit)),
            limit,
            buffer: Arc::new(Buffered {
                kib: Arc::new(Semaphore::new((bytes / 1024) as usize)),
                limit: bytes,
                now: AtomicU64::new(0),
                peak: AtomicU64::new(0),
            }),
        })
    }

    /// Waits until `bytes` more may be held in memory (first come, first served); a request
    /// larger than the whole budget waits for all of it.
    pub(crate) async fn buffer_permit(&self, bytes: u64) -> BufferPermit {
        let pool = &self.buffer;
        let kib = bytes.div_ceil(1024).min(pool.limit / 1024) as u32;
        let permit = pool
            .kib
            .clone()
            .acquire_many_owned(kib)
            .await
            .expect("the buffer budget's semaphore is never closed");
        let now = pool.now.fetch_add(bytes, Ordering::SeqCst) + bytes;
        pool.peak.fetch_max(now, Ordering::SeqCst);
        BufferPermit {
            _permit: permit,
            pool: pool.clone(),
            bytes,
        }
    }

    /// The buffered-bytes budget.
    pub(crate) fn buffer_limit(&self) -> u64 {
        self.buffer.limit
    }

    /// The most bytes held under buffer permits at once so far.
    pub(crate) fn buffer_peak(&self) -> u64 {
        self.buffer.peak.load(Ordering::SeqCst)
    }

    /// Waits for this client's turn to send one more part (first come, first served).
    pub(crate) async fn part_permit(&self) -> OwnedSemaphorePermit {
        self.parts
            .clone()
            .acquire_owned()
            .await
            .expect("the part budget's semaphore is never closed")
    }

    /// The most parts in flight at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Parts currently holding a permit.
    pub(crate) fn in_use(&self) -> usize {
        self.limit - self.parts.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        assert!(Budget::new(Some(0), None).is_err());
        assert!(Budget::new(Some(MAX_PARTS_IN_FLIGHT + 1), None).is_err());
        assert!(Budget::new(None, Some(MIN_BUFFERED_BYTES - 1)).is_err());
        let budget = Budget::new(None, None).unwrap();
        assert_eq!(budget.limit, DEFAULT_MAX_PARTS_IN_FLIGHT);
        assert_eq!(budget.buffer_limit(), DEFAULT_MAX_BUFFERED_BYTES);
    }

    #[tokio::test]
    async fn buffered_bytes_stay_within_the_budget() {
        let budget = Budget::new(None, Some(2 << 20)).unwrap();
        let a = budget.buffer_permit(1 << 20).await;
        let b = budget.buffer_permit(1 << 20).await;
        let third = budget.buffer_permit(1 << 20);
        tokio::pin!(third);
        assert!(futures_util::poll!(&mut third).is_pending());
        drop(a);
        let _c = third.await;
        drop(b);
        assert_eq!(budget.buffer_peak(), 2 << 20);
    }

    #[tokio::test]
    async fn permits_go_first_come_first_served() {
        let budget = Arc::new(Budget::new(Some(1), None).unwrap());
        let held = budget.part_permit().await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for n in 0..3 {
            let (budget, order, tx) = (budget.clone(), order.clone(), tx.clone());
            tasks.push(tokio::spawn(async move {
                let acquire = budget.part_permit();
                tokio::pin!(acquire);
                // Registered in the queue before the next waiter is started.
                assert!(futures_util::poll!(&mut acquire).is_pending());
                tx.send(()).unwrap();
                let _permit = acquire.await;
                order.lock().unwrap().push(n);
            }));
            rx.recv().await.unwrap();
        }
        assert_eq!(budget.in_use(), 1);
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
        assert_eq!(budget.in_use(), 0);
    }
}
