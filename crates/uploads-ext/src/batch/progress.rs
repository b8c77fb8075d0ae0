//! The aggregate progress of a batch, summed from its files' progress reports.

use std::sync::{Arc, Mutex};

use crate::upload::Progress;

/// A snapshot of a batch's progress, passed to
/// [`BatchBuilder::on_progress`](super::BatchBuilder::on_progress) and returned by
/// [`BatchHandle::progress`](super::BatchHandle::progress).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BatchProgress {
    /// Files in the batch.
    pub files_total: usize,
    /// Files completed (including those an earlier run uploaded, per the manifest).
    pub files_completed: usize,
    /// Files that failed.
    pub files_failed: usize,
    /// Bytes of all files, as listed.
    pub bytes_total: u64,
    /// Bytes acknowledged by the server (in parts the API accepted), across files (a failed
    /// file's bytes stay counted): the main figure, as for [`Progress`].
    pub bytes_completed: u64,
    /// Bytes handed to the connection, in-flight parts included (drops when a part is
    /// retried): a second figure that runs ahead of the acknowledged one.
    pub bytes_sent: u64,
}

impl BatchProgress {
    /// Files that finished, either way.
    pub fn files_finished(&self) -> usize {
        self.files_completed + self.files_failed
    }
}

pub(crate) type BatchProgressFn = Arc<dyn Fn(&BatchProgress) + Send + Sync>;

/// Per-file last reports and their running sums.
pub(crate) struct Aggregate {
    state: Mutex<State>,
    callback: Option<BatchProgressFn>,
}

struct State {
    totals: BatchProgress,
    /// `(bytes_sent, bytes_completed)` last reported by each file.
    files: Vec<(u64, u64)>,
}

impl Aggregate {
    pub(crate) fn new(sizes: &[u64], callback: Option<BatchProgressFn>) -> Arc<Aggregate> {
        Arc::new(Aggregate {
            state: Mutex::new(State {
                totals: BatchProgress {
                    files_total: sizes.len(),
                    bytes_total: sizes.iter().sum(),
                    ..BatchProgress::default()
                },
                files: vec![(0, 0); sizes.len()],
            }),
            callback,
        })
    }

    /// A progress report of file `index`.
    pub(crate) fn file_progress(&self, index: usize, p: &Progress) {
        self.update(|state| {
            let (sent, completed) = &mut state.files[index];
            let totals = &mut state.totals;
            totals.bytes_sent = totals.bytes_sent - *sent + p.bytes_sent;
            totals.bytes_completed = totals.bytes_completed - *completed + p.bytes_completed;
            (*sent, *completed) = (p.bytes_sent, p.bytes_completed);
        });
    }

    /// File `index` finished; a completed file counts all its bytes (`bytes`).
    pub(crate) fn file_finished(&self, index: usize, completed: bool, bytes: u64) {
        self.update(|state| {
            if completed {
                let (sent, done) = &mut state.files[index];
                let totals = &mut state.totals;
                totals.bytes_sent = totals.bytes_sent - *sent + bytes;
                totals.bytes_completed = totals.bytes_completed - *done + bytes;
                (*sent, *done) = (bytes, bytes);
                totals.files_completed += 1;
            } else {
                state.totals.files_failed += 1;
            }
        });
    }

    pub(crate) fn snapshot(&self) -> BatchProgress {
        self.state
            .lock()
            .expect("batch progress lock")
            .totals
            .clone()
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        let snapshot = {
            let mut state = self.state.lock().expect("batch progress lock");
            change(&mut state);
            state.totals.clone()
        };
        // Outside the lock: the caller's callback may take its time or ask for a snapshot.
        if let Some(cb) = &self.callback {
            cb(&snapshot);
        }
    }
}

impl std::fmt::Debug for Aggregate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Aggregate").field(&self.snapshot()).finish()
    }
}
