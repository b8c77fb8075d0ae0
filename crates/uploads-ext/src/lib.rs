//! # uploads-ext: the OpenAI Uploads API, done properly
//!
//! Upload files of up to 8 GB to OpenAI in one call: parts are streamed from disk in parallel with
//! bounded memory, retried per the official SDKs' policy, checksummed with md5, cancelled on
//! failure (or kept for resume), and reported through one [`Error`] type.
//!
//! ```no_run
//! # async fn run() -> uploads_ext::Result<()> {
//! use uploads_ext::{Client, Purpose};
//!
//! let client = Client::from_env()?; // OPENAI_API_KEY, optional OPENAI_BASE_URL
//! let upload = client
//!     .upload_file("training.jsonl")
//!     .purpose(Purpose::FineTune)
//!     .concurrency(8)
//!     .on_progress(|p| eprintln!("{}/{} bytes", p.bytes_completed, p.bytes_total))
//!     .send()
//!     .await?;
//! println!("file id: {}", upload.file_id());
//! # Ok(()) }
//! ```
//!
//! The four operations are also available one by one ([`Client::create_upload`],
//! [`Client::add_upload_part`], [`Client::complete_upload`], [`Client::cancel_upload`]).
//!
//! ## Layout
//! - [`config`]: [`ClientBuilder`], environment defaults, default headers, the redacted [`ApiKey`].
//! - [`client`]: [`Client`] and the request builders.
//! - [`batch`]: many files (a list or a directory) in one call, sharing the client's budget.
//! - [`budget`]: what all uploads of a client share: parts in flight, the rate-limit pause.
//! - [`options`]: [`RequestOptions`] (timeout, retries, headers) for one request or a derived
//!   client ([`Client::with_options`]).
//! - [`upload`]: the chunked, parallel, resumable upload of a file, bytes or a reader.
//! - [`error`]: [`Error`], [`ErrorKind`], [`ApiError`].
//! - [`retry`]: which failures are retried and how long to wait.
//! - [`rt`]: the sleeping and wall-clock seams.
//! - [`part`]: [`PartBody`], the replayable bytes of one part.
//! - [`digest`]: the fast, portable md5 that `complete` takes, for step-by-step uploads.
//! - [`types`]: the API's objects ([`Upload`], [`UploadPart`], ...), `#[non_exhaustive]`, with
//!   open enums and `u64` sizes, so an additive change of the API is not a breaking release.
//!
//! ## Features
//! - `rustls` (default): TLS through rustls, no system OpenSSL needed.
//! - `native-tls`: the platform's TLS (OpenSSL, SChannel, Security.framework) instead
//!   (`default-features = false, features = ["native-tls"]`).
//!
//! - `http2`: HTTP/2 where the server offers it. Off by default: it would multiplex an upload's
//!   parallel parts over one TCP connection (one congestion window); HTTP/1.1 gives each its own.
//!
//! System proxy settings (`HTTPS_PROXY`, `NO_PROXY`, macOS/Windows settings) apply.
//!
//! ## Tracing
//! Each request runs in a `openai_uploads.request` span (operation, upload id, attempt) with events
//! for success (elapsed time) and failure (status, request id, error kind, retry delay). The API
//! key is never recorded.
#![deny(missing_docs)]

pub mod batch;
mod budget;
mod client;
mod digest;
mod error;
pub mod limits;
mod options;
mod part;
mod retry;
#[doc(hidden)]
pub mod rt;
mod timeout;
mod types;
pub mod upload;

pub use batch::{BatchBuilder, BatchHandle, BatchProgress, BatchSummary, FileOutcome, FileResult};
pub use client::{
    AddPartBuilder, ApiKey, CancelUploadBuilder, Client, ClientBuilder, CompleteUploadBuilder,
    CreateUploadBuilder,
};
pub use error::{ApiError, Cleanup, Error, ErrorKind, PartContext, RawResponse, Result};
pub use options::RequestOptions;
pub use part::{ByteStream, PartBody};
pub use retry::{RetryPolicy, RetryPolicyBuilder};
pub use timeout::format_duration;
pub use types::{
    FileObject, FilePurpose, FileStatus, OpenAiFile, Purpose, Upload, UploadObject, UploadPart,
    UploadPartObject, UploadStatus,
};
pub use upload::{CompletedUpload, FailurePolicy, Progress, UploadFileBuilder, UploadHandle};

/// Cancels an upload from outside (see [`UploadFileBuilder::cancel_token`]); re-exported from
/// `tokio-util` so that naming it needs no dependency of your own.
pub use tokio_util::sync::CancellationToken;

/// The HTTP types the API shows ([`Error::status`], [`RawResponse::headers`]), from the `http`
/// crate through `reqwest`: re-exported so that naming them needs no dependency of your own.
pub mod http {
    pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    pub use reqwest::StatusCode;
}

// Compiles the crate README's Rust examples as doc tests, so they cannot rot. (The repository
// README's are compiled by the openai-uploads-spec-tests crate: they are not in this package.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
