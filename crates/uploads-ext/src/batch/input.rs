//! The input of a batch: the caller's settings as given ([`BatchInputBuilder`]) and, once
//! checked in [`BatchBuilder::start`](super::BatchBuilder::start), the validated
//! [`BatchInput`] the run works from. Nothing below sees the builder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::Purpose;
use crate::upload::{check_concurrency, FailurePolicy, ResumeUploadBuilder, UploadFileBuilder};

use super::progress::BatchProgressFn;
use super::walk::FileSet;
use super::DEFAULT_FILES_IN_FLIGHT;

/// The settings of a batch as the caller gave them.
pub(crate) struct BatchInputBuilder {
    pub files: FileSet,
    pub purpose: Option<Purpose>,
    pub concurrency: Option<usize>,
    pub part_size: Option<u64>,
    pub md5: bool,
    pub failure_policy: Option<FailurePolicy>,
    pub part_retries: Option<u32>,
    pub part_rounds: Option<u32>,
    pub fail_if_too_slow: bool,
    pub expires_after: Option<Duration>,
    pub files_in_flight: usize,
    pub on_progress: Option<BatchProgressFn>,
    pub cancel: CancellationToken,
    pub manifest: Option<PathBuf>,
    pub cancel_timeout: Option<Duration>,
    pub allow_empty: bool,
}

impl BatchInputBuilder {
    pub(crate) fn new(files: FileSet) -> BatchInputBuilder {
        BatchInputBuilder {
            files,
            purpose: None,
            concurrency: None,
            part_size: None,
            md5: true,
            failure_policy: None,
            part_retries: None,
            part_rounds: None,
            fail_if_too_slow: false,
            expires_after: None,
            files_in_flight: DEFAULT_FILES_IN_FLIGHT,
            on_progress: None,
            cancel: CancellationToken::new(),
            manifest: None,
            cancel_timeout: None,
            allow_empty: false,
        }
    }

    /// Checks the settings of the batch itself and those every file shares (each file's upload
    /// checks the rest).
    pub(crate) fn build(self, client: &Client) -> Result<BatchInput> {
        let purpose = self
            .purpose
            .ok_or_else(|| Error::invalid_input("purpose is required"))?;
        // The same rule as each file's, asked once before any file starts.
        check_concurrency(client, self.concurrency)?;
        if self.files_in_flight == 0 {
            return Err(Error::invalid_input("files_in_flight must be at least 1"));
        }
        // Kept for a rerun when a manifest can resume it, cancelled otherwise.
        let failure_policy = self.failure_policy.unwrap_or(if self.manifest.is_some() {
            FailurePolicy::Keep
        } else {
            FailurePolicy::Cancel
        });
        if let Some(manifest) = &self.manifest {
            crate::upload::check_regular_or_absent(manifest, "manifest")?;
        }
        Ok(BatchInput {
            files: self.files,
            purpose,
            concurrency: self.concurrency,
            part_size: self.part_size,
            md5: self.md5,
            failure_policy,
            part_retries: self.part_retries,
            part_rounds: self.part_rounds,
            fail_if_too_slow: self.fail_if_too_slow,
            expires_after: self.expires_after,
            files_in_flight: self.files_in_flight,
            on_progress: self.on_progress,
            cancel: self.cancel,
            manifest: self.manifest,
            cancel_timeout: self.cancel_timeout,
            allow_empty: self.allow_empty,
        })
    }
}

/// The validated settings of a batch.
pub(crate) struct BatchInput {
    pub files: FileSet,
    purpose: Purpose,
    concurrency: Option<usize>,
    part_size: Option<u64>,
    md5: bool,
    failure_policy: FailurePolicy,
    part_retries: Option<u32>,
    part_rounds: Option<u32>,
    fail_if_too_slow: bool,
    expires_after: Option<Duration>,
    pub files_in_flight: usize,
    pub on_progress: Option<BatchProgressFn>,
    pub cancel: CancellationToken,
    pub manifest: Option<PathBuf>,
    cancel_timeout: Option<Duration>,
    pub allow_empty: bool,
}

/// The settings of how a file is sent, for new and resumed uploads alike.
macro_rules! run_settings {
    ($input:expr, $builder:expr) => {{
        let mut b = $builder
            .failure_policy($input.failure_policy)
            .fail_if_too_slow($input.fail_if_too_slow);
        if let Some(c) = $input.concurrency {
            b = b.concurrency(c);
        }
        if let Some(r) = $input.part_retries {
            b = b.part_retries(r);
        }
        if let Some(r) = $input.part_rounds {
            b = b.part_rounds(r);
        }
        if let Some(t) = $input.cancel_timeout {
            b = b.cancel_timeout(t);
        }
        b
    }};
}

impl BatchInput {
    /// The upload of one file with the batch's settings.
    pub(crate) fn file_upload(&self, client: &Client, path: &Path) -> UploadFileBuilder {
        let mut b = client
            .upload_file(path)
            .purpose(self.purpose.clone())
            .md5(self.md5);
        if let Some(size) = self.part_size {
            b = b.part_size(size);
        }
        if let Some(after) = self.expires_after {
            b = b.expires_after(after);
        }
        run_settings!(self, b)
    }

    /// The resume of one file from its journal with the batch's settings.
    pub(crate) fn resumed_upload(&self, client: &Client, journal: &Path) -> ResumeUploadBuilder {
        run_settings!(self, client.resume_upload(journal))
    }
}
