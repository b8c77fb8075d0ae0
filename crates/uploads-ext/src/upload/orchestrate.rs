//! The orchestration of one upload: a validated input goes in, a [`CompletedUpload`] (or an
//! error that says what the cleanup did) comes out. It owns the context, the part workers, the
//! md5 pass and the [`Finalizer`]; everything after the Upload exists ends in
//! [`Finalizer::succeed`] or [`Finalizer::fail`], and a dropped future leaves the armed
//! finalizer to clean up.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::rt::{Clock, SystemClock};
use crate::types::Upload;

use super::checksum::Checksum;
use super::complete::{complete, conclude};
use super::completed::CompletedUpload;
use super::context::UploadContext;
use super::handle::Finalizer;
use super::input::{Md5Choice, ResumeInput, Run, UploadInput};
use super::journal::{Journal, JournalFile, JournalLock, JournalState, JOURNAL_VERSION};
use super::progress::Counters;
use super::resume::check_resumable;
use super::settle::{settle, SettleRequest};
use super::source::{BoxReader, PartSource};
use super::stop::Stop;
use super::worker::send_parts;

/// Runs a new upload to its outcome.
pub(crate) async fn upload(
    client: Client,
    input: UploadInput,
    reader: Option<BoxReader>,
) -> Result<CompletedUpload> {
    let (mut finalizer, stop) = guard(&client, &input.run);
    let outcome = stop
        .around(start(client, input, reader, &mut finalizer))
        .await;
    finish(finalizer, outcome).await
}

/// Runs a resume to its outcome: its journal is read (under its lock) here.
pub(crate) async fn resume(client: Client, resume: ResumeInput) -> Result<CompletedUpload> {
    let (mut finalizer, stop) = guard(&client, &resume.run);
    let outcome = stop.around(restart(client, resume, &mut finalizer)).await;
    finish(finalizer, outcome).await
}

fn guard(client: &Client, run: &Run) -> (Finalizer, Stop) {
    let finalizer = Finalizer::new(client.clone(), run.failure_policy, run.cancel_timeout);
    let stop = Stop {
        token: run.cancel.clone(),
        deadline: run.deadline,
        awaited: finalizer.awaited(),
        grace: run.cancel_timeout,
    };
    (finalizer, stop)
}

async fn finish(finalizer: Finalizer, outcome: Result<CompletedUpload>) -> Result<CompletedUpload> {
    match outcome {
        Ok(done) => {
            finalizer.succeed();
            Ok(done)
        }
        Err(err) => Err(finalizer.fail(err).await),
    }
}

/// Where the part loop starts from.
struct Started {
    upload_id: String,
    expires: Instant,
    journal: Option<JournalFile>,
    /// Ids of the parts already accepted, by index.
    done: Vec<Option<String>>,
    /// A `complete` may already have been sent (a resumed journal in `completing`).
    completing: bool,
    /// The Upload's `created_at` and `expires_at` (server clock): its File is not older.
    times: (i64, i64),
}

/// A new upload: lock the journal's place, create the Upload, write the journal.
async fn start(
    client: Client,
    input: UploadInput,
    reader: Option<BoxReader>,
    finalizer: &mut Finalizer,
) -> Result<CompletedUpload> {
    let clock = SystemClock;
    let input = Arc::new(input);
    let source = PartSource::new(&input.source, reader)?;
    // Lock (and so probe) the journal's place before anything exists on the server.
    let lock = match &input.journal {
        Some(path) => Some(JournalLock::acquire(path)?),
        None => None,
    };
    let upload = create(&client, &input, finalizer).await?;
    let started_at = clock.unix_secs();
    finalizer.upload_created(&upload.id);
    let ttl = (upload.expires_at - upload.created_at).max(0);
    let journal = match (&input.journal, lock, input.source.file()) {
        (Some(path), Some(lock), Some((src, identity))) => {
            finalizer.journal_at(Some(path.clone()));
            let journal = Journal {
                version: JOURNAL_VERSION,
                state: JournalState::InProgress,
                upload_id: upload.id.clone(),
                path: src.to_owned(),
                file: identity,
                filename: input.filename.clone(),
                purpose: input.purpose.as_str().to_owned(),
                mime_type: input.mime_type.clone(),
                part_size: input.part_size,
                md5: input.md5 != Md5Choice::Off,
                expires_at: upload.expires_at,
                ttl_secs: Some(ttl),
                started_at: Some(started_at),
                parts: Vec::new(),
            };
            // A failed first write goes through the failure policy like any failure.
            Some(JournalFile::new(path.clone(), journal, lock, true)?)
        }
        _ => None,
    };
    let started = Started {
        upload_id: upload.id,
        expires: Instant::now() + Duration::from_secs(ttl as u64),
        journal,
        done: vec![None; input.parts],
        completing: false,
        times: (upload.created_at, upload.expires_at),
    };
    transfer(client, input, source, started, finalizer).await
}

