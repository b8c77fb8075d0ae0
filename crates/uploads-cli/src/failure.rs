//! A failed command as the user sees it: exit code, message, ids, what cleanup did, hints; as
//! prose on stderr and, with `--json`, as one JSON object on stdout.
//!
//! Which failure an SDK error becomes is decided in [`crate::outcome`], nowhere else.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

/// Exit code of a command that succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code of any failure that is not one of the others (network, API, verification, ...).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error or invalid input (bad flag, missing or empty file, unusable
/// journal, part size too large, missing `OPENAI_API_KEY`). Clap uses it for malformed command
/// lines too.
pub const EXIT_INVALID_INPUT: u8 = 2;
/// Exit code when the outcome is unknown: the answer to `complete` was lost and settling it (in
/// the SDK) got no definite answer.
pub const EXIT_OUTCOME_UNKNOWN: u8 = 3;

/// What was done about the server-side upload after the failure (`cleanup` in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Cleanup {
    /// The upload was cancelled on the server.
    Cancelled,
    /// A cancel was sent but failed: the upload may still be pending.
    CancelFailed {
        /// Why the cancel failed.
        reason: String,
    },
    /// A cancel was requested, but whether it succeeded is not known (the CLI stopped waiting
    /// for the SDK after a signal, or the SDK did not report it).
    CancelUnconfirmed,
    /// The upload was left pending, resumable from `journal` when there is one.
    Retained {
        /// The resume journal, when one was written.
        journal: Option<PathBuf>,
    },
    /// Nothing needed cleaning up (no upload was created, or it is no longer pending).
    NotNeeded,
    /// The answer to `create` was lost: an upload may exist whose id nobody knows. Nothing was
    /// cancelled; such an upload expires unused an hour after its creation.
    Unidentified,
}

/// A failed command: what to print and which exit code to return. Boxed, so that results
/// carrying it stay small; its fields are those of [`Report`].
#[derive(Debug)]
pub struct Failure(Box<Report>);

impl std::ops::Deref for Failure {
    type Target = Report;
    fn deref(&self) -> &Report {
        &self.0
    }
}

impl std::ops::DerefMut for Failure {
    fn deref_mut(&mut self) -> &mut Report {
        &mut self.0
    }
}

/// What a [`Failure`] reports.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The exit code (see the `EXIT_*` constants; 129/130/143 for signals).
    pub exit_code: u8,
    /// A stable, snake_case name of what went wrong (`invalid_input`, `server`, `interrupted`,
    /// `completion_unknown`, ...).
    pub kind: String,
    /// The main message, printed as `error: {message}`.
    pub message: String,
    /// The upload concerned, when one was created.
    pub upload_id: Option<String>,
    /// The `x-request-id` of the failing response, when there was one.
    pub request_id: Option<String>,
    /// The HTTP status of the failing response, when there was one.
    pub status: Option<u16>,
    /// What was done about the upload, when one was created.
    pub cleanup: Option<Cleanup>,
    /// Extra lines printed as `hint: {hint}`: what to do next.
    pub hints: Vec<String>,
    /// The JSON form was already printed piecemeal (a batch's lines): `emit` prints prose only.
    #[serde(skip)]
    pub json_reported: bool,
}

impl Failure {
    /// A failure of `kind` with exit code `exit_code` and nothing else known.
    pub fn new(exit_code: u8, kind: &str, message: impl Into<String>) -> Failure {
        Failure(Box::new(Report {
            exit_code,
            kind: kind.to_owned(),
            message: message.into(),
            upload_id: None,
            request_id: None,
            status: None,
            cleanup: None,
            hints: Vec::new(),
            json_reported: false,
        }))
    }

    /// Invalid input, detected before any request (exit code 2).
    pub fn invalid_input(message: impl Into<String>) -> Failure {
        Failure::new(EXIT_INVALID_INPUT, "invalid_input", message)
    }

    /// Any other failure (exit code 1).
    pub fn other(message: impl Into<String>) -> Failure {
        Failure::new(EXIT_FAILURE, "other", message)
    }

    /// Marks the JSON form as printed already when `json` (see [`Report::json_reported`]).
    pub fn already_reported_if(mut self, json: bool) -> Failure {
        self.json_reported = json;
        self
    }

    /// Adds a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Failure {
        self.hints.push(hint.into());
        self
    }

    /// The prose printed on stderr, each line ending in a newline.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        if let Some(id) = &self.request_id {
            let _ = writeln!(out, "request id: {id}");
        }
        for hint in &self.hints {
            let _ = writeln!(out, "hint: {hint}");
        }
        out
    }

    /// The JSON printed on stdout with `--json`: `{"error": {...}}` and a newline.
    pub fn render_json(&self) -> String {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: &'a Report,
        }
        let mut text = serde_json::to_string_pretty(&Envelope { error: &self.0 })
            .unwrap_or_else(|_| format!("{{\"error\":{{\"exit_code\":{}}}}}", self.exit_code));
        text.push('\n');
        text
    }

    /// Prints the failure: prose on stderr, and with `json` also the JSON object on stdout.
    pub fn emit(&self, json: bool) {
        if json && !self.json_reported {
            let mut out = std::io::stdout().lock();
            let _ = out
                .write_all(self.render_json().as_bytes())
                .and_then(|()| out.flush());
        }
        let _ = std::io::stderr().write_all(self.render().as_bytes());
    }

    /// The process exit code.
    pub fn process_exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code)
    }
}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Failure {
        Failure::other(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_message_request_id_and_hints() {
        let mut failure = Failure::other("boom").with_hint("try again");
        failure.request_id = Some("req_123".to_owned());
        assert_eq!(
            failure.render(),
            "error: boom\nrequest id: req_123\nhint: try again\n"
        );
        assert_eq!(failure.exit_code, EXIT_FAILURE);
        assert_eq!(Failure::invalid_input("bad").exit_code, EXIT_INVALID_INPUT);
    }

    #[test]
    fn json_names_every_field() {
        let mut failure = Failure::other("boom");
        failure.upload_id = Some("upload_1".to_owned());
        failure.status = Some(502);
        failure.cleanup = Some(Cleanup::Retained {
            journal: Some(PathBuf::from("j.json")),
        });
        let value: serde_json::Value = serde_json::from_str(&failure.render_json()).unwrap();
        let error = &value["error"];
        assert_eq!(error["exit_code"], 1);
        assert_eq!(error["kind"], "other");
        assert_eq!(error["message"], "boom");
        assert_eq!(error["upload_id"], "upload_1");
        assert_eq!(error["request_id"], serde_json::Value::Null);
        assert_eq!(error["status"], 502);
        assert_eq!(error["cleanup"]["action"], "retained");
        assert_eq!(error["cleanup"]["journal"], "j.json");
        assert!(error["hints"].as_array().unwrap().is_empty());
    }
}
