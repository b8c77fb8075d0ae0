//! Client options: default headers, per-request options on the four operations, and derived
//! clients (`Client::with_options`) that share the connection pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mockito::{Matcher, ServerGuard};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use uploads_ext::{Client, ClientBuilder, Error, ErrorKind, PartBody, RequestOptions};

mod common;
use common::{NoSleep, OPERATIONS};

fn builder(base_url: String) -> ClientBuilder {
    Client::builder()
        .ignore_env()
        .api_key("sk-test-options")
        .base_url(base_url)
        .sleep_impl(NoSleep)
}

fn body_of(op: usize) -> String {
    if op == 1 {
        json!({"id": "part_1", "object": "upload.part", "created_at": 1, "upload_id": "upload_abc"})
    } else {
        json!({"id": "upload_abc", "object": "upload", "bytes": 5, "created_at": 1,
               "filename": "a.jsonl", "purpose": "fine-tune", "status": "pending", "expires_at": 2})
    }
    .to_string()
}

/// Sends operation `op` (see [`OPERATIONS`]) with `options` on its request builder.
async fn run_with(client: &Client, op: usize, options: RequestOptions) -> Result<(), Error> {
    match op {
        0 => client
            .create_upload()
            .filename("a.jsonl")
            .purpose("fine-tune")
            .bytes(5)
            .mime_type("text/jsonl")
            .options(options)
            .await
            .map(drop),
        1 => client
            .add_upload_part("upload_abc", PartBody::bytes("hello"))
            .options(options)
            .await
            .map(drop),
        2 => client
            .complete_upload("upload_abc")
            .part_ids(["part_1"])
            .options(options)
            .await
            .map(drop),
        _ => client
            .cancel_upload("upload_abc")
            .options(options)
            .await
            .map(drop),
    }
}

#[tokio::test]
async fn default_and_per_request_headers_reach_all_four_operations() {
    let mut server = mockito::Server::new_async().await;
    let client = builder(server.url())
        .default_header("Helicone-Auth", "Bearer sk-helicone-secret")
        .default_header("X-Team", "default-team")
        .build()
        .unwrap();
    for (op, (name, path)) in OPERATIONS.iter().enumerate() {
        // The request's own header is added; one of the same name replaces the client's.
        let mock = server
            .mock("POST", *path)
            .match_header("helicone-auth", "Bearer sk-helicone-secret")
            .match_header("x-team", "request-team")
            .match_header("x-job", format!("job-{op}").as_str())
            .match_header("authorization", "Bearer sk-test-options")
            .with_header("content-type", "application/json")
            .with_body(body_of(op))
            .expect(1)
            .create_async()
            .await;
        let options = RequestOptions::new()
            .header("X-Team", "request-team")
            .header("X-Job", format!("job-{op}"));
        run_with(&client, op, options)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        mock.assert_async().await;
        // Without options, only the client's headers are sent.
        let plain = server
            .mock("POST", *path)
            .match_header("x-team", "default-team")
            .match_header("x-job", Matcher::Missing)
            .with_header("content-type", "application/json")
            .with_body(body_of(op))
            .expect(1)
            .create_async()
            .await;
        common::run(&client, op).await.unwrap();
        plain.assert_async().await;
        plain.remove_async().await;
        mock.remove_async().await;
    }
}

#[tokio::test]
async fn an_authorization_header_replaces_the_api_key() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", OPERATIONS[3].1)
        .match_header("authorization", "Bearer gateway-token")
        .with_header("content-type", "application/json")
        .with_body(body_of(3))
        .expect(2)
        .create_async()
        .await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let count = server
        .mock("POST", OPERATIONS[3].1)
        .match_request(move |request| {
            let values = request.header("authorization");
            record.lock().unwrap().push(values.len());
            false // only observes; `mock` answers
        })
        .expect(0)
        .create_async()
        .await;
    let by_builder = builder(server.url())
        .default_header("Authorization", "Bearer gateway-token")
        .build()
        .unwrap();
    common::run(&by_builder, 3).await.unwrap();
    let client = builder(server.url()).build().unwrap();
    let per_request = RequestOptions::new().header("authorization", "Bearer gateway-token");
    run_with(&client, 3, per_request).await.unwrap();
    mock.assert_async().await;
    count.assert_async().await;
    assert_eq!(
        *seen.lock().unwrap(),
        [1, 1],
        "one Authorization header per request"
    );
}

