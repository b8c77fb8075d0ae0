//! [`BatchBuilder`]: settings shared by every file of a batch; `start` lists the files and
//! launches them.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::Purpose;
use crate::upload::{FailurePolicy, UploadFileBuilder};

use super::handle::BatchHandle;
use super::progress::{BatchProgress, BatchProgressFn};
use super::summary::BatchSummary;
use super::walk::FileSet;
use super::DEFAULT_FILES_IN_FLIGHT;

/// Builder of a batch of file uploads; see [`Client::upload_files`] and [`Client::upload_dir`].
/// [`start`](Self::start) it for a [`BatchHandle`], or [`send`](Self::send) it for the summary.
#[must_use = "a batch does nothing until started"]
pub struct BatchBuilder {
    pub(crate) client: Client,
    pub(crate) files: FileSet,
    pub(crate) purpose: Option<Purpose>,
    pub(crate) concurrency: Option<usize>,
    pub(crate) part_size: Option<u64>,
    pub(crate) md5: bool,
    pub(crate) failure_policy: Option<FailurePolicy>,
    pub(crate) part_retries: Option<u32>,
    pub(crate) expires_after: Option<Duration>,
    pub(crate) files_in_flight: usize,
    pub(crate) on_progress: Option<BatchProgressFn>,
    pub(crate) cancel: CancellationToken,
    pub(crate) manifest: Option<PathBuf>,
    pub(crate) cancel_timeout: Option<Duration>,
}

impl fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("files", &self.files)
            .field("purpose", &self.purpose)
            .field("concurrency", &self.concurrency)
            .field("part_size", &self.part_size)
            .field("md5", &self.md5)
            .field("failure_policy", &self.failure_policy)
            .field("files_in_flight", &self.files_in_flight)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl BatchBuilder {
    pub(crate) fn new(client: Client, files: FileSet) -> BatchBuilder {
        BatchBuilder {
            client,
            files,
            purpose: None,
            concurrency: None,
            part_size: None,
            md5: true,
            failure_policy: None,
            part_retries: None,
            expires_after: None,
            files_in_flight: DEFAULT_FILES_IN_FLIGHT,
            on_progress: None,
            cancel: CancellationToken::new(),
            manifest: None,
            cancel_timeout: None,
        }
    }

    /// What every file is for (required).
    pub fn purpose(mut self, purpose: impl Into<Purpose>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// Parts of one file sent at once (see [`UploadFileBuilder::concurrency`]); all files
    /// together stay within the client's
    /// [`max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight).
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = Some(parts);
        self
    }

    /// Part size of every file (default: chosen per file, see [`UploadFileBuilder::part_size`]).
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = Some(bytes);
        self
    }

    /// Whether to send each file's md5 with `complete` (default true).
    pub fn md5(mut self, enabled: bool) -> Self {
        self.md5 = enabled;
        self
    }

    /// What happens to a failed file's Upload (default [`FailurePolicy::Cancel`], or
    /// [`FailurePolicy::Keep`] with a [`manifest`](Self::manifest), so that a rerun resumes it).
    /// Each file applies it on its own: one file's failure never stops the others.
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = Some(policy);
        self
    }

    /// Retries of each part (see [`UploadFileBuilder::part_retries`]).
    pub fn part_retries(mut self, retries: u32) -> Self {
        self.part_retries = Some(retries);
        self
    }

    /// When each created File expires (see [`crate::client::CreateUploadBuilder::expires_after`]).
    pub fn expires_after(mut self, after: Duration) -> Self {
        self.expires_after = Some(after);
        self
    }

    /// Files whose uploads run at once (default [`DEFAULT_FILES_IN_FLIGHT`]). Their parts share
    /// the client's budget; this bounds how many Uploads exist (and age towards their one-hour
    /// expiry) while waiting for it.
    pub fn files_in_flight(mut self, files: usize) -> Self {
        self.files_in_flight = files;
        self
    }

    /// Called with the aggregate [`BatchProgress`] as bytes move and files finish. Keep it
    /// cheap: it runs on the uploads' tasks.
    pub fn on_progress(mut self, f: impl Fn(&BatchProgress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// Aborts the batch when `token` is cancelled (as [`BatchHandle::abort`] does).
    pub fn cancellation_token(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// Longest time each file's best-effort cancel may take after a failure or an abort (see
    /// [`UploadFileBuilder::cancel_timeout`]).
    pub fn cancel_timeout(mut self, timeout: Duration) -> Self {
        self.cancel_timeout = Some(timeout);
        self
    }

    /// Keeps a manifest (a journal of the batch) at `path`, so that the same batch, started
    /// again, skips the files it already uploaded (same path, size and modification time) and
    /// resumes the ones that were in flight. Each file in flight has a resume journal in the
    /// directory `<path>.d`. See [`super::manifest`] for the format.
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> Self {
        self.manifest = Some(path.into());
        self
    }

    /// Lists the files (walking the directory), checks the settings, and starts the uploads.
    /// Fails before any request on an invalid setting or pattern, or a directory that cannot be
    /// walked; a single file that cannot be read fails as that file's result only.
    pub async fn start(self) -> Result<BatchHandle> {
        if self.purpose.is_none() {
            return Err(Error::invalid_input("purpose is required"));
        }
        if self.files_in_flight == 0 {
            return Err(Error::invalid_input("files_in_flight must be at least 1"));
        }
        let files = self.files.clone();
        let found = tokio::task::spawn_blocking(move || super::walk::list(&files))
            .await
            .map_err(|e| Error::invalid_input(format!("listing the files failed: {e}")))??;
        super::run::start(self, found).await
    }

    /// Runs the whole batch and returns its summary (see [`BatchHandle::join`]).
    pub async fn send(self) -> Result<BatchSummary> {
        Ok(self.start().await?.join().await)
    }

    /// The upload of one file with the batch's settings.
    pub(crate) fn file_upload(&self, path: &std::path::Path) -> UploadFileBuilder {
        let mut b = self
            .client
            .upload_file(path)
            .purpose(self.purpose.clone().expect("checked in start"))
            .md5(self.md5)
            .failure_policy(self.policy());
        if let Some(size) = self.part_size {
            b = b.part_size(size);
        }
        if let Some(after) = self.expires_after {
            b = b.expires_after(after);
        }
        self.run_settings(b)
    }

    /// Settings that also apply to a file resumed from its journal.
    pub(crate) fn resumed_upload(&self, journal: &std::path::Path) -> UploadFileBuilder {
        let b = self
            .client
            .resume_upload(journal)
            .failure_policy(self.policy());
        self.run_settings(b)
    }

    /// Settings of how a file is sent, for new and resumed uploads alike.
    fn run_settings(&self, mut b: UploadFileBuilder) -> UploadFileBuilder {
        if let Some(c) = self.concurrency {
            b = b.concurrency(c);
        }
        if let Some(r) = self.part_retries {
            b = b.part_retries(r);
        }
        if let Some(t) = self.cancel_timeout {
            b = b.cancel_timeout(t);
        }
        b
    }

    fn policy(&self) -> FailurePolicy {
        self.failure_policy.unwrap_or(if self.manifest.is_some() {
            FailurePolicy::Keep
        } else {
            FailurePolicy::Cancel
        })
    }
}
