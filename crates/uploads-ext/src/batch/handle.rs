//! [`BatchHandle`]: a running batch.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::progress::{Aggregate, BatchProgress};
use super::summary::{BatchSummary, FileOutcome};

/// A running batch; see [`BatchBuilder::start`](super::BatchBuilder::start).
///
/// Files are reported as they finish ([`next`](Self::next)); [`join`](Self::join) waits for the
/// rest and returns every file's outcome, including those already seen.
///
/// # Cancellation
/// [`abort`](Self::abort) stops every file: files not started end as failed
/// ([`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), nothing sent), running ones apply
/// their failure policy as any aborted upload does. Dropping the handle does *not* stop the
/// batch: it keeps running on the runtime.
#[derive(Debug)]
pub struct BatchHandle {
    pub(crate) outcomes: mpsc::UnboundedReceiver<FileOutcome>,
    pub(crate) seen: Vec<FileOutcome>,
    pub(crate) token: CancellationToken,
    pub(crate) progress: Arc<Aggregate>,
    pub(crate) skipped_links: Vec<PathBuf>,
}

impl BatchHandle {
    /// The next file to finish, or `None` once every file has finished.
    ///
    /// ```no_run
    /// # async fn run(client: uploads_ext::Client) -> uploads_ext::Result<()> {
    /// let mut batch = client.upload_dir("shards").include("*.jsonl").purpose("batch").start().await?;
    /// while let Some(file) = batch.next().await {
    ///     match file.file_id() {
    ///         Some(id) => println!("{}: {id}", file.path.display()),
    ///         None => eprintln!("{}: {}", file.path.display(), file.error().unwrap()),
    ///     }
    /// }
    /// let summary = batch.join().await;
    /// println!("{} of {} uploaded", summary.completed().count(), summary.files.len());
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<&FileOutcome> {
        let outcome = self.outcomes.recv().await?;
        self.seen.push(outcome);
        self.seen.last()
    }

    /// Symbolic links the directory walk found and left out (not followed: see
    /// [`BatchBuilder::follow_links`](super::BatchBuilder::follow_links)), in walk order.
    pub fn skipped_links(&self) -> &[PathBuf] {
        &self.skipped_links
    }

    /// The latest aggregate progress.
    pub fn progress(&self) -> BatchProgress {
        self.progress.snapshot()
    }

    /// Waits for every file to finish and returns all outcomes (in the order they finished).
    pub async fn join(mut self) -> BatchSummary {
        while self.next().await.is_some() {}
        BatchSummary {
            files: self.seen,
            skipped_links: self.skipped_links,
        }
    }

    /// Stops the batch (see the type's docs) and returns the summary once every file has
    /// applied its failure policy.
    pub async fn abort(self) -> BatchSummary {
        self.token.cancel();
        self.join().await
    }
}
