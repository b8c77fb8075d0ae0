//! Chunked upload of a whole file (or bytes, or a reader) in one call.
//!
//! What [`Client::upload_file`] does:
//! 1. checks every limit before the first request: the file is readable and not empty, at most
//!    8 GiB, the part size is 1 byte to 64 MiB, at most [`MAX_PARTS`] parts;
//! 2. creates the Upload, then sends parts in parallel (at most `concurrency` at once), each read
//!    from its byte range of the file in [`crate::part::FILE_READ_CHUNK`] reads: memory stays near
//!    `concurrency x 512 KiB` whatever the file and part sizes, and nothing is written to disk;
//! 3. computes the md5 of the content while the parts are in flight (a sequential read beside
//!    them, mostly served by the page cache) and sends it with `complete`, as [`MD5_ENCODING`];
//! 4. retries each part per the client's [`RetryPolicy`](crate::retry::RetryPolicy); a 429 pauses
//!    every part of the upload together, once;
//! 5. completes with the part ids in file order, whatever order the parts finished in.
//!
//! On an unrecoverable failure the [`FailurePolicy`] decides: [`FailurePolicy::Cancel`] (default)
//! cancels the Upload on the server; [`FailurePolicy::Keep`] leaves it pending so that
//! [`Client::resume_upload`] can finish it from the journal (see
//! [`UploadFileBuilder::journal`]). Caller cancellation ([`UploadHandle::abort`], a
//! [`CancellationToken`], or dropping the future) follows the same policy; for a dropped future the
//! server-side cancel is spawned on the current Tokio runtime, best effort.
//!
//! Uploads expire an hour after creation (`expires_at`): a part that, at the observed rate, could
//! not finish before that (less [`UploadFileBuilder::expiry_margin`]) is not started, and the
//! upload fails early with [`ErrorKind::Expired`].

mod journal;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use crate::client::{check_upload_size, Client};
use crate::error::{Error, ErrorKind, PartContext, Result};
use crate::part::{PartBody, SentCallback, MAX_PART_BYTES};
use crate::retry::BackoffGate;
use crate::types::{Purpose, Upload, UploadPart};
use journal::{DonePart, FileIdentity, Journal, JournalState, JOURNAL_VERSION};

pub use journal::JOURNAL_VERSION as RESUME_JOURNAL_VERSION;

/// Most parts one upload may have (keeps the `complete` request reasonable).
pub const MAX_PARTS: u64 = 10_000;
/// Parts sent at once unless set.
pub const DEFAULT_CONCURRENCY: usize = 8;
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

/// How the md5 sent with `complete` is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Md5Encoding {
    /// Lowercase hexadecimal, as `md5sum` prints it (32 characters).
    LowerHex,
}

impl Md5Encoding {
    /// Encodes a 16-byte digest.
    pub fn encode(self, digest: &[u8]) -> String {
        match self {
            Md5Encoding::LowerHex => hex::encode(digest),
        }
    }
}

/// The encoding of the md5 sent with `complete`. The API does not document one; hex is what
/// `md5sum` prints. Change it here and only here.
pub const MD5_ENCODING: Md5Encoding = Md5Encoding::LowerHex;

/// What happens to the server-side Upload when the upload fails or is aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Cancel the Upload on the server (default): nothing is left pending.
    #[default]
    Cancel,
    /// Leave it pending (until it expires) so that it can be resumed from the journal.
    Keep,
}

/// A snapshot of an upload's progress, passed to [`UploadFileBuilder::on_progress`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Progress {
    /// The Upload's id, once created.
    pub upload_id: Option<String>,
    /// Total bytes of the content.
    pub bytes_total: u64,
    /// Bytes in parts the API has accepted (including parts done before a resume).
    pub bytes_completed: u64,
    /// Bytes handed to the network so far, in-flight parts included (drops when a part is
    /// retried). Use it for a smooth progress bar.
    pub bytes_sent: u64,
    /// Number of parts.
    pub parts_total: usize,
    /// Parts the API has accepted.
    pub parts_completed: usize,
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

enum Source {
    File(PathBuf),
    Bytes(Bytes),
    Reader(Mutex<Option<Box<dyn AsyncRead + Send + Unpin>>>, u64),
    Resume(PathBuf),
}

