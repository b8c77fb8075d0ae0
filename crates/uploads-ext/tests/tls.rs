//! The TLS feature in use (`rustls`, the default, or `native-tls`) builds and connects: a loopback
//! HTTPS server with a freshly generated self-signed certificate answers `cancel`.
//!
//! `cargo test -p uploads-ext --test tls` checks rustls;
//! `cargo test -p uploads-ext --no-default-features --features native-tls --test tls` native-tls.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use uploads_ext::{Client, ErrorKind, UploadStatus};

const CANCELLED: &str = r#"{"id":"upload_tls","object":"upload","bytes":1,"created_at":1,
"filename":"a.jsonl","purpose":"batch","status":"cancelled","expires_at":2}"#;

/// A certificate for `localhost` that every platform verifier accepts once trusted: serverAuth
/// usage and a validity under 825 days around today (macOS refuses longer ones).
fn self_signed_localhost() -> (rcgen::Certificate, rcgen::KeyPair) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let year = 1970 + (now / 31_556_952) as i32; // this year, or the next in its last hours
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(year - 1, 12, 1);
    params.not_after = rcgen::date_time_ymd(year + 1, 12, 31);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

/// A one-purpose HTTPS server on 127.0.0.1: answers every request with `CANCELLED` and reports
/// each request head it read. Returns its certificate (PEM) and base URL.
async fn https_server() -> (String, String, mpsc::UnboundedReceiver<String>) {
    let (cert, signing_key) = self_signed_localhost();
    let cert_pem = cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (heads, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let heads = heads.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = heads.send(String::from_utf8_lossy(&head).into_owned());
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{CANCELLED}",
                    CANCELLED.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (cert_pem, format!("https://localhost:{port}/v1"), received)
}

/// reqwest's client on the backend this build selected, trusting `cert_pem`.
fn http_client_trusting(cert_pem: &str) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap());
    #[cfg(feature = "rustls")]
    let builder = builder.tls_backend_rustls();
    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    let builder = builder.tls_backend_native();
    builder.build().expect("TLS client builds")
}

#[tokio::test]
async fn https_request_succeeds_with_a_trusted_certificate() {
    let (cert_pem, base_url, mut heads) = https_server().await;
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-tls-test")
        .base_url(&base_url)
        .http_client(http_client_trusting(&cert_pem))
        .build()
        .unwrap();
    let upload = client
        .cancel_upload("upload_tls")
        .await
        .expect("cancel over TLS");
    assert_eq!(upload.status, UploadStatus::Cancelled);
    let head = tokio::time::timeout(Duration::from_secs(10), heads.recv())
        .await
        .expect("server saw the request")
        .unwrap();
    assert!(
        head.starts_with("POST /v1/uploads/upload_tls/cancel HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer sk-tls-test"),
        "{head}"
    );
}

#[tokio::test]
async fn the_default_client_verifies_certificates() {
    // The client uploads-ext builds itself does not trust a self-signed certificate: the
    // handshake fails before any request is sent, as a connection error.
    let (_, base_url, mut heads) = https_server().await;
    let client = Client::builder()
        .ignore_env()
        .api_key("sk-tls-test")
        .base_url(&base_url)
        .max_retries(0)
        .build()
        .unwrap();
    let err = client
        .cancel_upload("upload_tls")
        .await
        .expect_err("untrusted certificate");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
    assert!(err.status().is_none());
    assert!(heads.try_recv().is_err(), "no request reached the server");
}
