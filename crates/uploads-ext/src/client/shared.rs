//! What a [`Client`](super::Client) holds: its settings ([`Shared`]) and what all its uploads share
//! ([`UploadShare`]: the parts budget and the rate-limit pause). Below the client and its
//! request engine; knows neither.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use openai_uploads_generated::apis::configuration::Configuration;
use tokio::sync::OwnedSemaphorePermit;

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::extra_body::ExtraBody;
use crate::options::{merge_query, RequestOptions};
use crate::retry::{BackoffGate, RetryPolicy};
use crate::rt::Sleep;

/// A client's settings, shared by its clones.
pub(crate) struct Shared {
    pub(crate) config: Configuration,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) sleep: Arc<dyn Sleep>,
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    /// An invalid header given to `Client::with_options`: every request fails with it.
    pub(crate) invalid_header: Option<String>,
    /// Fields merged into the JSON body of `create` and `complete` (`Client::with_options`).
    pub(crate) extra_body: ExtraBody,
    /// Shared by every upload of this client and of clients derived from it.
    pub(crate) uploads: Arc<UploadShare>,
}

/// What all uploads of a client (and of clients derived from it) share.
#[derive(Debug)]
pub(crate) struct UploadShare {
    budget: Budget,
    gate: BackoffGate,
}

impl UploadShare {
    pub(crate) fn new(budget: Budget) -> UploadShare {
        UploadShare {
            budget,
            gate: BackoffGate::default(),
        }
    }

    /// Waits for this client's turn to send one more part (first come, first served).
    pub(crate) async fn part_permit(&self) -> OwnedSemaphorePermit {
        self.budget.part_permit().await
    }

    /// The client-wide rate-limit pause.
    pub(crate) fn gate(&self) -> &BackoffGate {
        &self.gate
    }

    /// The parts budget.
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }
}

/// What one request runs with: the client's settings with a request's options over them.
pub(crate) struct Prepared<'a> {
    pub(crate) config: Cow<'a, Configuration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    /// The client's extra body fields with the request's over them.
    pub(crate) extra_body: ExtraBody,
}

impl Shared {
    /// The configuration, retry policy and timeout of one request: the client's, with `options`
    /// over them; fails on an invalid header.
    pub(crate) fn prepare(&self, options: &RequestOptions) -> Result<Prepared<'_>> {
        if let Some(message) = &self.invalid_header {
            return Err(Error::invalid_input(message.clone()));
        }
        options.check()?;
        Ok(self.overridden(options))
    }

    /// The client's settings with `options` over them. Borrows the client's configuration
    /// unless headers or query parameters are added.
    pub(crate) fn overridden(&self, options: &RequestOptions) -> Prepared<'_> {
        let config = if options.headers.is_empty() && options.extra_query.is_empty() {
            Cow::Borrowed(&self.config)
        } else {
            let mut config = self.config.clone();
            for (name, value) in &options.headers {
                config.default_headers.insert(name.clone(), value.clone());
            }
            if options.headers.contains_key(reqwest::header::AUTHORIZATION) {
                // The caller's Authorization replaces the key's (sent once, not twice).
                config.bearer_access_token = None;
            }
            config.default_query = merge_query(&config.default_query, &options.extra_query);
            Cow::Owned(config)
        };
        let mut retry = self.retry.clone();
        if let Some(retries) = options.max_retries {
            retry.max_retries = retries;
        }
        Prepared {
            config,
            retry,
            timeout: options.timeout.unwrap_or(self.timeout),
            extra_body: options.extra_body.merged_over(&self.extra_body),
        }
    }

    /// A copy with `options` over these settings, sharing the connection pool and the uploads'
    /// share.
    pub(crate) fn derived(&self, options: RequestOptions) -> Shared {
        let Prepared {
            config,
            retry,
            timeout,
            extra_body,
        } = self.overridden(&options);
        Shared {
            config: config.into_owned(),
            retry,
            timeout,
            sleep: self.sleep.clone(),
            organization: self.organization.clone(),
            project: self.project.clone(),
            invalid_header: self.invalid_header.clone().or(options.invalid),
            extra_body,
            uploads: self.uploads.clone(),
        }
    }

    pub(crate) fn sleeper(&self) -> &dyn Sleep {
        &*self.sleep
    }
}
