//! [`UploadContext`]: what every step of one running upload shares, in place of long parameter
//! lists. A plain struct with getters; the orchestration lives in [`super::orchestrate`].

use std::sync::Arc;
use std::time::Instant;

use crate::client::Client;
use crate::retry::BackoffGate;

use super::input::UploadInput;
use super::progress::Counters;

/// The shared state of one running upload.
pub(crate) struct UploadContext {
    client: Client,
    input: Arc<UploadInput>,
    upload_id: String,
    expires: Instant,
    counters: Arc<Counters>,
}

impl UploadContext {
    pub(crate) fn new(
        client: Client,
        input: Arc<UploadInput>,
        upload_id: String,
        expires: Instant,
        counters: Arc<Counters>,
    ) -> UploadContext {
        UploadContext {
            client,
            input,
            upload_id,
            expires,
            counters,
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn input(&self) -> &UploadInput {
        &self.input
    }

    pub(crate) fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// When the Upload expires, by this process's monotonic clock.
    pub(crate) fn expires(&self) -> Instant {
        self.expires
    }

    /// The client-wide rate-limit pause (see [`crate::budget`]).
    pub(crate) fn gate(&self) -> &BackoffGate {
        self.client.budget().gate()
    }

    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}
