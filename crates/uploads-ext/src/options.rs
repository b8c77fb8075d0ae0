//! [`RequestOptions`]: timeout, retries, extra headers and the escape hatches (extra query
//! parameters, extra JSON body fields) for one request, one upload or a derived client, and the
//! header rules shared with [`crate::ClientBuilder::default_header`].

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::extra_body::ExtraBody;

/// Options that override the client's defaults for one request (`.options(...)` on a request
/// builder), for every request of one upload or batch (`.options(...)` on
/// [`UploadFileBuilder`](crate::UploadFileBuilder), [`ResumeUploadBuilder`](crate::ResumeUploadBuilder)
/// and [`BatchBuilder`](crate::BatchBuilder)), or for a derived client
/// ([`Client::with_options`](crate::Client::with_options)). Unset fields keep the client's value;
/// headers, query parameters and body fields are added to the client's (same name: replaced).
///
/// ## Escape hatches
/// A parameter or field the API takes before this SDK has a setter for it can be sent anyway:
/// - [`extra_query`](Self::extra_query) appends a query parameter to the URL of every request
///   the options apply to;
/// - [`extra_body`](Self::extra_body) merges the top-level keys of a JSON object into the JSON
///   body of `create` and `complete` (a key naming a known field replaces its value);
///   [`extra_body_for`](Self::extra_body_for) into one of them only (what an upload or a batch
///   needs: the API rejects a field the operation does not take, and `create` and `complete`
///   take different ones). Parts are multipart and `cancel` has no body: given to
///   [`Client::add_upload_part`](crate::Client::add_upload_part) or
///   [`Client::cancel_upload`](crate::Client::cancel_upload) directly, `extra_body` fails with
///   [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before sending; given to an
///   upload, a batch or a derived client, it goes to each `create` and `complete` only.
///
/// Fields the API returns that this version does not know are kept in the `extra` map of each
/// response type (see [`Upload::extra`](crate::Upload::extra)).
///
/// ```no_run
/// # async fn run(client: uploads_ext::Client) -> uploads_ext::Result<()> {
/// use uploads_ext::{json, Purpose, RequestOptions};
///
/// let upload = client
///     .upload_file("train.jsonl")
///     .purpose(Purpose::FineTune)
///     .options(
///         RequestOptions::new()
///             .extra_query("beta", "true")
///             .extra_body_for("create_upload", json::json!({ "metadata": { "team": "search" } })),
///     )
///     .send()
///     .await?;
/// if let Some(region) = upload.upload().extra.get("region") {
///     println!("stored in {region}");
/// }
/// # Ok(()) }
/// ```
///
/// ```no_run
/// # async fn run(client: uploads_ext::Client) -> uploads_ext::Result<()> {
/// use std::time::Duration;
/// use uploads_ext::RequestOptions;
///
/// let quick = RequestOptions::new()
///     .timeout(Duration::from_secs(5))
///     .max_retries(0)
///     .header("Helicone-Property-Job", "nightly");
/// client.cancel_upload("upload_abc").options(quick).await?;
/// # Ok(()) }
/// ```
///
/// Header values whose name looks like a credential (`authorization`, `api-key`, names containing
/// `auth`, `key`, `token`, `secret`, `cookie`, `password`, `signature`) are marked sensitive and
/// never appear in `Debug`. An invalid header name or value is reported as
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the request is sent (or by
/// [`Client::with_options`](crate::Client::with_options)), without repeating the value.
#[derive(Clone, Default)]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) headers: HeaderMap,
    /// Appended to the URL of each request, in order (one key may repeat).
    pub(crate) extra_query: Vec<(String, String)>,
    /// Merged into the JSON body of `create` and `complete`.
    pub(crate) extra_body: ExtraBody,
    /// The first invalid setting (a header, a non-object body), reported when sending.
    pub(crate) invalid: Option<String>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Longest time each attempt may go without progress (instead of the client's timeout; see
    /// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries after a failed attempt (instead of the client's; 0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// Adds a header to the request (replacing one of the same name from the client;
    /// `Authorization` replaces the API key's).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        add_header(
            &mut self.headers,
            &mut self.invalid,
            name.as_ref(),
            value.as_ref(),
        );
        self
    }

    /// Appends `key=value` to the query of each request (after the operation's own parameters;
    /// both are percent-encoded). Several calls with one key send it several times; a key set
    /// here replaces the same key from the client's defaults.
    pub fn extra_query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_query.push((key.into(), value.into()));
        self
    }

    /// Merges the top-level keys of `body` (a JSON object) into the JSON body of `create` and
    /// `complete`: a new key is added, a key naming a known field replaces its value (which must
    /// then have that field's type). Several calls merge, later keys winning. Anything but an
    /// object is reported as [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when
    /// sending. `Debug` shows the keys, never the values.
    pub fn extra_body(self, body: Value) -> Self {
        self.add_extra_body(None, body)
    }

    /// As [`extra_body`](Self::extra_body), for one operation only: `"create_upload"` or
    /// `"complete_upload"` (another name is reported as
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when sending). Its keys win
    /// over `extra_body`'s.
    pub fn extra_body_for(self, operation: &str, body: Value) -> Self {
        self.add_extra_body(Some(operation), body)
    }

    fn add_extra_body(mut self, operation: Option<&str>, body: Value) -> Self {
        if let Err(message) = self.extra_body.add(operation, body) {
            self.invalid.get_or_insert(message);
        }
        self
    }

    /// Whether nothing is overridden or added.
    pub(crate) fn is_empty(&self) -> bool {
        self.timeout.is_none()
            && self.max_retries.is_none()
            && self.headers.is_empty()
            && self.extra_query.is_empty()
            && self.extra_body.is_empty()
            && self.invalid.is_none()
    }

    /// The first invalid setting given, as an error.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.invalid {
            Some(message) => Err(Error::invalid_input(message.clone())),
            None => Ok(()),
        }
    }

    /// These options layered over `base` (these win).
    pub(crate) fn merged_over(&self, base: &RequestOptions) -> RequestOptions {
        let mut headers = base.headers.clone();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        RequestOptions {
            timeout: self.timeout.or(base.timeout),
            max_retries: self.max_retries.or(base.max_retries),
            headers,
            extra_query: merge_query(&base.extra_query, &self.extra_query),
            extra_body: self.extra_body.merged_over(&base.extra_body),
            invalid: self.invalid.clone().or_else(|| base.invalid.clone()),
        }
    }

    /// An error unless these options carry no `extra_body` (for a request without a JSON body).
    pub(crate) fn refuse_extra_body(&self, why: &str) -> Result<()> {
        match self.extra_body.has_fields_for_all() {
            true => Err(Error::invalid_input(format!(
                "extra_body cannot be sent with this request: {why} (extra_body goes into the JSON \
                 body of create and complete)"
            ))),
            false => Ok(()),
        }
    }
}

