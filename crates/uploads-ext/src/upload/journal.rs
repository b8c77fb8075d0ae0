//! The resume journal: what a new process needs to finish an upload another process started.
//!
//! Written atomically (temp file, fsync, rename) after each part, so a crash at any moment leaves
//! either the previous or the new journal, never a torn one.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Version of the journal format this crate writes and reads.
pub const JOURNAL_VERSION: u32 = 1;

/// Where an upload stands, as far as the journal knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JournalState {
    InProgress,
    Cancelled,
}

/// One part that the API accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DonePart {
    pub index: usize,
    pub id: String,
    pub start: u64,
    pub end: u64,
}

/// Identity of the source file: if either changes, the bytes may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileIdentity {
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub modified_ns: u128,
}

impl FileIdentity {
    pub(crate) fn of(path: &Path) -> Result<FileIdentity> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if !meta.is_file() {
            return Err(Error::invalid_input(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(FileIdentity {
            size: meta.len(),
            modified_ns,
        })
    }
}

/// The journal file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Journal {
    pub version: u32,
    pub state: JournalState,
    pub upload_id: String,
    pub path: PathBuf,
    pub file: FileIdentity,
    pub filename: String,
    pub purpose: String,
    pub mime_type: String,
    pub part_size: u64,
    pub md5: bool,
    /// Unix seconds when the upload expires (from the API's `expires_at`).
    pub expires_at: i64,
    pub parts: Vec<DonePart>,
}

impl Journal {
    pub(crate) fn load(path: &Path) -> Result<Journal> {
        let text = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::Journal,
                format!("cannot read journal {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
        let journal: Journal = serde_json::from_slice(&text).map_err(|e| {
            Error::new(
                ErrorKind::Journal,
                format!("journal {} is not valid: {e}", path.display()),
            )
        })?;
        if journal.version != JOURNAL_VERSION {
            return Err(Error::new(
                ErrorKind::Journal,
                format!(
                    "journal {} has version {}, this crate reads {JOURNAL_VERSION}",
                    path.display(),
                    journal.version
                ),
            ));
        }
        Ok(journal)
    }

    /// Writes the journal atomically.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec_pretty(self).expect("journal serializes");
        write_atomically(path, &data).map_err(|e| {
            Error::new(
                ErrorKind::Journal,
                format!("cannot write journal {}: {e}", path.display()),
            )
            .with_source(e)
        })
    }

    /// Seconds left before the upload expires, by this machine's clock.
    pub(crate) fn seconds_left(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.expires_at - now
    }
}

fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "journal".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable where the platform allows syncing a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: PathBuf) -> Journal {
        Journal {
            version: JOURNAL_VERSION,
            state: JournalState::InProgress,
            upload_id: "upload_1".into(),
            path,
            file: FileIdentity {
                size: 10,
                modified_ns: 5,
            },
            filename: "a.bin".into(),
            purpose: "batch".into(),
            mime_type: "application/octet-stream".into(),
            part_size: 4,
            md5: true,
            expires_at: 2_000_000_000,
            parts: vec![DonePart {
                index: 1,
                id: "part_b".into(),
                start: 4,
                end: 8,
            }],
        }
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.json");
        let journal = sample(dir.path().join("a.bin"));
        journal.save(&path).unwrap();
        assert_eq!(Journal::load(&path).unwrap(), journal);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("j.json")]);
    }

    #[test]
    fn wrong_version_and_garbage_are_journal_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.json");
        let mut journal = sample(dir.path().join("a.bin"));
        journal.version = 99;
        journal.save(&path).unwrap();
        assert_eq!(Journal::load(&path).unwrap_err().kind(), ErrorKind::Journal);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(Journal::load(&path).unwrap_err().kind(), ErrorKind::Journal);
        let missing = Journal::load(&dir.path().join("nope.json")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Journal);
    }
}
