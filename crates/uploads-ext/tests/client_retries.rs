//! Retry behaviour: which failures are retried, how many times and how long the client waits (via
//! an injected sleeper that records the requested delays and returns at once). Retried parts are
//! in `client_retries_parts.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use uploads_ext::ErrorKind;
use uploads_ext::RetryPolicy;

mod common;
use common::retrying::{
    assert_backoff, assert_close, builder, client, error_body, failing, upload_json, Recorder,
    GATE_SLACK,
};
use common::{run, OPERATIONS};

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn retryable_statuses_are_sent_three_times_by_default() {
    for (i, status) in [500, 503, 429, 408, 409].into_iter().enumerate() {
        let mut server = mockito::Server::new_async().await;
        let op = i % OPERATIONS.len();
        let mock = failing(&mut server, OPERATIONS[op].1, status, 3).await;
        let recorder = Recorder::default();
        let err = run(&client(&server, &recorder), op)
            .await
            .expect_err("keeps failing");
        mock.assert_async().await;
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status as u16));
        assert_eq!(err.attempts(), 3, "HTTP {status}: {err}");
        assert!(err.to_string().contains("after 3 attempts"), "{err}");
        let delays = recorder.delays();
        assert_eq!(delays.len(), 2, "HTTP {status}: {delays:?}");
        let slack = if status == 429 {
            GATE_SLACK
        } else {
            Duration::ZERO
        };
        assert_backoff(&delays, slack, &format!("HTTP {status}"));
    }
}

#[tokio::test]
async fn max_retries_zero_sends_once_and_waits_never() {
    let mut server = mockito::Server::new_async().await;
    let mock = failing(&mut server, "/uploads", 500, 1).await;
    let recorder = Recorder::default();
    let client = builder(server.url(), &recorder)
        .max_retries(0)
        .build()
        .unwrap();
    let err = run(&client, 0).await.expect_err("500");
    mock.assert_async().await;
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(recorder.delays().is_empty());
}

#[tokio::test]
async fn backoff_doubles_and_caps_at_eight_seconds() {
    let mut server = mockito::Server::new_async().await;
    let mock = failing(&mut server, "/uploads/upload_abc/cancel", 500, 7).await;
    let recorder = Recorder::default();
    let client = builder(server.url(), &recorder)
        .max_retries(6)
        .build()
        .unwrap();
    let err = run(&client, 3).await.expect_err("500s");
    mock.assert_async().await;
    assert_eq!(err.attempts(), 7);
    let delays = recorder.delays();
    assert_eq!(delays.len(), 6, "{delays:?}");
    assert_backoff(&delays, Duration::ZERO, "backoff");
    assert!(
        delays[5] >= Duration::from_secs(6),
        "capped, not doubled past 8 s: {delays:?}"
    );
    // A custom policy's bounds apply instead of the defaults.
    let mut server = mockito::Server::new_async().await;
    let mock = failing(&mut server, "/uploads/upload_abc/cancel", 500, 3).await;
    let recorder = Recorder::default();
    let client = builder(server.url(), &recorder)
        .retry_policy(
            RetryPolicy::builder()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(15))
                .build(),
        )
        .build()
        .unwrap();
    run(&client, 3).await.expect_err("500s");
    mock.assert_async().await;
    let delays = recorder.delays();
    assert_eq!(delays.len(), 2);
    assert!(
        delays[0] >= Duration::from_micros(7500) && delays[0] <= Duration::from_millis(10),
        "{delays:?}"
    );
    assert!(
        delays[1] >= Duration::from_micros(11250) && delays[1] <= Duration::from_millis(15),
        "{delays:?}"
    );
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for (i, status) in [400, 401, 403, 404, 422].into_iter().enumerate() {
        let mut server = mockito::Server::new_async().await;
        let op = i % OPERATIONS.len();
        let mock = failing(&mut server, OPERATIONS[op].1, status, 1).await;
        let recorder = Recorder::default();
        let err = run(&client(&server, &recorder), op)
            .await
            .expect_err("fails");
        mock.assert_async().await;
        assert_eq!(err.attempts(), 1, "HTTP {status}");
        assert!(!err.is_retryable(), "HTTP {status}");
        assert!(recorder.delays().is_empty(), "HTTP {status}");
    }
}

