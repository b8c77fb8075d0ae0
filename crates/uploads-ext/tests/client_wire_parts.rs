//! The multipart body of a part, byte for byte, against a real HTTP server on loopback
//! (mockito): one `data` field with its file name, content type and exact bytes, from bytes,
//! a file range or a stream.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use mockito::{Matcher, Mock, ServerGuard};
use uploads_ext::ByteStream;
use uploads_ext::{ErrorKind, PartBody};

mod common;
use common::multipart::{parse_multipart, FormPart};
use common::wire::{client, common_headers, part_json};

/// A mock of `POST {path}` that matches only a multipart body made of exactly one `data` field
/// with the given file name, content type and bytes. The last body seen is kept for messages.
async fn expect_part(
    server: &mut ServerGuard,
    path: &str,
    file_name: &'static str,
    content_type: &'static str,
    expected: &'static [u8],
) -> (Mock, Arc<Mutex<Option<String>>>) {
    let seen = Arc::new(Mutex::new(None));
    let seen_in = seen.clone();
    let mock = common_headers(server.mock("POST", path))
        .match_header(
            "content-type",
            Matcher::Regex("^multipart/form-data; boundary=".into()),
        )
        .match_request(move |req| {
            let ct = req
                .header("content-type")
                .first()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let Ok(body) = req.body() else { return false };
            let parsed = parse_multipart(&ct, body);
            *seen_in.lock().unwrap() = Some(format!("{parsed:?}"));
            parsed.is_ok_and(|parts| {
                parts
                    == vec![FormPart {
                        name: Some("data".into()),
                        filename: Some(file_name.into()),
                        content_type: Some(content_type.into()),
                        body: expected.to_vec(),
                    }]
            })
        })
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(part_json("part_1", "upload_abc"))
        .expect(1)
        .create_async()
        .await;
    (mock, seen)
}

// ---------------------------------------------------------------------------------------------
// parts

#[tokio::test]
async fn part_from_bytes_is_one_data_field_with_name_type_and_exact_bytes() {
    let mut server = mockito::Server::new_async().await;
    // Every byte value, CR LF and a fake boundary inside the payload.
    static PAYLOAD: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        let mut v: Vec<u8> = (0..=255u8).collect();
        v.extend_from_slice(b"\r\n--not-the-boundary\r\n\r\n");
        v
    });
    let payload: &'static [u8] = &PAYLOAD;
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "train.jsonl.part0",
        "application/jsonl",
        payload,
    )
    .await;
    let part = client(&server)
        .add_upload_part(
            "upload_abc",
            PartBody::bytes(payload.to_vec())
                .file_name("train.jsonl.part0")
                .content_type("application/jsonl"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
    assert_eq!(part.id, "part_1");
    assert_eq!(part.upload_id, "upload_abc");
}

#[tokio::test]
async fn part_defaults_to_file_name_part_and_octet_stream() {
    let mut server = mockito::Server::new_async().await;
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "part",
        "application/octet-stream",
        b"hello world",
    )
    .await;
    client(&server)
        .add_upload_part("upload_abc", PartBody::bytes("hello world"))
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
}

#[tokio::test]
async fn part_from_a_file_range_sends_only_the_range() {
    let mut server = mockito::Server::new_async().await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"0123456789abcdefghijKLMNOPQRST").unwrap();
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "data.bin",
        "application/octet-stream",
        b"abcdefghij",
    )
    .await;
    client(&server)
        .add_upload_part(
            "upload_abc",
            PartBody::file_range(file.path(), 10..20).file_name("data.bin"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
}

#[tokio::test]
async fn part_from_a_file_range_past_the_end_fails_without_a_short_part() {
    let mut server = mockito::Server::new_async().await;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"0123456789").unwrap();
    // A request may start streaming, but a part with fewer bytes than declared must never be
    // accepted: the server only answers 200 to a complete 10-byte body.
    let (mock, _seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "part",
        "application/octet-stream",
        b"56789",
    )
    .await;
    let err = client(&server)
        .add_upload_part("upload_abc", PartBody::file_range(file.path(), 5..15))
        .send()
        .await
        .expect_err("the file is shorter than the range");
    assert_eq!(err.kind(), ErrorKind::FileChanged, "{err}");
    assert!(
        !mock.matched_async().await,
        "a short part reached the server"
    );
}

#[tokio::test]
async fn part_from_a_stream_sends_the_streamed_bytes() {
    let mut server = mockito::Server::new_async().await;
    let (mock, seen) = expect_part(
        &mut server,
        "/v1/uploads/upload_abc/parts",
        "stream.txt",
        "text/plain",
        b"hello streaming world",
    )
    .await;
    let body = PartBody::stream(21, || -> ByteStream {
        Box::pin(futures_util::stream::iter(
            ["hello ", "streaming", " world"]
                .map(|s| Ok::<_, std::io::Error>(Bytes::from_static(s.as_bytes()))),
        ))
    })
    .file_name("stream.txt")
    .content_type("text/plain");
    client(&server)
        .add_upload_part("upload_abc", body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("part failed: {e}; server saw {:?}", seen.lock().unwrap()));
    mock.assert_async().await;
}
