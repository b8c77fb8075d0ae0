//! Progress counters of one upload and the snapshots handed to the caller.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A snapshot of an upload's progress, passed to [`UploadFileBuilder::on_progress`](super::UploadFileBuilder::on_progress).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Progress {
    /// The Upload's id, once created.
    pub upload_id: Option<String>,
    /// Total bytes of the content.
    pub bytes_total: u64,
    /// Bytes in parts the API has accepted (including parts done before a resume).
    pub bytes_completed: u64,
    /// Bytes handed to the network so far, in-flight parts included (drops when a part is
    /// retried). Use it for a smooth progress bar.
    pub bytes_sent: u64,
    /// Number of parts.
    pub parts_total: usize,
    /// Parts the API has accepted.
    pub parts_completed: usize,
}

pub(crate) type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Shared progress counters of one upload.
pub(crate) struct Counters {
    upload_id: String,
    total: u64,
    parts_total: usize,
    completed: AtomicU64,
    sent: AtomicU64,
    parts_completed: AtomicUsize,
    callback: Option<ProgressFn>,
}

impl Counters {
    pub(crate) fn new(
        upload_id: &str,
        total: u64,
        parts_total: usize,
        callback: Option<ProgressFn>,
    ) -> Counters {
        Counters {
            upload_id: upload_id.to_owned(),
            total,
            parts_total,
            completed: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            parts_completed: AtomicUsize::new(0),
            callback,
        }
    }

    /// Bytes handed to the connection.
    pub(crate) fn sent(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
        self.report();
    }

    /// Takes back bytes of an attempt that failed (they will be sent again).
    pub(crate) fn rewind(&self, bytes: u64) {
        self.sent.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// A part the API accepted (and the journal holds); returns the completed byte count.
    pub(crate) fn part_done(&self, bytes: u64) -> u64 {
        self.parts_completed.fetch_add(1, Ordering::Relaxed);
        self.completed.fetch_add(bytes, Ordering::Relaxed) + bytes
    }

    /// A part done before this process started (resume): sent and completed at once.
    pub(crate) fn part_done_earlier(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
        self.part_done(bytes);
    }

    pub(crate) fn report(&self) {
        if let Some(cb) = &self.callback {
            cb(&Progress {
                upload_id: Some(self.upload_id.clone()),
                bytes_total: self.total,
                bytes_completed: self.completed.load(Ordering::Relaxed),
                bytes_sent: self.sent.load(Ordering::Relaxed),
                parts_total: self.parts_total,
                parts_completed: self.parts_completed.load(Ordering::Relaxed),
            });
        }
    }
}
