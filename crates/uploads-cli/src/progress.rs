//! The progress bar (stderr, terminals only) and Ctrl-C handling.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;
use uploads_ext::Progress;

use crate::failure::EXIT_INTERRUPTED;

/// Tracks an upload's progress: draws a bar on stderr when stderr is a terminal, and keeps the
/// latest [`Progress`] snapshot for the summary.
#[derive(Debug, Clone)]
pub struct Tracker {
    bar: Option<ProgressBar>,
    last: Arc<Mutex<Progress>>,
}

impl Tracker {
    /// A tracker with a bar if stderr is a terminal, none otherwise (pipes, files, CI logs).
    pub fn new() -> Tracker {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.green} [{elapsed_precise}] [{wide_bar:.cyan/blue}] \
                     {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, ETA {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Tracker {
            bar,
            last: Arc::new(Mutex::new(Progress::default())),
        }
    }

    /// The callback to pass to `UploadFileBuilder::on_progress`.
    pub fn callback(&self) -> impl Fn(&Progress) + Send + Sync + 'static {
        let (bar, last) = (self.bar.clone(), self.last.clone());
        move |p: &Progress| {
            if let Some(bar) = &bar {
                if bar.length() != Some(p.bytes_total) {
                    // First report: the total is known now; start drawing.
                    bar.set_length(p.bytes_total);
                    bar.enable_steady_tick(Duration::from_millis(200));
                }
                // `bytes_sent` moves smoothly as bytes hit the network (and steps back when a
                // part is retried); fall back to accepted bytes if it lags behind.
                bar.set_position(p.bytes_sent.max(p.bytes_completed).min(p.bytes_total));
            }
            if let Ok(mut last) = last.lock() {
                *last = p.clone();
            }
        }
    }

    /// The latest snapshot reported.
    pub fn last(&self) -> Progress {
        self.last.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Prints a line on stderr without tearing the bar.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar from the terminal (call before printing the result).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Ctrl-C handling for a running upload: the first Ctrl-C cancels the token (the upload stops
/// and its failure policy applies); a second one exits at once with code 130.
#[derive(Debug)]
pub struct Interrupt {
    token: CancellationToken,
    flag: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Interrupt {
    /// Starts listening for Ctrl-C. Must be called inside the Tokio runtime. On Unix the SIGINT
    /// handler is registered before this returns, so a Ctrl-C at any later moment is caught.
    pub fn install(tracker: &Tracker) -> Interrupt {
        let token = CancellationToken::new();
        let flag = Arc::new(AtomicBool::new(false));
        let mut signals = Signals::register();
        let task = {
            let (token, flag, tracker) = (token.clone(), flag.clone(), tracker.clone());
            tokio::spawn(async move {
                if !signals.next().await {
                    return;
                }
                flag.store(true, Ordering::SeqCst);
                tracker.note("interrupted: stopping the upload (press Ctrl-C again to quit now)");
                token.cancel();
                if signals.next().await {
                    tracker.finish();
                    eprintln!("interrupted again: quitting");
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            })
        };
        Interrupt { token, flag, task }
    }

    /// The token to pass to `UploadFileBuilder::cancellation_token`.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Whether Ctrl-C was pressed.
    pub fn interrupted(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A stream of Ctrl-C presses.
enum Signals {
    /// SIGINT, registered eagerly.
    #[cfg(unix)]
    Unix(tokio::signal::unix::Signal),
    /// `tokio::signal::ctrl_c`, registered when first polled (non-Unix platforms, or when the
    /// Unix handler could not be installed).
    Portable,
}

impl Signals {
    fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            if let Ok(sigint) = signal(SignalKind::interrupt()) {
                return Signals::Unix(sigint);
            }
        }
        Signals::Portable
    }

    /// Waits for the next Ctrl-C; false if signals cannot be received.
    async fn next(&mut self) -> bool {
        match self {
            #[cfg(unix)]
            Signals::Unix(sigint) => sigint.recv().await.is_some(),
            Signals::Portable => tokio::signal::ctrl_c().await.is_ok(),
        }
    }
}
