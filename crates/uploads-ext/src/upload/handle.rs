//! [`UploadHandle`] and the one cleanup path of an upload.
//!
//! Every way an upload can end early (an error, [`UploadHandle::abort`], a cancellation token,
//! an overall deadline, or the future being dropped) goes through [`Finalizer`], which applies
//! the [`FailurePolicy`] once and records what it did: on the error ([`Error::cleanup`]) and in
//! the journal (removed after a successful cancel, kept otherwise).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::{Cleanup, Error, ErrorKind, Result};

use super::completed::CompletedUpload;
use super::progress::Progress;
use super::stop::Awaited;
use super::FailurePolicy;

/// A running upload; see [`UploadFileBuilder::spawn`](super::UploadFileBuilder::spawn).
///
/// # Cancellation
/// [`abort`](Self::abort) (or cancelling the builder's token) stops the upload and waits for its
/// cleanup: the failure policy applies and the returned error says what happened
/// ([`Error::cleanup`]). Dropping the handle does *not* stop the upload: it keeps running on the
/// runtime. Dropping the future of [`send`](super::UploadFileBuilder::send) instead cancels the
/// Upload best-effort in the background (nobody is left to be told), and so does dropping it
/// while its cleanup's cancel is under way: that cancel runs on to its `cancel_timeout`.
#[derive(Debug)]
pub struct UploadHandle {
    task: tokio::task::JoinHandle<Result<CompletedUpload>>,
    token: CancellationToken,
    progress: Arc<Mutex<Progress>>,
}

impl UploadHandle {
    pub(crate) fn new(
        task: tokio::task::JoinHandle<Result<CompletedUpload>>,
        token: CancellationToken,
        progress: Arc<Mutex<Progress>>,
    ) -> UploadHandle {
        UploadHandle {
            task,
            token,
            progress,
        }
    }

    /// Waits for the upload to finish.
    pub async fn join(self) -> Result<CompletedUpload> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(Error::new(
                ErrorKind::Cancelled,
                format!("the upload task ended abnormally: {e}"),
            )),
        }
    }

    /// Stops the upload: no new parts start, in-flight ones are dropped, and the failure policy
    /// applies (by default the Upload is cancelled on the server, within the builder's
    /// `cancel_timeout`). Returns what the abort did ([`Aborted`]): the cleanup of a stopped
    /// upload, or the completed upload if it had finished first (nothing is then cancelled).
    /// A `create` or `complete` already in flight is not dropped: its answer is waited for,
    /// within the `cancel_timeout`. The Upload a `create` made is cleaned up like any other; a
    /// completed upload is [`Aborted::AlreadyCompleted`], and a `complete` without an answer is
    /// the error [`ErrorKind::CompletionUnknown`] (nothing cancelled). An upload that
    /// had already failed for another reason returns that error.
    pub async fn abort(self) -> Result<Aborted> {
        self.token.cancel();
        match self.join().await {
            Ok(done) => Ok(Aborted::AlreadyCompleted(Box::new(done))),
            Err(err) if err.kind() == ErrorKind::Cancelled => Ok(Aborted::Stopped {
                upload_id: err.upload_id().map(str::to_owned),
                cleanup: err.cleanup().cloned().unwrap_or(Cleanup::NotNeeded),
            }),
            Err(err) => Err(err),
        }
    }

    /// The Upload's id, once it is known (created, or read from the journal of a resume).
    pub fn upload_id(&self) -> Option<String> {
        self.progress
            .lock()
            .expect("progress lock")
            .upload_id
            .clone()
    }

    /// The latest progress snapshot.
    pub fn progress(&self) -> Progress {
        self.progress.lock().expect("progress lock").clone()
    }
}