/// Builder of a whole-file upload; see [`Client::upload_file`]. Await it, call
/// [`send`](Self::send), or [`spawn`](Self::spawn) it for an [`UploadHandle`].
#[must_use = "an upload does nothing until sent"]
pub struct UploadFileBuilder {
    client: Client,
    source: Source,
    purpose: Option<Purpose>,
    mime_type: Option<String>,
    filename: Option<String>,
    expires_after: Option<Duration>,
    part_size: Option<u64>,
    concurrency: usize,
    md5: bool,
    on_progress: Option<ProgressFn>,
    failure_policy: FailurePolicy,
    journal: Option<PathBuf>,
    cancel: CancellationToken,
    expiry_margin: Duration,
}

impl fmt::Debug for UploadFileBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::File(p) => format!("file {}", p.display()),
            Source::Bytes(b) => format!("{} bytes", b.len()),
            Source::Reader(_, len) => format!("reader of {len} bytes"),
            Source::Resume(p) => format!("resume from {}", p.display()),
        };
        f.debug_struct("UploadFileBuilder")
            .field("source", &source)
            .field("purpose", &self.purpose)
            .field("mime_type", &self.mime_type)
            .field("filename", &self.filename)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("md5", &self.md5)
            .field("failure_policy", &self.failure_policy)
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Uploads the file at `path` in parallel parts. Purpose is required; see [`UploadFileBuilder`].
    pub fn upload_file(&self, path: impl AsRef<Path>) -> UploadFileBuilder {
        UploadFileBuilder::new(self.clone(), Source::File(path.as_ref().to_owned()))
    }

    /// Uploads bytes held in memory (parts are zero-copy slices). Set a file name.
    pub fn upload_bytes(&self, bytes: impl Into<Bytes>) -> UploadFileBuilder {
        UploadFileBuilder::new(self.clone(), Source::Bytes(bytes.into()))
    }

    /// Uploads exactly `len` bytes read from `reader`. Set a file name. Each in-flight part is
    /// held in memory (a reader cannot be re-read for retries), so memory is about
    /// `concurrency x part size`; the automatic part size is at most [`READER_AUTO_PART_BYTES`].
    pub fn upload_reader<R>(&self, reader: R, len: u64) -> UploadFileBuilder
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        UploadFileBuilder::new(
            self.clone(),
            Source::Reader(Mutex::new(Some(Box::new(reader))), len),
        )
    }

    /// Finishes an upload started with a [`journal`](UploadFileBuilder::journal), possibly by
    /// another process: sends only the missing parts, then completes. Fails with
    /// [`ErrorKind::FileChanged`] if the file's size or modification time changed,
    /// [`ErrorKind::Expired`] if the upload expired, [`ErrorKind::Cancelled`] if it was cancelled,
    /// [`ErrorKind::Journal`] if the journal is unusable. Purpose, names and part size come from
    /// the journal; concurrency, progress and policy can be set. The failure policy defaults to
    /// [`FailurePolicy::Keep`] here: a failed resume leaves the upload resumable.
    pub fn resume_upload(&self, journal: impl AsRef<Path>) -> UploadFileBuilder {
        let path = journal.as_ref().to_owned();
        let mut builder = UploadFileBuilder::new(self.clone(), Source::Resume(path.clone()));
        builder.journal = Some(path);
        // The caller kept this upload on purpose: a failed resume keeps it too unless told.
        builder.failure_policy = FailurePolicy::Keep;
        builder
    }
}

impl UploadFileBuilder {
    fn new(client: Client, source: Source) -> Self {
        UploadFileBuilder {
            client,
            source,
            purpose: None,
            mime_type: None,
            filename: None,
            expires_after: None,
            part_size: None,
            concurrency: DEFAULT_CONCURRENCY,
            md5: true,
            on_progress: None,
            failure_policy: FailurePolicy::default(),
            journal: None,
            cancel: CancellationToken::new(),
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
        }
    }

    /// What the file is for (required).
    pub fn purpose(mut self, purpose: impl Into<Purpose>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// The MIME type. Default: guessed from the file name's extension, else
    /// [`DEFAULT_MIME_TYPE`] (`.jsonl` is `application/jsonl`... see [`guess_mime_type`]).
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The File's name. Default: the path's file name (required for bytes and readers).
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }

