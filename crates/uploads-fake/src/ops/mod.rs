//! The operations, one file each, and the one entry the router calls.

mod add_part;
mod cancel;
mod complete;
mod create;
mod files;

use std::sync::Arc;
use std::time::Duration;

use hyper::http::request::Parts;
use serde_json::Value;

use crate::api_error::ApiError;
use crate::body::ReqBody;
use crate::route::{Endpoint, Route};
use crate::service::Service;

/// How much of a body is drained (read and thrown away) before an early error
/// response, so clients see the response rather than a reset connection.
pub(crate) const DRAIN_EXTRA: u64 = 1024 * 1024;

const GIB: f64 = (1u64 << 30) as f64;

/// `per_gib` scaled to an upload of `bytes`.
pub(crate) fn slow_delay(per_gib: Duration, bytes: u64) -> Duration {
    per_gib.mul_f64(bytes as f64 / GIB)
}

/// Runs the operation `endpoint` names. `slow`: take this long per GiB of
/// the upload's size before answering.
pub(crate) async fn perform(
    service: &Arc<Service>,
    endpoint: &Endpoint,
    request: &Parts,
    body: ReqBody,
    slow: Option<Duration>,
) -> Result<Value, ApiError> {
    let id = endpoint.id.as_deref().unwrap_or_default();
    let result = match endpoint.route {
        Route::Create => create::create(service, body).await,
        Route::AddPart => add_part::add_part(service, id, &request.headers, body).await,
        Route::Complete => return complete::complete(service, id, body, slow).await,
        Route::Cancel => cancel::cancel(service, id, body).await,
        Route::ListFiles => files::list_files(service, request.uri.query(), body).await,
        Route::RetrieveFile => files::retrieve_file(service, id, body).await,
    };
    if let (Some(per_gib), Ok(value)) = (slow, &result) {
        let upload = value["upload_id"].as_str().or(value["id"].as_str());
        let bytes = upload.and_then(|u| service.store.bytes_of(u)).unwrap_or(0);
        tokio::time::sleep(slow_delay(per_gib, bytes)).await;
    }
    result
}
