//! The batch manifest: what lets a rerun of the same batch skip files already uploaded and
//! resume the ones in flight.
//!
//! Two things on disk, both next to each other:
//! - the manifest file, JSON lines appended (and synced) as files complete, one object per
//!   completed file: `{"version": 1, "path": "/abs/path", "size": 123, "modified_ns": 456,
//!   "upload_id": "upload_...", "file_id": "file-..."}`. A file is skipped on a rerun when its
//!   absolute path, size and modification time match a line. A torn last line (a crash
//!   mid-append) is ignored: that file's upload is simply checked again.
//! - the directory `<manifest>.d`, holding one resume journal per file in flight (named by the
//!   md5 of its absolute path; see [`crate::upload`] for the journal format). A file whose
//!   journal is there is resumed with [`Client::resume_upload`](crate::Client::resume_upload);
//!   if that upload expired, was cancelled or the file changed, it is uploaded afresh.
//!
//! Paths that are not valid UTF-8 are recorded lossily; such a file is resumed from its journal
//! but not skipped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::digest::Md5;
use crate::error::{Error, Result};
use crate::upload::FileIdentity;

/// Version of the manifest lines this crate writes.
pub const MANIFEST_VERSION: u32 = 1;

/// One completed file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    version: u32,
    path: String,
    size: u64,
    modified_ns: u128,
    upload_id: String,
    file_id: String,
}

/// An open manifest: what earlier runs completed, and the file new completions go to.
pub(crate) struct Manifest {
    done: HashMap<String, Entry>,
    file: Mutex<File>,
    journals: PathBuf,
}

impl Manifest {
    /// Reads (or creates) the manifest at `path` and its journal directory.
    pub(crate) fn open(path: &Path) -> Result<Manifest> {
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
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read the manifest {}", path.display()),
                    e,
                ))
            }
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut done = HashMap::new();
        for (n, line) in lines.iter().enumerate() {
            match serde_json::from_str::<Entry>(line) {
                Ok(entry) => {
                    done.insert(entry.path.clone(), entry);
                }
                // A torn last line: the crash happened while it was appended.
                Err(_) if n + 1 == lines.len() && !text.ends_with('\n') => {}
                Err(e) => {
                    return Err(Error::invalid_input(format!(
                        "the manifest {} is not readable at line {}: {e}",
                        path.display(),
                        n + 1
                    )))
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open the manifest {}", path.display()), e))?;
        if !text.is_empty() && !text.ends_with('\n') {
            // Ends the torn line, so the next entry starts on its own.
            let _ = file.write_all(b"\n");
        }
        Ok(Manifest {
            done,
            file: Mutex::new(file),
            journals,
        })
    }

    /// The ids an earlier run recorded for this file, if it is unchanged since.
    pub(crate) fn uploaded(&self, path: &Path) -> Option<(String, String)> {
        let entry = self.done.get(&key(path))?;
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

    /// Records a completed file (its identity as it was when its upload started).
    pub(crate) fn record(
        &self,
        path: &Path,
        identity: FileIdentity,
        upload_id: &str,
        file_id: &str,
    ) -> Result<()> {
        let entry = Entry {
            version: MANIFEST_VERSION,
            path: key(path),
            size: identity.size,
            modified_ns: identity.modified_ns,
            upload_id: upload_id.to_owned(),
            file_id: file_id.to_owned(),
        };
        let mut line = serde_json::to_vec(&entry).expect("a manifest entry serializes");
        line.push(b'\n');
        let mut file = self.file.lock().expect("manifest lock");
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io("cannot append to the manifest", e))
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

fn key(path: &Path) -> String {
    absolute(path).to_string_lossy().into_owned()
}
