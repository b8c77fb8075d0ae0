//! The part loop: schedule parts within the (adaptive) concurrency and the expiry, send them,
//! record what finished, re-send stragglers near the end, and give parts that ran out of
//! retries another round after the others.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::budget::BufferPermit;
use crate::error::{Error, ErrorKind, PartContext, Result};
use crate::part::{PartBody, SentCallback};
use crate::types::UploadPart;

use super::adaptive::Concurrency;
use super::checksum::Pacer;
use super::context::UploadContext;
use super::expiry::ExpiryWatch;
use super::journal::{DonePart, JournalFile};
use super::source::{ChangeWatch, PartSource};
use super::straggler::Stragglers;

type Finished = (usize, Range<u64>, Result<UploadPart>);

/// Sends every part not yet in `done`; on return `done` is full.
pub(crate) async fn send_parts(
    ctx: &UploadContext,
    source: &mut PartSource,
    done: &mut [Option<String>],
    journal: &mut Option<JournalFile>,
    pacer: Pacer,
) -> Result<()> {
    let input = ctx.input();
    let level = if input.run.adaptive {
        Concurrency::adaptive(input.run.concurrency)
    } else {
        Concurrency::fixed(input.run.concurrency)
    };
    let mut tracker = Tracker {
        done,
        deferred: Vec::new(),
        expiry: ExpiryWatch::default(),
        level,
        congestion: Arc::new(AtomicU64::new(0)),
        stragglers: Stragglers::new(input.total, true),
        launched: HashMap::new(),
    };
    let mut round = 0;
    loop {
        let missing: Vec<usize> = (0..input.parts)
            .filter(|i| tracker.done[*i].is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        // A reader cannot be re-read: its parts are only ever produced once, in order.
        if round > 0 && !source.rereadable() {
            return Err(tracker.deferred.remove(0).1);
        }
        run_round(ctx, source, &missing, &mut tracker, journal, pacer.clone()).await?;
        if tracker.deferred.is_empty() {
            return Ok(());
        }
        if round >= input.run.part_rounds {
            return Err(tracker.deferred.remove(0).1);
        }
        round += 1;
        tracing::info!(upload_id = %ctx.upload_id(), parts = tracker.deferred.len(), round,
            "retrying parts whose retries ran out, now that the others are done");
        tracker.deferred.clear();
    }
}

/// One pass over `indices`. Transient part failures are deferred, others end the upload.
async fn run_round(
    ctx: &UploadContext,
    source: &mut PartSource,
    indices: &[usize],
    tracker: &mut Tracker<'_>,
    journal: &mut Option<JournalFile>,
    mut pacer: Pacer,
) -> Result<()> {
    let input = ctx.input();
    let watch = source.watch();
    let mut pending = indices.iter().copied().peekable();
    let mut in_flight = FuturesUnordered::new();
    loop {
        tracker.absorb_congestion();
        while in_flight.len() < tracker.level.level() {
            let Some(&index) = pending.peek() else { break };
            let range = input.range(index);
            // Held back to the md5 pass's pace (see Pacer) while parts in flight keep finishing.
            meanwhile(
                async {
                    pacer.ready_for(range.start).await;
                    Ok(())
                },
                &mut in_flight,
                |finished| tracker.record(ctx, &watch, finished, journal),
            )
            .await?;
            // The client-wide budget (crate::budget): waited for while this upload's parts in
            // flight keep finishing (they hold permits too), and before the body is read, so a
            // reader's buffer only exists under a permit.
            let permit = meanwhile(
                async { Ok(ctx.client().budget().part_permit().await) },
                &mut in_flight,
                |finished| tracker.record(ctx, &watch, finished, journal),
            )
            .await?;
            ExpiryWatch::may_start(ctx, index, tracker.level.level())?;
            pending.next();
            // A reader's part is held in memory: only under a share of the buffer budget.
            let buffer = if source.rereadable() {
                None
            } else {
                let len = range.end - range.start;
                let budget = ctx.client().budget().budget();
                let held = meanwhile(
                    async { Ok(budget.buffer_permit(len).await) },
                    &mut in_flight,
                    |finished| tracker.record(ctx, &watch, finished, journal),
                )
                .await?;
                Some(Arc::new(held))
            };
            // Reading a reader's part can take a while: keep finishing parts meanwhile.
            let body = meanwhile(source.part(range.clone()), &mut in_flight, |finished| {
                tracker.record(ctx, &watch, finished, journal)
            })
            .await?
            .file_name(input.filename.clone())
            .content_type(input.mime_type.clone());
            let copy = tracker.launch(index, range, body, buffer);
            in_flight.push(send_part(ctx, copy, permit));
        }
        // Every part started and a slot idle: a straggler gets a second copy.
        let tail = pending.peek().is_none() && in_flight.len() < tracker.level.level();
        // At most a quarter of the slots busy: idle ones make a second copy cheap.
        let draining = in_flight.len() * 4 <= tracker.level.level();
        if tail {
            if let Some(index) = tracker.stragglers.pick(draining) {
                let permit = meanwhile(
                    async { Ok(ctx.client().budget().part_permit().await) },
                    &mut in_flight,
                    |finished| tracker.record(ctx, &watch, finished, journal),
                )
                .await?;
                if let Some(copy) = tracker.copy_of(index) {
                    tracing::info!(upload_id = %ctx.upload_id(), part = index,
                        "part much slower than its peers: sending a second copy");
                    in_flight.push(send_part(ctx, copy, permit));
                }
                continue;
            }
        }
        let check = tail
            .then(|| tracker.stragglers.next_check(draining))
            .flatten();
        tokio::select! {
            finished = in_flight.next() => match finished {
                Some(finished) => tracker.record(ctx, &watch, finished, journal)?,
                None => return Ok(()),
            },
            _ = sleep_until(check), if check.is_some() => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// One copy of a part to send: what both copies of a part share.
#[derive(Clone)]
struct Copy {
    index: usize,
    range: Range<u64>,
    body: PartBody,
    /// Cancelled once a copy is accepted: the other is dropped.
    accepted: CancellationToken,
    /// The reader part's share of the buffer budget, released with its last copy.
    _buffer: Option<Arc<BufferPermit>>,
    congestion: Arc<AtomicU64>,
}

/// Runs `work` while recording the parts of `in_flight` that finish meanwhile.
async fn meanwhile<T, F>(
    work: impl Future<Output = Result<T>>,
    in_flight: &mut FuturesUnordered<F>,
    mut record: impl FnMut(Finished) -> Result<()>,
) -> Result<T>
where
    F: Future<Output = Finished>,
{
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            value = &mut work => return value,
            Some(finished) = in_flight.next(), if !in_flight.is_empty() => record(finished)?,
        }
    }
}

/// What the part loop knows about finished parts.
struct Tracker<'a> {
    done: &'a mut [Option<String>],
    /// Parts whose retries ran out on a transient failure, for another round.
    deferred: Vec<(usize, Error)>,
    /// Whether the rest and each part can still be sent before expiry (see super::expiry).
    expiry: ExpiryWatch,
    /// Parts in flight at once (adaptive unless fixed).
    level: Concurrency,
    /// Attempts that failed in a way that says the path is congested, not yet acted on.
    congestion: Arc<AtomicU64>,
    stragglers: Stragglers,
    /// The parts in flight, for a second copy.
    launched: HashMap<usize, Copy>,
}

impl Tracker<'_> {
    /// Registers the first copy of part `index`.
    fn launch(
        &mut self,
        index: usize,
        range: Range<u64>,
        body: PartBody,
        buffer: Option<Arc<BufferPermit>>,
    ) -> Copy {
        self.stragglers.started(index, range.end - range.start);
        let copy = Copy {
            index,
            range,
            body,
            accepted: CancellationToken::new(),
            _buffer: buffer,
            congestion: self.congestion.clone(),
        };
        self.launched.insert(index, copy.clone());
        copy
    }

    /// A second copy of part `index`, unless it ended meanwhile.
    fn copy_of(&self, index: usize) -> Option<Copy> {
        self.launched.get(&index).cloned()
    }

    /// Tells the concurrency about congested attempts since the last call.
    fn absorb_congestion(&mut self) {
        if self.congestion.swap(0, Ordering::Relaxed) > 0 {
            self.level.congested();
        }
    }

    /// Records a finished part: its id in the journal, then progress (a part shown as completed
    /// is a durable one); a failure is deferred if another round may fix it.
    fn record(
        &mut self,
        ctx: &UploadContext,
        watch: &ChangeWatch,
        (index, range, result): Finished,
        journal: &mut Option<JournalFile>,
    ) -> Result<()> {
        if self.done[index].is_some() {
            // The other copy of a part already accepted.
            return Ok(());
        }
        let part = match result {
            Ok(part) => part,
            Err(_) if self.stragglers.copy_failed(index) => return Ok(()),
            Err(e) => {
                self.launched.remove(&index);
                if e.is_retryable() {
                    self.level.congested();
                }
                let e = e.with_part(PartContext {
                    index,
                    range: range.clone(),
                });
                if !e.is_retryable() {
                    return Err(e);
                }
                self.deferred.push((index, e));
                return Ok(());
            }
        };
        if let Some(copy) = self.launched.remove(&index) {
            copy.accepted.cancel();
        }
        if let Some(elapsed) = self.stragglers.accepted(index) {
            self.level.accepted(range.end - range.start, elapsed);
        }
        self.done[index] = Some(part.id.clone());
        watch.check()?;
        if let Some(file) = journal.as_mut() {
            file.record_part(DonePart {
                index,
                id: part.id,
                start: range.start,
                end: range.end,
            })?;
        }
        // Counted only now: progress reports (also sent from in-flight parts' byte callbacks)
        // never show a part as completed before the journal holds it.
        ctx.counters().part_done(range.end - range.start);
        let on_time = self.expiry.check(ctx);
        ctx.counters().report();
        on_time
    }
}

