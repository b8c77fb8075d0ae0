//! [`BatchBuilder`]: settings shared by every file of a batch. It only builds a
//! [`BatchInput`](super::input::BatchInput); `start` checks it, lists the files and hands both
//! to the run.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::types::Purpose;
use crate::upload::FailurePolicy;

use super::handle::BatchHandle;
use super::input::BatchInputBuilder;
use super::progress::BatchProgress;
use super::run::start;
use super::summary::BatchSummary;
use super::walk::{list, FileSet};

/// Builder of a batch of file uploads; see [`Client::upload_files`] and [`Client::upload_dir`].
/// [`start`](Self::start) it for a [`BatchHandle`], or [`send`](Self::send) it for the summary.
#[must_use = "a batch does nothing until started"]
pub struct BatchBuilder {
    client: Client,
    inner: BatchInputBuilder,
    options: RequestOptions,
}

impl fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.inner;
        f.debug_struct("BatchBuilder")
            .field("files", &b.files)
            .field("purpose", &b.purpose)
            .field("concurrency", &b.concurrency)
            .field("part_size", &b.part_size)
            .field("md5", &b.md5)
            .field("failure_policy", &b.failure_policy)
            .field("files_in_flight", &b.files_in_flight)
            .field("manifest", &b.manifest)
            .field("allow_empty", &b.allow_empty)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl BatchBuilder {
    pub(crate) fn new(client: Client, files: FileSet) -> BatchBuilder {
        BatchBuilder {
            client,
            inner: BatchInputBuilder::new(files),
            options: RequestOptions::default(),
        }
    }

    /// Options for every request of every file's upload (see
    /// [`crate::UploadFileBuilder::options`]): headers, extra query parameters, timeout, retries,
    /// and an [`extra_body`](RequestOptions::extra_body) for each `create` and `complete`. An
    /// invalid option fails [`start`](Self::start) before any request.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options.merged_over(&self.options);
        self
    }

    /// Only files matching this pattern (any of them, if given several times); directory
    /// batches only. See [`crate::batch`] for how patterns match.
    pub fn include(mut self, pattern: impl Into<String>) -> Self {
        if let FileSet::Dir { include, .. } = &mut self.inner.files {
            include.push(pattern.into());
        }
        self
    }

    /// Leaves out files matching this pattern; directory batches only.
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        if let FileSet::Dir { exclude, .. } = &mut self.inner.files {
            exclude.push(pattern.into());
        }
        self
    }

    /// Whether a directory walk follows symbolic links (default false; loops are refused).
    pub fn follow_links(mut self, follow: bool) -> Self {
        if let FileSet::Dir { follow_links, .. } = &mut self.inner.files {
            *follow_links = follow;
        }
        self
    }

    /// What every file is for (required).
    pub fn purpose(mut self, purpose: impl Into<Purpose>) -> Self {
        self.inner.purpose = Some(purpose.into());
        self
    }

    /// Parts of one file sent at once (see [`crate::UploadFileBuilder::concurrency`]); all files
    /// together stay within the client's
    /// [`max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight). A concurrency above
    /// that budget fails [`start`](Self::start) before any request.
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.inner.concurrency = Some(parts);
        self
    }

    /// Part size of every file (default: chosen per file, see [`crate::UploadFileBuilder::part_size`]).
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.inner.part_size = Some(bytes);
        self
    }

    /// Whether to send each file's md5 with `complete` (default true).
    pub fn md5(mut self, enabled: bool) -> Self {
        self.inner.md5 = enabled;
        self
    }

    /// What happens to a failed file's Upload (default [`FailurePolicy::Cancel`], or
    /// [`FailurePolicy::Keep`] with a [`manifest`](Self::manifest), so that a rerun resumes it).
    /// Each file applies it on its own: one file's failure never stops the others.
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.inner.failure_policy = Some(policy);
        self
    }

    /// Retries of each part (see [`crate::UploadFileBuilder::part_retries`]).
    pub fn part_retries(mut self, retries: u32) -> Self {
        self.inner.part_retries = Some(retries);
        self
    }

    /// Extra rounds for parts whose retries ran out (see
    /// [`crate::UploadFileBuilder::part_rounds`]); 0 with `part_retries(0)` means exactly one
    /// attempt per part.
    pub fn part_rounds(mut self, rounds: u32) -> Self {
        self.inner.part_rounds = Some(rounds);
        self
    }

    /// Whether a batch with no file to upload (an empty directory, patterns that match
    /// nothing, an empty list) is fine (default false: [`start`](Self::start) fails with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), so that a typo in a pattern
    /// is not a silent success).
    pub fn allow_empty(mut self, allow: bool) -> Self {
        self.inner.allow_empty = allow;
        self
    }

    /// Stops a file's upload as soon as it is known to be too slow to finish before its
    /// Upload expires (see [`crate::UploadFileBuilder::fail_if_too_slow`]); the other files go
    /// on.
    pub fn fail_if_too_slow(mut self, fail: bool) -> Self {
        self.inner.fail_if_too_slow = fail;
        self
    }

    /// When each created File expires (see [`crate::client::CreateUploadBuilder::expires_after`]).
    pub fn expires_after(mut self, after: Duration) -> Self {
        self.inner.expires_after = Some(after);
        self
    }

    /// Files whose uploads run at once (default [`DEFAULT_FILES_IN_FLIGHT`](super::DEFAULT_FILES_IN_FLIGHT)). Their parts share
    /// the client's budget; this bounds how many Uploads exist (and age towards their one-hour
    /// expiry) while waiting for it.
    pub fn files_in_flight(mut self, files: usize) -> Self {
        self.inner.files_in_flight = files;
        self
    }

    /// Called with the aggregate [`BatchProgress`] as bytes move and files finish. Keep it
    /// cheap: it runs on the uploads' tasks.
    pub fn on_progress(mut self, f: impl Fn(&BatchProgress) + Send + Sync + 'static) -> Self {
        self.inner.on_progress = Some(Arc::new(f));
        self
    }

    /// Aborts the batch when `token` is cancelled (as [`BatchHandle::abort`] does).
    pub fn cancellation_token(mut self, token: CancellationToken) -> Self {
        self.inner.cancel = token;
        self
    }

    /// Longest time each file's best-effort cancel may take after a failure or an abort (see
    /// [`crate::UploadFileBuilder::cancel_timeout`]).
    pub fn cancel_timeout(mut self, timeout: Duration) -> Self {
        self.inner.cancel_timeout = Some(timeout);
        self
    }

    /// Keeps a manifest (a journal of the batch) at `path`, so that the same batch, started
    /// again, skips the files it already uploaded (same path, size and modification time) and
    /// resumes the ones that were in flight. Each file in flight has a resume journal in the
    /// directory `<path>.d`. See [`super::manifest`] for the format.
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> Self {
        self.inner.manifest = Some(path.into());
        self
    }

    /// Lists the files (walking the directory), checks the settings, and starts the uploads.
    /// Fails before any request on an invalid setting or pattern, a directory that cannot be
    /// walked, a manifest that is not a regular file or is in use by another run, or (unless
    /// [`allow_empty`](Self::allow_empty)) no file to upload; a single file that cannot be read
    /// fails as that file's result only.
    pub async fn start(self) -> Result<BatchHandle> {
        self.options.check()?;
        let client = if self.options.is_empty() {
            self.client
        } else {
            self.client.with_options(self.options)
        };
        let input = self.inner.build(&client)?;
        let files = input.files.clone();
        let found = tokio::task::spawn_blocking(move || list(&files))
            .await
            .map_err(|e| Error::invalid_input(format!("listing the files failed: {e}")))??;
        if found.files.is_empty() && !input.allow_empty {
            return Err(nothing_found(&input.files, found.skipped_links.len()));
        }
        start(client, input, found).await
    }

    /// Runs the whole batch and returns its summary (see [`BatchHandle::join`]).
    pub async fn send(self) -> Result<BatchSummary> {
        Ok(self.start().await?.join().await)
    }
}

/// The error of a batch with no file: what was looked at, so that a typo is visible.
fn nothing_found(files: &FileSet, skipped_links: usize) -> Error {
    let what = match files {
        FileSet::List(_) => "no files were given".to_owned(),
        FileSet::Dir {
            root,
            include,
            exclude,
            ..
        } => {
            let mut what = format!("no file to upload in {}", root.display());
            if !include.is_empty() {
                what.push_str(&format!(" matching {}", include.join(", ")));
            }
            if !exclude.is_empty() {
                what.push_str(&format!(" (excluding {})", exclude.join(", ")));
            }
            if skipped_links > 0 {
                what.push_str(&format!(
                    "; {skipped_links} symbolic link(s) were not followed"
                ));
            }
            what
        }
    };
    Error::invalid_input(format!(
        "{what}: nothing was uploaded (allow an empty batch explicitly if that is expected)"
    ))
}
