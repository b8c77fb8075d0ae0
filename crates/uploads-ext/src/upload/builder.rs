//! The caller's builders: [`UploadFileBuilder`] (a new upload) and [`ResumeUploadBuilder`]
//! (finishing one from its journal). They only build an input; `send` is
//! `let input = self.inner.build(&client)?; orchestrate(client, input)`, and the builders never
//! travel below it.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::{Cleanup, Result};
use crate::options::RequestOptions;
use crate::types::Purpose;

use super::completed::CompletedUpload;
use super::handle::UploadHandle;
use super::input::{Md5Choice, ResumeInputBuilder, UploadInputBuilder};
use super::orchestrate;
use super::progress::Progress;
use super::source::SourceRequest;
use super::FailurePolicy;

/// The settings of how an upload runs, shared by new uploads and resumes.
macro_rules! run_setters {
    ($builder:ty) => {
        impl $builder {
            /// Options for every request of this upload: `create`, each part, `complete` and
            /// the cancel after a failure (headers, extra query parameters, the per-attempt
            /// `timeout`; `max_retries` for all but the parts, which have
            /// [`part_retries`](Self::part_retries)). An
            /// [`extra_body`](RequestOptions::extra_body) goes into the JSON body of `create`
            /// and `complete` (parts are multipart, cancel has no body). Over the client's
            /// defaults; several calls merge, later values winning. An invalid option fails the
            /// upload before any request.
            pub fn options(mut self, options: RequestOptions) -> Self {
                self.options = options.merged_over(&self.options);
                self
            }

            /// The client every request of this upload goes through: this builder's with its
            /// options over the client's defaults (sharing its pool and budget). Fails on an
            /// invalid option, before any request.
            fn upload_client(&self) -> Result<Client> {
                if self.options.is_empty() {
                    return Ok(self.client.clone());
                }
                self.options.check()?;
                Ok(self.client.with_options(self.options.clone()))
            }

            /// Fixes the parts in flight at once (1 to [`MAX_CONCURRENCY`](super::MAX_CONCURRENCY)).
            /// Default: adaptive, starting at
            /// [`DEFAULT_CONCURRENCY`](super::DEFAULT_CONCURRENCY) and following the measured
            /// goodput up to the client's budget (see the [module docs](super#concurrency)).
            /// The parts of all uploads of a client share its budget
            /// ([`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight),
            /// default 32): a concurrency above it could never be reached, so the upload fails
            /// at once with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) (raise
            /// the budget when building the client). Never capped silently.
            pub fn concurrency(mut self, parts: usize) -> Self {
                self.inner.run.concurrency = Some(parts);
                self
            }

            /// Called with a [`Progress`] snapshot as bytes are sent and parts complete. Keep
            /// it cheap: it runs on the upload's tasks.
            pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
                self.inner.run.on_progress = Some(Arc::new(f));
                self
            }

            /// What happens to the server-side Upload on failure or abort (see
            /// [`FailurePolicy`]).
            pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
                self.inner.run.failure_policy = policy;
                self
            }

            /// Aborts the upload when `token` is cancelled (as [`UploadHandle::abort`] does).
            /// Map Ctrl-C, SIGTERM and SIGHUP to it: the failure policy then applies as for any
            /// failure. A `create` or `complete` already in flight is waited for (up to the
            /// [`cancel_timeout`](Self::cancel_timeout)): the Upload a `create` made is then
            /// cleaned up like any other, and a `complete`'s answer is the outcome, a completed
            /// upload included (without an answer the error is
            /// [`ErrorKind::CompletionUnknown`](crate::ErrorKind::CompletionUnknown)).
            pub fn cancellation_token(mut self, token: CancellationToken) -> Self {
                self.inner.run.cancel = token;
                self
            }

            /// Time kept in reserve before `expires_at`: a part that could not finish before
            /// `expires_at - margin` at the observed rate is not started (default
            /// [`DEFAULT_EXPIRY_MARGIN`](super::DEFAULT_EXPIRY_MARGIN)).
            pub fn expiry_margin(mut self, margin: Duration) -> Self {
                self.inner.run.expiry_margin = margin;
                self
            }

            /// Retries of each part after its first attempt, per round (default
            /// [`DEFAULT_PART_RETRIES`](crate::retry::DEFAULT_PART_RETRIES)). Parts are
            /// idempotent (a re-sent part only gets a new id), so they have their own budget,
            /// independent of the client's per-request one; backoff delays follow the client's
            /// [`RetryPolicy`](crate::retry::RetryPolicy).
            pub fn part_retries(mut self, retries: u32) -> Self {
                self.inner.run.part_retries = retries;
                self
            }

            /// How many more times a part whose retries ran out on a transient failure is
            /// tried again after all other parts finished, before the upload gives up (default
            /// [`DEFAULT_PART_ROUNDS`](super::DEFAULT_PART_ROUNDS)).
            pub fn part_rounds(mut self, rounds: u32) -> Self {
                self.inner.run.part_rounds = rounds;
                self
            }

            /// Longest time the best-effort cancel after a failure, an abort or a cancellation
            /// may take (default [`DEFAULT_CANCEL_TIMEOUT`](super::DEFAULT_CANCEL_TIMEOUT));
            /// past it the error says the cancel failed. It also bounds the wait for a
            /// `create` or `complete` in flight when the upload is stopped.
            pub fn cancel_timeout(mut self, timeout: Duration) -> Self {
                self.inner.run.cancel_timeout = timeout;
                self
            }

            /// An overall deadline for the whole upload, counted from `send`: past it the
            /// upload fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) and the
            /// failure policy applies (a `create` or `complete` in flight is waited for, as for a
            /// [`cancellation_token`](Self::cancellation_token)). Default: none (the client's `timeout` bounds only
            /// periods without progress).
            pub fn deadline(mut self, deadline: Duration) -> Self {
                self.inner.run.deadline = Some(deadline);
                self
            }

            /// Leaves the journal in place after success, for a caller that records the File
            /// durably first and then removes it (see [`super::remove_journal`]).
            #[allow(dead_code)] // each builder's copy is used by the batch
            pub(crate) fn keep_journal_on_success(mut self) -> Self {
                self.inner.run.keep_journal_on_success = true;
                self
            }

            /// Stops the upload as soon as it is known to be too slow to finish before the
            /// Upload expires (default false: it only says so). Once a wave of parts has been
            /// accepted, the rest is checked after each part against the acknowledged rate;
            /// too slow, every [`Progress`] carries
            /// [`needed_bytes_per_sec`](Progress::needed_bytes_per_sec) and a warning is logged
            /// (target [`TOO_SLOW_TARGET`](super::TOO_SLOW_TARGET)).
            /// With this set, the upload then fails at once with
            /// [`ErrorKind::Expired`](crate::ErrorKind::Expired) and the failure policy applies
            /// (cancel by default), rather than sending for an hour before it expires.
            pub fn fail_if_too_slow(mut self, fail: bool) -> Self {
                self.inner.run.fail_if_too_slow = fail;
                self
            }

            /// Starts the upload on the Tokio runtime and returns a handle to join or abort it.
            pub fn spawn(mut self) -> UploadHandle {
                let token = self.inner.run.cancel.clone();
                let progress = Arc::new(Mutex::new(Progress::default()));
                let user = self.inner.run.on_progress.take();
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

        impl std::future::IntoFuture for $builder {
            type Output = Result<CompletedUpload>;
            type IntoFuture = std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<CompletedUpload>> + Send>,
            >;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

/// Builder of a whole-file upload; see [`Client::upload_file`]. Await it, call
/// [`send`](Self::send), or [`spawn`](Self::spawn) it for an [`UploadHandle`].
#[must_use = "an upload does nothing until sent"]
pub struct UploadFileBuilder {
    client: Client,
    inner: UploadInputBuilder,
    options: RequestOptions,
}

impl fmt::Debug for UploadFileBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.inner;
        f.debug_struct("UploadFileBuilder")
            .field("source", &b.source.describe())
            .field("purpose", &b.purpose)
            .field("mime_type", &b.mime_type)
            .field("filename", &b.filename)
            .field("part_size", &b.part_size)
            .field("concurrency", &b.run.concurrency)
            .field("md5", &b.md5)
            .field("failure_policy", &b.run.failure_policy)
            .field("journal", &b.journal)
            .field("part_retries", &b.run.part_retries)
            .field("deadline", &b.run.deadline)
            .field("fail_if_too_slow", &b.run.fail_if_too_slow)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl UploadFileBuilder {
    pub(crate) fn new(client: Client, source: SourceRequest) -> Self {
        UploadFileBuilder {
            client,
            inner: UploadInputBuilder::new(source),
            options: RequestOptions::default(),
        }
    }

    /// What the file is for (required).
    pub fn purpose(mut self, purpose: impl Into<Purpose>) -> Self {
        self.inner.purpose = Some(purpose.into());
        self
    }

    /// The MIME type. Default: guessed from the file name's extension, else
    /// [`DEFAULT_MIME_TYPE`](super::DEFAULT_MIME_TYPE) (see [`guess_mime_type`](super::guess_mime_type)).
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.inner.mime_type = Some(mime_type.into());
        self
    }

    /// The File's name. Default: the path's file name (required for bytes and readers).
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.inner.filename = Some(filename.into());
        self
    }

    /// When the created File expires, counted from its creation (1 hour to 30 days).
    pub fn expires_after(mut self, after: Duration) -> Self {
        self.inner.expires_after = Some(after);
        self
    }

    /// Bytes per part (1 byte to 64 MiB). Default: the size split evenly across `concurrency`
    /// parts (with adaptive concurrency: [`PARTS_PER_SLOT`](super::PARTS_PER_SLOT) times the
    /// client's budget, so that it has parts to grow into), rounded up to a MiB, at least [`MIN_AUTO_PART_BYTES`](super::MIN_AUTO_PART_BYTES)
    /// and at most 64 MiB.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.inner.part_size = Some(bytes);
        self
    }

    /// Whether to send the content's md5 with `complete`, computed while the parts are sent
    /// (default true). See [`md5_digest`](Self::md5_digest) for a digest you already have.
    pub fn md5(mut self, enabled: bool) -> Self {
        self.inner.md5 = if enabled {
            Md5Choice::Compute
        } else {
            Md5Choice::Off
        };
        self
    }

    /// Sends this md5 of the content with `complete` instead of computing one (the API checks
    /// it against what it received). For a digest you computed anyway, e.g. with the `md-5`
    /// crate: `Md5::digest(&content).into()`.
    pub fn md5_digest(mut self, digest: [u8; 16]) -> Self {
        self.inner.md5 = Md5Choice::Given(digest);
        self
    }

    /// Writes a resume journal at `path` after each part (file sources only). The journal's
    /// directory is checked before the upload is created; an existing journal is only replaced
    /// if it describes a cancelled upload. It is removed when the upload completes or is
    /// cancelled. With [`FailurePolicy::Keep`], a failed upload can be finished by
    /// [`Client::resume_upload`]. Format: see [`RESUME_JOURNAL_VERSION`](super::RESUME_JOURNAL_VERSION).
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.inner.journal = Some(path.into());
        self
    }

    /// Runs the upload to completion and returns the completed Upload with its File.
    pub async fn send(self) -> Result<CompletedUpload> {
        let built = self
            .upload_client()
            .and_then(|client| Ok((self.inner.build(&client)?, client)));
        let outcome = match built {
            Ok(((input, reader), client)) => orchestrate::upload(client, input, reader).await,
            // Nothing was sent: nothing to clean up.
            Err(err) => Err(err.with_cleanup(Cleanup::NotNeeded)),
        };
        outcome.map_err(|e| e.with_operation("upload_file"))
    }
}

