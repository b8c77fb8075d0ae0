//! Conventions of a well-kept command: completions and a man page from the clap definition,
//! `-q`/`-v`, `--base-url`, `--org`/`--project`, and a mistyped `--purpose` caught before any
//! request.

mod common;

use common::*;

#[test]
fn completions_and_man_page_come_from_the_command_definition() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(std::process::Command::new(BIN).args(["completions", shell]));
        assert_eq!(out.code, Some(0), "{shell}: {out:#?}");
        assert!(out.stdout.contains("openai-uploads"), "{shell}");
        assert!(
            out.stdout.contains("manifest"),
            "{shell}: flags are completed"
        );
    }
    let out = run(std::process::Command::new(BIN).args(["completions", "tcsh"]));
    assert_eq!(out.code, Some(2), "{out:#?}");
    let man = run(std::process::Command::new(BIN).arg("man"));
    assert_eq!(man.code, Some(0), "{man:#?}");
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{man:#?}"
    );
    assert!(man.stdout.contains("openai\\-uploads") || man.stdout.contains("openai-uploads"));
}

#[test]
fn a_mistyped_purpose_is_refused_with_a_suggestion_before_any_request() {
    let server = server();
    let (_dir, path, _) = temp_file(10 * KIB, 3);
    let out = rejected_before_any_request(
        &server,
        cli(&server)
            .args(["upload"])
            .arg(&path)
            .args(["--purpose", "fine_tune"]),
    );
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(
        out.error_line(),
        "unknown purpose \"fine_tune\": did you mean fine-tune?"
    );
    assert!(out.has_hint("--allow-unknown-purpose"), "{out:#?}");
}

#[test]
fn allow_unknown_purpose_sends_a_new_value_as_given() {
    let server = server();
    let (_dir, path, _) = temp_file(10 * KIB, 4);
    let out = run(cli(&server).args(["upload"]).arg(&path).args([
        "--purpose",
        "brand_new",
        "--allow-unknown-purpose",
        "--json",
    ]));
    // The value reached the API unchanged; the fake, like the API, refuses it (400).
    assert_eq!(server.stats().requests.create, 1, "{out:#?}");
    assert_eq!(out.code, Some(1), "{out:#?}");
    let error = out.json_error();
    assert_eq!(error["status"], 400);
    assert!(
        error["message"].as_str().unwrap().contains("brand_new"),
        "{out:#?}"
    );
}

#[test]
fn base_url_flag_overrides_the_environment() {
    let server = server();
    let (_dir, path, _) = temp_file(10 * KIB, 5);
    let out = run(cli_at("http://127.0.0.1:9/v1", &server.api_key())
        .args(["upload"])
        .arg(&path)
        .args(["--purpose", "batch", "--json", "--base-url"])
        .arg(server.base_url()));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(server.uploads().len(), 1);
}

#[test]
fn quiet_prints_only_the_result_and_verbose_adds_logs() {
    let server = server();
    let (_dir, path, _) = temp_file(10 * KIB, 6);
    let quiet =
        run(cli(&server)
            .args(["upload", "-q"])
            .arg(&path)
            .args(["--purpose", "batch", "--json"]));
    assert_eq!(quiet.code, Some(0), "{quiet:#?}");
    assert_eq!(quiet.stderr, "", "{quiet:#?}");
    assert_eq!(quiet.json()["status"], "completed");
    let verbose =
        run(cli(&server)
            .args(["-v", "upload"])
            .arg(&path)
            .args(["--purpose", "batch", "--json"]));
    assert_eq!(verbose.code, Some(0), "{verbose:#?}");
    assert!(verbose.stderr.contains("upload started"), "{verbose:#?}");
    assert!(
        !verbose.stderr.contains('\u{1b}'),
        "no colour when stderr is not a terminal"
    );
}

#[test]
fn org_and_project_flags_are_sent_and_win_over_the_environment() {
    let server = scripted_upload(10, |_| Reply::Json(500, serde_json::json!({})));
    let cancel = |extra: &[&str]| {
        run(cli_at(&server.base_url(), "sk-test")
            .env("OPENAI_ORG_ID", "org-env")
            .env("OPENAI_PROJECT_ID", "proj_env")
            .args(["cancel", SCRIPTED_ID, "--json"])
            .args(extra))
    };
    let out = cancel(&[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let out = cancel(&["--org", "org-flag", "--project", "proj_flag"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.json()["status"], "cancelled");
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let sent = |i: usize, name: &str| seen[i].header(name).map(str::to_owned);
    assert_eq!(sent(0, "openai-organization").as_deref(), Some("org-env"));
    assert_eq!(sent(0, "openai-project").as_deref(), Some("proj_env"));
    assert_eq!(sent(1, "openai-organization").as_deref(), Some("org-flag"));
    assert_eq!(sent(1, "openai-project").as_deref(), Some("proj_flag"));
}