#[tokio::test]
async fn x_should_retry_overrides_the_status() {
    let mut server = mockito::Server::new_async().await;
    let no = server
        .mock("POST", "/uploads")
        .with_status(500)
        .with_header("x-should-retry", "false")
        .with_body(error_body(500))
        .expect(1)
        .create_async()
        .await;
    let yes = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .with_status(400)
        .with_header("x-should-retry", "true")
        .with_body(error_body(400))
        .expect(3)
        .create_async()
        .await;
    let recorder = Recorder::default();
    let client = client(&server, &recorder);
    let err = run(&client, 0).await.expect_err("500");
    assert_eq!(err.attempts(), 1);
    assert!(!err.is_retryable());
    assert!(recorder.delays().is_empty());
    let err = run(&client, 3).await.expect_err("400");
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.attempts(), 3);
    assert_eq!(recorder.delays().len(), 2);
    no.assert_async().await;
    yes.assert_async().await;
}

/// Runs operation `op` against a server that fails it three times with `status` and `headers`;
/// returns the error and the delays the client asked for between the attempts.
async fn failing_thrice(
    op: usize,
    status: usize,
    headers: &[(&str, &str)],
) -> (uploads_ext::Error, Vec<Duration>) {
    let mut server = mockito::Server::new_async().await;
    let path = OPERATIONS[op].1;
    let mut mock = server.mock("POST", path).with_status(status);
    for (name, value) in headers {
        mock = mock.with_header(*name, value);
    }
    let mock = mock
        .with_body(error_body(status))
        .expect(3)
        .create_async()
        .await;
    let recorder = Recorder::default();
    let err = run(&client(&server, &recorder), op)
        .await
        .expect_err("fails three times");
    mock.assert_async().await;
    assert_eq!(err.attempts(), 3, "HTTP {status} {headers:?}");
    let delays = recorder.delays();
    assert_eq!(delays.len(), 2, "{delays:?}");
    (err, delays)
}

#[tokio::test]
async fn retry_after_headers_set_the_delay() {
    let ms = [("retry-after-ms", "1500"), ("retry-after", "9")];
    let seconds = [("retry-after", "2")];
    for (op, headers, expected) in [
        (0, &ms[..], Duration::from_millis(1500)),
        (2, &seconds[..], Duration::from_secs(2)),
    ] {
        for status in [500, 503, 429] {
            let (err, delays) = failing_thrice(op, status, headers).await;
            assert_eq!(err.retry_after(), Some(expected));
            if status == 429 {
                // The client-wide pause: the gate may already have run down a little.
                assert_close(&delays, expected, GATE_SLACK, "429");
            } else {
                assert_eq!(delays, [expected; 2]);
            }
        }
    }
}

#[tokio::test]
async fn retry_after_http_date_sets_the_delay_approximately() {
    for status in [500, 429] {
        let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(10));
        let (_, delays) = failing_thrice(0, status, &[("retry-after", &when)]).await;
        for d in delays {
            // The date has whole seconds and some time passes: between 8 and 10 seconds.
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(10),
                "HTTP {status}: {d:?}"
            );
        }
    }
}

#[tokio::test]
async fn server_delays_beyond_the_cap_fall_back_to_backoff() {
    let (_, delays) = failing_thrice(0, 503, &[("retry-after", "3600")]).await;
    assert_backoff(&delays, Duration::ZERO, "capped server delay");
}

#[tokio::test]
async fn absurd_server_delays_are_ignored_not_a_panic() {
    for (header, value) in [
        ("retry-after", "1e30"),
        ("retry-after-ms", "1e300"),
        ("retry-after", "-5"),
        ("retry-after", "NaN"),
    ] {
        let (err, delays) = failing_thrice(0, 503, &[(header, value)]).await;
        assert_eq!(err.retry_after(), None, "{header}: {value}");
        assert_backoff(&delays, Duration::ZERO, value);
    }
}

#[tokio::test]
async fn rate_limited_then_ok_succeeds_with_two_requests() {
    let mut server = mockito::Server::new_async().await;
    let limited = server
        .mock("POST", "/uploads")
        .with_status(429)
        .with_header("retry-after-ms", "300")
        .with_body(error_body(429))
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("POST", "/uploads")
        .with_header("content-type", "application/json")
        .with_body(upload_json())
        .expect(1)
        .create_async()
        .await;
    let recorder = Recorder::default();
    run(&client(&server, &recorder), 0)
        .await
        .expect("succeeds on the second attempt");
    limited.assert_async().await;
    ok.assert_async().await;
    let delays = recorder.delays();
    assert_eq!(delays.len(), 1, "{delays:?}");
    assert_close(
        &delays,
        Duration::from_millis(300),
        GATE_SLACK,
        "429 then 200",
    );
}

