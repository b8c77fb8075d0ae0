//! [`Client`] and the request builders of the four Uploads operations.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openai_uploads_generated::apis::configuration::Configuration;
use openai_uploads_generated::apis::uploads_api;
use openai_uploads_generated::models::{
    file_expiration_after, CompleteUploadRequest, CreateUploadRequest, FileExpirationAfter,
};
use tracing::Instrument;

use crate::budget::Budget;
use crate::config::ClientBuilder;
use crate::error::{Error, ErrorKind, Result};
use crate::options::{RedactedHeaders, RequestOptions};
use crate::part::{PartBody, SentCallback};
use crate::retry::{BackoffGate, RetryPolicy, Sleep};
use crate::timeout::{without_progress_for, ProgressSignal};
use crate::types::{Purpose, Upload, UploadPart};

mod builders;
pub use builders::{
    AddPartBuilder, CancelUploadBuilder, CompleteUploadBuilder, CreateUploadBuilder,
};

/// The most bytes one upload may hold (8 GiB).
pub const MAX_UPLOAD_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// Bounds of `expires_after` accepted by the API: 1 hour to 30 days.
pub const EXPIRES_AFTER_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(3600)..=Duration::from_secs(2_592_000);

/// A client of the OpenAI Uploads API. Cheap to clone (shares its connection pool), as is a
/// client derived with other defaults ([`with_options`](Self::with_options)).
///
/// ```no_run
/// # async fn run() -> uploads_ext::Result<()> {
/// use uploads_ext::{Client, PartBody, Purpose};
///
/// let client = Client::from_env()?; // OPENAI_API_KEY, OPENAI_BASE_URL, ...
/// let upload = client
///     .create_upload()
///     .filename("train.jsonl")
///     .purpose(Purpose::FineTune)
///     .bytes(11)
///     .mime_type("text/jsonl")
///     .send()
///     .await?;
/// let part = client.add_upload_part(&upload.id, PartBody::bytes("hello world")).await?;
/// let done = client.complete_upload(&upload.id).part_ids([part.id]).await?;
/// println!("file {}", done.file.map(|f| f.id).unwrap_or_default());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: Configuration,
    retry: RetryPolicy,
    timeout: Duration,
    sleep: Arc<dyn Sleep>,
    organization: Option<String>,
    project: Option<String>,
    /// An invalid header given to [`Client::with_options`]: every request fails with it.
    invalid_header: Option<String>,
    /// Shared by every upload of this client and of clients derived from it.
    budget: Arc<Budget>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.config.base_path)
            .field("api_key", &"[REDACTED]")
            .field("organization", &self.inner.organization)
            .field("project", &self.inner.project)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .field(
                "default_headers",
                &RedactedHeaders(&self.inner.config.default_headers),
            )
            .finish()
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`] for settings and environment defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured entirely from the environment (`OPENAI_API_KEY`, ...).
    pub fn from_env() -> Result<Client> {
        ClientBuilder::new().build()
    }

    pub(crate) fn from_parts(
        config: Configuration,
        retry: RetryPolicy,
        timeout: Duration,
        sleep: Arc<dyn Sleep>,
        organization: Option<String>,
        project: Option<String>,
        budget: Budget,
    ) -> Client {
        Client {
            inner: Arc::new(ClientInner {
                config,
                retry,
                timeout,
                sleep,
                organization,
                project,
                invalid_header: None,
                budget: Arc::new(budget),
            }),
        }
    }

    /// A client with other defaults (timeout, retries, more headers) that shares this one's
    /// connection pool and settings; cheap (nothing is rebuilt). Headers are added to this
    /// client's (same name: replaced). An invalid header makes each request of the derived client
    /// fail with [`ErrorKind::InvalidInput`].
    ///
    /// ```no_run
    /// # fn run(client: uploads_ext::Client) {
    /// use std::time::Duration;
    /// use uploads_ext::RequestOptions;
    ///
    /// let patient = client.with_options(
    ///     RequestOptions::new().timeout(Duration::from_secs(1800)).max_retries(5),
    /// );
    /// # }
    /// ```
    pub fn with_options(&self, options: RequestOptions) -> Client {
        let inner = &self.inner;
        let Prepared {
            config,
            retry,
            timeout,
        } = self.overridden(&options);
        Client {
            inner: Arc::new(ClientInner {
                config: config.into_owned(),
                retry,
                timeout,
                sleep: inner.sleep.clone(),
                organization: inner.organization.clone(),
                project: inner.project.clone(),
                invalid_header: inner.invalid_header.clone().or(options.invalid),
                budget: inner.budget.clone(),
            }),
        }
    }

    /// The configuration, retry policy and timeout of one request: the client's, with `options`
    /// over them; fails on an invalid header.
    pub(crate) fn prepare(&self, options: &RequestOptions) -> Result<Prepared<'_>> {
        if let Some(message) = &self.inner.invalid_header {
            return Err(Error::invalid_input(message.clone()));
        }
        options.check()?;
        Ok(self.overridden(options))
    }

    /// The client's settings with `options` over them. Borrows the client's configuration
    /// unless headers are added.
    fn overridden(&self, options: &RequestOptions) -> Prepared<'_> {
        let inner = &self.inner;
        let config = if options.headers.is_empty() {
            Cow::Borrowed(&inner.config)
        } else {
            let mut config = inner.config.clone();
            for (name, value) in &options.headers {
                config.default_headers.insert(name.clone(), value.clone());
            }
            if options.headers.contains_key(reqwest::header::AUTHORIZATION) {
                // The caller's Authorization replaces the key's (sent once, not twice).
                config.bearer_access_token = None;
            }
            Cow::Owned(config)
        };
        let mut retry = inner.retry.clone();
        if let Some(retries) = options.max_retries {
            retry.max_retries = retries;
        }
        Prepared {
            config,
            retry,
            timeout: options.timeout.unwrap_or(inner.timeout),
        }
    }

    /// The base URL requests go to (without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.config.base_path
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    pub(crate) fn sleeper(&self) -> &dyn Sleep {
        &*self.inner.sleep
    }

    /// The part budget and rate-limit gate all uploads of this client share.
    pub(crate) fn budget(&self) -> &Budget {
        &self.inner.budget
    }

    /// Starts `POST /uploads`. Required: filename, purpose, bytes, mime type.
    pub fn create_upload(&self) -> CreateUploadBuilder {
        CreateUploadBuilder {
            client: self.clone(),
            filename: None,
            purpose: None,
            bytes: None,
            mime_type: None,
            expires_after: None,
            options: RequestOptions::default(),
        }
    }

    /// Starts `POST /uploads/{upload_id}/parts` with the part's bytes.
    pub fn add_upload_part(&self, upload_id: &str, body: PartBody) -> AddPartBuilder {
        AddPartBuilder {
            client: self.clone(),
            upload_id: upload_id.to_owned(),
            body,
            options: RequestOptions::default(),
        }
    }

    /// Starts `POST /uploads/{upload_id}/complete`. Set the part ids in file order.
    pub fn complete_upload(&self, upload_id: &str) -> CompleteUploadBuilder {
        CompleteUploadBuilder {
            client: self.clone(),
            upload_id: upload_id.to_owned(),
            part_ids: Vec::new(),
            md5: None,
            options: RequestOptions::default(),
        }
    }

    /// Starts `POST /uploads/{upload_id}/cancel`.
    pub fn cancel_upload(&self, upload_id: &str) -> CancelUploadBuilder {
        CancelUploadBuilder {
            client: self.clone(),
            upload_id: upload_id.to_owned(),
            options: RequestOptions::default(),
        }
    }

    /// Sends a part of a chunked upload, sharing `gate` (the client-wide rate-limit pause),
    /// reporting sent bytes, with its own retry budget (`retries`).
    pub(crate) async fn add_part_with(
        &self,
        upload_id: &str,
        body: &PartBody,
        gate: &BackoffGate,
        retries: u32,
        on_sent: Option<SentCallback>,
        on_retry: &(dyn Fn(&Error) + Send + Sync),
    ) -> Result<UploadPart> {
        let call = PartCall {
            gate,
            retries: Some(retries),
            on_sent,
            on_retry,
            options: &RequestOptions::default(),
        };
        self.send_part(upload_id, body, call).await
    }

    async fn send_part(
        &self,
        upload_id: &str,
        body: &PartBody,
        call: PartCall<'_>,
    ) -> Result<UploadPart> {
        let prepared = self
            .prepare(call.options)
            .and_then(|p| body.validate().map(|()| p))
            .map_err(|e| e.with_operation("add_upload_part"))?;
        let config = &*prepared.config;
        let progress = ProgressSignal::new();
        // Each chunk the connection takes is progress; the caller's counter sees it too.
        let on_sent: SentCallback = {
            let (progress, user) = (progress.clone(), call.on_sent);
            Arc::new(move |n| {
                progress.touch();
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
        self.execute(run, || async {
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
        &self,
        upload_id: &str,
        request: CompleteUploadRequest,
        options: &RequestOptions,
    ) -> (Result<Upload>, bool) {
        let prepared = match self.prepare(options) {
            Ok(p) => p,
            Err(e) => return (Err(e.with_operation("complete_upload")), false),
        };
        let unknown = std::sync::atomic::AtomicBool::new(false);
        let on_retry = |e: &Error| {
            if e.outcome_unknown() {
                unknown.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let config = &*prepared.config;
        let gate = self.budget().gate();
        let progress = ProgressSignal::new();
        let call = Call {
            operation: "complete_upload",
            upload_id: Some(upload_id),
            prepared: &prepared,
            gate,
            retries: None,
            progress: &progress,
            on_retry: &on_retry,
        };
        let result = self
            .execute(call, || {
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
        (result, unknown.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Runs one operation with retries. `attempt` is called once per attempt.
    async fn execute<T, F, Fut>(&self, call: Call<'_>, mut attempt: F) -> Result<T>
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
        let timeout = prepared.timeout;
        let mut number = 0u32;
        loop {
            number += 1;
            gate.wait(self.sleeper()).await;
            let span = tracing::debug_span!(
                "openai_uploads.request",
                operation,
                upload_id = upload_id.unwrap_or(""),
                attempt = number,
                status = tracing::field::Empty,
                request_id = tracing::field::Empty,
            );
            let started = Instant::now();
            let outcome = without_progress_for(timeout, progress, attempt())
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
            if number > retries || !err.is_retryable() {
                // The caller receives this error; debug level keeps it from being printed twice.
                tracing::debug!(parent: &span, status, request_id, elapsed_ms, kind = ?err.kind(),
                    "request failed: {err}");
                return Err(err.with_attempts(number));
            }
            let delay = policy.delay(number, err.retry_after());
            tracing::info!(parent: &span, status, request_id, elapsed_ms, kind = ?err.kind(),
                delay_ms = delay.as_millis() as u64, "request failed, retrying: {err}");
            on_retry(&err);
            if err.kind() == ErrorKind::RateLimited {
                // Everyone sharing the gate pauses, not only this request.
                gate.defer(delay, self.sleeper());
            } else {
                self.sleeper().sleep(delay).await;
            }
        }
    }
}

/// What [`Client::execute`] needs to know about one operation besides its attempt.
struct Call<'a> {
    operation: &'static str,
    upload_id: Option<&'a str>,
    prepared: &'a Prepared<'a>,
    gate: &'a BackoffGate,
    /// Retries after the first attempt; `None`: the prepared policy's.
    retries: Option<u32>,
    /// Restarted by each attempt; the timeout bounds the time without progress.
    progress: &'a ProgressSignal,
    /// Told about each failure that is about to be retried.
    on_retry: &'a (dyn Fn(&Error) + Send + Sync),
}

impl<'a> Call<'a> {
    /// A call with the prepared policy's retries and no hooks.
    fn plain(
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

/// How one part is sent: see [`Client::add_part_with`].
struct PartCall<'a> {
    gate: &'a BackoffGate,
    retries: Option<u32>,
    on_sent: Option<SentCallback>,
    on_retry: &'a (dyn Fn(&Error) + Send + Sync),
    options: &'a RequestOptions,
}

fn no_retry_hook(_: &Error) {}

/// What one request runs with; see [`Client::prepare`].
pub(crate) struct Prepared<'a> {
    config: Cow<'a, Configuration>,
    retry: RetryPolicy,
    timeout: Duration,
}
