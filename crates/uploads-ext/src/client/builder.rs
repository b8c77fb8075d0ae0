//! [`ClientBuilder`] (settings, environment defaults, default headers) and the redacted [`ApiKey`].
//!
//! Builds the client's [`Shared`] settings and hands them to [`Client`], its parent module: a
//! builder's one reach upward.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use openai_uploads_generated::apis::configuration::Configuration;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::options::{add_header, RedactedHeaders};
use crate::retry::RetryPolicy;
use crate::rt::{Sleep, TokioSleep};

use super::shared::{Shared, UploadShare};
use super::Client;

/// Base URL used when neither [`ClientBuilder::base_url`] nor `OPENAI_BASE_URL` is set.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Default time allowed to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest time a request may go without progress (connecting, between body writes,
/// waiting for the answer); a slow but moving upload is never cut off.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The user agent this crate sends unless told otherwise.
pub(crate) const USER_AGENT: &str = concat!(
    env!("CARGO_PKG_NAME"),
    "/",
    env!("CARGO_PKG_VERSION"),
    " (openai-uploads; rust)"
);

/// An API key. Its value never appears in `Debug`, `Display`, errors or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for sending it. Avoid printing it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey(key.to_owned())
    }
}

/// Builds a [`Client`]. Unset fields fall back to the environment, then to defaults:
///
/// | setting | environment | default |
/// |---|---|---|
/// | [`api_key`](Self::api_key) | `OPENAI_API_KEY` | none: [`build`](Self::build) fails |
/// | [`base_url`](Self::base_url) | `OPENAI_BASE_URL` | [`DEFAULT_BASE_URL`] |
/// | [`organization`](Self::organization) | `OPENAI_ORG_ID` | not sent |
/// | [`project`](Self::project) | `OPENAI_PROJECT_ID` | not sent |
/// | [`timeout`](Self::timeout) | | [`DEFAULT_TIMEOUT`] |
/// | [`connect_timeout`](Self::connect_timeout) | | [`DEFAULT_CONNECT_TIMEOUT`] |
/// | [`max_retries`](Self::max_retries) | | [`DEFAULT_MAX_RETRIES`](crate::limits::DEFAULT_MAX_RETRIES) |
/// | [`default_header`](Self::default_header) | | none |
/// | [`max_parts_in_flight`](Self::max_parts_in_flight) | | [`DEFAULT_MAX_PARTS_IN_FLIGHT`](crate::limits::DEFAULT_MAX_PARTS_IN_FLIGHT) |
/// | [`max_buffered_bytes`](Self::max_buffered_bytes) | | [`DEFAULT_MAX_BUFFERED_BYTES`](crate::limits::DEFAULT_MAX_BUFFERED_BYTES) |
#[derive(Clone, Default)]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    organization: Option<String>,
    project: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    user_agent: Option<String>,
    default_headers: HeaderMap,
    invalid_header: Option<String>,
    http_client: Option<reqwest::Client>,
    sleep: Option<Arc<dyn Sleep>>,
    ignore_env: bool,
    max_parts_in_flight: Option<usize>,
    max_buffered_bytes: Option<u64>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field(
                "base_url",
                &self.base_url.as_deref().map(without_credentials),
            )
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("default_headers", &RedactedHeaders(&self.default_headers))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with nothing set (environment defaults apply at [`build`](Self::build)).
    pub fn new() -> Self {
        Self::default()
    }

    /// The API key (default: `OPENAI_API_KEY`).
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The API base URL including `/v1` (default: `OPENAI_BASE_URL`, else [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sent as `OpenAI-Organization` (default: `OPENAI_ORG_ID`).
    pub fn organization(mut self, org: impl Into<String>) -> Self {
        self.organization = Some(org.into());
        self
    }

    /// Sent as `OpenAI-Project` (default: `OPENAI_PROJECT_ID`).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Longest time an attempt may go without progress: connecting, between body pieces taken
    /// by the connection (64 KiB, [`PROGRESS_PIECE`](crate::limits::PROGRESS_PIECE)), or
    /// waiting for the answer (default [`DEFAULT_TIMEOUT`]). It does not bound a whole attempt,
    /// so a large part on a slow link is never cut off while bytes keep moving. Once a part's
    /// body is handed over, its bytes may still sit in buffers on the way: the answer is then
    /// waited for this long plus the time those bytes (at most
    /// [`MAX_BYTES_IN_TRANSIT`](crate::limits::MAX_BYTES_IN_TRANSIT)) need at
    /// [`STALL_FLOOR_BYTES_PER_SEC`](crate::limits::STALL_FLOOR_BYTES_PER_SEC). A stalled part
    /// is cut and retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time allowed to connect (default [`DEFAULT_CONNECT_TIMEOUT`]). Ignored with
    /// [`http_client`](Self::http_client): configure that client instead.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Retries after a failed attempt (default [`DEFAULT_MAX_RETRIES`](crate::limits::DEFAULT_MAX_RETRIES); 0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry
            .get_or_insert_with(RetryPolicy::default)
            .max_retries = retries;
        self
    }

    /// The whole retry policy (backoff bounds, server delay cap).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Replaces the user agent (default `uploads-ext/<version> (openai-uploads; rust)`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// A header sent with every request, e.g. one a gateway needs (Helicone, LiteLLM, Azure API
    /// Management). Replaces an earlier one of the same name, `OpenAI-Organization` /
    /// `OpenAI-Project`, and, for `Authorization`, the API key's. Credential-like headers (names
    /// containing `auth`, `key`, `token`, `secret`, ...) are redacted in `Debug` like the key; an
    /// invalid name or value fails [`build`](Self::build) without repeating the value.
    ///
    /// ```
    /// let client = uploads_ext::Client::builder()
    ///     .api_key("sk-...")
    ///     .base_url("https://oai.helicone.ai/v1")
    ///     .default_header("Helicone-Auth", "Bearer sk-helicone-...")
    ///     .build()?;
    /// assert!(!format!("{client:?}").contains("sk-helicone"));
    /// # Ok::<(), uploads_ext::Error>(())
    /// ```
    pub fn default_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        add_header(
            &mut self.default_headers,
            &mut self.invalid_header,
            name.as_ref(),
            value.as_ref(),
        );
        self
    }

    /// Uses your own `reqwest::Client` (proxies, TLS roots, pools). Its own timeouts apply; the
    /// per-attempt [`timeout`](Self::timeout) is still enforced on top.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Most parts in flight at once across all uploads of the client (and of clients derived
    /// from it with [`Client::with_options`]), default [`DEFAULT_MAX_PARTS_IN_FLIGHT`](crate::limits::DEFAULT_MAX_PARTS_IN_FLIGHT), 1 to
    /// [`MAX_PARTS_IN_FLIGHT`](crate::limits::MAX_PARTS_IN_FLIGHT). Each part holds a share of this budget from before its body is
    /// read until its last attempt ends; uploads take turns (first come, first served), so a big
    /// file does not starve small ones. Each upload's own
    /// [`concurrency`](crate::UploadFileBuilder::concurrency) applies within it.
    ///
    /// ```
    /// use uploads_ext::Client;
    ///
    /// let client = Client::builder()
    ///     .api_key("sk-...")
    ///     .max_parts_in_flight(32)
    ///     .build()?;
    /// assert_eq!(client.max_parts_in_flight(), 32);
    /// # Ok::<(), uploads_ext::Error>(())
    /// ```
    pub fn max_parts_in_flight(mut self, parts: usize) -> Self {
        self.max_parts_in_flight = Some(parts);
        self
    }

    /// Most bytes of reader parts held in memory at once across all uploads of the client,
    /// default [`DEFAULT_MAX_BUFFERED_BYTES`](crate::limits::DEFAULT_MAX_BUFFERED_BYTES), at least
    /// [`MIN_BUFFERED_BYTES`](crate::limits::MIN_BUFFERED_BYTES). A reader's part is read into
    /// memory only under a share of this budget (file parts are streamed, bytes are the caller's),
    /// so memory stays bounded however many uploads run at once.
    pub fn max_buffered_bytes(mut self, bytes: u64) -> Self {
        self.max_buffered_bytes = Some(bytes);
        self
    }

    /// Replaces how the client waits between retries (a test seam: tests inject a recorder).
    #[doc(hidden)]
    pub fn sleep_impl(mut self, sleep: impl Sleep + 'static) -> Self {
        self.sleep = Some(Arc::new(sleep));
        self
    }

    /// Ignores `OPENAI_*` environment variables: only what is set on the builder counts.
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    fn env(&self, name: &str) -> Option<String> {
        if self.ignore_env {
            return None;
        }
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }

    /// Builds the client. Fails with [`crate::ErrorKind::InvalidInput`] when no API key is set
    /// (neither here nor in `OPENAI_API_KEY`), or when the key, the base URL or a header is
    /// invalid.
    pub fn build(self) -> Result<Client> {
        let api_key = self
            .api_key
            .clone()
            .or_else(|| self.env("OPENAI_API_KEY").map(ApiKey))
            .filter(|k| !k.0.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_input(
                    "no API key: set OPENAI_API_KEY (or pass one to ClientBuilder::api_key)",
                )
            })?;
        // Checked here, not at the first request: a key read from a file often ends in a newline,
        // which cannot be sent in a header. The message never repeats the key.
        if HeaderValue::from_str(&format!("Bearer {}", api_key.0)).is_err() {
            return Err(Error::invalid_input(
                "the API key is not a valid HTTP header value (a trailing newline or another \
                 control character?)",
            ));
        }
        let base_url = self
            .base_url
            .clone()
            .or_else(|| self.env("OPENAI_BASE_URL"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        // Messages show the URL with any `user:password@` masked: it may hold a secret.
        let shown = without_credentials(&base_url);
        let parsed = url::Url::parse(&base_url)
            .map_err(|e| Error::invalid_input(format!("invalid base URL {shown:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid_input(format!(
                "base URL must be http or https, got {shown:?}"
            )));
        }
        // reqwest would send Basic auth from them instead of the API key.
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::invalid_input(format!(
                "base URL must not carry credentials (user:password@), got {shown:?}: the API \
                 key authenticates; put a proxy's credentials in a header instead"
            )));
        }
        let base_url = base_url.trim_end_matches('/').to_owned();

        let mut headers = HeaderMap::new();
        let organization = self
            .organization
            .clone()
            .or_else(|| self.env("OPENAI_ORG_ID"));
        let project = self
            .project
            .clone()
            .or_else(|| self.env("OPENAI_PROJECT_ID"));
        for (name, value) in [
            ("openai-organization", &organization),
            ("openai-project", &project),
        ] {
            if let Some(value) = value {
                let value = HeaderValue::from_str(value).map_err(|_| {
                    Error::invalid_input(format!("{name} is not a valid header value"))
                })?;
                headers.insert(HeaderName::from_static(name), value);
            }
        }

        if let Some(message) = &self.invalid_header {
            return Err(Error::invalid_input(message.clone()));
        }
        for (name, value) in &self.default_headers {
            headers.insert(name.clone(), value.clone());
        }

        let budget = Budget::new(self.max_parts_in_flight, self.max_buffered_bytes)?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let http = match self.http_client.clone() {
            Some(client) => client,
            // The per-attempt timeout is enforced once, by the client around each attempt, so it
            // applies the same way to a caller's own reqwest::Client.
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .build()
                .map_err(|e| Error::from_reqwest(e).with_operation("build_client"))?,
        };
        // An Authorization header given by the caller (a gateway's token) replaces the key's.
        let bearer_access_token =
            (!headers.contains_key(reqwest::header::AUTHORIZATION)).then(|| api_key.0.clone());
        let config = Configuration {
            base_path: base_url,
            user_agent: Some(
                self.user_agent
                    .clone()
                    .unwrap_or_else(|| USER_AGENT.to_owned()),
            ),
            default_headers: headers,
            client: http,
            bearer_access_token,
            response_observer: Some(Arc::new(record_response)),
            ..Configuration::default()
        };
        Ok(Client::from_shared(Shared {
            config,
            retry: self.retry.clone().unwrap_or_default(),
            timeout,
            sleep: self.sleep.clone().unwrap_or_else(|| Arc::new(TokioSleep)),
            organization,
            project,
            invalid_header: None,
            extra_body: Default::default(),
            uploads: Arc::new(UploadShare::new(budget)),
        }))
    }
}

/// Records a response's status and request id on the current request span (see
/// `execute.rs`); runs for successes too, which the generated operations otherwise hide.
fn record_response(status: reqwest::StatusCode, headers: &HeaderMap) {
    let span = tracing::Span::current();
    span.record("status", status.as_u16());
    if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
        span.record("request_id", id);
    }
}

/// `url` with the `user:password@` part of its authority (if any) masked as `***@`, without
/// parsing it (an invalid URL is shown too).
fn without_credentials(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..authority_start], &rest[at..]),
        None => url.to_owned(),
    }
}
