//! The request engine: runs one operation's attempts under the per-attempt timeout, asks
//! [`classify`] after each failure, and waits (alone, or with every upload of the client on a
//! rate limit) before the next. Every request of the SDK goes through [`execute`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use openai_uploads_generated::apis::uploads_api;
use openai_uploads_generated::models::CompleteUploadRequest;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::part::{PartBody, SentCallback};
use crate::retry::{classify, BackoffGate, RetryAction};
use crate::timeout::{without_progress_for, ProgressSignal};
use crate::types::{Upload, UploadPart};

use super::shared::{Prepared, Shared};

/// What [`execute`] needs to know about one operation besides its attempt.
pub(crate) struct Call<'a> {
    pub(crate) operation: &'static str,
    pub(crate) upload_id: Option<&'a str>,
    pub(crate) prepared: &'a Prepared<'a>,
    pub(crate) gate: &'a BackoffGate,
    /// Retries after the first attempt; `None`: the prepared policy's.
    pub(crate) retries: Option<u32>,
    /// Restarted by each attempt; the timeout bounds the time without progress.
    pub(crate) progress: &'a ProgressSignal,
    /// Told about each failure that is about to be retried.
    pub(crate) on_retry: &'a (dyn Fn(&Error) + Send + Sync),
}

impl<'a> Call<'a> {
    /// A call with the prepared policy's retries and no hooks.
    pub(crate) fn plain(
        operation: &'static str,
        upload_id: Option<&'a str>,
        prepared: &'a Prepared<'a>,
        gate: &'a BackoffGate,
        progress: &'a ProgressSignal,
    ) -> Call<'a> {
        Call {
            operation,
            upload_id,
            prepared,
            gate,
            retries: None,
            progress,
            on_retry: &no_retry_hook,
        }
    }
}

/// How one part is sent: see [`send_part`].
pub(crate) struct PartCall<'a> {
    pub(crate) gate: &'a BackoffGate,
    pub(crate) retries: Option<u32>,
    pub(crate) on_sent: Option<SentCallback>,
    pub(crate) on_retry: &'a (dyn Fn(&Error) + Send + Sync),
    pub(crate) options: &'a RequestOptions,
}

pub(crate) fn no_retry_hook(_: &Error) {}

/// Sends a part, reporting each piece the connection takes (progress for the stall watch, and
/// the caller's counter).
pub(crate) async fn send_part(
    shared: &Shared,
    upload_id: &str,
    body: &PartBody,
    call: PartCall<'_>,
) -> Result<UploadPart> {
    let prepared = shared
        .prepare(call.options)
        .and_then(|p| body.validate().map(|()| p))
        .map_err(|e| e.with_operation("add_upload_part"))?;
    let config = &*prepared.config;
    let progress = ProgressSignal::for_body(body.len());
    let on_sent: SentCallback = {
        let (progress, user) = (progress.clone(), call.on_sent);
        Arc::new(move |n| {
            progress.advance(n);
            if let Some(cb) = &user {
                cb(n);
            }
        })
    };
    let run = Call {
        operation: "add_upload_part",
        upload_id: Some(upload_id),
        prepared: &prepared,
        gate: call.gate,
        retries: call.retries,
        progress: &progress,
        on_retry: call.on_retry,
    };
    execute(shared, run, || async {
        let part = body.to_multipart(Some(on_sent.clone())).await?;
        uploads_api::add_upload_part(
            config,
            uploads_api::AddUploadPartParams::new(upload_id.to_owned(), part),
        )
        .await
        .map_err(Error::from_generated)
    })
    .await
}

/// Sends `complete` and tells whether an earlier attempt's outcome was unknown (its answer
/// lost or timed out), which makes a later "not pending" answer ambiguous.
pub(crate) async fn complete_tracking(
    shared: &Shared,
    upload_id: &str,
    request: CompleteUploadRequest,
    options: &RequestOptions,
) -> (Result<Upload>, bool) {
    let prepared = shared.prepare(options).and_then(|p| {
        let request = p.extra_body.apply("complete_upload", request)?;
        Ok((p, request))
    });
    let (prepared, request) = match prepared {
        Ok(p) => p,
        Err(e) => return (Err(e.with_operation("complete_upload")), false),
    };
    let unknown = AtomicBool::new(false);
    let on_retry = |e: &Error| {
        if e.outcome_unknown() {
            unknown.store(true, Ordering::Relaxed);
        }
    };
    let config = &*prepared.config;
    let progress = ProgressSignal::new();
    let call = Call {
        operation: "complete_upload",
        upload_id: Some(upload_id),
        prepared: &prepared,
        gate: shared.uploads.gate(),
        retries: None,
        progress: &progress,
        on_retry: &on_retry,
    };
    let result = execute(shared, call, || {
        let request = request.clone();
        async move {
            uploads_api::complete_upload(
                config,
                uploads_api::CompleteUploadParams::new(upload_id.to_owned(), request),
            )
            .await
            .map_err(Error::from_generated)
        }
    })
    .await;
    (result, unknown.load(Ordering::Relaxed))
}

/// Runs one operation with retries. `attempt` is called once per attempt.
pub(crate) async fn execute<T, F, Fut>(shared: &Shared, call: Call<'_>, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let Call {
        operation,
        upload_id,
        prepared,
        gate,
        retries,
        progress,
        on_retry,
    } = call;
    let policy = &prepared.retry;
    let retries = retries.unwrap_or(policy.max_retries);
    let sleeper = shared.sleeper();
    let mut number = 0u32;
    loop {
        number += 1;
        gate.wait(sleeper).await;
        let span = tracing::debug_span!(
            "openai_uploads.request",
            operation,
            upload_id = upload_id.unwrap_or(""),
            attempt = number,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let started = Instant::now();
        let outcome = without_progress_for(prepared.timeout, progress, attempt())
            .instrument(span.clone())
            .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let err = match outcome {
            Ok(value) => {
                tracing::debug!(parent: &span, elapsed_ms, "request succeeded");
                return Ok(value);
            }
            Err(err) => err.with_operation(operation),
        };
        let err = match upload_id {
            Some(id) => err.with_upload_id(id),
            None => err,
        };
        let status = err.status().map(|s| s.as_u16()).unwrap_or(0);
        let request_id = err.request_id().unwrap_or("");
        let (server_delay, pause_client) = match classify(&err) {
            RetryAction::Retry {
                server_delay,
                pause_client,
            } if number <= retries => (server_delay, pause_client),
            _ => {
                // The caller receives this error; debug level keeps it from being printed twice.
                tracing::debug!(parent: &span, status, request_id, elapsed_ms, kind = ?err.kind(),
                    "request failed: {err}");
                return Err(err.with_attempts(number));
            }
        };
        let delay = policy.delay(number, server_delay);
        tracing::info!(parent: &span, status, request_id, elapsed_ms, kind = ?err.kind(),
            delay_ms = delay.as_millis() as u64, "request failed, retrying: {err}");
        on_retry(&err);
        if pause_client {
            // Everyone sharing the gate pauses, not only this request.
            gate.defer(delay, sleeper);
        } else {
            sleeper.sleep(delay).await;
        }
    }
}
