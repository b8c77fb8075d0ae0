//! `openai-uploads demo`: a verified upload to the embedded fake, with the `demo` feature (on by
//! default); without it, the command says it was left out
//! (`cargo test -p uploads-cli --no-default-features`).

mod common;

use std::process::Command;

use common::*;

#[cfg(feature = "demo")]
#[test]
fn demo_json_reports_a_verified_upload() {
    // The demo embeds its own server: no OPENAI_* variables at all.
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("OPENAI_") {
            cmd.env_remove(name);
        }
    }
    let out = run(cmd.args(["demo", "--size", "3MiB", "--json"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let report = out.json();
    assert_eq!(report["verified"], true, "{out:#?}");
    assert_eq!(report["bytes"], 3 * MIB as u64);
    let sha = report["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(report["server_sha256"].as_str(), Some(sha));
    assert_eq!(report["upload"]["status"], "completed");
    assert_eq!(report["upload"]["bytes"], 3 * MIB as u64);
    assert!(report["upload"]["file"]["id"].is_string());
    assert!(report["parts"].as_u64().unwrap() >= 1);
}

#[cfg(feature = "demo")]
#[test]
fn demo_prints_verified() {
    let out = run(Command::new(BIN)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .args(["demo", "--size", "1MiB", "--part-size", "256KiB"]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.stdout
            .contains("verified: server assembled identical bytes (sha256 "),
        "{out:#?}"
    );
    assert!(out.stdout.contains("in 4 parts"), "{out:#?}");
    // One duration and size style throughout: "530 ms (120.75 MiB/s)".
    let time = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("time:      "))
        .unwrap_or_else(|| panic!("no time line: {out:#?}"));
    assert!(time.ends_with("iB/s)") || time.ends_with(" B/s)"), "{time}");
}

#[cfg(feature = "demo")]
#[test]
fn demo_with_faults_retries_and_still_verifies() {
    let out = run(Command::new(BIN).args([
        "demo",
        "--size",
        "1MiB",
        "--part-size",
        "64KiB",
        "--faults",
        "--json",
    ]));
    assert_eq!(out.code, Some(0), "{out:#?}");
    let report = out.json();
    assert_eq!(report["verified"], true);
    assert!(report["faults_injected"].as_u64().unwrap() > 0, "{out:#?}");
}

#[cfg(feature = "demo")]
#[test]
fn demo_rejects_a_bad_part_size() {
    let out = run(Command::new(BIN).args(["demo", "--size", "1MiB", "--part-size", "65MiB"]));
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("part size"), "{out:#?}");
}

#[cfg(not(feature = "demo"))]
#[test]
fn without_the_feature_demo_says_it_was_left_out() {
    let out = run(Command::new(BIN).args(["demo", "--json"]));
    assert_eq!(out.code, Some(2), "{out:#?}");
    let error = out.json_error();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("built without the `demo` feature"),
        "{out:#?}"
    );
}
