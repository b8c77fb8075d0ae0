//! The resume journal: what a new process needs to finish an upload another process started.
//!
//! The format is documented on the public [`super`] module ("Resume journal").

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::rt::Clock;

mod identity;
mod lock;
pub(crate) mod lossless_path;
mod paths;
mod regular;

pub(crate) use identity::FileIdentity;
pub(crate) use lock::{lock_path, open_locked, JournalLock};
pub(crate) use paths::{check_storable, parent_dir, remove};
pub(crate) use regular::check_regular_or_absent;

use paths::{hidden_sibling, write_atomically};

/// Version of the journal format this crate writes.
pub const JOURNAL_VERSION: u32 = 2;

/// Where an upload stands, as far as the journal knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JournalState {
    InProgress,
    /// A `complete` was sent; the upload may have completed.
    Completing,
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

/// The journal file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Journal {
    pub version: u32,
    pub state: JournalState,
    pub upload_id: String,
    #[serde(with = "lossless_path")]
    pub path: PathBuf,
    pub file: FileIdentity,
    pub filename: String,
    pub purpose: String,
    pub mime_type: String,
    pub part_size: u64,
    pub md5: bool,
    /// The server's `expires_at` (Unix seconds by the server's clock).
    pub expires_at: i64,
    /// The upload's lifetime as the server reported it (`expires_at - created_at`).
    #[serde(default)]
    pub ttl_secs: Option<i64>,
    /// This machine's Unix time when the upload was created.
    #[serde(default)]
    pub started_at: Option<i64>,
    pub parts: Vec<DonePart>,
}

impl Journal {
    pub(crate) fn load(path: &Path) -> Result<Journal> {
        check_regular_or_absent(path, "journal")?;
        let text = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::Journal,
                format!("cannot read journal {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
        let invalid = |e: serde_json::Error| {
            Error::new(
                ErrorKind::Journal,
                format!("journal {} is not valid: {e}", path.display()),
            )
        };
        // Version 1 (one pretty-printed object), or a snapshot line without events.
        let journal = match serde_json::from_slice::<Journal>(&text) {
            Ok(journal) => journal,
            Err(whole) => {
                let mut lines = text.split_inclusive(|b| *b == b'\n');
                let first = lines.next().unwrap_or_default();
                let mut journal: Journal =
                    serde_json::from_slice(first).map_err(|_| invalid(whole))?;
                for line in lines {
                    match serde_json::from_slice::<JournalEvent>(line) {
                        Ok(event) => journal.apply(event),
                        // A crash mid-append leaves a torn last line: that event never happened.
                        Err(_) if !line.ends_with(b"\n") => break,
                        Err(e) => return Err(invalid(e)),
                    }
                }
                journal
            }
        };
        if !(1..=JOURNAL_VERSION).contains(&journal.version) {
            return Err(Error::new(
                ErrorKind::Journal,
                format!(
                    "journal {} has version {}, this crate reads 1 to {JOURNAL_VERSION}",
                    path.display(),
                    journal.version
                ),
            )
            .with_upload_id(journal.upload_id));
        }
        Ok(journal)
    }

    fn apply(&mut self, event: JournalEvent) {
        match event {
            JournalEvent::Part(part) => self.parts.push(part),
            JournalEvent::State(state) => self.state = state,
        }
    }

    /// Writes the whole journal atomically, as its snapshot line.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let mut data = serde_json::to_vec(self).map_err(|e| {
            Error::new(
                ErrorKind::Journal,
                format!("cannot encode journal {}: {e}", path.display()),
            )
        })?;
        data.push(b'\n');
        write_atomically(path, &data).map_err(|e| {
            Error::new(
                ErrorKind::Journal,
                format!("cannot write journal {}: {e}", path.display()),
            )
            .with_source(e)
        })
    }

    /// The Upload's `created_at` on the server's clock (`expires_at - ttl_secs`; journals
    /// without a ttl assume the API's one hour), a lower bound of its File's `created_at`.
    pub(crate) fn created_at(&self) -> i64 {
        self.expires_at - self.ttl_secs.unwrap_or(3600)
    }

    /// Seconds left before the upload expires: the server's relative lifetime from the local
    /// start time, by the local clock (the server's absolute times only for version 1 journals).
    pub(crate) fn seconds_left(&self, clock: &dyn Clock) -> i64 {
        match (self.started_at, self.ttl_secs) {
            (Some(start), Some(ttl)) => start + ttl - clock.unix_secs(),
            _ => self.expires_at - clock.unix_secs(),
        }
    }
}

