//! The batch manifest: what lets a rerun of the same batch skip files already uploaded and
//! resume the ones in flight.
//!
//! Three things on disk, side by side:
//! - the manifest file, JSON lines appended (and synced) as files complete, one object per
//!   completed file: `{"version": 1, "path": "/abs/path", "size": 123, "modified_ns": 456,
//!   "upload_id": "upload_...", "file_id": "file-..."}`. A path that is not valid Unicode is
//!   written as `{"unix_bytes_hex": "..."}` (its bytes), so every path is matched exactly. A
//!   file is skipped on a rerun when its absolute path, size and modification time match a
//!   line. A torn last line (a crash mid-append) is ignored: that file is resumed from its
//!   journal instead.
//! - the directory `<manifest>.d`, holding one resume journal per file in flight (named by the
//!   md5 of its absolute path; see [`crate::upload`] for the journal format). A file whose
//!   journal is there is resumed with [`Client::resume_upload`](crate::Client::resume_upload);
//!   if that upload expired, was cancelled or the file changed, it is uploaded afresh. A file's
//!   line is written (and synced) *before* its journal is removed, so a crash at any moment
//!   leaves it either recorded or still journaled: never uploaded twice.
//! - `<manifest>.lock`, locked (`flock` / `LockFileEx`) while a run uses the manifest: a second
//!   run with the same manifest is refused ([`Error::is_journal_locked`](crate::Error::is_journal_locked)).
//!
//! The manifest must be a regular file (or not exist yet): a device, FIFO or directory is
//! refused before any request.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::digest::Md5;
use crate::error::{Error, ErrorKind, Result};
use crate::upload::{check_regular_or_absent, lossless_path, open_locked, FileIdentity};

/// Version of the manifest lines this crate writes.
pub const MANIFEST_VERSION: u32 = 1;

/// One completed file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    version: u32,
    #[serde(with = "lossless_path")]
    path: PathBuf,
    size: u64,
    modified_ns: u128,
    upload_id: String,
    file_id: String,
}

/// An open manifest, owned by this run (its lock is held until it is dropped): what earlier
/// runs completed, and the file new completions go to.
pub(crate) struct Manifest {
    path: PathBuf,
    done: HashMap<PathBuf, Entry>,
    file: Mutex<File>,
    journals: PathBuf,
    _lock: File,
}

impl Manifest {
    /// Takes the manifest at `path` for this run, reads (or creates) it and its journal
    /// directory.
    pub(crate) fn open(path: &Path) -> Result<Manifest> {
        check_regular_or_absent(path, "manifest")?;
        let journals = super::journal_dir(path);
        std::fs::create_dir_all(&journals).map_err(|e| {
            Error::io(
                format!(
                    "cannot create the manifest's directory {}",
                    journals.display()
                ),
                e,
            )
        })?;
        let lock = lock(path)?;
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read the manifest {}", path.display()),
                    e,
                ))
            }
        };
        let done = parse(path, &text)?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open the manifest {}", path.display()), e))?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            // Ends the torn line, so the next entry starts on its own.
            file.write_all(b"\n").map_err(|e| {
                Error::io(format!("cannot write the manifest {}", path.display()), e)
            })?;
        }
        Ok(Manifest {
            path: path.to_owned(),
            done,
            file: Mutex::new(file),
            journals,
            _lock: lock,
        })
    }

    /// The ids an earlier run recorded for this file, if it is unchanged since.
    pub(crate) fn uploaded(&self, path: &Path) -> Option<(String, String)> {
        let entry = self.done.get(&absolute(path))?;
        let now = FileIdentity::of(path).ok()?;
        (now.size == entry.size && now.modified_ns == entry.modified_ns)
            .then(|| (entry.upload_id.clone(), entry.file_id.clone()))
    }

    /// Where the resume journal of this file lives.
    pub(crate) fn journal_for(&self, path: &Path) -> PathBuf {
        let digest = Md5::digest(absolute(path).as_os_str().as_encoded_bytes());
        self.journals
            .join(format!("{}.journal", hex::encode(digest)))
    }

    /// Records a completed file (its identity as it was when its upload started), synced to
    /// disk before returning. On failure nothing of the line is left behind.
    pub(crate) fn record(
        &self,
        path: &Path,
        identity: FileIdentity,
        upload_id: &str,
        file_id: &str,
    ) -> Result<()> {
        let entry = Entry {
            version: MANIFEST_VERSION,
            path: absolute(path),
            size: identity.size,
            modified_ns: identity.modified_ns,
            upload_id: upload_id.to_owned(),
            file_id: file_id.to_owned(),
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| {
            Error::invalid_input(format!(
                "cannot encode {} for the manifest: {e}",
                path.display()
            ))
        })?;
        line.push(b'\n');
        let file = self.file.lock().expect("manifest lock");
        append(&file, &line).map_err(|e| {
            Error::io(
                format!(
                    "uploaded as {file_id} (upload {upload_id}), but the manifest {} could not \
                     record it",
                    self.path.display()
                ),
                e,
            )
            .with_upload_id(upload_id)
        })
    }
}

