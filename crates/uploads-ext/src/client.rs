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

use crate::config::ClientBuilder;
use crate::error::{Error, ErrorKind, Result};
use crate::options::{RedactedHeaders, RequestOptions};
use crate::part::{PartBody, SentCallback};
use crate::retry::{BackoffGate, RetryPolicy, Sleep};
use crate::timeout::{without_progress_for, ProgressSignal};
use crate::types::{Purpose, Upload, UploadPart};

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

    /// Sends a part of a chunked upload, sharing `gate` (an upload-wide rate-limit pause),
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
            uploads_api::add_upload_part(config, upload_id, part)
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
        let gate = BackoffGate::default();
        let progress = ProgressSignal::new();
        let call = Call {
            operation: "complete_upload",
            upload_id: Some(upload_id),
            prepared: &prepared,
            gate: &gate,
            retries: None,
            progress: &progress,
            on_retry: &on_retry,
        };
        let result = self
            .execute(call, || {
                let request = request.clone();
                async move {
                    uploads_api::complete_upload(config, upload_id, request)
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

/// `.options(...)` and its shortcuts on a request builder with an `options` field.
macro_rules! request_options {
    ($builder:ty) => {
        impl $builder {
            /// Overrides the client's timeout, retries or headers for this request.
            pub fn options(mut self, options: RequestOptions) -> Self {
                self.options = options.merged_over(&self.options);
                self
            }

            /// Longest time without progress for each attempt (see [`RequestOptions::timeout`]).
            pub fn timeout(mut self, timeout: Duration) -> Self {
                self.options = self.options.timeout(timeout);
                self
            }

            /// Retries for this request (see [`RequestOptions::max_retries`]).
            pub fn max_retries(mut self, retries: u32) -> Self {
                self.options = self.options.max_retries(retries);
                self
            }

            /// A header sent with this request (see [`RequestOptions::header`]).
            pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
                self.options = self.options.header(name, value);
                self
            }
        }
    };
}

/// Builder of `POST /uploads`; see [`Client::create_upload`]. Await it or call [`send`](Self::send).
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct CreateUploadBuilder {
    client: Client,
    filename: Option<String>,
    purpose: Option<Purpose>,
    bytes: Option<u64>,
    mime_type: Option<String>,
    expires_after: Option<Duration>,
    options: RequestOptions,
}

impl CreateUploadBuilder {
    /// The name the File will have (required, non-empty).
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }

    /// What the file is for (required).
    pub fn purpose(mut self, purpose: impl Into<Purpose>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// The exact total size in bytes (required, 1 to 8 GiB).
    pub fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = Some(bytes);
        self
    }

    /// The file's MIME type (required); it must suit the purpose.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// When the created File expires, counted from its creation (1 hour to 30 days).
    pub fn expires_after(mut self, after: Duration) -> Self {
        self.expires_after = Some(after);
        self
    }

    /// Validates every field, then sends the request.
    pub async fn send(self) -> Result<Upload> {
        let (request, prepared) = self
            .validate()
            .and_then(|r| Ok((r, self.client.prepare(&self.options)?)))
            .map_err(|e| e.with_operation("create_upload"))?;
        let config = &*prepared.config;
        let (gate, progress) = (BackoffGate::default(), ProgressSignal::new());
        let call = Call::plain("create_upload", None, &prepared, &gate, &progress);
        self.client
            .execute(call, || {
                let request = request.clone();
                async move {
                    uploads_api::create_upload(config, request)
                        .await
                        .map_err(Error::from_generated)
                }
            })
            .await
    }

    fn validate(&self) -> Result<CreateUploadRequest> {
        let filename = self
            .filename
            .clone()
            .ok_or_else(|| Error::invalid_input("filename is required"))?;
        if filename.trim().is_empty() {
            return Err(Error::invalid_input("filename must not be empty"));
        }
        let purpose = self
            .purpose
            .clone()
            .ok_or_else(|| Error::invalid_input("purpose is required"))?;
        if purpose.as_str().is_empty() {
            return Err(Error::invalid_input("purpose must not be empty"));
        }
        let bytes = self
            .bytes
            .ok_or_else(|| Error::invalid_input("bytes (the total size) is required"))?;
        check_upload_size(bytes)?;
        let mime_type = self
            .mime_type
            .clone()
            .ok_or_else(|| Error::invalid_input("mime_type is required"))?;
        if mime_type.parse::<mime_guess::mime::Mime>().is_err() {
            return Err(Error::invalid_input(format!(
                "invalid mime_type {mime_type:?}"
            )));
        }
        let mut request = CreateUploadRequest::new(filename, purpose, bytes, mime_type);
        if let Some(after) = self.expires_after {
            if !EXPIRES_AFTER_RANGE.contains(&after) {
                return Err(Error::invalid_input(format!(
                    "expires_after must be between 1 hour and 30 days, got {after:?}"
                )));
            }
            request.expires_after = Some(FileExpirationAfter::new(
                file_expiration_after::Anchor::CreatedAt,
                after.as_secs(),
            ));
        }
        Ok(request)
    }
}

/// Checks a total upload size against the API's limits.
pub(crate) fn check_upload_size(bytes: u64) -> Result<()> {
    if bytes == 0 {
        return Err(Error::invalid_input("an upload must have at least 1 byte"));
    }
    if bytes > MAX_UPLOAD_BYTES {
        return Err(Error::invalid_input(format!(
            "an upload may hold at most {MAX_UPLOAD_BYTES} bytes (8 GiB), got {bytes}"
        )));
    }
    Ok(())
}

/// Builder of `POST /uploads/{id}/parts`; see [`Client::add_upload_part`].
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct AddPartBuilder {
    client: Client,
    upload_id: String,
    body: PartBody,
    options: RequestOptions,
}

impl AddPartBuilder {
    /// Sends the part (retried per the client's policy, re-sending the same bytes).
    pub async fn send(self) -> Result<UploadPart> {
        let gate = BackoffGate::default();
        let call = PartCall {
            gate: &gate,
            retries: None,
            on_sent: None,
            on_retry: &no_retry_hook,
            options: &self.options,
        };
        self.client
            .send_part(&self.upload_id, &self.body, call)
            .await
    }
}

/// Builder of `POST /uploads/{id}/complete`; see [`Client::complete_upload`].
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct CompleteUploadBuilder {
    client: Client,
    upload_id: String,
    part_ids: Vec<String>,
    md5: Option<String>,
    options: RequestOptions,
}

impl CompleteUploadBuilder {
    /// The part ids in the order their bytes form the file (required, non-empty).
    pub fn part_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.part_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The md5 of the whole content, checked by the API (see [`crate::MD5_ENCODING`]).
    pub fn md5(mut self, md5: impl Into<String>) -> Self {
        self.md5 = Some(md5.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Upload> {
        if self.part_ids.is_empty() {
            return Err(Error::invalid_input("part_ids must list at least one part")
                .with_operation("complete_upload"));
        }
        let mut request = CompleteUploadRequest::new(self.part_ids);
        request.md5 = self.md5;
        self.client
            .complete_tracking(&self.upload_id, request, &self.options)
            .await
            .0
    }
}

/// Builder of `POST /uploads/{id}/cancel`; see [`Client::cancel_upload`].
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct CancelUploadBuilder {
    client: Client,
    upload_id: String,
    options: RequestOptions,
}

impl CancelUploadBuilder {
    /// Sends the request.
    pub async fn send(self) -> Result<Upload> {
        if self.upload_id.trim().is_empty() {
            return Err(Error::invalid_input("the upload id must not be empty")
                .with_operation("cancel_upload"));
        }
        let prepared = self
            .client
            .prepare(&self.options)
            .map_err(|e| e.with_operation("cancel_upload"))?;
        let config = &*prepared.config;
        let (gate, progress) = (BackoffGate::default(), ProgressSignal::new());
        let id = self.upload_id.as_str();
        let call = Call::plain("cancel_upload", Some(id), &prepared, &gate, &progress);
        self.client
            .execute(call, || async move {
                uploads_api::cancel_upload(config, id)
                    .await
                    .map_err(Error::from_generated)
            })
            .await
    }
}

macro_rules! into_future {
    ($builder:ty => $output:ty) => {
        impl IntoFuture for $builder {
            type Output = Result<$output>;
            type IntoFuture = Pin<Box<dyn Future<Output = Result<$output>> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

request_options!(CreateUploadBuilder);
request_options!(AddPartBuilder);
request_options!(CompleteUploadBuilder);
request_options!(CancelUploadBuilder);

into_future!(CreateUploadBuilder => Upload);
into_future!(AddPartBuilder => UploadPart);
into_future!(CompleteUploadBuilder => Upload);
into_future!(CancelUploadBuilder => Upload);
