//! The signals that stop a command (SIGINT, SIGTERM, SIGHUP) as the reports name them, and how
//! long the cleanup after one may take. The listener is [`crate::interrupt`].

use std::time::Duration;

/// How long the SDK's cleanup (a best-effort cancel) may take after a signal.
pub const CLEANUP_GRACE: Duration = Duration::from_secs(10);

/// The SDK's own bound on its cancel: shorter than [`CLEANUP_GRACE`], so that the SDK reports
/// a cancel that did not answer (and the CLI prints it) before the CLI stops waiting.
pub const SDK_CANCEL_TIMEOUT: Duration = Duration::from_secs(8);

/// A signal that stops the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, `timeout`, systemd, `docker stop`, CI cancellation.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
}

impl Signal {
    /// The usual name, e.g. `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }

    /// 128 + the signal's number, as shells report a process killed by it.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Hangup => 129,
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        self.exit_code()
    }

    pub(crate) fn from_u8(code: u8) -> Option<Signal> {
        [Signal::Interrupt, Signal::Terminate, Signal::Hangup]
            .into_iter()
            .find(|s| s.exit_code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(Signal::Hangup.exit_code(), 128 + 1);
        assert_eq!(Signal::Interrupt.exit_code(), 128 + 2);
        assert_eq!(Signal::Terminate.exit_code(), 128 + 15);
        for s in [Signal::Interrupt, Signal::Terminate, Signal::Hangup] {
            assert_eq!(Signal::from_u8(s.to_u8()), Some(s));
        }
        assert_eq!(Signal::from_u8(0), None);
    }
}
