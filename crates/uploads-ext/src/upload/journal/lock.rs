//! The advisory lock that keeps a journal to one process at a time: `flock` on `<journal>.lock`
//! on Unix, an exclusive open on Windows; the OS releases it when the process dies.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

use super::{file_name, parent_dir};

/// An advisory lock held while a process works on a journal.
#[derive(Debug)]
pub(crate) struct JournalLock {
    _file: File,
}

impl JournalLock {
    /// Takes the lock or fails at once with a clear error.
    pub(crate) fn acquire(journal: &Path) -> Result<JournalLock> {
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

#[cfg(unix)]
fn open_locked(path: &Path) -> std::io::Result<File> {
    use rustix::fs::{flock, FlockOperation};
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            std::io::Error::from(e),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(windows)]
fn open_locked(path: &Path) -> std::io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt;
    // No sharing: a second open fails until this handle is closed (or the process dies).
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .share_mode(0)
        .open(path)
        .map_err(|e| {
            // ERROR_SHARING_VIOLATION
            if e.raw_os_error() == Some(32) {
                std::io::Error::new(std::io::ErrorKind::WouldBlock, e)
            } else {
                e
            }
        })
}

#[cfg(not(any(unix, windows)))]
fn open_locked(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

pub(super) fn lock_path(journal: &Path) -> PathBuf {
    parent_dir(journal).join(format!("{}.lock", file_name(journal)))
}
