//! Chunked upload of a whole file (or bytes, or a reader) in one call.
//!
//! What [`Client::upload_file`] does:
//! 1. checks every limit before the first request: the file is readable and not empty, at most
//!    8 GiB, the part size is 1 byte to 64 MiB, at most [`MAX_PARTS`] parts;
//! 2. creates the Upload, then sends parts in parallel (at most `concurrency` at once), each read
//!    from its byte range of the file in [`crate::part::FILE_READ_CHUNK`] reads: memory stays near
//!    `concurrency x 512 KiB` whatever the file and part sizes, and nothing is written to disk;
//! 3. computes the md5 of the content while the parts are in flight (a sequential read beside
//!    them, mostly served by the page cache) and sends it with `complete` as lowercase hex;
//! 4. retries each part with its own budget ([`UploadFileBuilder::part_retries`], backoff per the
//!    client's [`RetryPolicy`](crate::retry::RetryPolicy)); a 429 pauses every upload of the
//!    client together, once ([`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight)); a part whose retries ran out is tried again after the others finished
//!    ([`UploadFileBuilder::part_rounds`]);
//! 5. completes with the part ids in file order, whatever order the parts finished in, and
//!    returns a [`CompletedUpload`] only for a `completed` answer that carries a File.
//!
//! The client's `timeout` bounds a period without progress, not an attempt: a large part on a
//! slow link is never cut off while bytes move; [`UploadFileBuilder::deadline`] bounds the whole.
//!
//! # Failure and cancellation
//! An error, [`UploadHandle::abort`], a cancellation token (map Ctrl-C/SIGTERM/SIGHUP to it), the
//! overall deadline or a dropped future all end in one cleanup path that applies the
//! [`FailurePolicy`]: [`FailurePolicy::Cancel`] (default) cancels the Upload on the server
//! within [`UploadFileBuilder::cancel_timeout`]; [`FailurePolicy::Keep`] leaves it pending so
//! that [`Client::resume_upload`] can finish it from the journal. [`Error::cleanup`] says what
//! happened ([`Cleanup::Cancelled`] only after a cancel succeeded). A `complete` whose outcome
//! is unknown (answer lost, timed out, undecodable) is never followed by a cancel: it is settled at
//! once ([`Client::settle_upload`]: `complete` again, the status the server names, the File found
//! in `GET /files`), and so is a resumed journal in `completing`. Completed is a success;
//! cancelled or expired an error saying so (the journal removed); only when nothing answers is the
//! error [`ErrorKind::CompletionUnknown`], with the journal still `completing` for a later resume.
//!
//! [`Error::cleanup`]: crate::Error::cleanup
//! [`Cleanup::Cancelled`]: crate::Cleanup::Cancelled
//! [`ErrorKind::CompletionUnknown`]: crate::ErrorKind::CompletionUnknown
//!
//! Uploads expire an hour after creation (`expires_at`): a part that, at the observed rate, could
//! not finish before that (less [`UploadFileBuilder::expiry_margin`]) is not started, and the
//! upload fails early with [`ErrorKind::Expired`]. Sooner than that, once this run's
//! acknowledged rate is known (a wave of parts accepted), an upload that cannot send the rest in
//! time says so: a [`Progress`] with [`needed_bytes_per_sec`](Progress::needed_bytes_per_sec)
//! and a `tracing` warning; with [`UploadFileBuilder::fail_if_too_slow`] it stops there, with
//! [`ErrorKind::Expired`], and the failure policy applies (8 GB in an hour needs about
//! 19 Mbit/s).
//!
//! [`Progress`] reports bytes acknowledged by the server (`bytes_completed`, its rate
//! `bytes_per_sec`) as the main figure and bytes handed to the connection (`bytes_sent`) as a
//! second one. The stall watch that cuts a stalled part is described at
//! [`ClientBuilder::timeout`](crate::ClientBuilder::timeout).
//!
//! # Layout
//! Read top-down; each file imports only what stands below it, and nothing below the builder
//! sees it:
//!
//! ```text
//! builder -> input (validated, immutable) -> orchestrate -> {worker, checksum, complete -> settle, resume, handle, stop}
//!                                                         -> context -> {source, progress}
//! ```
//!
//! - `builder`: [`UploadFileBuilder`] and [`ResumeUploadBuilder`]; `send` is
//!   `let input = self.inner.build(&client)?; orchestrate(client, input)`.
//! - `input`: the caller's settings as given and the validated `UploadInput` (every limit, and
//!   the create request's rules, asked of [`crate::client::CreateUploadBuilder`] once).
//! - `orchestrate`: creates or resumes the Upload, writes the journal, runs the parts and the
//!   md5 pass, completes; owns the context, the cleanup (`handle::Finalizer`) and what stops
//!   the upload from outside (`stop`: the token and the deadline, which wait for a `complete`
//!   in flight).
//! - `worker` (the part loop, with `adaptive`: the number of parts in flight, and `straggler`:
//!   second copies of slow parts), `expiry` (the one-hour clock, watched), `checksum` (the md5
//!   pass and its pacer), `complete` (told honestly), `settle` ([`Client::settle_upload`]: an
//!   unknown `complete` outcome made definite), `resume` (journal checks), `handle`
//!   ([`UploadHandle`], [`Aborted`], the one
//!   cleanup path).
//! - `context`: the shared state of a running upload, getters only.
//! - `source`: the only place that tells a file, bytes and a reader apart; `progress`:
//!   counters and [`Progress`]; `journal`: the resume journal and its lock; `completed`:
//!   [`CompletedUpload`].
//!
//! # Concurrency
//! Adaptive by default, within one budget per client. An upload starts with
//! [`DEFAULT_CONCURRENCY`] parts in flight and adapts to the measured goodput: it grows while
//! one more connection still raises total throughput, and shrinks on 429s, 5xx, timeouts or
//! latency inflation (the algorithm and its anchors are documented in `upload/adaptive.rs`), up
//! to the client's [`max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) (and
//! [`MAX_CONCURRENCY`]). The automatic part size is chosen for it: about [`PARTS_PER_SLOT`]
//! parts per slot of that ceiling, so the upload has parts to grow into (within 1 to 64 MiB per
//! part and [`MAX_PARTS`]). Reader parts held in memory are bounded client-wide by
//! [`max_buffered_bytes`](crate::ClientBuilder::max_buffered_bytes).
//!
//! An explicit [`UploadFileBuilder::concurrency`] fixes the number; it may not exceed the
//! client's budget (a value above it fails with [`ErrorKind::InvalidInput`] before any request).
//! Nothing is capped silently.
//!
//! Near the end of an upload (every part started, a slot idle) a part much slower than its
//! peers (beyond `max(2 x median, p95)` of their times; `max(1.25 x median, p90)` once at most a
//! quarter of the slots are busy; never before [`MIN_STRAGGLER_TIME`]) is sent again on another
//! connection; the first copy accepted is the one listed at `complete`, the other is aborted. At
//! most one copy per part and [`MAX_EXTRA_SHARE`] of the file's bytes are sent twice.
//!
//! # Resume journal (format version 2, [`RESUME_JOURNAL_VERSION`])
//! JSON lines. The first line is a snapshot of the whole journal (the object below), written
//! atomically (temp file, fsync, rename) when the upload starts; each accepted part and each state
//! change is then appended as one synced line, `{"part": {...}}` or `{"state": "..."}`, so
//! recording part 10,000 costs what part 1 did. A crash mid-append leaves a torn last line, which
//! is ignored (that part is simply sent again). Version 1 journals (one pretty-printed object)
//! are still read. The snapshot object:
//!
//! | field | meaning |
//! |---|---|
//! | `version` | `2` (version 1 journals are still read) |
//! | `state` | `in_progress`, `completing` (a `complete` was sent; its outcome may be unknown) or `cancelled` |
//! | `upload_id` | the Upload's id |
//! | `path` | absolute path of the source file: a string, or `{"unix_bytes_hex": "..."}` for a Unix path that is not UTF-8 |
//! | `file` | `size` and `modified_ns` of the file when the upload started |
//! | `filename`, `purpose`, `mime_type`, `part_size`, `md5` | as sent / chosen |
//! | `expires_at` | the server's `expires_at` (Unix seconds, server clock; informative) |
//! | `ttl_secs` | `expires_at - created_at` as the server reported them (relative: immune to clock skew) |
//! | `started_at` | this machine's Unix time when the `create` answer arrived |
//! | `parts` | accepted parts: `index`, `id`, `start`, `end` |
//!
//! Expiry is judged as `started_at + ttl_secs` against this machine's clock, so a server clock
//! hours off never makes a valid upload look expired.
//!
//! A journal is used by one process at a time: an advisory lock on `<journal>.lock` (`File::try_lock`:
//! `flock` on Unix, `LockFileEx` on Windows; released by the OS when the process dies) refuses a second
//! concurrent resume.

