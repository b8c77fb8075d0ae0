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
//! [`Client::add_upload_part`], [`Client::complete_upload`], [`Client::cancel_upload`]), with the
//! two Files reads ([`Client::list_files`], [`Client::retrieve_file`]) and
//! [`Client::settle_upload`], which makes an unknown `complete` outcome definite.
//!
//! ## Layout
//! The public API is the crate root plus [`upload`], [`batch`], [`limits`] and [`http`]. The
//! modules read bottom-up; a module imports only modules listed before it (no import circles):
//! - `limits`: every limit and default, gathered from where each is enforced (nothing imports it).
//! - `error/`: [`Error`] (`mod.rs`), [`ErrorKind`] (`kind.rs`), [`ApiError`] (`api.rs`), the raw
//!   answer [`RawResponse`] and the headers read from it (`raw.rs`), decoding of responses and
//!   transport failures in one place (`convert.rs`), failures of a body's own source (`local.rs`).
//!   Imports nothing of the crate.
//! - `rt`: the sleeping and wall-clock seams (hidden: for tests). `types`: the API's objects.
//! - `retry/`: the one retry decision, a `RetryAction` (`classify.rs`: retry? after what the
//!   server asked? pause every upload of the client?), the [`RetryPolicy`] (`mod.rs`), the
//!   client-wide rate-limit pause (`gate.rs`). Imports `error` and `rt`.
//! - `budget`: the parts-in-flight permit pool. `extra_body`: the body fields of
//!   [`RequestOptions::extra_body`], merged into a request model. `options`: [`RequestOptions`]
//!   and header rules. `part`: [`PartBody`], the replayable bytes of one part. `timeout`: the
//!   per-attempt stall watch (no progress for `timeout`, bytes in transit at a floor rate) and
//!   [`format_duration`]. `digest`: the md5 uploads compute.
//! - `client/`: [`Client`] and its entry points (`mod.rs`), [`ClientBuilder`] and [`ApiKey`]
//!   (`builder.rs`), the request builders (`requests.rs`), create-request validation
//!   (`validate.rs`), the request engine (`execute.rs`), any generated operation through it
//!   (`call.rs`, [`Client::call`]), the client's settings and what its uploads share
//!   (`shared.rs`).
//! - [`upload`]: the chunked, parallel, resumable upload of a file, bytes or a reader.
//! - [`batch`]: many files (a list or a directory) in one call, sharing the client's budget.
//!
//! ## Foreign types in the API
//! A type of another crate appears in the public API only when it is the ecosystem's common
//! vocabulary, and then it is re-exported so that naming it needs no dependency of your own and
//! no version matching:
//! - `http` types through reqwest ([`http::StatusCode`], [`http::HeaderMap`]) for statuses and
//!   headers; `bytes::Bytes` (through `impl Into<Bytes>`) for bodies in memory; `tokio`'s
//!   `AsyncRead` for readers and `futures`' `Stream` in [`ByteStream`]; [`CancellationToken`]
//!   (`tokio-util`) to cancel.
//! - `serde_json` values ([`json`]) for the escape hatches: [`RequestOptions::extra_body`] and
//!   the `extra` map of unknown fields on each response type.
//! - The generated crate ([`generated`]), for [`Client::call`] only: the wrapped operations never
//!   show its types (its errors are mapped into [`Error`]).
//! - Never in the API: `reqwest::Client`'s request and error types (errors are mapped into
//!   [`Error`], whose `source()` may hold one but is typed `dyn Error`), the md5 implementation.
//! - The one exception is [`ClientBuilder::http_client`], which takes a `reqwest::Client` so you
//!   can configure proxies and TLS yourself; it follows this crate's reqwest major version.
//! - Upgrading one of these crates to an incompatible major version is a breaking release of
//!   this crate. The rest is checked by `cargo semver-checks`: the `semver` job of
//!   `.github/workflows/ci.yml` against a pull request's base commit, and `.ci/run`'s spec tests
//!   on a synthetic additive upstream change (this crate and the generated one, regenerated,
//!   against the committed ones).
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
mod extra_body;
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
    AddPartBuilder, ApiKey, CancelOutcome, CancelUploadBuilder, Client, ClientBuilder,
    CompleteUploadBuilder, CreateUploadBuilder, ListFilesBuilder, RetrieveFileBuilder,
};
pub use error::{ApiError, Cleanup, Error, ErrorKind, PartContext, RawResponse, Result};
pub use options::RequestOptions;
pub use part::{ByteStream, PartBody};
pub use retry::{RetryPolicy, RetryPolicyBuilder};
pub use timeout::format_duration;
pub use types::{
    FileList, FileObject, FilePurpose, FileStatus, OpenAiFile, Purpose, Upload, UploadObject,
    UploadPart, UploadPartObject, UploadStatus,
};
pub use upload::{
    Aborted, CompletedUpload, FailurePolicy, Progress, ResumeUploadBuilder, SettleRequest,
    Settlement, UploadFileBuilder, UploadHandle,
};

/// The generated crate (`openai-uploads-generated`) this SDK is built on, re-exported for
/// [`Client::call`]: its `apis` hold every operation of the spec (each taking one `*Params`
/// struct), its `models` the request and response types. It follows the spec: an operation
/// upstream adds appears here when the spec is regenerated, before any wrapper.
pub use openai_uploads_generated as generated;

/// `serde_json`, re-exported for [`RequestOptions::extra_body`] and the `extra` maps of the
/// response types (unknown fields, kept by name), so that naming them needs no dependency of your
/// own and no version matching.
pub use serde_json as json;

/// Cancels an upload from outside (see [`UploadFileBuilder::cancellation_token`]); re-exported from
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