/// What [`UploadHandle::abort`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Aborted {
    /// The upload was stopped before it completed.
    #[non_exhaustive]
    Stopped {
        /// The Upload's id, if one was created.
        upload_id: Option<String>,
        /// What became of the server-side Upload (cancelled, kept for a resume, ...).
        cleanup: Cleanup,
    },
    /// The upload had completed before the abort took effect: nothing was cancelled.
    AlreadyCompleted(Box<CompletedUpload>),
}

impl Aborted {
    /// The Upload's id, if one was created.
    pub fn upload_id(&self) -> Option<&str> {
        match self {
            Aborted::Stopped { upload_id, .. } => upload_id.as_deref(),
            Aborted::AlreadyCompleted(done) => Some(done.upload_id()),
        }
    }

    /// What the cleanup did; `None` when the upload had completed.
    pub fn cleanup(&self) -> Option<&Cleanup> {
        match self {
            Aborted::Stopped { cleanup, .. } => Some(cleanup),
            Aborted::AlreadyCompleted(_) => None,
        }
    }
}

/// What the cleanup needs to know; cheap to move into a background task.
#[derive(Debug, Clone)]
struct Target {
    client: Client,
    policy: FailurePolicy,
    cancel_timeout: Duration,
    upload_id: String,
    journal: Option<PathBuf>,
}

/// The one cleanup path. Armed once an Upload exists; [`succeed`](Self::succeed) or
/// [`fail`](Self::fail) disarm it, and a drop while armed runs the same cleanup in the background.
pub(crate) struct Finalizer {
    client: Client,
    policy: FailurePolicy,
    cancel_timeout: Duration,
    journal: Option<PathBuf>,
    upload_id: Option<String>,
    /// A `create` was sent whose outcome is not known to be a refusal.
    creating: bool,
    /// False while a `complete` may have been performed: a cancel then could only fail or, worse,
    /// claim something untrue.
    may_cancel: bool,
    /// The answer in flight that decides the upload's fate, told to the upload's stop.
    awaited: watch::Sender<Awaited>,
    /// The upload's fate is settled (completed with a wrong File, cancelled, expired): nothing
    /// to clean up or keep.
    settled: bool,
    armed: bool,
}

impl Finalizer {
    pub(crate) fn new(client: Client, policy: FailurePolicy, cancel_timeout: Duration) -> Self {
        Finalizer {
            client,
            policy,
            cancel_timeout,
            journal: None,
            upload_id: None,
            creating: false,
            may_cancel: true,
            awaited: watch::Sender::new(Awaited::Nothing),
            settled: false,
            armed: true,
        }
    }

    /// A `create` is about to be sent (`true`), or was definitely refused (`false`).
    pub(crate) fn creating(&mut self, creating: bool) {
        self.creating = creating;
        self.awaited.send_replace(if creating {
            Awaited::Create
        } else {
            Awaited::Nothing
        });
    }

    /// From now on there is an Upload to clean up.
    pub(crate) fn upload_created(&mut self, upload_id: &str) {
        self.upload_id = Some(upload_id.to_owned());
        // A `create` in flight was answered; a `complete` in flight (a resume) stays awaited.
        self.awaited.send_if_modified(|a| {
            let was_create = *a == Awaited::Create;
            if was_create {
                *a = Awaited::Nothing;
            }
            was_create
        });
    }

    /// The journal that describes the Upload (written or about to be).
    pub(crate) fn journal_at(&mut self, path: Option<PathBuf>) {
        self.journal = path;
    }

    /// Whether the cleanup may cancel (false while a `complete` may have been performed).
    pub(crate) fn may_cancel(&mut self, may: bool) {
        self.may_cancel = may;
        self.awaited.send_replace(if may {
            Awaited::Nothing
        } else {
            Awaited::Complete
        });
    }

    /// The answer in flight that decides the upload's fate: a stop waits for it.
    pub(crate) fn awaited(&self) -> watch::Receiver<Awaited> {
        self.awaited.subscribe()
    }

    /// The upload's fate is known and final although it failed: no cancel, no journal kept.
    pub(crate) fn settled(&mut self) {
        self.settled = true;
        self.may_cancel = false;
    }