mod adaptive;
mod builder;
mod checksum;
mod complete;
mod completed;
mod context;
mod expiry;
mod handle;
mod input;
mod journal;
mod orchestrate;
mod progress;
mod resume;
mod settle;
mod source;
mod stop;
mod straggler;
mod worker;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::client::Client;
#[allow(unused_imports)] // named by the docs
use crate::error::{Error, ErrorKind};
use crate::part::MAX_PART_BYTES;
#[allow(unused_imports)] // named by the docs
use tokio_util::sync::CancellationToken;

pub use adaptive::PARTS_PER_SLOT;
pub use builder::{ResumeUploadBuilder, UploadFileBuilder};
pub use completed::CompletedUpload;
pub use expiry::TOO_SLOW_TARGET;
pub use handle::{Aborted, UploadHandle};
pub use journal::JOURNAL_VERSION as RESUME_JOURNAL_VERSION;
pub use progress::Progress;
pub use settle::{SettleRequest, Settlement};
pub use straggler::{MAX_EXTRA_SHARE, MIN_STRAGGLER_TIME};

pub(crate) use input::check_concurrency;
pub(crate) use journal::{
    check_regular_or_absent, lock_path, lossless_path, open_locked, remove as remove_journal,
    FileIdentity,
};
use source::SourceRequest;