/// What happened after the snapshot line, one JSON line each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JournalEvent {
    Part(DonePart),
    State(JournalState),
}

/// The journal of a running upload, held under its lock. Parts and state changes are appended
/// (and synced) as one line each, so recording a part costs the same at part 10,000 as at part 1.
pub(crate) struct JournalFile {
    pub path: PathBuf,
    pub journal: Journal,
    _lock: JournalLock,
}

impl JournalFile {
    /// Takes over a journal under its lock; `fresh` journals are written whole first.
    pub(crate) fn new(
        path: PathBuf,
        journal: Journal,
        lock: JournalLock,
        fresh: bool,
    ) -> Result<Self> {
        if fresh {
            journal.save(&path)?;
        }
        Ok(JournalFile {
            path,
            journal,
            _lock: lock,
        })
    }

    /// Records an accepted part.
    pub(crate) fn record_part(&mut self, part: DonePart) -> Result<()> {
        self.append(&JournalEvent::Part(part.clone()))?;
        self.journal.parts.push(part);
        Ok(())
    }

    /// Records a new state.
    pub(crate) fn set_state(&mut self, state: JournalState) -> Result<()> {
        self.append(&JournalEvent::State(state))?;
        self.journal.state = state;
        Ok(())
    }

    fn append(&self, event: &JournalEvent) -> Result<()> {
        use std::io::Write;
        let write = || -> std::io::Result<()> {
            let mut line = serde_json::to_vec(event)?;
            line.push(b'\n');
            let mut file = std::fs::OpenOptions::new().append(true).open(&self.path)?;
            file.write_all(&line)?;
            file.sync_data()
        };
        write().map_err(|e| {
            Error::new(
                ErrorKind::Journal,
                format!("cannot write journal {}: {e}", self.path.display()),
            )
            .with_source(e)
        })
    }
}

