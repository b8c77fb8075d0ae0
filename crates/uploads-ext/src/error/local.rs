//! Failures of a request body's own source (a local file, a caller's stream), as opposed to the
//! network's: the request engine must not mistake them for connection failures, nor retry them.

use std::fmt;

/// An error yielded by a part's source (not by the network).
#[derive(Debug)]
pub(crate) struct SourceFailure(pub(crate) std::io::Error);

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SourceFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A part source that did not yield its declared length (the file changed under us).
#[derive(Debug)]
pub(crate) struct LengthMismatch {
    pub(crate) seen: u64,
    pub(crate) expected: u64,
}

impl fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let relation = if self.seen > self.expected {
            "more"
        } else {
            "fewer"
        };
        write!(
            f,
            "part source yielded {relation} bytes than its declared {} (the file changed?)",
            self.expected
        )
    }
}

impl std::error::Error for LengthMismatch {}
