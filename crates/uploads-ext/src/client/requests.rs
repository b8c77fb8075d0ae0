//! The operations' request builders (the four of /uploads and the two Files reads): setters,
//! per-request options, `send` and `IntoFuture`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openai_uploads_generated::apis::{files_api, uploads_api};
use openai_uploads_generated::models::CompleteUploadRequest;

use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::part::PartBody;
use crate::retry::BackoffGate;
use crate::timeout::ProgressSignal;
use crate::types::{FileList, OpenAiFile, Purpose, Upload, UploadPart, UploadStatus};

use super::execute::{complete_tracking, execute, no_retry_hook, send_part, Call, PartCall};
use super::shared::Shared;
use super::validate::CreateInput;

/// `.options(...)` and its shortcuts on a request builder with an `options` field.
macro_rules! request_options {
    ($builder:ty) => {
        impl $builder {
            /// Overrides the client's timeout, retries or headers for this request, or adds query
            /// parameters or body fields the SDK has no setter for (see [`RequestOptions`]).
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

/// Builder of `POST /uploads`; see [`Client::create_upload`](crate::Client::create_upload). Await it or call [`send`](Self::send).
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct CreateUploadBuilder {
    pub(super) shared: Arc<Shared>,
    pub(super) input: CreateInput,
    pub(super) options: RequestOptions,
}

impl CreateUploadBuilder {
    /// The name the File will have (required, non-empty).
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.input.filename = Some(filename.into());
        self
    }

    /// What the file is for (required).
    pub fn purpose(mut self, purpose: impl Into<Purpose>) -> Self {
        self.input.purpose = Some(purpose.into());
        self
    }

    /// The exact total size in bytes (required, 1 to 8 GiB).
    pub fn bytes(mut self, bytes: u64) -> Self {
        self.input.bytes = Some(bytes);
        self
    }

    /// The file's MIME type (required); it must suit the purpose.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.input.mime_type = Some(mime_type.into());
        self
    }

    /// When the created File expires, counted from its creation (1 hour to 30 days).
    pub fn expires_after(mut self, after: Duration) -> Self {
        self.input.expires_after = Some(after);
        self
    }

    /// Validates every field, then sends the request.
    pub async fn send(self) -> Result<Upload> {
        let (request, prepared) = self
            .input
            .validate()
            .and_then(|r| {
                let prepared = self.shared.prepare(&self.options)?;
                Ok((prepared.extra_body.apply("create_upload", r)?, prepared))
            })
            .map_err(|e| e.with_operation("create_upload"))?;
        let config = &*prepared.config;
        // A 429 here is the organisation's: every upload of the client pauses.
        let (gate, progress) = (self.shared.uploads.gate(), ProgressSignal::new());
        let call = Call::plain("create_upload", None, &prepared, gate, &progress);
        execute(&self.shared, call, || {
            let request = request.clone();
            async move {
                uploads_api::create_upload(config, uploads_api::CreateUploadParams::new(request))
                    .await
                    .map_err(Error::from_generated)
            }
        })
        .await
    }
}

/// Builder of `POST /uploads/{id}/parts`; see [`Client::add_upload_part`](crate::Client::add_upload_part).
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct AddPartBuilder {
    pub(super) shared: Arc<Shared>,
    pub(super) upload_id: String,
    pub(super) body: PartBody,
    pub(super) options: RequestOptions,
}

impl AddPartBuilder {
    /// Sends the part (retried per the client's policy, re-sending the same bytes). The body
    /// is multipart: an `extra_body` in this request's options is refused before sending.
    pub async fn send(self) -> Result<UploadPart> {
        self.options
            .refuse_extra_body("a part's body is multipart, not JSON")
            .map_err(|e| e.with_operation("add_upload_part"))?;
        let call = PartCall {
            gate: self.shared.uploads.gate(),
            retries: None,
            on_sent: None,
            on_retry: &no_retry_hook,
            options: &self.options,
        };
        send_part(&self.shared, &self.upload_id, &self.body, call).await
    }
}

/// Builder of `POST /uploads/{id}/complete`; see [`Client::complete_upload`](crate::Client::complete_upload).
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct CompleteUploadBuilder {
    pub(super) shared: Arc<Shared>,
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

    /// The md5 of the whole content as lowercase hex (what `md5sum` prints), checked by the API.
    pub fn md5(mut self, md5: impl Into<String>) -> Self {
        self.md5 = Some(md5.into());
        self
    }

    /// The md5 of the whole content as 16 bytes, e.g. from the `md-5` crate; sent as lowercase hex.
    pub fn md5_digest(self, digest: [u8; 16]) -> Self {
        self.md5(hex::encode(digest))
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Upload> {
        if self.part_ids.is_empty() {
            return Err(Error::invalid_input("part_ids must list at least one part")
                .with_operation("complete_upload"));
        }
        let mut request = CompleteUploadRequest::new(self.part_ids);
        request.md5 = self.md5;
        complete_tracking(&self.shared, &self.upload_id, request, &self.options)
            .await
            .0
    }
}

/// Builder of `POST /uploads/{id}/cancel`; see [`Client::cancel_upload`](crate::Client::cancel_upload).
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct CancelUploadBuilder {
    pub(super) shared: Arc<Shared>,
    pub(super) upload_id: String,
    pub(super) options: RequestOptions,
}

impl CancelUploadBuilder {
    /// Sends the request. It has no body: an `extra_body` in this request's options is refused
    /// before sending.
    pub async fn send(self) -> Result<Upload> {
        self.options
            .refuse_extra_body("cancel has no body")
            .map_err(|e| e.with_operation("cancel_upload"))?;
        if self.upload_id.trim().is_empty() {
            return Err(Error::invalid_input("the upload id must not be empty")
                .with_operation("cancel_upload"));
        }
        let prepared = self
            .shared
            .prepare(&self.options)
            .map_err(|e| e.with_operation("cancel_upload"))?;
        let config = &*prepared.config;
        let (gate, progress) = (BackoffGate::default(), ProgressSignal::new());
        let id = self.upload_id.as_str();
        let call = Call::plain("cancel_upload", Some(id), &prepared, &gate, &progress);
        execute(&self.shared, call, || async move {
            uploads_api::cancel_upload(config, uploads_api::CancelUploadParams::new(id.to_owned()))
                .await
                .map_err(Error::from_generated)
        })
        .await
    }

    /// Sends the request, and counts an upload the API reports as cancelled already as
    /// cancelled: the usual answer when this call's first attempt cancelled it and its answer
    /// was lost, so the retry found the work done. Any other error stays an error; nothing is
    /// reported as cancelled that the API did not say is.
    ///
    /// ```no_run
    /// # async fn run(client: uploads_ext::Client) -> uploads_ext::Result<()> {
    /// use uploads_ext::CancelOutcome;
    /// match client.cancel_upload("upload_abc123").ensure().await? {
    ///     CancelOutcome::Cancelled(upload) => println!("cancelled {}", upload.id),
    ///     CancelOutcome::AlreadyCancelled => println!("it was cancelled already"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ensure(self) -> Result<CancelOutcome> {
        match self.send().await {
            Ok(upload) => Ok(CancelOutcome::Cancelled(Box::new(upload))),
            Err(e) if e.upload_status() == Some(UploadStatus::Cancelled) => {
                Ok(CancelOutcome::AlreadyCancelled)
            }
            Err(e) => Err(e),
        }
    }
}

/// What [`CancelUploadBuilder::ensure`] found: the upload is cancelled either way.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CancelOutcome {
    /// This call cancelled it; the API's answer.
    Cancelled(Box<Upload>),
    /// The API says the upload is cancelled already (an earlier attempt of this call whose
    /// answer was lost, or another process). That answer carries no Upload.
    AlreadyCancelled,
}

