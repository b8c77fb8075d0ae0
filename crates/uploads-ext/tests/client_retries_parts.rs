//! A retried part re-sends exactly the same bytes, whatever its source (bytes, a file range, a
//! stream), and a failing source is not retried.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mockito::{Matcher, Mock, ServerGuard};
use uploads_ext::ByteStream;
use uploads_ext::{ErrorKind, PartBody};

mod common;
use common::multipart::{parse_multipart, FormPart};
use common::retrying::{assert_close, client, error_body, part_json, Recorder, GATE_SLACK};

// ---------------------------------------------------------------------------------------------
// retried parts re-send identical bytes

/// Two mocks on the parts path, both matching only the expected `data` field: the first answers
/// `first_status` once, the second 200 once.
async fn part_mocks(
    server: &mut ServerGuard,
    first_status: usize,
    expected: &'static [u8],
) -> (Mock, Mock) {
    let matches = move |req: &mockito::Request| {
        let ct = req
            .header("content-type")
            .first()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        req.body().ok().and_then(|b| parse_multipart(&ct, b).ok())
            == Some(vec![FormPart {
                name: Some("data".into()),
                filename: Some("chunk.bin".into()),
                content_type: Some("application/octet-stream".into()),
                body: expected.to_vec(),
            }])
    };
    let first = server
        .mock("POST", "/uploads/upload_abc/parts")
        .match_request(matches)
        .with_status(first_status)
        .with_header("retry-after-ms", "2000")
        .with_body(error_body(first_status))
        .expect(1)
        .create_async()
        .await;
    let second = server
        .mock("POST", "/uploads/upload_abc/parts")
        .match_request(matches)
        .with_header("content-type", "application/json")
        .with_body(part_json())
        .expect(1)
        .create_async()
        .await;
    (first, second)
}

#[tokio::test]
async fn a_retried_part_from_bytes_resends_identical_bytes() {
    let mut server = mockito::Server::new_async().await;
    let (first, second) = part_mocks(&mut server, 500, b"exactly these bytes\r\n\x00\xff").await;
    let recorder = Recorder::default();
    let part = client(&server, &recorder)
        .add_upload_part(
            "upload_abc",
            PartBody::bytes(&b"exactly these bytes\r\n\x00\xff"[..]).file_name("chunk.bin"),
        )
        .await
        .expect("second attempt succeeds");
    first.assert_async().await;
    second.assert_async().await;
    assert_eq!(part.id, "part_1");
    assert_eq!(recorder.delays(), [Duration::from_secs(2)]);
}

#[tokio::test]
async fn a_retried_part_from_a_file_range_rereads_the_range() {
    let mut server = mockito::Server::new_async().await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"skip-this|the range|and this").unwrap();
    let (first, second) = part_mocks(&mut server, 503, b"the range").await;
    let recorder = Recorder::default();
    client(&server, &recorder)
        .add_upload_part(
            "upload_abc",
            PartBody::file_range(file.path(), 10..19).file_name("chunk.bin"),
        )
        .await
        .expect("second attempt succeeds");
    first.assert_async().await;
    second.assert_async().await;
}

#[tokio::test]
async fn a_retried_stream_part_calls_the_factory_once_per_attempt() {
    let mut server = mockito::Server::new_async().await;
    let (first, second) = part_mocks(&mut server, 429, b"streamed, twice").await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let body = PartBody::stream(15, move || -> ByteStream {
        counter.fetch_add(1, Ordering::SeqCst);
        Box::pin(futures_util::stream::iter(["streamed", ", ", "twice"].map(
            |s| Ok::<_, std::io::Error>(Bytes::from_static(s.as_bytes())),
        )))
    })
    .file_name("chunk.bin");
    let recorder = Recorder::default();
    client(&server, &recorder)
        .add_upload_part("upload_abc", body)
        .await
        .expect("second attempt succeeds");
    first.assert_async().await;
    second.assert_async().await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one stream per attempt");
    let delays = recorder.delays();
    assert_eq!(delays.len(), 1, "{delays:?}");
    assert_close(&delays, Duration::from_secs(2), GATE_SLACK, "429 part");
}

#[tokio::test]
async fn a_failing_part_source_is_an_io_error_and_not_retried() {
    for kind in [
        std::io::ErrorKind::Other,
        std::io::ErrorKind::TimedOut,
        std::io::ErrorKind::NotFound,
    ] {
        let mut server = mockito::Server::new_async().await;
        // The request may reach the server half-sent once, never a second time.
        let mock = server
            .mock("POST", "/uploads/upload_abc/parts")
            .with_status(500)
            .expect_at_most(1)
            .create_async()
            .await;
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let body = PartBody::stream(10, move || -> ByteStream {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(futures_util::stream::iter(vec![
                Ok(Bytes::from_static(b"abc")),
                Err(std::io::Error::new(kind, "disk says no")),
            ]))
        });
        let recorder = Recorder::default();
        let err = client(&server, &recorder)
            .add_upload_part("upload_abc", body)
            .await
            .expect_err("the source fails");
        mock.assert_async().await;
        assert_eq!(err.kind(), ErrorKind::Io, "{kind:?}: {err}");
        assert!(!err.is_retryable(), "{kind:?}");
        assert_eq!(err.attempts(), 1, "{kind:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{kind:?}: not retried");
        assert!(recorder.delays().is_empty(), "{kind:?}");
        // The cause is in the source chain, not repeated by Display.
        assert!(!err.to_string().contains("disk says no"), "{err}");
        let mut chain = String::new();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        assert!(chain.contains("disk says no"), "{chain}");
    }

    // A file that disappeared: Io, not retried.
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let err = client(&server, &recorder)
        .add_upload_part(
            "upload_abc",
            PartBody::file_range(dir.path().join("gone.bin"), 0..10),
        )
        .await
        .expect_err("no such file");
    mock.assert_async().await;
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(err.attempts(), 1);
    assert!(recorder.delays().is_empty());
}
