//! [`Client`]: every entry point of the SDK, each a one-liner over the files below it.
//!
//! - `builder.rs`: [`ClientBuilder`] and [`ApiKey`]; builds the [`Shared`] settings.
//! - `requests.rs`: the request builders of the four operations.
//! - `call.rs`: any generated operation through the client's pipeline ([`Client::call`]).
//! - `validate.rs`: create-request validation (also used by the upload's input).
//! - `execute.rs`: the request engine (attempts, per-attempt timeout, retry waits, the
//!   client-wide rate-limit pause).
//! - `shared.rs`: the client's settings and what its uploads share (parts budget, pause).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use openai_uploads_generated::apis::configuration::Configuration;
use openai_uploads_generated::apis::Error as GeneratedError;
use openai_uploads_generated::models::CompleteUploadRequest;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::options::{RedactedHeaders, RequestOptions};
use crate::part::{PartBody, SentCallback};
use crate::retry::{BackoffGate, RetryPolicy};
use crate::types::{Upload, UploadPart};

mod builder;
mod call;
mod execute;
mod requests;
mod shared;
mod validate;

pub use builder::{
    ApiKey, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use requests::{
    AddPartBuilder, CancelOutcome, CancelUploadBuilder, CompleteUploadBuilder, CreateUploadBuilder,
    ListFilesBuilder, RetrieveFileBuilder,
};
pub(crate) use shared::UploadShare;
pub(crate) use validate::CreateInput;
// For the upload's input, which validates the same fields before any request.
#[allow(unused_imports)]
pub(crate) use validate::{check_expires_after, check_upload_size};
pub use validate::{EXPIRES_AFTER_RANGE, MAX_UPLOAD_BYTES};

use execute::PartCall;
use shared::Shared;

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
    shared: Arc<Shared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.shared, f)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.config.base_path)
            .field("api_key", &"[REDACTED]")
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field(
                "default_headers",
                &RedactedHeaders(&self.config.default_headers),
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

    fn from_shared(shared: Shared) -> Client {
        Client {
            shared: Arc::new(shared),
        }
    }

    /// A client with other defaults (timeout, retries, more headers) that shares this one's
    /// connection pool, settings and budget; cheap (nothing is rebuilt). Headers are added to
    /// this client's (same name: replaced). An invalid header makes each request of the derived
    /// client fail with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
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
        Client::from_shared(self.shared.derived(options))
    }

    /// The base URL requests go to (without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.shared.config.base_path
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.retry
    }

    /// The client's budget of parts in flight across all its uploads
    /// ([`ClientBuilder::max_parts_in_flight`]).
    pub fn max_parts_in_flight(&self) -> usize {
        self.shared.uploads.budget().limit()
    }

    /// The client's budget of reader-part bytes held in memory
    /// ([`ClientBuilder::max_buffered_bytes`]).
    pub fn max_buffered_bytes(&self) -> u64 {
        self.shared.uploads.budget().buffer_limit()
    }

    /// The most bytes of reader parts this client has held in memory at once so far (never
    /// above [`max_buffered_bytes`](Self::max_buffered_bytes)).
    pub fn peak_buffered_bytes(&self) -> u64 {
        self.shared.uploads.budget().buffer_peak()
    }

    /// Parts of this client's uploads in flight right now (holding a share of the budget).
    pub fn parts_in_flight(&self) -> usize {
        self.shared.uploads.budget().in_use()
    }

    /// Starts `POST /uploads`. Required: filename, purpose, bytes, mime type.
    pub fn create_upload(&self) -> CreateUploadBuilder {
        CreateUploadBuilder {
            shared: self.shared.clone(),
            input: CreateInput::default(),
            options: RequestOptions::default(),
        }
    }

    /// Starts `POST /uploads/{upload_id}/parts` with the part's bytes.
    pub fn add_upload_part(&self, upload_id: &str, body: PartBody) -> AddPartBuilder {
        AddPartBuilder {
            shared: self.shared.clone(),
            upload_id: upload_id.to_owned(),
            body,
            options: RequestOptions::default(),
        }
    }

    /// Starts `POST /uploads/{upload_id}/complete`. Set the part ids in file order.
    pub fn complete_upload(&self, upload_id: &str) -> CompleteUploadBuilder {
        CompleteUploadBuilder {
            shared: self.shared.clone(),
            upload_id: upload_id.to_owned(),
            part_ids: Vec::new(),
            md5: None,
            options: RequestOptions::default(),
        }
    }

    /// Starts `POST /uploads/{upload_id}/cancel`.
    pub fn cancel_upload(&self, upload_id: &str) -> CancelUploadBuilder {
        CancelUploadBuilder {
            shared: self.shared.clone(),
            upload_id: upload_id.to_owned(),
            options: RequestOptions::default(),
        }
    }

    /// Calls any operation of the generated crate ([`crate::generated`]) through this client's
    /// pipeline, for an endpoint this SDK has no wrapper for yet (it appears in the generated
    /// crate the day the spec is regenerated). `attempt` is called once per attempt with a
    /// [`Configuration`](crate::generated::apis::configuration::Configuration) carrying the
    /// client's base URL, API key, default headers (organization, project, user agent, ...),
    /// extra query parameters and HTTP client; the attempts follow the client's retry policy and
    /// timeout, a 429 pauses every upload of the client, and the generated error is mapped into
    /// [`Error`] (status, API error envelope, request id, retry hints) as for the wrapped
    /// operations. `operation` names the call in errors and traces. For other options, call it
    /// on [`with_options`](Self::with_options); `extra_body` does not apply (the body is yours:
    /// request models have an `extra` map for fields they do not list).
    ///
    /// ```no_run
    /// # async fn run(client: uploads_ext::Client) -> uploads_ext::Result<()> {
    /// use uploads_ext::generated::apis::uploads_api;
    ///
    /// let upload = client
    ///     .call("cancel_upload", |config| async move {
    ///         let params = uploads_api::CancelUploadParams::new("upload_abc".to_owned());
    ///         uploads_api::cancel_upload(&config, params).await
    ///     })
    ///     .await?;
    /// println!("{}", upload.status);
    /// # Ok(()) }
    /// ```
    pub async fn call<T, E, F, Fut>(&self, operation: &'static str, attempt: F) -> Result<T>
    where
        F: FnMut(Configuration) -> Fut,
        Fut: Future<Output = std::result::Result<T, GeneratedError<E>>>,
        E: Serialize,
    {
        call::call_generated(&self.shared, operation, attempt).await
    }

    /// Starts `GET /files`: one page of the organisation's Files, newest first (see
    /// [`ListFilesBuilder`]).
    pub fn list_files(&self) -> ListFilesBuilder {
        ListFilesBuilder {
            shared: self.shared.clone(),
            params: openai_uploads_generated::apis::files_api::ListFilesParams::new(),
            options: RequestOptions::default(),
        }
    }

    /// Starts `GET /files/{file_id}`: one File.
    pub fn retrieve_file(&self, file_id: &str) -> RetrieveFileBuilder {
        RetrieveFileBuilder {
            shared: self.shared.clone(),
            file_id: file_id.to_owned(),
            options: RequestOptions::default(),
        }
    }

    /// What all uploads of this client share: the parts budget and the rate-limit pause.
    pub(crate) fn budget(&self) -> &UploadShare {
        &self.shared.uploads
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
        execute::send_part(&self.shared, upload_id, body, call).await
    }

    /// Sends `complete` and tells whether an earlier attempt's outcome was unknown (its answer
    /// lost or timed out), which makes a later "not pending" answer ambiguous.
    pub(crate) async fn complete_tracking(
        &self,
        upload_id: &str,
        request: CompleteUploadRequest,
        options: &RequestOptions,
    ) -> (Result<Upload>, bool) {
        execute::complete_tracking(&self.shared, upload_id, request, options).await
    }
}