/// Most parts one upload may have (keeps the `complete` request reasonable).
pub const MAX_PARTS: u64 = 10_000;
/// Parts in flight an upload starts with unless [`UploadFileBuilder::concurrency`] fixes a
/// number; adaptive concurrency then grows or shrinks it (see `Concurrency` in the module docs).
pub const DEFAULT_CONCURRENCY: usize = adaptive::ADAPTIVE_START;
/// Most parts sent at once.
pub const MAX_CONCURRENCY: usize = 64;
/// Smallest automatic part size (larger files get larger parts, up to 64 MiB).
pub const MIN_AUTO_PART_BYTES: u64 = 1024 * 1024;
/// Largest automatic part size for reader sources, whose in-flight parts are held in memory.
pub const READER_AUTO_PART_BYTES: u64 = 8 * 1024 * 1024;
/// MIME type used when none is given and the file extension says nothing.
pub const DEFAULT_MIME_TYPE: &str = "application/octet-stream";
/// Default [`UploadFileBuilder::expiry_margin`].
pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// Default [`UploadFileBuilder::cancel_timeout`]: the best-effort cancel after a failure or an
/// interruption gives up after this long.
pub const DEFAULT_CANCEL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`UploadFileBuilder::part_rounds`].
pub const DEFAULT_PART_ROUNDS: u32 = 1;

/// The md5 as sent with `complete`: the API does not document an encoding; lowercase hex is
/// what `md5sum` prints and what the API accepts. Change it here and only here.
pub(crate) fn encode_md5(digest: &[u8; 16]) -> String {
    hex::encode(digest)
}

/// What happens to the server-side Upload when the upload fails or is aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Cancel the Upload on the server (default): nothing is left pending.
    #[default]
    Cancel,
    /// Leave it pending (until it expires) so that it can be resumed from the journal.
    Keep,
}

impl Client {
    /// Uploads the file at `path` in parallel parts. Purpose is required; see [`UploadFileBuilder`].
    pub fn upload_file(&self, path: impl AsRef<Path>) -> UploadFileBuilder {
        UploadFileBuilder::new(self.clone(), SourceRequest::File(path.as_ref().to_owned()))
    }

    /// Uploads bytes held in memory (parts are zero-copy slices). Set a file name.
    pub fn upload_bytes(&self, bytes: impl Into<Bytes>) -> UploadFileBuilder {
        UploadFileBuilder::new(self.clone(), SourceRequest::Bytes(bytes.into()))
    }