    /// When the created File expires, counted from its creation (1 hour to 30 days).
    pub fn expires_after(mut self, after: Duration) -> Self {
        self.expires_after = Some(after);
        self
    }

    /// Bytes per part (1 byte to 64 MiB). Default: the size split evenly across `concurrency`
    /// parts, rounded up to a MiB, at least [`MIN_AUTO_PART_BYTES`] and at most 64 MiB.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = Some(bytes);
        self
    }

    /// Parts in flight at once (1 to [`MAX_CONCURRENCY`], default [`DEFAULT_CONCURRENCY`]).
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts;
        self
    }

    /// Whether to send the content's md5 with `complete` (default true).
    pub fn md5(mut self, enabled: bool) -> Self {
        self.md5 = enabled;
        self
    }

    /// Called with a [`Progress`] snapshot as bytes are sent and parts complete. Keep it cheap:
    /// it runs on the upload's tasks.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// What happens to the server-side Upload on failure or abort (default
    /// [`FailurePolicy::Cancel`]).
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = policy;
        self
    }

    /// Writes a resume journal at `path` after each part (file sources only; the path must not
    /// exist yet). Removed when the upload completes. With [`FailurePolicy::Keep`], a failed upload can be finished by
    /// [`Client::resume_upload`].
    pub fn journal(mut self, path: impl AsRef<Path>) -> Self {
        self.journal = Some(path.as_ref().to_owned());
        self
    }

    /// Aborts the upload when `token` is cancelled (as [`UploadHandle::abort`] does).
    pub fn cancellation_token(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// Time kept in reserve before `expires_at`: a part that could not finish before
    /// `expires_at - margin` at the observed rate is not started (default 30 s).
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// Runs the upload to completion and returns the completed Upload with its File.
    pub async fn send(self) -> Result<Upload> {
        let mut guard = CancelOnDrop::new(self.client.clone(), self.failure_policy);
        let result = run(self, &mut guard).await;
        guard.disarm();
        result.map_err(|e| e.with_operation("upload_file"))
    }

    /// Starts the upload on the Tokio runtime and returns a handle to join or abort it.
    pub fn spawn(self) -> UploadHandle {
        let token = self.cancel.clone();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let user = self.on_progress.clone();
        let shared = progress.clone();
        let this = self.on_progress(move |p| {
            *shared.lock().expect("progress lock") = p.clone();
            if let Some(user) = &user {
                user(p);
            }
        });
        UploadHandle {
            task: tokio::spawn(this.send()),
            token,
            progress,
        }
    }
}

