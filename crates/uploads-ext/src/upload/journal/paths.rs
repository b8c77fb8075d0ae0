//! Where a journal's files live and how they are written: the source path check, the hidden
//! siblings (temporary file, write probe), the atomic write and the removal with its lock.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::lock::lock_path;

/// Refuses, before any request, a source path the journal could not store losslessly.
pub(crate) fn check_storable(path: &Path) -> Result<()> {
    if path.to_str().is_some() || cfg!(unix) {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "{} is not valid Unicode: a resume journal cannot name it on this platform",
        path.display()
    )))
}

/// Removes a journal and its lock file (after the upload completed or was cancelled).
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(lock_path(path));
}

/// The directory a journal lives in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `<dir>/.<name><suffix>`, from the name's bytes (two names that differ only in bytes that are
/// not valid Unicode never share it).
pub(super) fn hidden_sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or("journal".as_ref()));
    name.push(suffix);
    parent_dir(path).join(name)
}

/// Writes `data` to `path` all at once: a temporary sibling, fsync, rename.
pub(super) fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = parent_dir(path);
    let tmp = hidden_sibling(path, &format!(".tmp-{}", std::process::id()));
    {
        let mut file = File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable where the platform allows syncing a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
