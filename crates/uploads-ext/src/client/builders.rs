//! The four operations' request builders: setters, per-request options, `send` and `IntoFuture`.

use super::*;

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
    pub(super) client: Client,
    pub(super) filename: Option<String>,
    pub(super) purpose: Option<Purpose>,
    pub(super) bytes: Option<u64>,
    pub(super) mime_type: Option<String>,
    pub(super) expires_after: Option<Duration>,
    pub(super) options: RequestOptions,
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
        // A 429 here is the organisation's: every upload of the client pauses (crate::budget).
        let (gate, progress) = (self.client.budget().gate(), ProgressSignal::new());
        let call = Call::plain("create_upload", None, &prepared, gate, &progress);
        self.client
            .execute(call, || {
                let request = request.clone();
                async move {
                    uploads_api::create_upload(
                        config,
                        uploads_api::CreateUploadParams::new(request),
                    )
                    .await
                    .map_err(Error::from_generated)
                }
            })
            .await
    }

    /// The one rule set of `POST /uploads` (also asked by `upload_file` before anything exists).
    pub(crate) fn validate(&self) -> Result<CreateUploadRequest> {
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
                    "expires_after must be between 1 hour and 30 days (3600 to 2592000 seconds), \
                     got {} ({} seconds)",
                    crate::timeout::human(after),
                    after.as_secs()
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
    pub(super) client: Client,
    pub(super) upload_id: String,
    pub(super) body: PartBody,
    pub(super) options: RequestOptions,
}

impl AddPartBuilder {
    /// Sends the part (retried per the client's policy, re-sending the same bytes).
    pub async fn send(self) -> Result<UploadPart> {
        let call = PartCall {
            gate: self.client.budget().gate(),
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
    pub(super) client: Client,
    pub(super) upload_id: String,
    pub(super) part_ids: Vec<String>,
    pub(super) md5: Option<String>,
    pub(super) options: RequestOptions,
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
    pub(super) client: Client,
    pub(super) upload_id: String,
    pub(super) options: RequestOptions,
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
                uploads_api::cancel_upload(
                    config,
                    uploads_api::CancelUploadParams::new(id.to_owned()),
                )
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
