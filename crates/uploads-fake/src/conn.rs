//! One client connection: how to hang up on it, and its bandwidth cap.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::link::Pacer;
use crate::mutex::lock;

/// One client connection: how to hang up on it, and its bandwidth cap.
#[derive(Default)]
pub(crate) struct Conn {
    /// Notified to close the connection without an answer.
    pub abort: Notify,
    pacer: Mutex<Option<Arc<Pacer>>>,
}

impl Conn {
    /// The per-connection pacer for `rate` (kept across requests while the rate stays).
    pub fn pacer(&self, rate: Option<u64>) -> Option<Arc<Pacer>> {
        let mut slot = lock(&self.pacer);
        match (rate, slot.as_ref()) {
            (None, _) => {
                *slot = None;
                None
            }
            (Some(r), Some(p)) if p.rate() == r => Some(p.clone()),
            (Some(r), _) => {
                let p = Arc::new(Pacer::new(r));
                *slot = Some(p.clone());
                Some(p)
            }
        }
    }
}
