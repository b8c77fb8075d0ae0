//! The advisory lock that keeps a journal to one process at a time: [`File::try_lock`] on
//! `<journal>.lock` (`flock` on Unix, `LockFileEx` on Windows); the OS releases it when the
//! process dies.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

use super::regular::check_regular_or_absent;

/// An advisory lock held while a process works on a journal.
#[derive(Debug)]
pub(crate) struct JournalLock {
    _file: File,
}

impl JournalLock {
    /// Takes the lock or fails at once with a clear error.
    pub(crate) fn acquire(journal: &Path) -> Result<JournalLock> {
        // A device or FIFO would be read forever, and its lock created beside it.
        check_regular_or_absent(journal, "journal")?;
        let path = lock_path(journal);
        let busy = || {
            Error::new(
                ErrorKind::Journal,
                format!(
                    "journal {} is in use by another process (lock {}): wait for it to finish",
                    journal.display(),
                    path.display()
                ),
            )
            .mark_journal_locked()
        };
        let file = open_locked(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                busy()
            } else {
                Error::new(
                    ErrorKind::Journal,
                    format!("cannot lock journal {}: {e}", journal.display()),
                )
                .with_source(e)
            }
        })?;
        Ok(JournalLock { _file: file })
    }
}

/// Opens (creating) the lock file and takes an exclusive lock on it without waiting
/// (`File::try_lock`: `flock` on Unix, `LockFileEx` on Windows). A lock held elsewhere is
/// [`std::io::ErrorKind::WouldBlock`].
pub(crate) fn open_locked(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            "the lock is held by another process",
        )),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// `<path>.lock`, built from the path's bytes: two journals whose names differ only in bytes
/// that are not valid Unicode get two locks.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}
