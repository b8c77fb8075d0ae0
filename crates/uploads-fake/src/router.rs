//! Routing: which operation a request addresses, bearer auth, the in-flight
//! gauge, the link model, and where each kind of fault strikes around the
//! operation.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::header::{HeaderName, AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER};
use hyper::{HeaderMap, Method, Request, StatusCode};
use serde::{Deserialize, Serialize};

use crate::api_error::ApiError;
use crate::body::{Pause, ReqBody};
use crate::clock::FakeClock;
use crate::config::RetryHint;
use crate::faults::{Fault, FaultBody, StatusFault};
use crate::http::{Conn, Reply};
use crate::ops;
use crate::service::Service;

/// One of the four API operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `POST /v1/uploads`
    Create,
    /// `POST /v1/uploads/{id}/parts`
    AddPart,
    /// `POST /v1/uploads/{id}/complete`
    Complete,
    /// `POST /v1/uploads/{id}/cancel`
    Cancel,
}

/// The former name of [`Route`].
pub type Operation = Route;

/// A parsed request target.
pub(crate) struct Endpoint {
    pub route: Route,
    /// The upload the path names (all routes but create).
    pub upload_id: Option<String>,
}

impl Endpoint {
    fn parse(path: &str) -> Option<Endpoint> {
        let rest = path.strip_prefix("/v1/uploads")?;
        if rest.is_empty() {
            return Some(Endpoint {
                route: Route::Create,
                upload_id: None,
            });
        }
        let (id, action) = rest.strip_prefix('/')?.split_once('/')?;
        if id.is_empty() || action.contains('/') {
            return None;
        }
        let route = match action {
            "parts" => Route::AddPart,
            "complete" => Route::Complete,
            "cancel" => Route::Cancel,
            _ => return None,
        };
        Some(Endpoint {
            route,
            upload_id: Some(id.to_string()),
        })
    }
}

const NO_KEY: &str = "You didn't provide an API key. You need to provide your API key in an \
                      Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";

fn check_auth(service: &Service, headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized(NO_KEY))?
        .to_str()
        .unwrap_or("");
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match token {
        Some(t) if t == service.api_key => Ok(()),
        Some(t) => {
            let shown = if t.len() > 8 && t.is_char_boundary(3) && t.is_char_boundary(t.len() - 4) {
                format!("{}****{}", &t[..3], &t[t.len() - 4..])
            } else {
                "****".to_string()
            };
            Err(ApiError::unauthorized(format!(
                "Incorrect API key provided: {shown}."
            )))
        }
        None => Err(ApiError::unauthorized(NO_KEY)),
    }
}

/// Routes, authenticates and runs one request, injecting its fault.
pub(crate) async fn dispatch(service: &Arc<Service>, conn: &Conn, req: Request<Incoming>) -> Reply {
    let endpoint = Endpoint::parse(req.uri().path());
    let route = endpoint.as_ref().map(|e| e.route);
    service.count_request(route);
    let gauge = (route == Some(Route::AddPart)).then(|| service.enter_part());

    if let Err(e) = check_auth(service, req.headers()) {
        service.counters().requests.unauthorized += 1;
        return Reply::Error(e);
    }
    let Some(endpoint) = endpoint else {
        return Reply::Error(ApiError::not_found(format!(
            "Invalid URL ({} {})",
            req.method(),
            req.uri().path()
        )));
    };
    if req.method() != Method::POST {
        return Reply::Error(ApiError::method_not_allowed(format!(
            "Invalid method for URL ({} {})",
            req.method(),
            req.uri().path()
        )));
    }
    let (parts, body) = req.into_parts();

    if endpoint.route == Route::AddPart {
        // Wait while tests hold part requests (see FakeServer::hold_parts).
        let mut holds = service.holds.subscribe();
        let _ = holds.wait_for(|n| *n == 0).await;
    }

    let (link, shared) = service.link_and_shared();
    let pacers = [conn.pacer(link.per_connection), shared]
        .into_iter()
        .flatten()
        .collect();
    let mut body = ReqBody::new(body, pacers);
    if !link.latency.is_zero() {
        tokio::time::sleep(link.latency).await;
    }

    let fault = service.decide(endpoint.route, endpoint.upload_id.as_deref());
    let mut slow = None;
    match &fault {
        None | Some(Fault::DropAfterCommit | Fault::UndecodableOk) => {}
        Some(Fault::Status(status)) => {
            body.drain(u64::MAX).await;
            return status_reply(service.clock(), status);
        }
        Some(Fault::DropBeforeBody) => {
            // Leave the gauge before the client can observe the drop.
            drop(gauge);
            return Reply::Hangup;
        }
        Some(Fault::DropMidBody) => {
            let half = content_length(&parts.headers).map_or(1, |n| n / 2);
            body.drain(half.max(1)).await;
            drop(gauge);
            return Reply::Hangup;
        }
        Some(Fault::Stall(duration)) => {
            body.drain(u64::MAX).await;
            match duration {
                Some(d) => tokio::time::sleep(*d).await,
                // Until the client hangs up, which drops this future.
                None => std::future::pending().await,
            }
            drop(gauge);
            return Reply::Hangup;
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
    }

    let result = ops::perform(service, &endpoint, &parts.headers, body, slow).await;
    match (fault, result) {
        (Some(Fault::DropAfterCommit), _) => {
            drop(gauge);
            Reply::Hangup
        }
        (Some(Fault::UndecodableOk), Ok(_)) => Reply::Undecodable,
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
