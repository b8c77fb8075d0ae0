//! The progress bar (stderr, terminals only), the "upload started" line and the "too slow"
//! warning. The bar's position, rate and ETA follow the bytes the server acknowledged; the bytes
//! sent (which run ahead, sitting in buffers on the way) are shown beside them.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use uploads_ext::Progress;

/// Tracks an upload's progress: draws a bar on stderr when stderr is a terminal, prints one line
/// on stderr when the upload has an id (so that even a `kill -9` leaves it on record), and keeps
/// the latest [`Progress`] snapshot for the summary and for reports after a signal.
#[derive(Debug, Clone)]
pub struct Tracker {
    bar: Option<ProgressBar>,
    last: Arc<Mutex<Progress>>,
    announced: Arc<AtomicBool>,
    warned_slow: Arc<AtomicBool>,
}

impl Tracker {
    /// A tracker with a bar if stderr is a terminal, none otherwise (pipes, files, CI logs).
    pub fn new() -> Tracker {
        let bar = (std::io::stderr().is_terminal() && !crate::conventions::quiet()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.green} [{elapsed_precise}] [{wide_bar:.cyan/blue}] \
                     {binary_bytes}/{binary_total_bytes} done, {msg} \
                     ({binary_bytes_per_sec}, ETA {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Tracker {
            bar,
            last: Arc::new(Mutex::new(Progress::default())),
            announced: Arc::new(AtomicBool::new(false)),
            warned_slow: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The callback to pass to `UploadFileBuilder::on_progress`.
    pub fn callback(&self) -> impl Fn(&Progress) + Send + Sync + 'static {
        let this = self.clone();
        move |p: &Progress| {
            let (bar, last) = (&this.bar, &this.last);
            if let Ok(mut last) = last.lock() {
                *last = p.clone();
            }
            if let Some(id) = &p.upload_id {
                if !this.announced.swap(true, Ordering::SeqCst) {
                    let done = if p.bytes_completed > 0 {
                        format!(", {} already done", HumanBytes(p.bytes_completed))
                    } else {
                        String::new()
                    };
                    this.note(&format!(
                        "upload {id} started: {} in {} part{}{done}",
                        HumanBytes(p.bytes_total),
                        p.parts_total,
                        if p.parts_total == 1 { "" } else { "s" },
                    ));
                }
            }
            if let Some(bar) = bar {
                if bar.length() != Some(p.bytes_total) {
                    // First report: the total is known now; start drawing.
                    bar.set_length(p.bytes_total);
                    bar.enable_steady_tick(Duration::from_millis(200));
                }
                // Acknowledged bytes drive the bar, its rate and its ETA: bytes handed to the
                // connection run ahead of what the server has (and step back on a retry).
                bar.set_position(p.bytes_completed.min(p.bytes_total));
                bar.set_message(format!("{} sent", HumanBytes(p.bytes_sent)));
            }
            if let Some(needed) = p.needed_bytes_per_sec {
                if !this.warned_slow.swap(true, Ordering::SeqCst) {
                    this.note(&too_slow_line(p.bytes_per_sec.unwrap_or(0), needed));
                }
            }
        }
    }

    /// The upload's id, once the SDK has reported it.
    pub fn upload_id(&self) -> Option<String> {
        self.last().upload_id
    }

    /// Every part was accepted: the upload is at its `complete` (or the md5 pass before it), so
    /// its outcome may already be decided on the server.
    pub fn all_parts_accepted(&self) -> bool {
        let p = self.last();
        p.parts_total > 0 && p.parts_completed >= p.parts_total
    }

    /// The latest snapshot reported.
    pub fn last(&self) -> Progress {
        self.last.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Prints a line on stderr without tearing the bar.
    pub fn note(&self, line: &str) {
        if crate::conventions::quiet() {
            return;
        }
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

/// The warning printed once when the upload cannot finish before it expires.
fn too_slow_line(bytes_per_sec: u64, needed: u64) -> String {
    format!(
        "warning: at {}/s this upload cannot finish before it expires: it needs {}/s. Use a faster link or a smaller file; --fail-if-too-slow stops \
         it at once.",
        HumanBytes(bytes_per_sec),
        HumanBytes(needed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_too_slow_line_names_both_rates() {
        let line = too_slow_line(512 * 1024, 3 * 1024 * 1024);
        assert!(line.contains("at 512.00 KiB/s"), "{line}");
        assert!(line.contains("it needs 3.00 MiB/s"), "{line}");
    }
}
