//! The orchestration: input -> context -> part workers -> complete, with one cleanup path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::retry::BackoffGate;
use crate::rt::{Clock, SystemClock};

use super::builder::{BuilderSource, UploadFileBuilder};
use super::completed::CompletedUpload;
use super::handle::Finalizer;
use super::input::{validate, UploadInput};
use super::journal::{Journal, JournalFile, JournalLock, JournalState, JOURNAL_VERSION};
use super::progress::Counters;
use super::source::PartSource;

/// What every step of one upload shares, in place of long parameter lists.
pub(crate) struct UploadContext {
    pub client: Client,
    pub input: Arc<UploadInput>,
    pub upload_id: String,
    /// When the Upload expires, by this process's monotonic clock.
    pub expires: Instant,
    /// The client-wide rate-limit pause (see [`crate::budget`]).
    pub gate: BackoffGate,
    pub counters: Arc<Counters>,
}

/// Runs an upload from its builder to its outcome. Everything after the Upload exists ends in
/// [`Finalizer::succeed`] or [`Finalizer::fail`]; a drop of this future leaves the armed
/// finalizer to clean up.
pub(crate) async fn orchestrate(b: UploadFileBuilder) -> Result<CompletedUpload> {
    let client = b.client.clone();
    let mut finalizer = Finalizer::new(client.clone(), b.failure_policy, b.cancel_timeout);
    let deadline = b.deadline;
    let token = b.cancel.clone();
    let run = run(b, &mut finalizer);
    let outcome = tokio::select! {
        biased;
        outcome = run => outcome,
        _ = token.cancelled() => Err(Error::new(
            ErrorKind::Cancelled,
            "the upload was stopped by the caller",
        )),
        _ = sleep_or_never(deadline) => Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "the upload did not finish within its deadline of {}",
                crate::timeout::human(deadline.unwrap_or_default())
            ),
        )),
    };
    match outcome {
        Ok(done) => {
            finalizer.succeed();
            Ok(done)
        }
        Err(err) => Err(finalizer.fail(err).await),
    }
}

async fn sleep_or_never(deadline: Option<Duration>) {
    match deadline {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

async fn run(b: UploadFileBuilder, finalizer: &mut Finalizer) -> Result<CompletedUpload> {
    let client = b.client.clone();
    let clock = SystemClock;
    // Resume: the journal, read under its lock, decides everything about the content.
    let resumed = match &b.source {
        BuilderSource::Resume(path) => {
            // Refused while another process works on it: named, but left alone.
            let lock = JournalLock::acquire(path).map_err(|e| match Journal::load(path) {
                Ok(j) => e.with_upload_id(j.upload_id),
                Err(_) => e,
            })?;
            let journal = Journal::load(path)?;
            finalizer.upload_created(&journal.upload_id);
            finalizer.journal_at(Some(path.clone()));
            Some((path.clone(), journal, lock))
        }
        _ => None,
    };
    let (input, reader) = validate(b, resumed.as_ref().map(|(_, j, _)| j))?;
    let input = Arc::new(input);
    let mut source = PartSource::new(&input, reader)?;

    let mut done: Vec<Option<String>> = vec![None; input.parts];
    let (upload_id, expires, mut journal) = match resumed {
        Some((path, j, lock)) => {
            super::resume::check_resumable(&j, &input, &clock)?;
            for p in &j.parts {
                done[p.index] = Some(p.id.clone());
            }
            let left = Duration::from_secs(j.seconds_left(&clock).max(0) as u64);
            let file = JournalFile::new(path, j, lock, false)?;
            (
                file.journal.upload_id.clone(),
                Instant::now() + left,
                Some(file),
            )
        }
        None => {
            // Lock (and so probe) the journal's place before anything exists on the server.
            let lock = match &input.journal {
                Some(path) => Some(JournalLock::acquire(path)?),
                None => None,
            };
            let upload = create(&client, &input, finalizer).await?;
            let started_at = clock.unix_secs();
            finalizer.upload_created(&upload.id);
            let ttl = (upload.expires_at - upload.created_at).max(0);
            let journal = match (&input.journal, lock, &input.source) {
                (
                    Some(path),
                    Some(lock),
                    super::input::SourceSpec::File {
                        path: src,
                        identity,
                    },
                ) => {
                    finalizer.journal_at(Some(path.clone()));
                    let journal = Journal {
                        version: JOURNAL_VERSION,
                        state: JournalState::InProgress,
                        upload_id: upload.id.clone(),
                        path: src.clone(),
                        file: *identity,
                        filename: input.filename.clone(),
                        purpose: input.purpose.as_str().to_owned(),
                        mime_type: input.mime_type.clone(),
                        part_size: input.part_size,
                        md5: input.md5,
                        expires_at: upload.expires_at,
                        ttl_secs: Some(ttl),
                        started_at: Some(started_at),
                        parts: Vec::new(),
                    };
                    // A failed first write goes through the failure policy like any failure.
                    let file = JournalFile::new(path.clone(), journal, lock, true)?;
                    Some(file)
                }
                _ => None,
            };
            (
                upload.id,
                Instant::now() + Duration::from_secs(ttl as u64),
                journal,
            )
        }
    };
    tracing::info!(upload_id = %upload_id, bytes = input.total, parts = input.parts,
        part_size = input.part_size, concurrency = input.run.concurrency, "upload started");

    let counters = Arc::new(Counters::new(
        &upload_id,
        input.total,
        input.parts,
        input.run.on_progress.clone(),
    ));
    for (index, id) in done.iter().enumerate() {
        if id.is_some() {
            let r = input.range(index);
            counters.part_done_earlier(r.end - r.start);
        }
    }
    counters.report();
    // Client-wide: a 429 on any upload pauses them all (crate::budget).
    let gate = client.budget().gate().clone();
    let ctx = UploadContext {
        client,
        input: input.clone(),
        upload_id,
        expires,
        gate,
        counters,
    };
    let already_completing = journal
        .as_ref()
        .is_some_and(|j| j.journal.state == JournalState::Completing);
    let checksum = super::checksum::Checksum::start(&input);
    super::worker::send_parts(&ctx, &mut source, &mut done, &mut journal, checksum.pacer()).await?;
    source.watch().check()?;
    let md5 = match (checksum.join().await?, source.reader_digest()) {
        _ if !input.md5 => None,
        (Some(digest), _) | (None, Some(digest)) => Some(super::MD5_ENCODING.encode(&digest)),
        (None, None) => None,
    };
    let part_ids: Vec<String> = done.into_iter().flatten().collect();
    let completed = super::complete::complete(
        &ctx,
        part_ids,
        md5,
        &mut journal,
        finalizer,
        already_completing,
    )
    .await?;
    if let Some(file) = journal {
        super::journal::remove(&file.path);
    }
    Ok(completed)
}

/// `POST /uploads`. An undecodable answer that names an Upload still arms the cleanup for it.
async fn create(
    client: &Client,
    input: &UploadInput,
    finalizer: &mut Finalizer,
) -> Result<crate::types::Upload> {
    let mut create = client
        .create_upload()
        .filename(input.filename.clone())
        .purpose(input.purpose.clone())
        .bytes(input.total)
        .mime_type(input.mime_type.clone());
    if let Some(after) = input.expires_after {
        create = create.expires_after(after);
    }
    finalizer.creating(true);
    create.send().await.inspect_err(|err| {
        if let Some(id) = err.undecoded_id() {
            finalizer.upload_created(id);
        } else if !err.outcome_unknown() {
            finalizer.creating(false);
        }
    })
}