#[tokio::test]
async fn connection_failures_and_timeouts_are_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let recorder = Recorder::default();
    let client = builder(format!("http://127.0.0.1:{port}"), &recorder)
        .build()
        .unwrap();
    let err = run(&client, 3).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(err.attempts(), 3);
    assert_eq!(recorder.delays().len(), 2);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let recorder = Recorder::default();
    let client = builder(format!("http://{addr}"), &recorder)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = run(&client, 2).await.expect_err("never answered");
    silent.abort();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.attempts(), 3);
    assert_eq!(recorder.delays().len(), 2);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "each attempt opened its own connection"
    );
}

#[tokio::test]
async fn an_empty_quota_is_not_retried_and_pauses_no_other_request() {
    let mut server = mockito::Server::new_async().await;
    let quota = server
        .mock("POST", "/uploads/upload_abc/cancel")
        .with_status(429)
        .with_header("content-type", "application/json")
        .with_header("retry-after", "20")
        .with_body(
            json!({"error": {"message": "You exceeded your current quota",
                             "type": "insufficient_quota", "param": null,
                             "code": "insufficient_quota"}})
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("POST", "/uploads/upload_abc/complete")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(upload_json())
        .expect(1)
        .create_async()
        .await;
    let recorder = Recorder::default();
    let client = client(&server, &recorder);
    let err = client
        .cancel_upload("upload_abc")
        .await
        .expect_err("out of quota");
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.attempts(), 1, "{err}");
    assert!(!err.is_retryable() && !err.is_transient(), "{err}");
    // The next request of the client goes out at once: the quota is no rate limit to wait out.
    client
        .complete_upload("upload_abc")
        .part_ids(["part_1"])
        .await
        .expect("not paused");
    quota.assert_async().await;
    ok.assert_async().await;
    assert!(recorder.delays().is_empty(), "{:?}", recorder.delays());
}

/// A cancel whose answer is lost is retried. The fake answers a repeated cancel with the
/// Upload (idempotent); another server may refuse it with "status 'cancelled'". `ensure`
/// counts both as cancelled, while `send` reports the refusal as the API gave it. A cancel the
/// API refuses for another status is never reported as a cancel.
#[tokio::test]
async fn ensure_counts_a_retried_cancel_that_finds_its_own_work_done() {
    use uploads_ext::{CancelOutcome, Purpose, UploadStatus};
    use uploads_fake::{FakeConfig, FakeServer, Fault, FaultPlan, Route};

    let plan = FaultPlan::new().nth(Route::Cancel, 1, Fault::DropAfterCommit);
    let server = FakeServer::start_with(FakeConfig::default().with_fault_plan(plan))
        .await
        .unwrap();
    let faked = common::fake_client(&server, Duration::from_secs(10));
    let lost = faked
        .create_upload()
        .filename("lost.bin")
        .purpose(Purpose::Batch)
        .bytes(4)
        .mime_type("application/octet-stream")
        .send()
        .await
        .unwrap();
    match faked.cancel_upload(&lost.id).ensure().await.unwrap() {
        CancelOutcome::Cancelled(upload) => assert_eq!(upload.status, UploadStatus::Cancelled),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.stats().requests.get(Route::Cancel), 2, "one retry");

    let mut mock = mockito::Server::new_async().await;
    let refuse = |status: &str| {
        json!({"error": {
            "message": format!("Cannot cancel upload upload_x because its status is '{status}'."),
            "type": "invalid_request_error", "param": null, "code": null
        }})
        .to_string()
    };
    let cancelled = mock
        .mock("POST", "/uploads/upload_x/cancel")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(refuse("cancelled"))
        .expect(2)
        .create_async()
        .await;
    let mocked = client(&mock, &Recorder::default());
    let outcome = mocked.cancel_upload("upload_x").ensure().await.unwrap();
    assert_eq!(outcome, CancelOutcome::AlreadyCancelled);
    let err = mocked.cancel_upload("upload_x").send().await.unwrap_err();
    assert_eq!(err.upload_status(), Some(UploadStatus::Cancelled), "{err}");
    cancelled.assert_async().await;

    let completed = mock
        .mock("POST", "/uploads/upload_y/cancel")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(refuse("completed").replace("upload_x", "upload_y"))
        .create_async()
        .await;
    let err = mocked.cancel_upload("upload_y").ensure().await.unwrap_err();
    assert_eq!(err.upload_status(), Some(UploadStatus::Completed), "{err}");
    completed.assert_async().await;
}
