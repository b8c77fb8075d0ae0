//! Any generated operation through the client's pipeline (see [`Client::call`](super::Client::call)):
//! the client's configuration, retry policy, timeout, rate-limit pause and error mapping, for
//! operations that have no wrapper yet.

use std::future::Future;

use openai_uploads_generated::apis::configuration::Configuration;
use openai_uploads_generated::apis::Error as GeneratedError;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::timeout::ProgressSignal;

use super::execute::{execute, Call};
use super::shared::Shared;

/// Runs `attempt` once per attempt with a copy of the client's prepared configuration.
pub(crate) async fn call_generated<T, E, F, Fut>(
    shared: &Shared,
    operation: &'static str,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(Configuration) -> Fut,
    Fut: Future<Output = std::result::Result<T, GeneratedError<E>>>,
    E: Serialize,
{
    let prepared = shared
        .prepare(&RequestOptions::default())
        .map_err(|e| e.with_operation(operation))?;
    let config = &*prepared.config;
    // An unknown operation may be the organisation's: a 429 pauses every upload of the client.
    let (gate, progress) = (shared.uploads.gate(), ProgressSignal::new());
    let call = Call::plain(operation, None, &prepared, gate, &progress);
    execute(shared, call, || {
        let answer = attempt(config.clone());
        async move { answer.await.map_err(Error::from_generated) }
    })
    .await
}