/// `top`'s pairs after `base`'s, leaving out `base`'s pairs whose key `top` sets.
pub(crate) fn merge_query(
    base: &[(String, String)],
    top: &[(String, String)],
) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = base
        .iter()
        .filter(|(key, _)| !top.iter().any(|(k, _)| k == key))
        .cloned()
        .collect();
    merged.extend(top.iter().cloned());
    merged
}

impl fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestOptions")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("headers", &RedactedHeaders(&self.headers))
            // Keys only: a value may be a secret.
            .field(
                "extra_query",
                &self.extra_query.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("extra_body", &self.extra_body.keys())
            .finish()
    }
}

/// Whether a header carries a credential, going by its name.
pub(crate) fn is_sensitive(name: &HeaderName) -> bool {
    const MARKERS: [&str; 7] = [
        "auth",
        "key",
        "token",
        "secret",
        "cookie",
        "password",
        "signature",
    ];
    let name = name.as_str();
    MARKERS.iter().any(|marker| name.contains(marker))
}

/// Inserts a validated header into `headers`, or keeps the first error in `invalid`.
pub(crate) fn add_header(
    headers: &mut HeaderMap,
    invalid: &mut Option<String>,
    name: &str,
    value: &str,
) {
    match parse_header(name, value) {
        Ok((name, value)) => {
            headers.insert(name, value);
        }
        Err(e) => {
            invalid.get_or_insert(e);
        }
    }
}

/// A validated header; a credential-like one is marked sensitive. The error names the header,
/// never its value.
fn parse_header(name: &str, value: &str) -> std::result::Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("invalid header name {name:?}"))?;
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        format!("the value of header {name} is not a valid HTTP header value (a newline?)")
    })?;
    if is_sensitive(&name) {
        value.set_sensitive(true);
    }
    Ok((name, value))
}

/// `Debug` of a header map that shows names, and values only when they are not sensitive.
pub(crate) struct RedactedHeaders<'a>(pub(crate) &'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if value.is_sensitive() || is_sensitive(name) {
                map.entry(&name.as_str(), &"[REDACTED]");
            } else {
                map.entry(&name.as_str(), &value.to_str().unwrap_or("[not UTF-8]"));
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_like_headers_are_sensitive_and_redacted() {
        let options = RequestOptions::new()
            .header("Helicone-Auth", "Bearer sk-helicone-secret")
            .header("api-key", "azure-secret")
            .header("X-Trace", "visible-value");
        assert!(options.headers["helicone-auth"].is_sensitive());
        assert!(options.headers["api-key"].is_sensitive());
        assert!(!options.headers["x-trace"].is_sensitive());
        let debug = format!("{options:?}");
        assert!(!debug.contains("sk-helicone-secret"), "{debug}");
        assert!(!debug.contains("azure-secret"), "{debug}");
        assert!(debug.contains("visible-value"), "{debug}");
        assert!(debug.contains("helicone-auth"), "{debug}");
    }

    #[test]
    fn an_invalid_header_is_an_error_that_does_not_repeat_the_value() {
        let options = RequestOptions::new().header("x-api-key", "secret\nvalue");
        let err = options.check().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(err.to_string().contains("x-api-key"), "{err}");
        let err = RequestOptions::new().header("bad name", "v").check();
        assert!(err.is_err());
    }

    #[test]
    fn later_options_win_and_headers_accumulate() {
        let base = RequestOptions::new()
            .timeout(Duration::from_secs(1))
            .max_retries(5)
            .header("a", "1")
            .header("b", "1");
        let top = RequestOptions::new().max_retries(0).header("b", "2");
        let merged = top.merged_over(&base);
        assert_eq!(merged.timeout, Some(Duration::from_secs(1)));
        assert_eq!(merged.max_retries, Some(0));
        assert_eq!(merged.headers["a"], "1");
        assert_eq!(merged.headers["b"], "2");
    }
}
