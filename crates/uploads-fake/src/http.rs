//! HTTP: the accept loop, one task per connection, and turning a handler's
//! `Reply` into a response (or a dropped connection).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::api_error::ApiError;
use crate::conn::Conn;
use crate::reply::Reply;
use crate::router;
use crate::service::Service;

pub(crate) type Body = Full<Bytes>;

/// Accepts connections until `shutdown` becomes true (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    mut shutdown: watch::Receiver<bool>,
) {
    let conn_shutdown = shutdown.clone();
    loop {
        tokio::select! {
            _ = async { shutdown.wait_for(|s| *s).await.map(|_| ()) } => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_conn(stream, service.clone(), conn_shutdown.clone()));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn serve_conn(stream: TcpStream, service: Arc<Service>, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let conn = Arc::new(Conn::default());
    let svc_conn = conn.clone();
    let svc = service_fn(move |req| {
        let service = service.clone();
        let conn = svc_conn.clone();
        async move { Ok::<_, Infallible>(handle(service, conn, req).await) }
    });
    let http = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        res = http => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection error");
            }
        }
        _ = conn.abort.notified() => {
            tracing::debug!("dropping connection (injected fault)");
        }
        _ = async { shutdown.wait_for(|s| *s).await.map(|_| ()) } => {}
    }
}

async fn handle(
    service: Arc<Service>,
    conn: Arc<Conn>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Response<Body> {
    let request_id = service.next_request_id();
    let mut resp = match router::dispatch(&service, &conn, req).await {
        Reply::Json(v) => json_response(StatusCode::OK, &v),
        Reply::Error(e) => {
            tracing::debug!(status = %e.status, message = %e.message, "error response");
            error_response(&e)
        }
        Reply::Html(status) => html_response(status),
        Reply::Undecodable => raw_response(
            StatusCode::OK,
            "application/json",
            Bytes::from_static(b"{\"object\": \"upload\", \"id\": \"upl"),
        ),
        Reply::Hangup => {
            conn.abort.notify_one();
            return std::future::pending().await;
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

fn raw_response(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let data = serde_json::to_vec(body).unwrap_or_default();
    raw_response(status, "application/json", Bytes::from(data))
}

fn error_response(err: &ApiError) -> Response<Body> {
    let mut resp = json_response(err.status, &err.body());
    for (name, value) in &err.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(name.clone(), v);
        }
    }
    resp
}

fn html_response(status: StatusCode) -> Response<Body> {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    raw_response(status, "text/html", Bytes::from(page))
}
