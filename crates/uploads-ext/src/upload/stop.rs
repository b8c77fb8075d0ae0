//! What stops an upload from outside (the caller's token, the overall deadline), and the one
//! exception: an answer in flight that decides the upload's fate is waited for.
//!
//! Dropping a `complete` whose request may have reached the server would leave the upload's
//! fate unknown: the File may exist while the caller is told "stopped", and a rerun would upload
//! it twice. Dropping a `create` in flight would leave an Upload nobody knows the id of, so
//! nobody could cancel it. So a stop that arrives while either is in flight waits for its answer
//! as long as a cleanup's cancel would be waited for:
//! - `create` answered: the upload stops, and the failure policy applies to the Upload it made
//!   (cancelled by default); unanswered in time, the cleanup says an Upload may exist unnamed.
//! - `complete` answered (or settled): that is the outcome, a completed upload included;
//!   unanswered in time, the outcome is [`ErrorKind::CompletionUnknown`], never "stopped".

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};

use super::completed::CompletedUpload;

/// The answer in flight that decides the upload's fate, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awaited {
    /// Nothing: a stop takes effect at once.
    Nothing,
    /// A `create`: its answer names the Upload to clean up.
    Create,
    /// A `complete` (or the settling of its lost answer): its answer is the outcome.
    Complete,
}

/// The stops of one upload.
pub(crate) struct Stop {
    /// The caller's token.
    pub(crate) token: CancellationToken,
    /// The overall deadline, if any.
    pub(crate) deadline: Option<Duration>,
    /// The answer in flight (kept up to date by the upload's `Finalizer`).
    pub(crate) awaited: watch::Receiver<Awaited>,
    /// How long an answer in flight is waited for after a stop.
    pub(crate) grace: Duration,
}

impl Stop {
    /// Runs `work` until it ends or a stop arrives (see the module docs).
    pub(crate) async fn around(
        &self,
        work: impl Future<Output = Result<CompletedUpload>>,
    ) -> Result<CompletedUpload> {
        tokio::pin!(work);
        let stopped = tokio::select! {
            biased;
            outcome = &mut work => return outcome,
            _ = self.token.cancelled() => Error::new(
                ErrorKind::Cancelled,
                "the upload was stopped by the caller",
            ),
            _ = sleep_or_never(self.deadline) => Error::new(
                ErrorKind::Timeout,
                format!(
                    "the upload did not finish within its deadline of {}",
                    crate::timeout::human(self.deadline.unwrap_or_default())
                ),
            ),
        };
        let awaited = *self.awaited.borrow();
        if awaited == Awaited::Nothing {
            return Err(stopped);
        }
        tracing::info!(
            ?awaited,
            "stop requested while an answer is in flight: waiting for it"
        );
        let mut watch = self.awaited.clone();
        let answered = tokio::time::timeout(self.grace, async {
            tokio::select! {
                biased;
                outcome = &mut work => Some(outcome),
                // `create` answered (the Upload is named), or `complete` definitely refused.
                _ = watch.wait_for(|a| *a == Awaited::Nothing) => None,
            }
        })
        .await;
        match (answered, awaited) {
            (Ok(Some(outcome)), _) => outcome,
            (Err(_), Awaited::Complete) => Err(Error::new(
                ErrorKind::CompletionUnknown,
                format!(
                    "{} while `complete` was in flight, and its answer did not come within {}: \
                     the upload may have completed (it was not cancelled)",
                    stopped.message(),
                    crate::timeout::human(self.grace)
                ),
            )),
            // Answered (the Upload is named, or `complete` refused), or a `create` unanswered:
            // the stop takes effect, and the cleanup says what it knows.
            _ => Err(stopped),
        }
    }
}

async fn sleep_or_never(deadline: Option<Duration>) {
    match deadline {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