/// Builder of `GET /files`; see [`Client::list_files`](crate::Client::list_files). One page,
/// newest first; follow [`FileList::last_id`] with [`after`](Self::after) while
/// [`FileList::has_more`].
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct ListFilesBuilder {
    pub(super) shared: Arc<Shared>,
    pub(super) params: files_api::ListFilesParams,
    pub(super) options: RequestOptions,
}

impl ListFilesBuilder {
    /// Only Files with this purpose (e.g. `"batch"`).
    pub fn purpose(mut self, purpose: impl AsRef<str>) -> Self {
        self.params.purpose = Some(purpose.as_ref().to_owned());
        self
    }

    /// At most this many Files in the page (1 to 10,000; the API's default is 10,000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.params.limit = Some(i64::from(limit));
        self
    }

    /// Oldest first instead of the default newest first.
    pub fn oldest_first(mut self) -> Self {
        self.params.order = Some("asc".to_owned());
        self
    }

    /// The page after the File with this id (the previous page's `last_id`).
    pub fn after(mut self, file_id: impl Into<String>) -> Self {
        self.params.after = Some(file_id.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<FileList> {
        let prepared = self
            .shared
            .prepare(&self.options)
            .map_err(|e| e.with_operation("list_files"))?;
        let config = &*prepared.config;
        let (gate, progress) = (BackoffGate::default(), ProgressSignal::new());
        let call = Call::plain("list_files", None, &prepared, &gate, &progress);
        let params = &self.params;
        execute(&self.shared, call, || async move {
            files_api::list_files(config, params.clone())
                .await
                .map_err(Error::from_generated)
        })
        .await
    }
}

/// Builder of `GET /files/{file_id}`; see [`Client::retrieve_file`](crate::Client::retrieve_file).
#[derive(Debug)]
#[must_use = "a request builder does nothing until sent"]
pub struct RetrieveFileBuilder {
    pub(super) shared: Arc<Shared>,
    pub(super) file_id: String,
    pub(super) options: RequestOptions,
}

impl RetrieveFileBuilder {
    /// Sends the request.
    pub async fn send(self) -> Result<OpenAiFile> {
        if self.file_id.trim().is_empty() {
            return Err(Error::invalid_input("the file id must not be empty")
                .with_operation("retrieve_file"));
        }
        let prepared = self
            .shared
            .prepare(&self.options)
            .map_err(|e| e.with_operation("retrieve_file"))?;
        let config = &*prepared.config;
        let (gate, progress) = (BackoffGate::default(), ProgressSignal::new());
        let call = Call::plain("retrieve_file", None, &prepared, &gate, &progress);
        let id = self.file_id.as_str();
        execute(&self.shared, call, || async move {
            files_api::retrieve_file(config, files_api::RetrieveFileParams::new(id.to_owned()))
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
request_options!(ListFilesBuilder);
request_options!(RetrieveFileBuilder);

into_future!(CreateUploadBuilder => Upload);
into_future!(AddPartBuilder => UploadPart);
into_future!(CompleteUploadBuilder => Upload);
into_future!(CancelUploadBuilder => Upload);
into_future!(ListFilesBuilder => FileList);
into_future!(RetrieveFileBuilder => OpenAiFile);
