//! What stops an upload from outside (the caller's token, the overall deadline), and the one
//! exception: a `complete` in flight is waited for.
//!
//! Dropping a `complete` whose request may have reached the server would leave the upload's
//! fate unknown: the File may exist while the caller is told "stopped", and a rerun would upload
//! it twice. So a stop that arrives while `complete` is in flight waits for its answer (and for
//! the settling of a lost one) as long as a cleanup's cancel would be waited for. In time, the
//! answer is the outcome (a completed upload is returned as such); late, the outcome is
//! [`ErrorKind::CompletionUnknown`], never a plain "stopped".

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};

use super::completed::CompletedUpload;

/// The stops of one upload.
pub(crate) struct Stop {
    /// The caller's token.
    pub(crate) token: CancellationToken,
    /// The overall deadline, if any.
    pub(crate) deadline: Option<Duration>,
    /// Set while a `complete` may be in flight (shared with the upload's `Finalizer`).
    pub(crate) completing: Arc<AtomicBool>,
    /// How long a `complete` in flight is waited for after a stop.
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
        if !self.completing.load(Ordering::SeqCst) {
            return Err(stopped);
        }
        tracing::info!("stop requested while `complete` is in flight: waiting for its answer");
        match tokio::time::timeout(self.grace, &mut work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::new(
                ErrorKind::CompletionUnknown,
                format!(
                    "{} while `complete` was in flight, and its answer did not come within {}: \
                     the upload may have completed (it was not cancelled)",
                    stopped.message(),
                    crate::timeout::human(self.grace)
                ),
            )),
        }
    }
}

async fn sleep_or_never(deadline: Option<Duration>) {
    match deadline {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