impl std::future::IntoFuture for UploadFileBuilder {
    type Output = Result<Upload>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Upload>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A running upload; see [`UploadFileBuilder::spawn`].
#[derive(Debug)]
pub struct UploadHandle {
    task: tokio::task::JoinHandle<Result<Upload>>,
    token: CancellationToken,
    progress: Arc<Mutex<Progress>>,
}

impl UploadHandle {
    /// Waits for the upload to finish.
    pub async fn join(self) -> Result<Upload> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(Error::new(
                ErrorKind::Cancelled,
                format!("the upload task ended abnormally: {e}"),
            )),
        }
    }

    /// Stops the upload: no new parts start, in-flight ones are dropped, and the failure policy
    /// applies (by default the Upload is cancelled on the server). Returns the upload's outcome,
    /// normally an [`ErrorKind::Cancelled`] error.
    pub async fn abort(self) -> Result<Upload> {
        self.token.cancel();
        self.join().await
    }

    /// The latest progress snapshot.
    pub fn progress(&self) -> Progress {
        self.progress.lock().expect("progress lock").clone()
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

/// Spawns a server-side cancel if the upload future is dropped mid-way.
struct CancelOnDrop {
    client: Client,
    policy: FailurePolicy,
    upload_id: Option<String>,
    armed: bool,
}

impl CancelOnDrop {
    fn new(client: Client, policy: FailurePolicy) -> Self {
        CancelOnDrop {
            client,
            policy,
            upload_id: None,
            armed: true,
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let (true, FailurePolicy::Cancel, Some(id)) = (self.armed, self.policy, &self.upload_id)
        else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            let id = id.clone();
            tracing::info!(upload_id = %id, "upload future dropped: cancelling the upload");
            runtime.spawn(async move {
                if let Err(e) = client.cancel_upload(&id).send().await {
                    tracing::warn!(upload_id = %id, "cancel after drop failed: {e}");
                }
            });
        }
    }
}

/// Everything fixed before the first request.
struct Plan {
    total: u64,
    part_size: u64,
    parts: usize,
    filename: String,
    purpose: Purpose,
    mime_type: String,
    file: Option<(PathBuf, FileIdentity)>,
}

impl Plan {
    fn range(&self, index: usize) -> std::ops::Range<u64> {
        let start = index as u64 * self.part_size;
        start..(start + self.part_size).min(self.total)
    }
}

fn validate(b: &UploadFileBuilder, resume: Option<&Journal>) -> Result<Plan> {
    if b.concurrency == 0 || b.concurrency > MAX_CONCURRENCY {
        return Err(Error::invalid_input(format!(
            "concurrency must be 1 to {MAX_CONCURRENCY}, got {}",
            b.concurrency
        )));
    }
    let (total, file, default_name) = match (&b.source, resume) {
        (_, Some(j)) => {
            let identity = FileIdentity::of(&j.path)?;
            (j.file.size, Some((j.path.clone(), identity)), None)
        }
        (Source::File(path), None) => {
            let identity = FileIdentity::of(path)?;
            // Open once now: an unreadable file fails here, before any request.
            std::fs::File::open(path)
                .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (identity.size, Some((path.clone(), identity)), name)
        }
        (Source::Bytes(bytes), None) => (bytes.len() as u64, None, None),
        (Source::Reader(_, len), None) => (*len, None, None),
        (Source::Resume(_), None) => unreachable!("resume sources always carry a journal"),
    };
    if total == 0 {
        return Err(Error::invalid_input(
            "the content is empty: nothing to upload",
        ));
    }
    check_upload_size(total)?;
    let filename = match resume {
        Some(j) => j.filename.clone(),
        None => b.filename.clone().or(default_name).ok_or_else(|| {
            Error::invalid_input("a file name is required for bytes and reader uploads")
        })?,
    };
    if filename.trim().is_empty() {
        return Err(Error::invalid_input("the file name must not be empty"));
    }
    let purpose = match resume {
        Some(j) => Purpose::from(j.purpose.clone()),
        None => b
            .purpose
            .clone()
            .ok_or_else(|| Error::invalid_input("purpose is required"))?,
    };
    let mime_type = match resume {
        Some(j) => j.mime_type.clone(),
        None => b
            .mime_type
            .clone()
            .unwrap_or_else(|| guess_mime_type(&filename)),
    };
    if mime_type.parse::<mime_guess::mime::Mime>().is_err() {
        return Err(Error::invalid_input(format!(
            "invalid MIME type {mime_type:?}"
        )));
    }
    let part_size = match (resume, b.part_size) {
        (Some(j), _) => j.part_size,
        (None, Some(size)) => size,
        // Reader parts are buffered: cap them so memory stays near concurrency x 8 MiB.
        (None, None) if matches!(b.source, Source::Reader(..)) => {
            auto_part_size(total, b.concurrency).min(READER_AUTO_PART_BYTES)
        }
        (None, None) => auto_part_size(total, b.concurrency),
    };
    if part_size == 0 || part_size > MAX_PART_BYTES {
        return Err(Error::invalid_input(format!(
            "part size must be 1 byte to 64 MiB ({MAX_PART_BYTES} bytes), got {part_size}"
        )));
    }
    let parts = total.div_ceil(part_size);
    if parts > MAX_PARTS {
        return Err(Error::invalid_input(format!(
            "{total} bytes in parts of {part_size} makes {parts} parts, more than {MAX_PARTS}: \
             use a larger part size"
        )));
    }
    if b.journal.is_some() && file.is_none() {
        return Err(Error::invalid_input(
            "a resume journal needs a file source (bytes and readers cannot be re-read)",
        ));
    }
    if let (Some(journal), None) = (&b.journal, resume) {
        // Never overwrite the journal of an upload someone may still want to resume.
        if journal.exists() {
            return Err(Error::invalid_input(format!(
                "journal {} already exists: resume it (Client::resume_upload) or remove it",
                journal.display()
            )));
        }
    }
    Ok(Plan {
        total,
        part_size,
        parts: parts as usize,
        filename,
        purpose,
        mime_type,
        file,
    })
}

/// Shared progress counters.
struct Counters {
    upload_id: String,
    total: u64,
    parts_total: usize,
    completed: AtomicU64,
    sent: AtomicU64,
    parts_completed: AtomicUsize,
    callback: Option<ProgressFn>,
}

impl Counters {
    fn report(&self) {
        if let Some(cb) = &self.callback {
            cb(&Progress {
                upload_id: Some(self.upload_id.clone()),
                bytes_total: self.total,
                bytes_completed: self.completed.load(Ordering::Relaxed),
                bytes_sent: self.sent.load(Ordering::Relaxed),
                parts_total: self.parts_total,
                parts_completed: self.parts_completed.load(Ordering::Relaxed),
            });
        }
    }
}

/// Produces the body of each part, in ascending index order.
enum Bodies {
    File(PathBuf),
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>, Md5),
}