run_setters!(UploadFileBuilder);

/// Builder of a resume; see [`Client::resume_upload`]. The journal decides the content, its
/// name, purpose, MIME type, part size and md5; only how the upload runs can be set here.
/// The [`failure_policy`](Self::failure_policy) defaults to [`FailurePolicy::Keep`]: a failed
/// resume leaves the upload resumable.
#[must_use = "a resume does nothing until sent"]
pub struct ResumeUploadBuilder {
    client: Client,
    inner: ResumeInputBuilder,
    options: RequestOptions,
}

impl fmt::Debug for ResumeUploadBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.inner;
        f.debug_struct("ResumeUploadBuilder")
            .field("journal", &b.journal)
            .field("concurrency", &b.run.concurrency)
            .field("failure_policy", &b.run.failure_policy)
            .field("part_retries", &b.run.part_retries)
            .field("deadline", &b.run.deadline)
            .field("fail_if_too_slow", &b.run.fail_if_too_slow)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ResumeUploadBuilder {
    pub(crate) fn new(client: Client, journal: PathBuf) -> Self {
        ResumeUploadBuilder {
            client,
            inner: ResumeInputBuilder::new(journal),
            options: RequestOptions::default(),
        }
    }

    /// Sends the missing parts and completes; returns the completed Upload with its File.
    pub async fn send(self) -> Result<CompletedUpload> {
        let built = self
            .upload_client()
            .and_then(|client| Ok((self.inner.build(&client)?, client)));
        let outcome = match built {
            Ok((input, client)) => orchestrate::resume(client, input).await,
            // Nothing was sent: nothing to clean up.
            Err(err) => Err(err.with_cleanup(Cleanup::NotNeeded)),
        };
        outcome.map_err(|e| e.with_operation("upload_file"))
    }
}

run_setters!(ResumeUploadBuilder);
