//! The parts-in-flight budget of a client: a fair permit pool every upload of a
//! [`Client`](crate::Client) shares. A leaf: it knows nothing of the client that holds it.
//!
//! - **Parts in flight.** Each part of every upload started from a client (and from clients
//!   derived with [`Client::with_options`](crate::Client::with_options)) holds a permit of one semaphore from before its body
//!   is read until its last attempt ends. So at most
//!   [`max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) parts are in flight across all
//!   uploads, and each upload stays within its own
//!   [`concurrency`](crate::UploadFileBuilder::concurrency) too. A reader's part buffer is only
//!   allocated under a permit, so memory for reader sources is bounded by the budget times the
//!   part size, however many uploads run.
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

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Parts in flight across all uploads of a client unless
/// [`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) says otherwise: two uploads at the default
/// concurrency run at full speed, and 200 uploads do not open 1,600 connections.
pub const DEFAULT_MAX_PARTS_IN_FLIGHT: usize = 16;
/// Largest [`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) accepted.
pub const MAX_PARTS_IN_FLIGHT: usize = 1024;

/// The parts-in-flight budget all uploads of a client share: a fair permit pool.
#[derive(Debug)]
pub(crate) struct Budget {
    parts: Arc<Semaphore>,
    limit: usize,
}

impl Budget {
    /// A budget of `limit` parts in flight (default [`DEFAULT_MAX_PARTS_IN_FLIGHT`]).
    pub(crate) fn new(limit: Option<usize>) -> Result<Budget> {
        let limit = limit.unwrap_or(DEFAULT_MAX_PARTS_IN_FLIGHT);
        if limit == 0 || limit > MAX_PARTS_IN_FLIGHT {
            return Err(Error::invalid_input(format!(
                "max_parts_in_flight must be 1 to {MAX_PARTS_IN_FLIGHT}, got {limit}"
            )));
        }
        Ok(Budget {
            parts: Arc::new(Semaphore::new(limit)),
            limit,
        })
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
        assert!(Budget::new(Some(0)).is_err());
        assert!(Budget::new(Some(MAX_PARTS_IN_FLIGHT + 1)).is_err());
        assert_eq!(
            Budget::new(None).unwrap().limit,
            DEFAULT_MAX_PARTS_IN_FLIGHT
        );
    }

    #[tokio::test]
    async fn permits_go_first_come_first_served() {
        let budget = Arc::new(Budget::new(Some(1)).unwrap());
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