impl Bodies {
    async fn next(&mut self, plan: &Plan, index: usize) -> Result<PartBody> {
        let range = plan.range(index);
        let body = match self {
            Bodies::File(path) => PartBody::file_range(path.as_path(), range),
            Bodies::Bytes(bytes) => {
                PartBody::bytes(bytes.slice(range.start as usize..range.end as usize))
            }
            Bodies::Reader(reader, md5) => {
                let len = (range.end - range.start) as usize;
                let mut buf = BytesMut::zeroed(len);
                reader
                    .read_exact(&mut buf)
                    .await
                    .map_err(|e| Error::io("the reader ended before its declared length", e))?;
                md5.update(&buf);
                PartBody::bytes(buf.freeze())
            }
        };
        Ok(body
            .file_name(plan.filename.clone())
            .content_type(plan.mime_type.clone()))
    }
}

async fn run(b: UploadFileBuilder, guard: &mut CancelOnDrop) -> Result<Upload> {
    let client = b.client.clone();
    // Resume: the journal decides everything about the content.
    let journal_in = match &b.source {
        Source::Resume(path) => Some(Journal::load(path)?),
        _ => None,
    };
    let plan = validate(&b, journal_in.as_ref())?;

    let mut done: Vec<Option<String>> = vec![None; plan.parts];
    let (upload_id, deadline, mut journal) = match journal_in {
        Some(j) => {
            check_resumable(&j, &plan)?;
            for p in &j.parts {
                if p.index >= plan.parts || plan.range(p.index) != (p.start..p.end) {
                    return Err(Error::new(
                        ErrorKind::Journal,
                        format!("journal part {} does not match the part layout", p.index),
                    ));
                }
                done[p.index] = Some(p.id.clone());
            }
            let left = Duration::from_secs(j.seconds_left().max(0) as u64);
            (j.upload_id.clone(), Instant::now() + left, Some(j))
        }
        None => {
            let mut create = client
                .create_upload()
                .filename(plan.filename.clone())
                .purpose(plan.purpose.clone())
                .bytes(plan.total)
                .mime_type(plan.mime_type.clone());
            if let Some(after) = b.expires_after {
                create = create.expires_after(after);
            }
            let upload = create.send().await?;
            let ttl = (upload.expires_at - upload.created_at).max(0) as u64;
            let journal = match (&b.journal, &plan.file) {
                (Some(_), Some((path, identity))) => Some(Journal {
                    version: JOURNAL_VERSION,
                    state: JournalState::InProgress,
                    upload_id: upload.id.clone(),
                    path: std::path::absolute(path).unwrap_or_else(|_| path.clone()),
                    file: *identity,
                    filename: plan.filename.clone(),
                    purpose: plan.purpose.as_str().to_owned(),
                    mime_type: plan.mime_type.clone(),
                    part_size: plan.part_size,
                    md5: b.md5,
                    expires_at: upload.expires_at,
                    parts: Vec::new(),
                }),
                _ => None,
            };
            (
                upload.id,
                Instant::now() + Duration::from_secs(ttl),
                journal,
            )
        }
    };
    guard.upload_id = Some(upload_id.clone());
    if let (Some(path), Some(j)) = (&b.journal, &journal) {
        j.save(path)?;
    }
    tracing::info!(upload_id = %upload_id, bytes = plan.total, parts = plan.parts,
        part_size = plan.part_size, concurrency = b.concurrency, "upload started");

    let outcome = send_and_complete(&b, &plan, &upload_id, deadline, &mut done, &mut journal).await;
    match outcome {
        Ok(upload) => {
            if let Some(path) = &b.journal {
                let _ = std::fs::remove_file(path);
            }
            Ok(upload)
        }
        Err(err) => {
            let err = err.with_upload_id(upload_id.clone());
            Err(fail(&b, &upload_id, err, journal.as_mut()).await)
        }
    }
}