/// Appends `line` and syncs it; a partial line (disk full) is cut off again, so later lines
/// stay readable.
fn append(mut file: &File, line: &[u8]) -> std::io::Result<()> {
    let before = file.metadata()?.len();
    let written = file.write_all(line).and_then(|()| file.sync_data());
    if written.is_err() {
        let _ = file.set_len(before);
    }
    written
}

/// The manifest's lock, `<manifest>.lock`: one run at a time.
fn lock(manifest: &Path) -> Result<File> {
    let path = crate::upload::lock_path(manifest);
    open_locked(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::new(
                ErrorKind::Journal,
                format!(
                    "manifest {} is in use by another run (lock {}): wait for it to finish, or \
                     give another manifest",
                    manifest.display(),
                    path.display()
                ),
            )
            .mark_journal_locked()
        } else {
            Error::new(
                ErrorKind::Journal,
                format!("cannot lock manifest {}: {e}", manifest.display()),
            )
            .with_source(e)
        }
    })
}

/// The entries of a manifest's text, by absolute path.
fn parse(path: &Path, text: &[u8]) -> Result<HashMap<PathBuf, Entry>> {
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .collect();
    let mut done = HashMap::new();
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => {
                done.insert(entry.path.clone(), entry);
            }
            // A torn last line: the crash happened while it was appended.
            Err(_) if n + 1 == lines.len() && !text.ends_with(b"\n") => {}
            Err(e) => {
                return Err(Error::invalid_input(format!(
                    "the manifest {} is not readable at line {}: {e}",
                    path.display(),
                    n + 1
                )))
            }
        }
    }
    Ok(done)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> FileIdentity {
        FileIdentity {
            size: 3,
            modified_ns: 7,
        }
    }

    #[test]
    fn a_second_open_is_refused_while_the_first_holds_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let first = Manifest::open(&path).unwrap();
        let err = Manifest::open(&path).err().expect("refused");
        assert_eq!(err.kind(), ErrorKind::Journal);
        assert!(err.is_journal_locked(), "{err}");
        assert!(err.to_string().contains("m.jsonl is in use"), "{err}");
        drop(first);
        Manifest::open(&path).unwrap();
    }

    #[test]
    fn a_failed_append_is_an_error_and_leaves_no_partial_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut manifest = Manifest::open(&path).unwrap();
        let src = dir.path().join("a.bin");
        manifest
            .record(&src, identity(), "upload_1", "file-1")
            .unwrap();
        // A handle that cannot write stands in for a full disk.
        manifest.file = Mutex::new(File::open(&path).unwrap());
        let err = manifest
            .record(&dir.path().join("b.bin"), identity(), "upload_2", "file-2")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.upload_id(), Some("upload_2"));
        assert!(err.to_string().contains("file-2"), "{err}");
        drop(manifest);
        let done = parse(&path, &std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(done.len(), 1);
        assert!(done.contains_key(&src));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_are_keys_by_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let a = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.bin"));
        let b = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xff.bin"));
        let manifest = Manifest::open(&path).unwrap();
        manifest
            .record(&a, identity(), "upload_a", "file-a")
            .unwrap();
        drop(manifest);
        let done = parse(&path, &std::fs::read(&path).unwrap()).unwrap();
        assert!(done.contains_key(&a));
        assert!(!done.contains_key(&b), "matched lossily");
    }
}
