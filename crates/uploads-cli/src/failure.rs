//! How a failed command is reported: message, request id, hints, exit code.

use std::fmt::Write as _;
use std::process::ExitCode;

use uploads_ext::ErrorKind;

/// Exit code of a command that succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code of any failure that is not one of the others (network, API, verification, ...).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error or invalid input (bad flag, empty file, part size too large,
/// missing `OPENAI_API_KEY`). Clap uses the same code for malformed command lines.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the command was aborted with Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// A failed command: what to print on stderr and which exit code to return.
#[derive(Debug)]
pub struct Failure {
    /// The exit code (see the `EXIT_*` constants).
    pub code: u8,
    /// The main message, printed as `error: {message}`.
    pub message: String,
    /// The `x-request-id` of the failing response, when there was one.
    pub request_id: Option<String>,
    /// Extra lines printed as `hint: {hint}`.
    pub hints: Vec<String>,
}

impl Failure {
    /// A usage error or invalid input (exit code 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
            request_id: None,
            hints: Vec::new(),
        }
    }

    /// Any other failure (exit code 1).
    pub fn other(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
            request_id: None,
            hints: Vec::new(),
        }
    }

    /// A failure of the SDK, classified by its kind. `interrupted` says whether the user pressed
    /// Ctrl-C (an abort then exits with 130).
    pub fn from_sdk(err: &uploads_ext::Error, interrupted: bool) -> Failure {
        let code = match err.kind() {
            ErrorKind::InvalidInput => EXIT_USAGE,
            ErrorKind::Cancelled if interrupted => EXIT_INTERRUPTED,
            _ => EXIT_FAILURE,
        };
        let mut failure = Failure {
            code,
            message: err.to_string(),
            request_id: err.request_id().map(str::to_owned),
            hints: Vec::new(),
        };
        let hint = match err.kind() {
            ErrorKind::Authentication => {
                Some("check OPENAI_API_KEY (and OPENAI_BASE_URL if you set it)")
            }
            ErrorKind::PermissionDenied => {
                Some("this API key may not use the Uploads API; check its project and permissions")
            }
            ErrorKind::NotFound => Some("check the upload id, and OPENAI_BASE_URL if you set it"),
            ErrorKind::RateLimited => Some("rate limited: try again later, or lower --concurrency"),
            ErrorKind::Connection | ErrorKind::Timeout => {
                Some("check your network connection, and OPENAI_BASE_URL if you set it")
            }
            ErrorKind::FileChanged => {
                Some("the file changed while (or since) it was uploaded: start a new upload")
            }
            ErrorKind::Expired => Some("uploads expire an hour after creation: start a new upload"),
            _ => None,
        };
        if let Some(hint) = hint {
            failure.hints.push(hint.to_owned());
        }
        failure
    }

    /// Adds a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Failure {
        self.hints.push(hint.into());
        self
    }

    /// Everything printed on stderr, each line ending in a newline.
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

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
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
        assert_eq!(failure.code, EXIT_FAILURE);
        assert_eq!(Failure::usage("bad").code, EXIT_USAGE);
    }
}
