//! Progress counters of one upload and the snapshots handed to the caller.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A snapshot of an upload's progress, passed to [`UploadFileBuilder::on_progress`](super::UploadFileBuilder::on_progress).
///
/// The main figure is [`bytes_completed`](Self::bytes_completed): bytes the server has
/// acknowledged (parts it accepted). [`bytes_sent`](Self::bytes_sent) runs ahead of it: bytes
/// handed to the connection may still sit in buffers on the way, and a slow or throttled server
/// takes them long after. Base bars and time estimates on the acknowledged figure and its rate
/// ([`bytes_per_sec`](Self::bytes_per_sec)); show the sent figure beside it if you like.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Progress {
    /// The Upload's id, once created.
    pub upload_id: Option<String>,
    /// Total bytes of the content.
    pub bytes_total: u64,
    /// Bytes acknowledged by the server: in parts the API has accepted (including parts done
    /// before a resume). Never more than the sizes of the accepted parts added up.
    pub bytes_completed: u64,
    /// Bytes handed to the connection so far, in-flight parts included (drops when a part is
    /// retried); at least [`bytes_completed`](Self::bytes_completed) and at most
    /// [`bytes_total`](Self::bytes_total), even while a straggler's second copy runs. A second
    /// figure: it runs ahead of what the server has.
    pub bytes_sent: u64,
    /// Number of parts.
    pub parts_total: usize,
    /// Parts the API has accepted.
    pub parts_completed: usize,
    /// The acknowledged rate of this run, in bytes per second: bytes of the parts accepted since
    /// the upload (or resume) started, over the time since. `None` until a part is accepted.
    pub bytes_per_sec: Option<u64>,
    /// Set once the rate is known (see [`fail_if_too_slow`](super::UploadFileBuilder::fail_if_too_slow))
    /// if, at [`bytes_per_sec`](Self::bytes_per_sec), the rest cannot be sent before the Upload
    /// expires (less the expiry margin): the rate the rest needs, in bytes per second. `None`
    /// while the upload is on time (or its rate not yet known).
    pub needed_bytes_per_sec: Option<u64>,
}

impl Progress {
    /// Whether the upload is too slow to finish before it expires (see
    /// [`needed_bytes_per_sec`](Self::needed_bytes_per_sec)).
    pub fn too_slow(&self) -> bool {
        self.needed_bytes_per_sec.is_some()
    }
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
    /// Bytes and parts accepted before this run (a resume), not counted in the rate.
    earlier: AtomicU64,
    parts_earlier: AtomicUsize,
    started: Instant,
    /// The rate the rest needs to finish before expiry; 0: on time.
    needed: AtomicU64,
    callback: Option<ProgressFn>,
}

/// What this run has had acknowledged so far: the basis of the expiry watch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunRate {
    /// Parts accepted in this run.
    pub parts: usize,
    /// Bytes not yet acknowledged.
    pub remaining: u64,
    /// Acknowledged bytes per second of this run (`None` before the first part).
    pub bytes_per_sec: Option<f64>,
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
            earlier: AtomicU64::new(0),
            parts_earlier: AtomicUsize::new(0),
            started: Instant::now(),
            needed: AtomicU64::new(0),
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

    /// A part the API accepted (and the journal holds).
    pub(crate) fn part_done(&self, bytes: u64) {
        self.parts_completed.fetch_add(1, Ordering::Relaxed);
        self.completed.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A part done before this process started (resume): sent and completed at once.
    pub(crate) fn part_done_earlier(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
        self.earlier.fetch_add(bytes, Ordering::Relaxed);
        self.parts_earlier.fetch_add(1, Ordering::Relaxed);
        self.part_done(bytes);
    }

    /// This run's acknowledged progress and rate.
    pub(crate) fn run_rate(&self) -> RunRate {
        let completed = self.completed.load(Ordering::Relaxed);
        let this_run = completed.saturating_sub(self.earlier.load(Ordering::Relaxed));
        let secs = self.started.elapsed().as_secs_f64();
        RunRate {
            parts: self
                .parts_completed
                .load(Ordering::Relaxed)
                .saturating_sub(self.parts_earlier.load(Ordering::Relaxed)),
            remaining: self.total.saturating_sub(completed),
            bytes_per_sec: (this_run > 0 && secs > 0.0).then(|| this_run as f64 / secs),
        }
    }

    /// Sets the rate the rest needs to finish in time (`None`: on time).
    pub(crate) fn set_needed(&self, bytes_per_sec: Option<u64>) {
        let value = bytes_per_sec.map(|b| b.max(1)).unwrap_or(0);
        self.needed.store(value, Ordering::Relaxed);
    }

    pub(crate) fn report(&self) {
        if let Some(cb) = &self.callback {
            let needed = self.needed.load(Ordering::Relaxed);
            let completed = self.completed.load(Ordering::Relaxed);
            // A straggler's second copy is counted while it runs, so the raw figure can pass
            // the total for a moment; a reader wants bytes of this content, once.
            let sent = self.sent.load(Ordering::Relaxed).min(self.total);
            cb(&Progress {
                upload_id: Some(self.upload_id.clone()),
                bytes_total: self.total,
                bytes_completed: completed,
                bytes_sent: sent.max(completed),
                parts_total: self.parts_total,
                parts_completed: self.parts_completed.load(Ordering::Relaxed),
                bytes_per_sec: self.run_rate().bytes_per_sec.map(|r| r as u64),
                needed_bytes_per_sec: (needed > 0).then_some(needed),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn sent_bytes_stay_within_the_content_while_a_second_copy_runs() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let callback: ProgressFn =
            Arc::new(move |p: &Progress| sink.lock().unwrap().push(p.clone()));
        let counters = Counters::new("upload_1", 100, 2, Some(callback));
        counters.sent(60);
        counters.sent(40);
        // Part 1 (40 bytes) is slow: its second copy hands over 30 more bytes.
        counters.sent(30);
        counters.part_done(60);
        counters.report();
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last.bytes_sent, 100);
        assert_eq!(last.bytes_completed, 60);
        // A rewind below the acknowledged bytes never shows fewer sent than completed.
        counters.rewind(130);
        counters.report();
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last.bytes_sent, 60);
    }
}