/// Before a new upload: the journal's directory must exist and be writable, and an existing
/// journal may only be replaced if it describes a cancelled upload.
pub(crate) fn check_new_journal(path: &Path) -> Result<()> {
    check_regular_or_absent(path, "journal")?;
    let dir = parent_dir(path);
    let meta = std::fs::metadata(dir).map_err(|e| {
        Error::new(
            ErrorKind::Journal,
            format!("journal directory {} is not usable: {e}", dir.display()),
        )
        .with_source(e)
    })?;
    if !meta.is_dir() {
        return Err(Error::new(
            ErrorKind::Journal,
            format!("{} is not a directory", dir.display()),
        ));
    }
    if path.exists() {
        match Journal::load(path) {
            Ok(j) if j.state == JournalState::Cancelled => {}
            // Parts of an upload that has expired can never be used: nothing to lose.
            Ok(j)
                if j.state == JournalState::InProgress
                    && j.seconds_left(&crate::rt::SystemClock) <= 0 => {}
            Ok(j) => {
                return Err(Error::invalid_input(format!(
                    "journal {} already exists for upload {}: resume it \
                     (Client::resume_upload) or remove it",
                    path.display(),
                    j.upload_id
                ))
                .with_upload_id(j.upload_id))
            }
            Err(_) => {
                return Err(Error::invalid_input(format!(
                    "{} already exists and is not a journal this crate wrote: remove it or \
                     choose another path",
                    path.display()
                )))
            }
        }
    }
    // Proves the directory is writable without leaving anything behind.
    let probe = hidden_sibling(path, &format!(".probe-{}", std::process::id()));
    File::create(&probe).map_err(|e| {
        Error::new(
            ErrorKind::Journal,
            format!("cannot write in journal directory {}: {e}", dir.display()),
        )
        .with_source(e)
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
            ttl_secs: Some(3600),
            started_at: Some(1_000),
            parts: vec![DonePart {
                index: 1,
                id: "part_b".into(),
                start: 4,
                end: 8,
            }],
        }
    }

    #[derive(Debug)]
    struct FixedClock(i64);

    impl Clock for FixedClock {
        fn now(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(self.0 as u64)
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

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_path_round_trips_losslessly() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let odd = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.bin"));
        let journal = sample(odd.clone());
        let path = dir.path().join("j.json");
        journal.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("unix_bytes_hex"), "{text}");
        assert_eq!(Journal::load(&path).unwrap().path, odd);
    }

    #[test]
    fn appended_parts_and_states_load_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.json");
        let mut journal = sample(dir.path().join("a.bin"));
        journal.parts.clear();
        let lock = JournalLock::acquire(&path).unwrap();
        let mut file = JournalFile::new(path.clone(), journal, lock, true).unwrap();
        let part = |index: usize| DonePart {
            index,
            id: format!("part_{index}"),
            start: index as u64 * 4,
            end: index as u64 * 4 + 4,
        };
        file.record_part(part(1)).unwrap();
        file.record_part(part(0)).unwrap();
        file.set_state(JournalState::Completing).unwrap();
        assert_eq!(Journal::load(&path).unwrap(), file.journal);
        let before = std::fs::read(&path).unwrap();
        let text = String::from_utf8(before.clone()).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");

        // A crash mid-append: the torn event never happened.
        let mut torn = before.clone();
        torn.extend_from_slice(br#"{"part": {"index": 2, "id": "pa"#);
        std::fs::write(&path, &torn).unwrap();
        assert_eq!(Journal::load(&path).unwrap(), file.journal);

        // Garbage before the end is not a crash artefact: refuse it.
        let mut bad = before;
        bad.extend_from_slice(b"garbage\n");
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(Journal::load(&path).unwrap_err().kind(), ErrorKind::Journal);
    }

    #[test]
    fn wrong_version_and_garbage_are_journal_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.json");
        let mut journal = sample(dir.path().join("a.bin"));
        journal.version = 99;
        journal.save(&path).unwrap();
        let err = Journal::load(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Journal);
        assert_eq!(err.upload_id(), Some("upload_1"));
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(Journal::load(&path).unwrap_err().kind(), ErrorKind::Journal);
        let missing = Journal::load(&dir.path().join("nope.json")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Journal);
    }

    #[test]
    fn expiry_follows_the_relative_ttl_from_the_local_start_not_server_timestamps() {
        let mut journal = sample(PathBuf::from("a.bin"));
        // The server's clock was 2 hours behind: its absolute expires_at is in our past.
        journal.expires_at = 1_000 - 7_200 + 3_600;
        assert_eq!(journal.seconds_left(&FixedClock(1_000 + 600)), 3_000);
        assert!(journal.seconds_left(&FixedClock(1_000 + 3_601)) < 0);
        // A version 1 journal has only the absolute time to go on.
        journal.ttl_secs = None;
        assert!(journal.seconds_left(&FixedClock(1_600)) < 0);
    }

    #[test]
    fn version_1_journals_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.json");
        let mut value = serde_json::to_value(sample(dir.path().join("a.bin"))).unwrap();
        let map = value.as_object_mut().unwrap();
        map.remove("ttl_secs");
        map.remove("started_at");
        map.insert("version".into(), 1.into());
        std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
        let j = Journal::load(&path).unwrap();
        assert_eq!((j.version, j.ttl_secs), (1, None));
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.json");
        let first = JournalLock::acquire(&path).unwrap();
        let err = JournalLock::acquire(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Journal);
        assert!(err.is_journal_locked(), "{err}");
        assert!(
            err.to_string().contains("in use by another process"),
            "{err}"
        );
        drop(first);
        JournalLock::acquire(&path).unwrap();
    }

    #[test]
    fn new_journal_checks_directory_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/j.json");
        assert_eq!(
            check_new_journal(&missing).unwrap_err().kind(),
            ErrorKind::Journal
        );
        let path = dir.path().join("j.json");
        check_new_journal(&path).unwrap();
        let mut journal = sample(dir.path().join("a.bin"));
        journal.started_at = Some(crate::rt::SystemClock.unix_secs());
        journal.save(&path).unwrap();
        let err = check_new_journal(&path).unwrap_err();
        assert_eq!(err.upload_id(), Some("upload_1"));
        // Dead uploads (cancelled, or expired with parts only) are replaced.
        journal.state = JournalState::Cancelled;
        journal.save(&path).unwrap();
        check_new_journal(&path).unwrap();
        journal.state = JournalState::InProgress;
        journal.started_at = Some(1_000);
        journal.save(&path).unwrap();
        check_new_journal(&path).unwrap();
        // An expired upload that may have completed is not.
        journal.state = JournalState::Completing;
        journal.save(&path).unwrap();
        assert!(check_new_journal(&path).is_err());
        // Not a regular file: refused before anything is read.
        let err = check_new_journal(dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