async fn send_part(ctx: &UploadContext, copy: Copy, permit: OwnedSemaphorePermit) -> Finished {
    let part_sent = Arc::new(AtomicU64::new(0));
    let on_sent: SentCallback = {
        let (counters, part_sent) = (ctx.counters().clone(), part_sent.clone());
        Arc::new(move |n| {
            part_sent.fetch_add(n, Ordering::Relaxed);
            counters.sent(n);
        })
    };
    let rewind = || ctx.counters().rewind(part_sent.swap(0, Ordering::Relaxed));
    let on_retry = |_: &Error| {
        // Every retried failure (429, 5xx, timeout, drop) is a congestion signal.
        copy.congestion.fetch_add(1, Ordering::Relaxed);
        rewind();
    };
    let result = tokio::select! {
        result = ctx.client().add_part_with(
            ctx.upload_id(),
            &copy.body,
            ctx.gate(),
            ctx.input().run.part_retries,
            Some(on_sent),
            &on_retry,
        ) => result,
        // The other copy was accepted: this one is dropped (its request aborted).
        _ = copy.accepted.cancelled() => Err(Error::new(
            ErrorKind::Cancelled,
            "another copy of this part was accepted",
        )),
    };
    if result.is_err() {
        rewind();
    }
    // The budget's share goes back as soon as the part is over, before it is recorded.
    drop(permit);
    (copy.index, copy.range, result)
}