    /// Uploads exactly `len` bytes read from `reader`. Set a file name. Each in-flight part is
    /// held in memory (a reader cannot be re-read for retries), so memory is about
    /// `concurrency x part size`; the automatic part size is at most [`READER_AUTO_PART_BYTES`].
    pub fn upload_reader<R>(&self, reader: R, len: u64) -> UploadFileBuilder
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        UploadFileBuilder::new(self.clone(), SourceRequest::Reader(Box::new(reader), len))
    }

    /// Finishes an upload started with a [`journal`](UploadFileBuilder::journal), possibly by
    /// another process: sends only the missing parts, then completes. Fails with
    /// [`ErrorKind::FileChanged`] if the file's size or modification time changed,
    /// [`ErrorKind::Expired`] if the upload expired, [`ErrorKind::Cancelled`] if it was cancelled,
    /// [`ErrorKind::Journal`] if the journal is unusable or another process is resuming it (an
    /// advisory lock). Every refusal names the upload ([`Error::upload_id`](crate::Error::upload_id))
    /// when the journal could be read. Purpose, names, part size and md5 come from the journal;
    /// only how the upload runs can be set ([`ResumeUploadBuilder`]). The failure policy
    /// defaults to [`FailurePolicy::Keep`] here: a failed resume leaves the upload resumable.
    pub fn resume_upload(&self, journal: impl AsRef<Path>) -> ResumeUploadBuilder {
        ResumeUploadBuilder::new(self.clone(), journal.as_ref().to_owned())
    }
}

/// Guesses a MIME type from a file name's extension; [`DEFAULT_MIME_TYPE`] when unknown.
/// `.jsonl` maps to `application/jsonl` (not in the generic tables).
pub fn guess_mime_type(filename: &str) -> String {
    let ext = Path::new(filename)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("jsonl") => "application/jsonl".to_owned(),
        _ => mime_guess::from_path(filename)
            .first_raw()
            .unwrap_or(DEFAULT_MIME_TYPE)
            .to_owned(),
    }
}

/// The part size for a content of `total` bytes sent `concurrency` parts at a time.
pub fn auto_part_size(total: u64, concurrency: usize) -> u64 {
    const MIB: u64 = 1024 * 1024;
    let even = total.div_ceil(concurrency.max(1) as u64);
    let rounded = even.div_ceil(MIB) * MIB;
    let size = rounded.clamp(MIN_AUTO_PART_BYTES, MAX_PART_BYTES);
    // Very large files: grow parts so the count stays within MAX_PARTS.
    size.max(total.div_ceil(MAX_PARTS)).min(MAX_PART_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Md5;

    #[test]
    fn auto_part_size_spreads_across_concurrency_within_limits() {
        const MIB: u64 = 1024 * 1024;
        assert_eq!(auto_part_size(10, 8), MIN_AUTO_PART_BYTES);
        assert_eq!(auto_part_size(100 * MIB, 8), 13 * MIB);
        assert_eq!(auto_part_size(1024 * MIB, 8), 64 * MIB);
        assert_eq!(auto_part_size(8 * 1024 * MIB, 1), 64 * MIB);
        for total in [1, MIB + 1, 777 * MIB, 8 * 1024 * MIB] {
            for c in [1, 3, 8, 64] {
                let size = auto_part_size(total, c);
                assert!(size > 0 && size <= MAX_PART_BYTES);
                assert!(total.div_ceil(size) <= MAX_PARTS);
            }
        }
    }

    #[test]
    fn mime_type_guess() {
        assert_eq!(guess_mime_type("train.jsonl"), "application/jsonl");
        assert_eq!(guess_mime_type("a.JSON"), "application/json");
        assert_eq!(guess_mime_type("doc.pdf"), "application/pdf");
        assert_eq!(guess_mime_type("blob.zzzunknown"), DEFAULT_MIME_TYPE);
        assert_eq!(guess_mime_type("noext"), DEFAULT_MIME_TYPE);
    }

    #[test]
    fn md5_encoding_is_lowercase_hex() {
        let digest = Md5::digest(b"hello");
        assert_eq!(encode_md5(&digest), "5d41402abc4b2a76b9719d911017c592");
    }
}