    /// The upload finished: nothing to clean up.
    pub(crate) fn succeed(mut self) {
        self.armed = false;
    }

    /// Applies the failure policy and returns `err` with what was done.
    pub(crate) async fn fail(mut self, err: Error) -> Error {
        self.armed = false;
        if self.settled {
            return err.with_cleanup(Cleanup::NotNeeded);
        }
        let Some(target) = self.target() else {
            let cleanup = if self.creating {
                Cleanup::Unidentified
            } else if err.upload_id().is_some() {
                // A refused resume names the upload its journal describes, but never owned it.
                Cleanup::LeftAlone
            } else {
                Cleanup::NotNeeded
            };
            return err.with_cleanup(cleanup);
        };
        let err = err.with_upload_id(target.upload_id.clone());
        let keep = self.policy == FailurePolicy::Keep || !self.may_cancel;
        tracing::info!(upload_id = %target.upload_id, keep, "upload failed: {err}");
        // On its own task, so that a caller who stops waiting (drops this future, say under a
        // timeout) does not abandon a cancel half-way: it still runs to its bound.
        let cleanup =
            spawn_clean_up(target, keep)
                .await
                .unwrap_or_else(|_| Cleanup::CancelFailed {
                    reason: "the cleanup task ended before it finished (runtime shutting down)"
                        .into(),
                });
        err.with_cleanup(cleanup)
    }

    fn target(&self) -> Option<Target> {
        Some(Target {
            client: self.client.clone(),
            policy: self.policy,
            cancel_timeout: self.cancel_timeout,
            upload_id: self.upload_id.clone()?,
            journal: self.journal.clone(),
        })
    }
}

impl Drop for Finalizer {
    fn drop(&mut self) {
        if !self.armed || self.settled {
            return;
        }
        let Some(target) = self.target() else { return };
        let keep = target.policy == FailurePolicy::Keep || !self.may_cancel;
        if keep {
            return;
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            tracing::info!(upload_id = %target.upload_id, "upload future dropped: cancelling the upload");
            // Nobody waits for the outcome: a failed cancel is logged as a warning.
            drop(spawn_clean_up(target, false));
        }
    }
}

/// Runs [`clean_up`] on its own task and sends back what it did. When nobody is left to receive
/// that (the future waiting for it was dropped), a failed cancel is logged as a warning instead.
fn spawn_clean_up(target: Target, keep: bool) -> oneshot::Receiver<Cleanup> {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let upload_id = target.upload_id.clone();
        if let Err(Cleanup::CancelFailed { reason }) = tx.send(clean_up(target, keep).await) {
            tracing::warn!(upload_id = %upload_id,
                "could not cancel the upload after its future was dropped: {reason}");
        }
    });
    rx
}

/// Cancels (unless `keep`) within the target's bound and tidies the journal accordingly.
async fn clean_up(target: Target, keep: bool) -> Cleanup {
    if keep {
        return Cleanup::Retained {
            journal: target.journal.filter(|j| j.exists()),
        };
    }
    // `ensure`: a retry after a lost answer finds its own cancel done, which is a cancel.
    let cancel = target.client.cancel_upload(&target.upload_id).ensure();
    let outcome = match tokio::time::timeout(target.cancel_timeout, cancel).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {}",
            crate::timeout::human(target.cancel_timeout)
        )),
    };
    match outcome {
        Ok(()) => {
            // A cancelled upload cannot be resumed: its journal would only block a rerun.
            if let Some(journal) = &target.journal {
                super::journal::remove(journal);
            }
            Cleanup::Cancelled
        }
        Err(reason) => {
            // Info, not warn: the caller's error says it (Error::cleanup); only a dropped
            // future, which nobody is told about, warns (see Finalizer's Drop).
            tracing::info!(upload_id = %target.upload_id, "could not cancel the upload: {reason}");
            Cleanup::CancelFailed { reason }
        }
    }
}
