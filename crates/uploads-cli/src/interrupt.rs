//! SIGINT, SIGTERM and SIGHUP (Ctrl-C on Windows), handled alike while an upload runs.
//!
//! What `timeout`, systemd, `docker stop`, Kubernetes and CI cancellation send is SIGTERM; a
//! closed terminal sends SIGHUP. The first signal cancels the upload's token, so the SDK stops
//! and applies the failure policy (cancel, or keep for resume); the command waits at most
//! [`CLEANUP_GRACE`] for that, then reports the upload id and the next command and exits with
//! 128 + the signal's number. A second signal quits at once, with the same report.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::outcome::{self, Context};
use crate::progress::Tracker;
use crate::signal::{Signal, CLEANUP_GRACE};

/// Signal handling for one running upload.
#[derive(Debug)]
pub struct Interrupt {
    token: CancellationToken,
    received: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

impl Interrupt {
    /// Starts listening. Must be called inside the Tokio runtime. On Unix the handlers are
    /// registered before this returns, so a signal at any later moment is caught. `context`
    /// and `json` shape the report printed if a second signal quits at once.
    pub fn install(tracker: &Tracker, context: Context, json: bool) -> Interrupt {
        let token = CancellationToken::new();
        let received = Arc::new(AtomicU8::new(0));
        let mut signals = Signals::register();
        let task = {
            let (token, received, tracker) = (token.clone(), received.clone(), tracker.clone());
            tokio::spawn(async move {
                let Some(first) = signals.next().await else {
                    return;
                };
                received.store(first.to_u8(), Ordering::SeqCst);
                tracker.note(&format!(
                    "received {}: stopping the upload (send it again to quit without waiting \
                     for the cleanup)",
                    first.name()
                ));
                token.cancel();
                if let Some(second) = signals.next().await {
                    tracker.finish();
                    let failure = outcome::abandoned(
                        first,
                        tracker.upload_id().as_deref(),
                        &context,
                        &format!("received {} again: quit without waiting", second.name()),
                        tracker.all_parts_accepted(),
                    );
                    failure.emit(json);
                    std::process::exit(i32::from(failure.exit_code));
                }
            })
        };
        Interrupt {
            token,
            received,
            task,
        }
    }

    /// The token to pass to `UploadFileBuilder::cancellation_token`.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Signal> {
        Signal::from_u8(self.received.load(Ordering::SeqCst))
    }

    /// Completes [`CLEANUP_GRACE`] after the first signal (never, if none arrives).
    pub async fn grace_expired(&self) -> Signal {
        self.token.cancelled().await;
        tokio::time::sleep(CLEANUP_GRACE).await;
        self.received().unwrap_or(Signal::Interrupt)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The signals that stop a command.
enum Signals {
    /// SIGINT, SIGTERM and SIGHUP, registered eagerly.
    #[cfg(unix)]
    Unix {
        interrupt: tokio::signal::unix::Signal,
        terminate: tokio::signal::unix::Signal,
        hangup: tokio::signal::unix::Signal,
    },
    /// `tokio::signal::ctrl_c`, registered when first polled (non-Unix platforms, or when the
    /// Unix handlers could not be installed).
    Portable,
}

impl Signals {
    fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            if let (Ok(interrupt), Ok(terminate), Ok(hangup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                return Signals::Unix {
                    interrupt,
                    terminate,
                    hangup,
                };
            }
        }
        Signals::Portable
    }

    /// Waits for the next signal; `None` if signals cannot be received.
    async fn next(&mut self) -> Option<Signal> {
        match self {
            #[cfg(unix)]
            Signals::Unix {
                interrupt,
                terminate,
                hangup,
            } => tokio::select! {
                Some(()) = interrupt.recv() => Some(Signal::Interrupt),
                Some(()) = terminate.recv() => Some(Signal::Terminate),
                Some(()) = hangup.recv() => Some(Signal::Hangup),
                else => None,
            },
            Signals::Portable => tokio::signal::ctrl_c()
                .await
                .ok()
                .map(|()| Signal::Interrupt),
        }
    }
}
