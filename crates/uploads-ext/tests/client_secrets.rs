//! The API key never leaks: not in `Debug` of the client or builder, not in errors (`Display`,
//! `Debug`, source chain), not in tracing output at TRACE level.

use mockito::Matcher;
use serde_json::json;
use uploads_ext::{ApiKey, Client, ClientBuilder, Error, ErrorKind, PartBody, Purpose};

mod common;
use common::{LogBuffer, NoSleep};

const KEY: &str = "sk-test-SECRET123";

fn assert_no_key(text: &str, what: &str) {
    assert!(
        !text.contains(KEY) && !text.contains("SECRET123"),
        "{what} leaks the key: {text}"
    );
}

/// Every rendering of an error: Display, Debug, alternate Debug, and each source's Display/Debug.
fn assert_error_clean(err: &Error, what: &str) {
    assert_no_key(&err.to_string(), what);
    assert_no_key(&format!("{err:?}"), what);
    assert_no_key(&format!("{err:#?}"), what);
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        assert_no_key(&format!("{s} {s:?}"), what);
        source = s.source();
    }
}

fn builder(base_url: String) -> ClientBuilder {
    Client::builder()
        .ignore_env()
        .api_key(KEY)
        .base_url(base_url)
        .organization("org-visible")
        .sleep_impl(NoSleep)
}

#[tokio::test]
async fn debug_of_client_builder_and_key_is_redacted() {
    let builder = builder("http://127.0.0.1:9/v1".into());
    let shown = format!("{builder:?} {builder:#?}");
    assert_no_key(&shown, "ClientBuilder Debug");
    assert!(shown.contains("REDACTED"), "{shown}");
    assert!(shown.contains("org-visible"), "the rest is shown: {shown}");

    let client = builder.build().unwrap();
    let shown = format!("{client:?} {client:#?}");
    assert_no_key(&shown, "Client Debug");
    assert!(shown.contains("127.0.0.1:9"), "the rest is shown: {shown}");

    // A key that cannot be sent (trailing newline) is refused at build, without echoing it.
    let err = Client::builder()
        .ignore_env()
        .api_key(format!("{KEY}\n"))
        .build()
        .expect_err("a newline cannot be sent in a header");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("API key"), "{err}");
    assert_error_clean(&err, "invalid key error");

    let key = ApiKey::new(KEY);
    assert_no_key(&format!("{key:?}"), "ApiKey Debug");
    assert_eq!(key.expose(), KEY);
}

/// A base URL with `user:password@` is refused before any request (reqwest would send Basic auth
/// from it instead of the key), and no message or `Debug` repeats the password.
#[tokio::test]
async fn base_url_with_credentials_is_refused_without_echoing_them() {
    for url in [
        "https://user:SECRET123@api.example.com/v1",
        "https://SECRET123@api.example.com/v1",
        "http://user:SECRET123@127.0.0.1:9/v1",
        // Invalid (space in the host) and still not echoed.
        "https://user:SECRET123@bad host/v1",
        // Not http(s): refused for that, still not echoed.
        "ftp://user:SECRET123@example.com/v1",
    ] {
        let builder = builder(url.into());
        assert_no_key(&format!("{builder:?}"), "ClientBuilder Debug");
        let err = builder
            .build()
            .expect_err("credentials in a base URL are refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
        assert_error_clean(&err, url);
        assert!(err.to_string().contains("***@"), "{url}: {err}");
    }
    let err = builder("https://u:SECRET123@api.example.com/v1".into())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("credentials"), "{err}");
    // A plain `@` later in the path is not mistaken for credentials.
    let client = builder("http://127.0.0.1:9/v1/@team".into())
        .build()
        .unwrap();
    assert!(client.base_url().ends_with("/v1/@team"));
}

#[tokio::test]
async fn errors_and_traces_never_contain_the_key() {
    let logs = LogBuffer::default();
    let _guard = logs.install(tracing::Level::TRACE);

    let mut server = mockito::Server::new_async().await;
    let client = builder(server.url()).build().unwrap();
    let auth = format!("Bearer {KEY}");

    // A 401 (not retried), a 500 then a success (retried), a part, and an undecodable body.
    let unauthorized = server
        .mock("POST", "/uploads")
        .match_header("authorization", auth.as_str())
        .with_status(401)
        .with_header("x-request-id", "req_401")
        .with_body(
            json!({"error": {"message": "Incorrect API key provided: sk-test-****.",
                             "type": "invalid_request_error", "param": null,
                             "code": "invalid_api_key"}})
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let err = client
        .create_upload()
        .filename("a.jsonl")
        .purpose(Purpose::FineTune)
        .bytes(5)
        .mime_type("text/jsonl")
        .await
        .expect_err("401");
    unauthorized.assert_async().await;
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_error_clean(&err, "401 error");

    let flaky = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .match_header("authorization", auth.as_str())
        .with_status(500)
        .with_body("oops")
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .match_header("authorization", auth.as_str())
        .with_header("content-type", "application/json")
        .with_body(
            json!({"id": "upload_abc", "object": "upload", "bytes": 5, "created_at": 1,
                   "filename": "a.jsonl", "purpose": "fine-tune", "status": "cancelled",
                   "expires_at": 2})
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    client
        .cancel_upload("upload_abc")
        .await
        .expect("succeeds after one retry");
    flaky.assert_async().await;
    ok.assert_async().await;

    let garbled = server
        .mock("POST", "/uploads/upload_abc/parts")
        .match_header("authorization", auth.as_str())
        .match_header(
            "content-type",
            Matcher::Regex("^multipart/form-data".into()),
        )
        .with_header("content-type", "application/json")
        .with_body("{not json")
        .expect(1)
        .create_async()
        .await;
    let err = client
        .add_upload_part("upload_abc", PartBody::bytes("hello"))
        .await
        .expect_err("undecodable");
    garbled.assert_async().await;
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_error_clean(&err, "decode error");

    // Transport failures: connection refused (after retries) carries a reqwest source chain.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = builder(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap()
        .complete_upload("upload_abc")
        .part_ids(["part_1"])
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_error_clean(&err, "connection error");

    // Input errors too.
    let err = client
        .add_upload_part("upload_abc", PartBody::bytes(""))
        .await
        .expect_err("empty part");
    assert_error_clean(&err, "input error");

    let out = logs.text();
    // Capture works: the operations and outcomes are there...
    for needle in [
        "openai_uploads.request",
        "create_upload",
        "cancel_upload",
        "add_upload_part",
        "complete_upload",
        "request failed",
        "retrying",
        "request succeeded",
        "req_401",
    ] {
        assert!(
            out.contains(needle),
            "trace output lacks {needle:?}:\n{out}"
        );
    }
    // ...and the key is not.
    assert_no_key(&out, "tracing output");
}