/// Applies the failure policy and returns the error to report.
async fn fail(
    b: &UploadFileBuilder,
    upload_id: &str,
    err: Error,
    journal: Option<&mut Journal>,
) -> Error {
    match b.failure_policy {
        FailurePolicy::Cancel => {
            // The caller gets `err` back: log it below warn to avoid printing it twice.
            tracing::info!(upload_id, "upload failed, cancelling it: {err}");
            match b.client.cancel_upload(upload_id).send().await {
                Ok(_) => {
                    if let (Some(path), Some(j)) = (&b.journal, journal) {
                        j.state = JournalState::Cancelled;
                        let _ = j.save(path);
                    }
                }
                Err(cancel_err) => {
                    tracing::warn!(
                        upload_id,
                        "cancelling the failed upload failed: {cancel_err}"
                    );
                }
            }
        }
        FailurePolicy::Keep => {
            tracing::info!(upload_id, journal = ?b.journal,
                "upload failed; left pending for resume: {err}");
        }
    }
    err
}

fn check_resumable(j: &Journal, plan: &Plan) -> Result<()> {
    if j.state == JournalState::Cancelled {
        return Err(Error::new(
            ErrorKind::Cancelled,
            format!("upload {} was cancelled: it cannot be resumed", j.upload_id),
        )
        .with_upload_id(j.upload_id.clone()));
    }
    let (path, now) = plan.file.as_ref().expect("resume has a file");
    if *now != j.file {
        return Err(Error::new(
            ErrorKind::FileChanged,
            format!(
                "{} changed since the upload started (size {} -> {}, or modification time): \
                 start a new upload",
                path.display(),
                j.file.size,
                now.size
            ),
        )
        .with_upload_id(j.upload_id.clone()));
    }
    if j.seconds_left() <= 0 {
        return Err(Error::new(
            ErrorKind::Expired,
            format!(
                "upload {} expired at {} (Unix time)",
                j.upload_id, j.expires_at
            ),
        )
        .with_upload_id(j.upload_id.clone()));
    }
    Ok(())
}