/// A resume: the journal, read under its lock, decides everything about the content.
async fn restart(
    client: Client,
    resume: ResumeInput,
    finalizer: &mut Finalizer,
) -> Result<CompletedUpload> {
    let clock = SystemClock;
    let path = resume.journal.clone();
    // Refused while another process works on it: named, but left alone.
    let lock = JournalLock::acquire(&path).map_err(|e| match Journal::load(&path) {
        Ok(j) => e.with_upload_id(j.upload_id),
        Err(_) => e,
    })?;
    let journal = Journal::load(&path)?;
    finalizer.upload_created(&journal.upload_id);
    finalizer.journal_at(Some(path.clone()));
    let prepared = UploadInput::from_journal(&journal, resume).and_then(|input| {
        let source = PartSource::new(&input.source, None)?;
        let checked = check_resumable(&journal, &input, &clock);
        Ok((Arc::new(input), source, checked))
    });
    let (input, source) = match prepared {
        Ok((input, source, Ok(()))) => (input, source),
        // A `complete` may have happened: the server decides, whatever the local file says.
        _ if journal.state == JournalState::Completing => {
            let file = JournalFile::new(path, journal, lock, false)?;
            return settle_journal(&client, file, finalizer).await;
        }
        Ok((_, _, Err(e))) => return Err(drop_dead_journal(e, &journal, &path, lock)),
        Err(err) => return Err(err),
    };
    let mut done = vec![None; input.parts];
    for p in &journal.parts {
        done[p.index] = Some(p.id.clone());
    }
    let left = Duration::from_secs(journal.seconds_left(&clock).max(0) as u64);
    let file = JournalFile::new(path, journal, lock, false)?;
    let started = Started {
        upload_id: file.journal.upload_id.clone(),
        expires: Instant::now() + left,
        completing: file.journal.state == JournalState::Completing,
        times: (file.journal.created_at(), file.journal.expires_at),
        journal: Some(file),
        done,
    };
    transfer(client, input, source, started, finalizer).await
}

/// A journal whose upload is known dead (cancelled, or expired while only parts were sent)
/// only blocks the next run: removed, and the error says so. One whose `complete` may have
/// happened is kept, to be settled.
fn drop_dead_journal(err: Error, journal: &Journal, path: &Path, lock: JournalLock) -> Error {
    let dead = match err.kind() {
        ErrorKind::Cancelled => true,
        ErrorKind::Expired => journal.state == JournalState::InProgress,
        _ => false,
    };
    if !dead {
        return err;
    }
    drop(lock);
    super::journal::remove(path);
    let message = format!(
        "{}; its journal {} was removed",
        err.message(),
        path.display()
    );
    let kind = err.kind();
    err.with_kind(kind, message)
}

/// Sends the missing parts beside the md5 pass, then completes.
async fn transfer(
    client: Client,
    input: Arc<UploadInput>,
    mut source: PartSource,
    started: Started,
    finalizer: &mut Finalizer,
) -> Result<CompletedUpload> {
    let Started {
        upload_id,
        expires,
        mut journal,
        mut done,
        completing,
        times,
    } = started;
    tracing::info!(upload_id = %upload_id, bytes = input.total, parts = input.parts,
        part_size = input.part_size, concurrency = input.run.concurrency,
        adaptive = input.run.adaptive, "upload started");
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
    let ctx = UploadContext::new(client, input.clone(), upload_id, expires, counters);
    let checksum = Checksum::start(&input);
    send_parts(&ctx, &mut source, &mut done, &mut journal, checksum.pacer()).await?;
    source.watch().check()?;
    let computed = checksum.join().await?;
    let digest = match input.md5 {
        Md5Choice::Off => None,
        Md5Choice::Given(digest) => Some(digest),
        Md5Choice::Compute => computed.or(source.reader_digest()),
    };
    let md5 = digest.map(|d| super::encode_md5(&d));
    let part_ids: Vec<String> = done.into_iter().flatten().collect();
    let completed = complete(
        &ctx,
        part_ids,
        md5,
        &mut journal,
        finalizer,
        completing,
        times,
    )
    .await?;
    if let Some(file) = journal {
        if !input.run.keep_journal_on_success {
            super::journal::remove(&file.path);
        }
    }
    Ok(completed)
}

/// Settles a journal in `completing` that cannot be resumed as it is (its file changed or is
/// gone, or it looks expired here): `complete` again with the journal's part ids (no md5: the
/// content is not read), and the status the server names.
async fn settle_journal(
    client: &Client,
    file: JournalFile,
    finalizer: &mut Finalizer,
) -> Result<CompletedUpload> {
    let j = &file.journal;
    let mut parts: Vec<_> = j.parts.iter().collect();
    parts.sort_by_key(|p| p.index);
    let target = SettleRequest::new(
        j.upload_id.clone(),
        j.filename.clone(),
        j.file.size,
        j.purpose.as_str(),
        j.created_at(),
    )
    .upload_times(j.created_at(), j.expires_at)
    .part_ids(parts.into_iter().map(|p| p.id.clone()));
    let upload_id = j.upload_id.clone();
    finalizer.may_cancel(false);
    let settled = settle(client, &target, None).await;
    let mut journal = Some(file);
    let done = conclude(&upload_id, settled, &mut journal, finalizer, None)?;
    if let Some(file) = journal {
        super::journal::remove(&file.path);
    }
    Ok(done)
}

/// `POST /uploads`. An undecodable answer that names an Upload still arms the cleanup for it.
async fn create(client: &Client, input: &UploadInput, finalizer: &mut Finalizer) -> Result<Upload> {
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
