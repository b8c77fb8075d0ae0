//! [`UploadFileBuilder`]: the caller's settings. It only builds the input; see [`super::input`].

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::Result;
use crate::retry::DEFAULT_PART_RETRIES;
use crate::types::Purpose;

use super::completed::CompletedUpload;
use super::handle::UploadHandle;
use super::progress::{Progress, ProgressFn};
use super::source::BoxReader;
use super::{
    FailurePolicy, DEFAULT_CANCEL_TIMEOUT, DEFAULT_CONCURRENCY, DEFAULT_EXPIRY_MARGIN,
    DEFAULT_PART_ROUNDS,
};

/// What the caller asked to upload.
pub(crate) enum BuilderSource {
    File(PathBuf),
    Bytes(Bytes),
    Reader(BoxReader, u64),
    Resume(PathBuf),
}

/// Builder of a whole-file upload; see [`Client::upload_file`]. Await it, call
/// [`send`](Self::send), or [`spawn`](Self::spawn) it for an [`UploadHandle`].
#[must_use = "an upload does nothing until sent"]
pub struct UploadFileBuilder {
    pub(crate) client: Client,
    pub(crate) source: BuilderSource,
    pub(crate) purpose: Option<Purpose>,
    pub(crate) mime_type: Option<String>,
    pub(crate) filename: Option<String>,
    pub(crate) expires_after: Option<Duration>,
    pub(crate) part_size: Option<u64>,
    pub(crate) concurrency: usize,
    pub(crate) md5: bool,
    pub(crate) on_progress: Option<ProgressFn>,
    pub(crate) failure_policy: FailurePolicy,
    pub(crate) journal: Option<PathBuf>,
    pub(crate) cancel: CancellationToken,
    pub(crate) expiry_margin: Duration,
    pub(crate) part_retries: u32,
    pub(crate) part_rounds: u32,
    pub(crate) cancel_timeout: Duration,
    pub(crate) deadline: Option<Duration>,
}

impl fmt::Debug for UploadFileBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            BuilderSource::File(p) => format!("file {}", p.display()),
            BuilderSource::Bytes(b) => format!("{} bytes", b.len()),
            BuilderSource::Reader(_, len) => format!("reader of {len} bytes"),
            BuilderSource::Resume(p) => format!("resume from {}", p.display()),
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
            .field("part_retries", &self.part_retries)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl UploadFileBuilder {
    pub(crate) fn new(client: Client, source: BuilderSource) -> Self {
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
            part_retries: DEFAULT_PART_RETRIES,
            part_rounds: DEFAULT_PART_ROUNDS,
            cancel_timeout: DEFAULT_CANCEL_TIMEOUT,
            deadline: None,
        }
    }

    /// What the file is for (required).
    pub fn purpose(mut self, purpose: impl Into<Purpose>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// The MIME type. Default: guessed from the file name's extension, else
    /// [`DEFAULT_MIME_TYPE`](super::DEFAULT_MIME_TYPE) (see [`guess_mime_type`](super::guess_mime_type)).
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
    /// parts, rounded up to a MiB, at least [`MIN_AUTO_PART_BYTES`](super::MIN_AUTO_PART_BYTES)
    /// and at most 64 MiB.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = Some(bytes);
        self
    }

    /// Parts in flight at once (1 to [`MAX_CONCURRENCY`](super::MAX_CONCURRENCY), default
    /// [`DEFAULT_CONCURRENCY`]), within the client's budget for all its uploads
    /// ([`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight),
    /// default 16).
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

    /// Writes a resume journal at `path` after each part (file sources only). The journal's
    /// directory is checked before the upload is created; an existing journal is only replaced
    /// if it describes a cancelled upload. It is removed when the upload completes or is
    /// cancelled. With [`FailurePolicy::Keep`], a failed upload can be finished by
    /// [`Client::resume_upload`]. Format: see [`RESUME_JOURNAL_VERSION`](super::RESUME_JOURNAL_VERSION).
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// Aborts the upload when `token` is cancelled (as [`UploadHandle::abort`] does). Map
    /// Ctrl-C, SIGTERM and SIGHUP to it: the failure policy then applies as for any failure.
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

    /// Retries of each part after its first attempt, per round (default
    /// [`DEFAULT_PART_RETRIES`]). Parts are idempotent (a re-sent part only gets a new id), so
    /// they have their own budget, independent of the client's per-request one; backoff delays
    /// follow the client's [`RetryPolicy`](crate::retry::RetryPolicy).
    pub fn part_retries(mut self, retries: u32) -> Self {
        self.part_retries = retries;
        self
    }

    /// How many more times a part whose retries ran out on a transient failure is tried again
    /// after all other parts finished, before the upload gives up (default
    /// [`DEFAULT_PART_ROUNDS`]).
    pub fn part_rounds(mut self, rounds: u32) -> Self {
        self.part_rounds = rounds;
        self
    }

    /// Longest time the best-effort cancel after a failure, an abort or a cancellation may take
    /// (default [`DEFAULT_CANCEL_TIMEOUT`]); past it the error says the cancel failed.
    pub fn cancel_timeout(mut self, timeout: Duration) -> Self {
        self.cancel_timeout = timeout;
        self
    }

    /// An overall deadline for the whole upload, counted from [`send`](Self::send): past it the
    /// upload fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) and the failure
    /// policy applies. Default: none (the client's `timeout` bounds only periods without
    /// progress).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Runs the upload to completion and returns the completed Upload with its File.
    pub async fn send(self) -> Result<CompletedUpload> {
        super::context::orchestrate(self)
            .await
            .map_err(|e| e.with_operation("upload_file"))
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
        UploadHandle::new(tokio::spawn(this.send()), token, progress)
    }
}

impl std::future::IntoFuture for UploadFileBuilder {
    type Output = Result<CompletedUpload>;
    type IntoFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<CompletedUpload>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