async fn send_and_complete(
    b: &UploadFileBuilder,
    plan: &Plan,
    upload_id: &str,
    deadline: Instant,
    done: &mut [Option<String>],
    journal: &mut Option<Journal>,
) -> Result<Upload> {
    let md5_enabled = journal.as_ref().map(|j| j.md5).unwrap_or(b.md5);
    let counters = Arc::new(Counters {
        upload_id: upload_id.to_owned(),
        total: plan.total,
        parts_total: plan.parts,
        completed: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        parts_completed: AtomicUsize::new(0),
        callback: b.on_progress.clone(),
    });
    for (index, id) in done.iter().enumerate() {
        if id.is_some() {
            let r = plan.range(index);
            counters
                .completed
                .fetch_add(r.end - r.start, Ordering::Relaxed);
            counters.sent.fetch_add(r.end - r.start, Ordering::Relaxed);
            counters.parts_completed.fetch_add(1, Ordering::Relaxed);
        }
    }
    counters.report();

    // The md5 of a file is read beside the parts; bytes are hashed on a blocking thread; a
    // reader is hashed as its parts are read.
    let stop_hashing = Arc::new(AtomicBool::new(false));
    let mut bodies = match (&b.source, &plan.file) {
        (Source::Bytes(bytes), _) => Bodies::Bytes(bytes.clone()),
        (Source::Reader(reader, _), _) => Bodies::Reader(
            reader
                .lock()
                .expect("lock")
                .take()
                .ok_or_else(|| Error::invalid_input("the reader was already consumed"))?,
            Md5::new(),
        ),
        (_, Some((path, _))) => Bodies::File(path.clone()),
        _ => unreachable!("every source kind is covered"),
    };
    let hasher = if !md5_enabled || matches!(bodies, Bodies::Reader(..)) {
        None
    } else {
        let stop = stop_hashing.clone();
        Some(match (&bodies, &plan.file) {
            (Bodies::Bytes(bytes), _) => {
                let bytes = bytes.clone();
                tokio::task::spawn_blocking(move || Ok(Md5::digest(&bytes).to_vec()))
            }
            (_, Some((path, identity))) => {
                let (path, size) = (path.clone(), identity.size);
                tokio::task::spawn_blocking(move || md5_of_file(&path, size, &stop))
            }
            _ => unreachable!("hashing sources are bytes or files"),
        })
    };
    let hasher = StopOnDrop {
        task: hasher,
        stop: stop_hashing,
    };

    let gate = BackoffGate::default();
    let missing: Vec<usize> = (0..plan.parts).filter(|i| done[*i].is_none()).collect();
    let mut pending = missing.into_iter().peekable();
    let mut in_flight = FuturesUnordered::new();
    let mut tracker = Tracker {
        done,
        counters: counters.clone(),
        secs_per_byte: None,
        started: Instant::now(),
    };

    loop {
        while in_flight.len() < b.concurrency {
            let Some(&index) = pending.peek() else { break };
            if b.cancel.is_cancelled() {
                break;
            }
            let range = plan.range(index);
            let estimate = tracker
                .secs_per_byte
                .map(|s| Duration::from_secs_f64(s * (range.end - range.start) as f64))
                .unwrap_or_default();
            if Instant::now() + estimate + b.expiry_margin > deadline {
                return Err(Error::new(
                    ErrorKind::Expired,
                    format!(
                        "the upload expires in {:?}; part {index} would need about {estimate:?} \
                         (margin {:?}): not started",
                        deadline.saturating_duration_since(Instant::now()),
                        b.expiry_margin
                    ),
                )
                .with_part(PartContext { index, range }));
            }
            pending.next();
            // Reading a reader's part can take a while: keep finishing parts meanwhile.
            let body = {
                let read = bodies.next(plan, index);
                tokio::pin!(read);
                loop {
                    tokio::select! {
                        biased;
                        _ = b.cancel.cancelled() => return Err(aborted()),
                        body = &mut read => break body?,
                        Some(finished) = in_flight.next(), if !in_flight.is_empty() => {
                            tracker.record(b, plan, finished, journal)?;
                        }
                    }
                }
            };
            in_flight.push(send_part(
                b, upload_id, index, range, body, &gate, &counters,
            ));
        }
        if in_flight.is_empty() {
            break;
        }
        let finished = tokio::select! {
            biased;
            _ = b.cancel.cancelled() => return Err(aborted()),
            finished = in_flight.next() => finished.expect("in_flight is not empty"),
        };
        tracker.record(b, plan, finished, journal)?;
    }
    drop(in_flight);
    if b.cancel.is_cancelled() {
        return Err(aborted());
    }
    let done = tracker.done;

    let md5 = match (bodies, hasher.join().await?) {
        (Bodies::Reader(_, md5), _) if md5_enabled => Some(MD5_ENCODING.encode(&md5.finalize())),
        (_, Some(digest)) => Some(MD5_ENCODING.encode(&digest)),
        _ => None,
    };
    if let Some((path, identity)) = &plan.file {
        if FileIdentity::of(path)? != *identity {
            return Err(file_changed(path));
        }
    }
    let part_ids: Vec<String> = done
        .iter()
        .map(|id| id.clone().expect("every part done"))
        .collect();
    let mut complete = b.client.complete_upload(upload_id).part_ids(part_ids);
    if let Some(md5) = md5 {
        complete = complete.md5(md5);
    }
    let upload = complete.send().await?;
    tracing::info!(
        upload_id,
        file_id = upload.file.as_ref().map(|f| f.id.as_str()).unwrap_or(""),
        "upload completed"
    );
    Ok(upload)
}

