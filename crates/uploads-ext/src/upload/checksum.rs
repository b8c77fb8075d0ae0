//! The md5 sent with `complete`: a file is hashed by a sequential read beside the parts (mostly
//! served by the page cache), bytes on a blocking thread, a reader as its parts are read (see
//! [`super::source`]).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::digest::Md5;
use crate::error::{Error, ErrorKind, Result};

use super::input::{SourceSpec, UploadInput};
use super::source::file_changed;

/// A running md5 computation that stops when dropped (the upload ended early).
pub(crate) struct Checksum {
    task: Option<tokio::task::JoinHandle<Result<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    hashed: Option<watch::Receiver<u64>>,
}

impl Checksum {
    /// Starts hashing the content, unless md5 is off or the source hashes itself (readers).
    pub(crate) fn start(input: &UploadInput) -> Checksum {
        let stop = Arc::new(AtomicBool::new(false));
        let (hashed_tx, hashed_rx) = watch::channel(0u64);
        let mut hashed = None;
        let task = match &input.source {
            _ if !input.md5 => None,
            SourceSpec::Reader => None,
            SourceSpec::Bytes(bytes) => {
                let bytes = bytes.clone();
                Some(tokio::task::spawn_blocking(move || {
                    Ok(Md5::digest(&bytes).to_vec())
                }))
            }
            SourceSpec::File { path, identity } => {
                let (path, size, stop) = (path.clone(), identity.size, stop.clone());
                hashed = Some(hashed_rx);
                Some(tokio::task::spawn_blocking(move || {
                    md5_of_file(&path, size, &stop, &hashed_tx)
                }))
            }
        };
        Checksum { task, stop, hashed }
    }

    /// How many bytes of the file the md5 pass has read so far, for pacing the part senders
    /// (`None` when no file is being hashed). The sender is dropped when the pass ends.
    pub(crate) fn hashed(&self) -> Option<watch::Receiver<u64>> {
        self.hashed.clone()
    }

    /// The digest, or `None` when this checksum was not computed here.
    pub(crate) async fn join(mut self) -> Result<Option<Vec<u8>>> {
        match self.task.take() {
            None => Ok(None),
            Some(task) => match task.await {
                Ok(result) => result.map(Some),
                Err(e) => Err(Error::new(
                    ErrorKind::Io,
                    format!("the md5 task failed: {e}"),
                )),
            },
        }
    }
}

impl Drop for Checksum {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads `path` sequentially and returns its md5, checking it still holds exactly `size` bytes.
fn md5_of_file(
    path: &Path,
    size: u64,
    stop: &AtomicBool,
    hashed: &watch::Sender<u64>,
) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut seen = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::new(ErrorKind::Cancelled, "hashing stopped"));
        }
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        seen += n as u64;
        if seen > size {
            return Err(file_changed(path));
        }
        hasher.update(&buf[..n]);
        hashed.send_replace(seen);
    }
    if seen != size {
        return Err(file_changed(path));
    }
    Ok(hasher.finalize().to_vec())
}
