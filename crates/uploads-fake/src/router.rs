//! Dispatch: which operation a request addresses, bearer auth, the in-flight
//! gauge and the link model, then the fault decided for it around the
//! operation. The vocabulary it uses lives below it (`route`, `reply`).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

use crate::api_error::ApiError;
use crate::auth;
use crate::body::ReqBody;
use crate::conn::Conn;
use crate::fault_effects::{self, Before};
use crate::link::LinkPath;
use crate::ops;
use crate::reply::Reply;
use crate::route::{Endpoint, Route};
use crate::service::Service;

/// Routes, authenticates and runs one request, injecting its fault.
pub(crate) async fn dispatch(service: &Arc<Service>, conn: &Conn, req: Request<Incoming>) -> Reply {
    let endpoint = Endpoint::parse(req.uri().path());
    let route = endpoint.as_ref().map(|e| e.route);
    service.count_request(route);
    // Held until the reply is chosen: the gauge is left before the client can see the answer.
    let _gauge = (route == Some(Route::AddPart)).then(|| service.enter_part());

    if let Err(e) = auth::check(&service.api_key, req.headers()) {
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
    let method = endpoint.route.method();
    if req.method() != method {
        return Reply::Error(ApiError::method_not_allowed(
            format!(
                "Invalid method for URL ({} {})",
                req.method(),
                req.uri().path()
            ),
            &method,
        ));
    }
    let (parts, body) = req.into_parts();

    if endpoint.route == Route::AddPart {
        // Wait while tests hold part requests (see FakeServer::hold_parts).
        let mut holds = service.holds.subscribe();
        let _ = holds.wait_for(|n| *n == 0).await;
    }

    let (link, shared) = service.link_and_shared();
    let caps = conn.pacer(link.per_connection).into_iter().collect();
    let mut body = ReqBody::new(body, LinkPath::new(caps, shared));
    if !link.latency.is_zero() {
        tokio::time::sleep(link.latency).await;
    }

    let fault = service.decide(endpoint.route, endpoint.id.as_deref());
    let slow =
        match fault_effects::before(fault.as_ref(), &mut body, &parts.headers, service.clock())
            .await
        {
            Before::Answer(reply) => return reply,
            Before::Perform { slow } => slow,
        };
    let result = ops::perform(service, &endpoint, &parts, body, slow).await;
    fault_effects::after(fault.as_ref(), result)
}
