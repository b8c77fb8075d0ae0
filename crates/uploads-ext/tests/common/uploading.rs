//! Helpers of the file-upload tests against the fake: a client with quick retries and a fake
//! with fraction faults.

use std::time::Duration;

use uploads_ext::{Client, RetryPolicy};
use uploads_fake::{FakeConfig, FakeServer, Faults};

/// A kibibyte.
pub const KIB: u64 = 1024;

/// Retries quickly so fault tests stay fast (the policy itself is tested elsewhere).
pub fn fast_retries(max: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .max_retries(max)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .build()
}

/// A client of the fake with the given retries.
pub fn client_for(server: &FakeServer, retries: RetryPolicy) -> Client {
    Client::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key(server.api_key())
        .retry_policy(retries)
        .build()
        .unwrap()
}

/// A fake server with fraction faults.
pub async fn server_with(faults: Faults) -> FakeServer {
    FakeServer::start_with(FakeConfig::default().with_faults(faults))
        .await
        .unwrap()
}
