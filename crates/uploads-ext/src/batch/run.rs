//! Runs a batch from its validated [`BatchInput`]: starts each file's upload within
//! `files_in_flight`, reports each outcome, and keeps the manifest.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::client::Client;
use crate::error::{Cleanup, Error, ErrorKind, Result};
use crate::upload::FileIdentity;

use super::handle::BatchHandle;
use super::input::BatchInput;
use super::manifest::Manifest;
use super::progress::Aggregate;
use super::summary::{FileOutcome, FileResult};
use super::walk::{Found, Listing};

/// What every file's task shares.
struct Shared {
    client: Client,
    batch: BatchInput,
    manifest: Option<Manifest>,
    progress: Arc<Aggregate>,
    outcomes: mpsc::UnboundedSender<FileOutcome>,
}

impl Shared {
    fn report(&self, index: usize, file: Found, result: FileResult) {
        let completed = !matches!(result, FileResult::Failed(_));
        self.progress.file_finished(index, completed, file.bytes);
        // The handle may be gone (dropped): the batch still runs to its end.
        let _ = self.outcomes.send(FileOutcome {
            index,
            path: file.path,
            bytes: file.bytes,
            result,
        });
    }
}

pub(crate) async fn start(
    client: Client,
    batch: BatchInput,
    listing: Listing,
) -> Result<BatchHandle> {
    let Listing {
        files: found,
        skipped_links,
    } = listing;
    let manifest = match &batch.manifest {
        Some(path) => Some(Manifest::open(path)?),
        None => None,
    };
    let sizes: Vec<u64> = found.iter().map(|f| f.bytes).collect();
    let progress = Aggregate::new(&sizes, batch.on_progress.clone());
    let (tx, rx) = mpsc::unbounded_channel();
    let token = batch.cancel.clone();
    let shared = Arc::new(Shared {
        client,
        batch,
        manifest,
        progress: progress.clone(),
        outcomes: tx,
    });
    tokio::spawn(drive(shared, found));
    Ok(BatchHandle {
        outcomes: rx,
        seen: Vec::new(),
        token,
        progress,
        skipped_links,
    })
}

/// Starts the files in order, at most `files_in_flight` at once.
async fn drive(shared: Arc<Shared>, found: Vec<Found>) {
    let slots = Arc::new(Semaphore::new(shared.batch.files_in_flight));
    let token = shared.batch.cancel.clone();
    let mut running = JoinSet::new();
    for (index, file) in found.into_iter().enumerate() {
        if let Some((manifest, (upload_id, file_id))) = shared
            .manifest
            .as_ref()
            .and_then(|m| Some((m, m.uploaded(&file.path)?)))
        {
            // Recorded, then killed before its journal was removed: the journal is spent.
            crate::upload::remove_journal(&manifest.journal_for(&file.path));
            shared.report(
                index,
                file,
                FileResult::AlreadyUploaded { upload_id, file_id },
            );
            continue;
        }
        let slot = tokio::select! {
            biased;
            _ = token.cancelled() => None,
            slot = slots.clone().acquire_owned() => slot.ok(),
        };
        let Some(slot) = slot else {
            let err = Error::new(
                ErrorKind::Cancelled,
                "the batch was aborted before this file started",
            )
            .with_cleanup(Cleanup::NotNeeded);
            shared.report(index, file, FileResult::Failed(err));
            continue;
        };
        let shared = shared.clone();
        running.spawn(async move {
            let result = upload_one(&shared, index, &file).await;
            drop(slot);
            shared.report(index, file, result);
        });
        // Reap finished tasks as we go (a task's panic is a bug: surface it).
        while let Some(done) = running.try_join_next() {
            if let Err(e) = done {
                tracing::error!("a batch file task failed: {e}");
            }
        }
    }
    while let Some(done) = running.join_next().await {
        if let Err(e) = done {
            tracing::error!("a batch file task failed: {e}");
        }
    }
}

/// Uploads (or resumes) one file with the batch's settings.
async fn upload_one(shared: &Shared, index: usize, file: &Found) -> FileResult {
    let batch = &shared.batch;
    let path = file.path.as_path();
    let identity = FileIdentity::of(path).ok();
    let journal = shared.manifest.as_ref().map(|m| m.journal_for(path));
    let client = &shared.client;
    let on_progress = || {
        let progress = shared.progress.clone();
        move |p: &crate::upload::Progress| progress.file_progress(index, p)
    };
    // With a manifest, each journal stays until the file's line is recorded (see below).
    let fresh = |journal: Option<&std::path::Path>| {
        let mut b = batch
            .file_upload(client, path)
            .cancellation_token(batch.cancel.child_token())
            .on_progress(on_progress());
        if let Some(journal) = journal {
            b = b.journal(journal).keep_journal_on_success();
        }
        b.send()
    };
    let result = match &journal {
        Some(journal) if journal.exists() => {
            let resumed = batch
                .resumed_upload(client, journal)
                .cancellation_token(batch.cancel.child_token())
                .on_progress(on_progress())
                .keep_journal_on_success()
                .send();
            match resumed.await {
                // Nothing left to resume: start over (the journal is replaced). Not after an
                // abort, whose "cancelled" is the caller's and whose journal must stay.
                Err(e) if !batch.cancel.is_cancelled() && fresh_start_helps(&e) => {
                    tracing::info!(path = %path.display(), "cannot resume ({e}): uploading afresh");
                    crate::upload::remove_journal(journal);
                    fresh(Some(journal)).await
                }
                other => other,
            }
        }
        Some(journal) => fresh(Some(journal)).await,
        None => fresh(None).await,
    };
    let done = match result {
        Ok(done) => done,
        Err(e) => return FileResult::Failed(e),
    };
    if let (Some(manifest), Some(journal)) = (&shared.manifest, &journal) {
        // Recorded (and synced) first, journal removed second: a crash in between leaves a
        // recorded file whose journal the rerun removes, never a File uploaded twice.
        let recorded = match identity {
            Some(identity) => manifest.record(path, identity, done.upload_id(), done.file_id()),
            None => Err(Error::invalid_input(format!(
                "uploaded as {} (upload {}), but {} could not be read to record it",
                done.file_id(),
                done.upload_id(),
                path.display()
            ))
            .with_upload_id(done.upload_id())),
        };
        if let Err(e) = recorded {
            // The journal stays: a rerun settles this upload from it instead of uploading the
            // file again.
            tracing::warn!(path = %path.display(), "uploaded, but not recorded: {e}");
            return FileResult::Failed(e);
        }
        crate::upload::remove_journal(journal);
    }
    FileResult::Completed(Box::new(done))
}

/// A resume refused because the upload itself is gone or no longer matches the file.
fn fresh_start_helps(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Expired | ErrorKind::Cancelled | ErrorKind::FileChanged
    ) && matches!(
        e.cleanup(),
        None | Some(Cleanup::NotNeeded | Cleanup::Retained { .. })
    )
}
