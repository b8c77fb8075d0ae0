//! What each kind of [`Fault`] does to a request: before the operation
//! (instead of it, or shaping how its body is read) and after it (to the
//! answer).

use std::time::{Duration, UNIX_EPOCH};

use hyper::header::{HeaderName, CONTENT_LENGTH, RETRY_AFTER};
use hyper::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::api_error::ApiError;
use crate::body::{Pause, ReqBody};
use crate::clock::FakeClock;
use crate::faults::{Fault, FaultBody, RetryHint, StatusFault};
use crate::reply::Reply;

/// What happens before the operation.
pub(crate) enum Before {
    /// The fault answers (or hangs up) instead of the operation.
    Answer(Reply),
    /// Perform the operation; `slow`: take this long per GiB of the upload's size.
    Perform { slow: Option<Duration> },
}

/// Applies the part of `fault` that strikes before the operation.
pub(crate) async fn before(
    fault: Option<&Fault>,
    body: &mut ReqBody,
    headers: &HeaderMap,
    clock: &FakeClock,
) -> Before {
    let mut slow = None;
    match fault {
        None | Some(Fault::DropAfterCommit | Fault::UndecodableOk | Fault::ShortFileOk) => {}
        Some(Fault::Status(status)) => {
            body.drain(u64::MAX).await;
            return Before::Answer(status_reply(clock, status));
        }
        Some(Fault::DropBeforeBody) => return Before::Answer(Reply::Hangup),
        Some(Fault::DropMidBody) => {
            let half = content_length(headers).map_or(1, |n| n / 2);
            body.drain(half.max(1)).await;
            return Before::Answer(Reply::Hangup);
        }
        Some(Fault::Stall(duration)) => {
            body.drain(u64::MAX).await;
            match duration {
                Some(d) => tokio::time::sleep(*d).await,
                // Until the client hangs up, which drops this future.
                None => std::future::pending().await,
            }
            return Before::Answer(Reply::Hangup);
        }
        Some(Fault::StallMidBody {
            after_bytes,
            duration,
        }) => body.pause(Pause {
            after_bytes: *after_bytes,
            duration: *duration,
        }),
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::Slow { per_gib }) => slow = Some(*per_gib),
        Some(Fault::Throttle { bytes_per_sec }) => body.throttle(*bytes_per_sec),
    }
    Before::Perform { slow }
}

/// The answer to a performed operation, as `fault` leaves it.
pub(crate) fn after(fault: Option<&Fault>, result: Result<Value, ApiError>) -> Reply {
    match (fault, result) {
        (Some(Fault::DropAfterCommit), _) => Reply::Hangup,
        (Some(Fault::UndecodableOk), Ok(_)) => Reply::Undecodable,
        (Some(Fault::ShortFileOk), Ok(mut value)) => {
            if let Some(bytes) = value["file"]["bytes"].as_u64() {
                value["file"]["bytes"] = bytes.saturating_sub(1).into();
            }
            Reply::Json(value)
        }
        (_, Ok(value)) => Reply::Json(value),
        (_, Err(e)) => Reply::Error(e),
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn status_reply(clock: &FakeClock, fault: &StatusFault) -> Reply {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if fault.body == FaultBody::Html {
        return Reply::Html(status);
    }
    let err = ApiError::injected(status);
    let Some(delay) = fault.retry_after else {
        return Reply::Error(err);
    };
    Reply::Error(match fault.retry_hint {
        RetryHint::None => err,
        RetryHint::Millis => err.with_header(
            HeaderName::from_static("retry-after-ms"),
            delay.as_millis().to_string(),
        ),
        RetryHint::Seconds => {
            let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            err.with_header(RETRY_AFTER, secs.to_string())
        }
        RetryHint::HttpDate => {
            let at = clock.now() + delay;
            let secs = at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
                .unwrap_or(0);
            let at = UNIX_EPOCH + Duration::from_secs(secs);
            err.with_header(RETRY_AFTER, httpdate::fmt_http_date(at))
        }
    })
}