#[test]
fn default_headers_that_carry_credentials_are_redacted() {
    let builder = builder("http://127.0.0.1:9/v1".into())
        .default_header("Helicone-Auth", "Bearer sk-helicone-secret")
        .default_header("api-key", "azure-secret-key")
        .default_header("X-Team", "visible-team");
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let client_debug = format!("{client:?}");
    for debug in [&builder_debug, &client_debug] {
        assert!(!debug.contains("sk-helicone-secret"), "{debug}");
        assert!(!debug.contains("azure-secret-key"), "{debug}");
        assert!(!debug.contains("sk-test-options"), "{debug}");
        assert!(debug.contains("helicone-auth"), "{debug}");
        assert!(debug.contains("visible-team"), "{debug}");
    }
}

#[test]
fn an_invalid_default_header_fails_the_build_without_repeating_it() {
    let err = builder("http://127.0.0.1:9/v1".into())
        .default_header("x-api-key", "secret-value\n")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        !format!("{err} {err:?}").contains("secret-value"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_invalid_request_header_fails_before_sending() {
    let mut server = mockito::Server::new_async().await;
    let never = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = builder(server.url()).build().unwrap();
    for op in 0..OPERATIONS.len() {
        let bad = RequestOptions::new().header("bad header", "v");
        let err = run_with(&client, op, bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    }
    let derived = client.with_options(RequestOptions::new().header("x-ok", "a\u{7f}b\n"));
    let err = common::run(&derived, 3).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    never.assert_async().await;
}

/// A mock answering 500 to `path`, expected `hits` times.
fn failing(server: &mut ServerGuard, path: &str, hits: usize) -> mockito::Mock {
    server
        .mock("POST", path)
        .with_status(500)
        .with_body(r#"{"error":{"message":"boom","type":"server_error"}}"#)
        .expect(hits)
}

#[tokio::test]
async fn max_retries_per_request_and_per_derived_client() {
    let mut server = mockito::Server::new_async().await;
    let client = builder(server.url()).max_retries(2).build().unwrap();
    for (op, (_, path)) in OPERATIONS.iter().enumerate() {
        // The client's 2 retries: 3 attempts.
        let mock = failing(&mut server, path, 3).create_async().await;
        common::run(&client, op).await.unwrap_err();
        mock.assert_async().await;
        mock.remove_async().await;
        // This request only: no retry.
        let mock = failing(&mut server, path, 1).create_async().await;
        let err = run_with(&client, op, RequestOptions::new().max_retries(0))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Server);
        mock.assert_async().await;
        mock.remove_async().await;
        // A derived client: 1 retry, and the original keeps its 2.
        let derived = client.with_options(RequestOptions::new().max_retries(1));
        let mock = failing(&mut server, path, 2).create_async().await;
        common::run(&derived, op).await.unwrap_err();
        mock.assert_async().await;
        mock.remove_async().await;
        assert_eq!(client.retry_policy().max_retries(), 2);
        assert_eq!(derived.retry_policy().max_retries(), 1);
    }
}

/// A loopback server that accepts connections and never answers.
async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test]
async fn timeout_per_request_and_per_derived_client() {
    let (url, server) = silent_server().await;
    // The client's own timeout (10 minutes by default) never fires in this test.
    let client = builder(url).max_retries(0).build().unwrap();
    let bound = Duration::from_secs(30);
    for op in 0..OPERATIONS.len() {
        let quick = RequestOptions::new().timeout(Duration::from_millis(100));
        let err = tokio::time::timeout(bound, run_with(&client, op, quick))
            .await
            .expect("the request's timeout fired")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    }
    let derived = client.with_options(RequestOptions::new().timeout(Duration::from_millis(100)));
    let err = tokio::time::timeout(bound, common::run(&derived, 3))
        .await
        .expect("the derived client's timeout fired")
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    server.abort();
}

/// A loopback HTTP/1.1 server answering every request with an Upload, keeping connections open;
/// counts the connections it accepted.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while pending.len() < end + 4 + length {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    }
                    pending.drain(..end + 4 + length);
                    let body = body_of(3);
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, connections)
}

#[tokio::test]
async fn a_derived_client_shares_the_connection_pool() {
    let (url, connections) = counting_server().await;
    let client = builder(url.clone()).build().unwrap();
    let derived = client.with_options(
        RequestOptions::new()
            .timeout(Duration::from_secs(60))
            .header("x-derived", "1"),
    );
    for round in 0..3 {
        common::run(&client, 3).await.unwrap();
        common::run(&derived, 3).await.unwrap();
        assert_eq!(
            connections.load(Ordering::SeqCst),
            1,
            "round {round}: one connection"
        );
    }
    // A separately built client has its own pool: a second connection.
    let separate = builder(url).build().unwrap();
    common::run(&separate, 3).await.unwrap();
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}