fn aborted() -> Error {
    Error::new(ErrorKind::Cancelled, "the upload was aborted by the caller")
}

/// What the upload loop knows about finished parts.
struct Tracker<'a> {
    done: &'a mut [Option<String>],
    counters: Arc<Counters>,
    /// Observed cost of sending one byte at the current concurrency, for the expiry check.
    secs_per_byte: Option<f64>,
    started: Instant,
}

impl Tracker<'_> {
    /// Records a finished part: the error with its part context, or its id, the journal, then
    /// progress (a part shown as completed is a durable one).
    fn record(
        &mut self,
        b: &UploadFileBuilder,
        plan: &Plan,
        (index, range, result): (usize, std::ops::Range<u64>, Result<UploadPart>),
        journal: &mut Option<Journal>,
    ) -> Result<()> {
        let part = result.map_err(|e| {
            e.with_part(PartContext {
                index,
                range: range.clone(),
            })
        })?;
        self.done[index] = Some(part.id.clone());
        if let Some((path, identity)) = &plan.file {
            if FileIdentity::of(path)? != *identity {
                return Err(file_changed(path));
            }
        }
        if let (Some(path), Some(j)) = (&b.journal, journal.as_mut()) {
            j.parts.push(DonePart {
                index,
                id: part.id,
                start: range.start,
                end: range.end,
            });
            j.save(path)?;
        }
        // Counted only now: progress reports (also sent from in-flight parts' byte callbacks)
        // never show a part as completed before the journal holds it.
        let counters = &self.counters;
        counters
            .completed
            .fetch_add(range.end - range.start, Ordering::Relaxed);
        counters.parts_completed.fetch_add(1, Ordering::Relaxed);
        let completed = counters.completed.load(Ordering::Relaxed);
        self.secs_per_byte =
            Some(self.started.elapsed().as_secs_f64() * b.concurrency as f64 / completed as f64);
        counters.report();
        Ok(())
    }
}

fn file_changed(path: &Path) -> Error {
    Error::new(
        ErrorKind::FileChanged,
        format!(
            "{} changed (size or modification time) during the upload",
            path.display()
        ),
    )
}

async fn send_part(
    b: &UploadFileBuilder,
    upload_id: &str,
    index: usize,
    range: std::ops::Range<u64>,
    body: PartBody,
    gate: &BackoffGate,
    counters: &Arc<Counters>,
) -> (usize, std::ops::Range<u64>, Result<UploadPart>) {
    let part_sent = Arc::new(AtomicU64::new(0));
    let on_sent: SentCallback = {
        let (counters, part_sent) = (counters.clone(), part_sent.clone());
        Arc::new(move |n| {
            part_sent.fetch_add(n, Ordering::Relaxed);
            counters.sent.fetch_add(n, Ordering::Relaxed);
            counters.report();
        })
    };
    let on_retry = {
        let (counters, part_sent) = (counters.clone(), part_sent.clone());
        move || {
            let rewind = part_sent.swap(0, Ordering::Relaxed);
            counters.sent.fetch_sub(rewind, Ordering::Relaxed);
        }
    };
    let result = b
        .client
        .add_part_with(upload_id, &body, gate, Some(on_sent), &on_retry)
        .await;
    if result.is_err() {
        on_retry();
    }
    (index, range, result)
}

/// Reads `path` sequentially and returns its md5, checking it still holds exactly `size` bytes.
fn md5_of_file(path: &Path, size: u64, stop: &AtomicBool) -> Result<Vec<u8>> {
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
    }
    if seen != size {
        return Err(file_changed(path));
    }
    Ok(hasher.finalize().to_vec())
}

/// The md5 task; stops it if the upload ends early.
struct StopOnDrop {
    task: Option<tokio::task::JoinHandle<Result<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl StopOnDrop {
    async fn join(mut self) -> Result<Option<Vec<u8>>> {
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

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            MD5_ENCODING.encode(&digest),
            "5d41402abc4b2a76b9719d911017c592"
        );
    }
}
