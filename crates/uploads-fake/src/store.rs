//! The store: every upload and its parts, expiry, snapshots, and the change
//! signal and state file that follow every state change.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::watch;

use crate::api_error::ApiError;
use crate::clock::FakeClock;
use crate::mutex::lock;
use crate::state::{Upload, UploadSnapshot, UploadStatus};
use crate::storage::remove_files;

/// `prefix` followed by 24 random lowercase hex digits.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(rand::random::<[u8; 12]>()))
}

/// Uploads by id, plus what is told about changes to them.
pub(crate) struct Store {
    uploads: Mutex<HashMap<String, Upload>>,
    seq: AtomicU64,
    pub clock: FakeClock,
    /// Bumped on every state change, so tests can wait for one instead of polling.
    pub changes: watch::Sender<u64>,
    state_file: Option<PathBuf>,
    persist_lock: Mutex<()>,
}

impl Store {
    pub fn new(clock: FakeClock, state_file: Option<PathBuf>) -> Self {
        let store = Self {
            uploads: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            clock,
            changes: watch::Sender::new(0),
            state_file,
            persist_lock: Mutex::new(()),
        };
        store.persist();
        store
    }

    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, Upload>> {
        lock(&self.uploads)
    }

    /// The creation order number of the next upload.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a new upload and returns its API object.
    pub fn insert(&self, upload: Upload) -> serde_json::Value {
        let json = upload.to_json();
        self.lock().insert(upload.id.clone(), upload);
        self.persist();
        json
    }

    /// The declared size of an upload, if it exists.
    pub fn bytes_of(&self, id: &str) -> Option<u64> {
        self.lock().get(id).map(|u| u.bytes)
    }

    /// Snapshots of every upload, in creation order, refreshing expiry.
    pub fn snapshots(&self) -> Vec<UploadSnapshot> {
        let now = self.clock.now_unix();
        let mut doomed: Option<Vec<PathBuf>> = None;
        let mut snaps: Vec<(u64, UploadSnapshot)> = {
            let mut map = self.lock();
            map.values_mut()
                .map(|u| {
                    if let Some(paths) = u.refresh_expiry(now) {
                        doomed.get_or_insert_with(Vec::new).extend(paths);
                    }
                    (u.seq, u.snapshot())
                })
                .collect()
        };
        snaps.sort_by_key(|(seq, _)| *seq);
        if let Some(paths) = doomed {
            self.after_expiry(paths);
        }
        snaps.into_iter().map(|(_, s)| s).collect()
    }

    /// Snapshot of one upload, refreshing expiry.
    pub fn snapshot(&self, id: &str) -> Option<UploadSnapshot> {
        let now = self.clock.now_unix();
        let (snap, doomed) = {
            let mut map = self.lock();
            let u = map.get_mut(id)?;
            let doomed = u.refresh_expiry(now);
            (u.snapshot(), doomed)
        };
        if let Some(paths) = doomed {
            self.after_expiry(paths);
        }
        Some(snap)
    }

    pub fn after_expiry(&self, paths: Vec<PathBuf>) {
        // An expiry is a state change even when no files were stored.
        remove_files(paths);
        self.persist();
    }

    /// Finds a pending, unexpired upload that is not being completed;
    /// `action` is used in messages. When the check makes the upload
    /// expire, the part files to delete are put in `expired` (the caller
    /// calls [`Store::after_expiry`] once unlocked).
    pub fn check_pending(
        &self,
        map: &mut HashMap<String, Upload>,
        id: &str,
        action: &str,
        expired: &mut Option<Vec<PathBuf>>,
    ) -> Result<(), ApiError> {
        let now = self.clock.now_unix();
        let Some(u) = map.get_mut(id) else {
            return Err(ApiError::no_upload(id));
        };
        if let Some(paths) = u.refresh_expiry(now) {
            *expired = Some(paths);
            return Err(ApiError::invalid(format!(
                "Cannot {action} upload {id} because it has expired (status 'expired')."
            )));
        }
        if u.status != UploadStatus::Pending {
            return Err(ApiError::invalid(format!(
                "Cannot {action} upload {id} because its status is '{}'.",
                u.status
            )));
        }
        if u.completing {
            return Err(ApiError::invalid(format!(
                "Cannot {action} upload {id} because it is being completed."
            )));
        }
        Ok(())
    }

    /// Runs [`Store::check_pending`] under the lock and handles an expiry it triggers.
    pub fn ensure_pending(&self, id: &str, action: &str) -> Result<(), ApiError> {
        let mut expired = None;
        let res = self.check_pending(&mut self.lock(), id, action, &mut expired);
        if let Some(paths) = expired {
            self.after_expiry(paths);
        }
        res
    }

    /// Called after every state change: wakes
    /// [`FakeServer::wait_for_upload`](crate::FakeServer::wait_for_upload)
    /// waiters and rewrites the state file (if configured) atomically.
    pub fn persist(&self) {
        self.changes.send_modify(|n| *n += 1);
        let Some(path) = &self.state_file else {
            return;
        };
        let _guard = lock(&self.persist_lock);
        let mut snaps: Vec<(u64, UploadSnapshot)> = self
            .lock()
            .values()
            .map(|u| (u.seq, u.snapshot()))
            .collect();
        snaps.sort_by_key(|(seq, _)| *seq);
        let snaps: Vec<UploadSnapshot> = snaps.into_iter().map(|(_, s)| s).collect();
        let result = (|| -> io::Result<()> {
            let data = serde_json::to_vec_pretty(&snaps)?;
            let mut tmp = path.clone().into_os_string();
            tmp.push(".tmp");
            let tmp = PathBuf::from(tmp);
            std::fs::write(&tmp, data)?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "failed to write state file");
        }
    }

    /// The File objects completed uploads produced and that have not
    /// expired, oldest first (by `created_at`, then creation order).
    pub fn files(&self) -> Vec<Value> {
        let now = self.clock.now_unix();
        let map = self.lock();
        let mut files: Vec<(u64, u64, Value)> = map
            .values()
            .filter_map(|u| {
                let f = u.file.as_ref()?;
                if f.expires_at.is_some_and(|at| at <= now) {
                    return None;
                }
                Some((f.created_at, f.seq, u.file_json()?))
            })
            .collect();
        files.sort_by_key(|(created_at, seq, _)| (*created_at, *seq));
        files.into_iter().map(|(_, _, v)| v).collect()
    }

    /// The part files of a completed upload, in `part_ids` order.
    pub fn content_paths(&self, id: &str) -> io::Result<Vec<PathBuf>> {
        let map = self.lock();
        let u = map
            .get(id)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no upload {id}")))?;
        let ids = match (&u.status, &u.completed_part_ids) {
            (UploadStatus::Completed, Some(ids)) => ids,
            _ => {
                return Err(io::Error::other(format!(
                    "upload {id} is {}, not completed",
                    u.status
                )))
            }
        };
        ids.iter()
            .map(|pid| {
                u.part(pid)
                    .and_then(|p| p.path.clone())
                    .ok_or_else(|| io::Error::other(format!("part {pid} has no stored data")))
            })
            .collect()
    }
}
