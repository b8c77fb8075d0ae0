//! The retry and time flags as users type them: `--max-retries` bounds the attempts per request,
//! `--timeout` takes seconds or units (`10m`) and reaches the API, and bad values are invalid input
//! (exit 2).

mod common;

use common::*;
use uploads_fake::{FakeConfig, FakeServer, Faults, Route, UploadStatus};

fn faulty(faults: Faults) -> FakeServer {
    FakeServer::start_background(FakeConfig::default().with_faults(faults))
        .expect("fake server starts")
}

#[test]
fn max_retries_bounds_the_attempts_per_request() {
    let part_requests = |retries: &str| {
        let server = faulty(Faults::none().with_fail_500(1.0));
        let (_dir, path, _) = temp_file(10 * KIB, 8);
        let out = run(cli(&server).args(["upload"]).arg(&path).args([
            "--purpose",
            "fine-tune",
            "--concurrency",
            "1",
            "--max-retries",
            retries,
        ]));
        assert_eq!(out.code, Some(1), "{out:#?}");
        server.stats().requests.get(Route::AddPart)
    };
    // One part: 1 + N attempts in all, with no extra round beyond them.
    assert_eq!(part_requests("0"), 1);
    assert_eq!(part_requests("3"), 4);
}

#[test]
fn timeout_bounds_a_stalled_request_in_seconds_or_with_units() {
    // Plain seconds as before, and a duration with units.
    for timeout in ["0.5", "500ms"] {
        let server = faulty(Faults::none().with_stall(1.0, std::time::Duration::from_secs(60)));
        let (_dir, path, _) = temp_file(10 * KIB, 9);
        let out = run(cli(&server).args(["upload"]).arg(&path).args([
            "--purpose",
            "fine-tune",
            "--timeout",
            timeout,
            "--max-retries",
            "0",
            "--json",
        ]));
        assert_eq!(out.code, Some(1), "{timeout}: {out:#?}");
        let error = out.json_error();
        assert_eq!(error["kind"], "timeout", "{out:#?}");
        assert!(
            error["message"].as_str().unwrap().contains("500 ms"),
            "{out:#?}"
        );
        assert!(out.has_hint("--timeout"), "{out:#?}");
        let id = server.uploads()[0].id.clone();
        assert_eq!(server.upload(&id).unwrap().status, UploadStatus::Cancelled);
    }
}

#[test]
fn durations_with_units_are_accepted_and_reach_the_api() {
    let server = server();
    let (_dir, path, _) = temp_file(10 * KIB, 11);
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "fine-tune",
        "--timeout",
        "10m",
        "--expires-after",
        "2h",
        "--json",
    ]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.uploads()[0].file_expires_after, Some(7200));
    // Plain seconds keep working.
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "fine-tune",
        "--timeout",
        "30",
        "--expires-after",
        "3600",
        "--json",
    ]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let uploads = server.uploads();
    assert!(
        uploads.iter().any(|u| u.file_expires_after == Some(3600)),
        "{uploads:#?}"
    );
}

#[test]
fn bad_flag_values_are_invalid_input() {
    let server = server();
    let (_dir, path, _) = temp_file(KIB, 10);
    for flags in [
        ["--timeout", "0"],
        ["--timeout", "soon"],
        ["--timeout", "10 parsecs"],
        ["--max-retries", "many"],
        ["--expires-after", "60"],
        ["--expires-after", "31d"],
    ] {
        let out = rejected_before_any_request(
            &server,
            cli(&server)
                .args(["upload"])
                .arg(&path)
                .args(["--purpose", "fine-tune"])
                .args(flags),
        );
        assert_eq!(out.code, Some(2), "{flags:?}: {out:#?}");
        assert!(out.stderr.contains(flags[0]), "{out:#?}");
        assert_eq!(out.stdout, "", "{out:#?}");

        // With --json, scripts get the error object too.
        let out = rejected_before_any_request(
            &server,
            cli(&server)
                .args(["upload"])
                .arg(&path)
                .args(["--purpose", "fine-tune", "--json"])
                .args(flags),
        );
        assert_eq!(out.code, Some(2), "{flags:?}: {out:#?}");
        let error = out.json_error();
        assert_eq!(error["kind"], "invalid_input");
        assert!(
            error["message"].as_str().unwrap().contains(flags[0]),
            "{out:#?}"
        );
    }
}
