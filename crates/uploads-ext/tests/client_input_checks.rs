//! The input checks that must reject a request before anything is sent (mockito answers
//! nothing and is asserted to see no request).

use std::time::Duration;

use mockito::Matcher;
use uploads_ext::limits::MAX_PART_BYTES;
use uploads_ext::ByteStream;
use uploads_ext::{ErrorKind, PartBody, Purpose};

mod common;
use common::wire::client;

// ---------------------------------------------------------------------------------------------
// input checks: nothing may reach the server

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let mut server = mockito::Server::new_async().await;
    let nothing = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = client(&server);
    let valid = || {
        client
            .create_upload()
            .filename("train.jsonl")
            .purpose(Purpose::FineTune)
            .bytes(10)
            .mime_type("text/jsonl")
    };

    let cases: Vec<(&str, uploads_ext::Result<uploads_ext::Upload>, &str)> = vec![
        (
            "missing filename",
            client
                .create_upload()
                .purpose(Purpose::FineTune)
                .bytes(10)
                .mime_type("text/jsonl")
                .await,
            "filename",
        ),
        ("empty filename", valid().filename("").await, "filename"),
        ("blank filename", valid().filename("   ").await, "filename"),
        ("bytes 0", valid().bytes(0).await, "at least 1 byte"),
        (
            "bytes over 8 GiB",
            valid().bytes(8 * 1024 * 1024 * 1024 + 1).await,
            "8 GiB",
        ),
        (
            "missing bytes",
            client
                .create_upload()
                .filename("a")
                .purpose(Purpose::FineTune)
                .mime_type("text/jsonl")
                .await,
            "bytes",
        ),
        (
            "missing purpose",
            client
                .create_upload()
                .filename("a")
                .bytes(1)
                .mime_type("text/jsonl")
                .await,
            "purpose",
        ),
        (
            "empty purpose",
            valid().purpose(Purpose::from(String::new())).await,
            "purpose",
        ),
        (
            "missing mime type",
            client
                .create_upload()
                .filename("a")
                .bytes(1)
                .purpose(Purpose::FineTune)
                .await,
            "mime_type",
        ),
        (
            "invalid mime type",
            valid().mime_type("not a mime type").await,
            "mime_type",
        ),
        (
            "expires_after below 1 hour",
            valid().expires_after(Duration::from_secs(3599)).await,
            "expires_after must be between 1 hour and 30 days (3600 to 2592000 seconds), got \
             59 min 59 s (3599 seconds)",
        ),
        (
            "expires_after above 30 days",
            valid().expires_after(Duration::from_secs(2_592_001)).await,
            "got 720 h 00 min (2592001 seconds)",
        ),
        (
            "complete without part ids",
            client.complete_upload("upload_abc").await,
            "part_ids",
        ),
        (
            "complete with an empty part id list",
            client
                .complete_upload("upload_abc")
                .part_ids(Vec::<String>::new())
                .md5("abc")
                .await,
            "part_ids",
        ),
    ];
    for (what, result, mentions) in cases {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
        assert_eq!(err.attempts(), 0, "{what}: no attempt was made");
        assert!(err.status().is_none(), "{what}");
        assert!(
            err.to_string().contains(mentions),
            "{what}: {err} should mention {mentions}"
        );
    }

    let part_cases = vec![
        ("empty part", PartBody::bytes(Vec::new()), "empty"),
        (
            "part over 64 MiB",
            PartBody::stream(MAX_PART_BYTES + 1, || -> ByteStream {
                panic!("an oversized part must not be read")
            }),
            "64 MiB",
        ),
        (
            "file range over 64 MiB",
            PartBody::file_range("/nonexistent/file", 0..MAX_PART_BYTES + 1),
            "64 MiB",
        ),
        (
            "empty file range",
            PartBody::file_range("/nonexistent/file", 7..7),
            "empty",
        ),
        (
            "invalid part content type",
            PartBody::bytes("x").content_type("not a type"),
            "content type",
        ),
    ];
    for (what, body, mentions) in part_cases {
        let err = client
            .add_upload_part("upload_abc", body)
            .await
            .expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
        assert_eq!(err.attempts(), 0, "{what}");
        assert_eq!(err.operation(), Some("add_upload_part"), "{what}");
        assert!(
            err.to_string().contains(mentions),
            "{what}: {err} should mention {mentions}"
        );
    }

    nothing.assert_async().await;
}
