//! The md5 sent with `complete`: a file is hashed by a sequential read beside the parts (mostly
//! served by the page cache), bytes on a blocking thread, a reader as its parts are read (see
//! [`super::source`]).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::digest::Md5;
use crate::error::{Error, ErrorKind, Result};

use super::input::{Md5Choice, UploadInput};
use super::source::{file_changed, Md5Pass};

/// How many parts the senders may run ahead of the md5 pass...
const PACE_LEAD_PARTS: u64 = 2;
/// ... and at least this many bytes: a first round of parts starts at once, so the pacer only
/// holds parts back where the CPU (the pass) is the limit, never on a link slower than md5
/// (where it cost 23-41 % on a 20 MB/s-per-connection link before, issue 16).
const PACE_LEAD_BYTES: u64 = 128 * 1024 * 1024;

/// A running md5 computation that stops when dropped (the upload ended early).
pub(crate) struct Checksum {
    task: Option<tokio::task::JoinHandle<Result<[u8; 16]>>>,
    stop: Arc<AtomicBool>,
    pacer: Pacer,
}

impl Checksum {
    /// Starts hashing the content, unless no md5 is to be computed or the parts compute it
    /// (readers).
    pub(crate) fn start(input: &UploadInput) -> Checksum {
        let stop = Arc::new(AtomicBool::new(false));
        let (hashed_tx, hashed_rx) = watch::channel(0u64);
        let mut pacer = Pacer::unpaced();
        let task = match input.source.md5_pass() {
            _ if input.md5 != Md5Choice::Compute => None,
            Md5Pass::ByParts => None,
            Md5Pass::Memory(bytes) => {
                let bytes = bytes.clone();
                Some(tokio::task::spawn_blocking(move || Ok(Md5::digest(&bytes))))
            }
            Md5Pass::File { path, size } => {
                let (path, stop) = (path.to_owned(), stop.clone());
                pacer = Pacer::new(
                    hashed_rx,
                    (PACE_LEAD_PARTS * input.part_size).max(PACE_LEAD_BYTES),
                );
                Some(tokio::task::spawn_blocking(move || {
                    md5_of_file(&path, size, &stop, &hashed_tx)
                }))
            }
        };
        Checksum { task, stop, pacer }
    }

    /// What holds the part senders back to the md5 pass's pace.
    pub(crate) fn pacer(&self) -> Pacer {
        self.pacer.clone()
    }

    /// The digest, or `None` when this checksum was not computed here.
    pub(crate) async fn join(mut self) -> Result<Option<[u8; 16]>> {
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

/// Holds part senders back to the pace of a file's md5 pass.
///
/// md5 is one sequential pass and `complete` waits for it: parts that ran far ahead of it would
/// only take cores from it (fast links) and finish no sooner. So a part starts once the pass is
/// within `lead` bytes of it. On slow links the pass is always ahead and nothing waits.
#[derive(Clone)]
pub(crate) struct Pacer {
    /// How many bytes the pass has read; its sender is dropped when the pass ends.
    hashed: Option<watch::Receiver<u64>>,
    lead: u64,
}

impl Pacer {
    /// Paces nothing (no md5, or not a file).
    pub(crate) fn unpaced() -> Pacer {
        Pacer {
            hashed: None,
            lead: 0,
        }
    }

    fn new(hashed: watch::Receiver<u64>, lead: u64) -> Pacer {
        Pacer {
            hashed: Some(hashed),
            lead,
        }
    }

    /// Returns once a part starting at byte `start` may be sent.
    pub(crate) async fn ready_for(&mut self, start: u64) {
        if let Some(hashed) = self.hashed.as_mut() {
            let wanted = start.saturating_sub(self.lead);
            // An ended pass (finished, failed or stopped) paces nothing any more.
            if hashed.wait_for(|&seen| seen >= wanted).await.is_err() {
                self.hashed = None;
            }
        }
    }
}

/// Reads `path` sequentially and returns its md5, checking it still holds exactly `size` bytes.
fn md5_of_file(
    path: &Path,
    size: u64,
    stop: &AtomicBool,
    hashed: &watch::Sender<u64>,
) -> Result<[u8; 16]> {
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
    Ok(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use tokio::sync::watch;

    use super::Pacer;

    const PART: u64 = 100;

    #[test]
    fn a_part_waits_until_the_pass_is_within_the_lead_of_it() {
        let (tx, rx) = watch::channel(0u64);
        let mut pacer = Pacer::new(rx, 2 * PART);
        // Parts 0..=2 start within two parts of the pass's position 0.
        for part in 0..=2 {
            assert!(
                pacer.ready_for(part * PART).now_or_never().is_some(),
                "part {part}"
            );
        }
        assert!(pacer.ready_for(3 * PART).now_or_never().is_none());
        tx.send_replace(PART - 1);
        assert!(pacer.ready_for(3 * PART).now_or_never().is_none());
        tx.send_replace(PART);
        assert!(pacer.ready_for(3 * PART).now_or_never().is_some());
        assert!(pacer.ready_for(4 * PART).now_or_never().is_none());
    }

    #[test]
    fn a_waiting_part_is_woken_when_the_pass_catches_up() {
        let (tx, rx) = watch::channel(0u64);
        let mut pacer = Pacer::new(rx, 2 * PART);
        let mut waiting = Box::pin(pacer.ready_for(5 * PART));
        assert!(waiting.as_mut().now_or_never().is_none());
        tx.send_replace(3 * PART);
        assert!(waiting.now_or_never().is_some());
    }

    #[test]
    fn an_ended_pass_holds_nothing_back() {
        let (tx, rx) = watch::channel(0u64);
        let mut pacer = Pacer::new(rx, 2 * PART);
        assert!(pacer.ready_for(10 * PART).now_or_never().is_none());
        drop(tx);
        assert!(pacer.ready_for(10 * PART).now_or_never().is_some());
        assert!(Pacer::unpaced()
            .ready_for(u64::MAX)
            .now_or_never()
            .is_some());
    }
}
