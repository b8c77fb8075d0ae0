//! The one-hour clock, watched: once this run's acknowledged rate is known, an upload that
//! cannot send the rest before its Upload expires (less the expiry margin) says so at once (a
//! [`Progress`](super::Progress) with `needed_bytes_per_sec`, and a warning) and, when asked
//! (`fail_if_too_slow`), stops with [`ErrorKind::Expired`] instead of after an hour of sending.
//!
//! The rate is the acknowledged bytes of this run over its time. Parts in flight together
//! finish together, so the rate is trusted only once a whole wave of parts (the concurrency,
//! at least [`MIN_PARTS_FOR_RATE`]) has been accepted: earlier, parts nearly done would make it
//! look slower than it is.
//!
//! The same rate decides part by part: a part that, sharing it with the parts in flight, could
//! not be accepted before expiry (less the margin) is not started, so no bytes go to an Upload
//! that will be gone before they count. Bytes sent in an earlier run (a resume) are not this
//! run's: they never make it look faster than it is.

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, PartContext, Result};
use crate::timeout::human;

use super::context::UploadContext;

/// The `tracing` target of the "too slow" warning, so that a front end that shows the news its
/// own way can filter the log line out.
pub const TOO_SLOW_TARGET: &str = "uploads_ext::too_slow";

/// Fewest parts accepted in this run before its rate is trusted.
pub(crate) const MIN_PARTS_FOR_RATE: usize = 2;

/// Whether an upload has been found too slow already (to warn once).
#[derive(Debug, Default)]
pub(crate) struct ExpiryWatch {
    warned: bool,
}

impl ExpiryWatch {
    /// Refuses to start part `index` when, at this run's rate shared by `level` parts in
    /// flight, it could not be accepted before expiry (less the margin).
    pub(crate) fn may_start(ctx: &UploadContext, index: usize, level: usize) -> Result<()> {
        let range = ctx.input().range(index);
        let len = range.end - range.start;
        let estimate = ctx
            .counters()
            .run_rate()
            .bytes_per_sec
            .map(|rate| Duration::from_secs_f64(len as f64 * level.max(1) as f64 / rate))
            .unwrap_or_default();
        let margin = ctx.input().run.expiry_margin;
        if Instant::now() + estimate + margin > ctx.expires() {
            return Err(Error::new(
                ErrorKind::Expired,
                format!(
                    "the upload expires in {}; part {index} would need about {} (margin {}): \
                     not started",
                    human(ctx.expires().saturating_duration_since(Instant::now())),
                    human(estimate),
                    human(margin)
                ),
            )
            .with_part(PartContext { index, range }));
        }
        Ok(())
    }

    /// Looks at the rate after a part was accepted; an error when too slow and asked to fail.
    pub(crate) fn check(&mut self, ctx: &UploadContext) -> Result<()> {
        let run = &ctx.input().run;
        let rate = ctx.counters().run_rate();
        let wave = run.concurrency.max(MIN_PARTS_FOR_RATE);
        let Some(bytes_per_sec) = rate.bytes_per_sec.filter(|_| rate.parts >= wave) else {
            return Ok(());
        };
        if rate.remaining == 0 {
            return Ok(());
        }
        let usable = (ctx.expires().checked_sub(run.expiry_margin))
            .map(|end| end.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        let needs = Duration::from_secs_f64(rate.remaining as f64 / bytes_per_sec);
        if needs <= usable {
            ctx.counters().set_needed(None);
            return Ok(());
        }
        let needed = (rate.remaining as f64 / usable.as_secs_f64().max(1.0)).ceil() as u64;
        ctx.counters().set_needed(Some(needed));
        let message = format!(
            "at {} the rest ({} bytes) needs about {}, but the upload expires in {} (margin {}): \
             it needs {}",
            format_rate(bytes_per_sec as u64),
            rate.remaining,
            human(needs),
            human(usable + run.expiry_margin),
            human(run.expiry_margin),
            format_rate(needed)
        );
        if !self.warned {
            self.warned = true;
            tracing::warn!(target: TOO_SLOW_TARGET, upload_id = %ctx.upload_id(),
                bytes_per_sec = bytes_per_sec as u64, needed_bytes_per_sec = needed,
                "upload too slow to finish before it expires: {message}");
        }
        if run.fail_if_too_slow {
            return Err(Error::new(
                ErrorKind::Expired,
                format!("{message}; stopped now (fail_if_too_slow)"),
            ));
        }
        Ok(())
    }
}

/// A rate as people read it: `850 B/s`, `12.5 KiB/s`, `2.0 MiB/s`.
pub(crate) fn format_rate(bytes_per_sec: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes_per_sec as f64;
    if b < KIB {
        format!("{bytes_per_sec} B/s")
    } else if b < KIB * KIB {
        format!("{:.1} KiB/s", b / KIB)
    } else {
        format!("{:.1} MiB/s", b / (KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_naturally() {
        assert_eq!(format_rate(850), "850 B/s");
        assert_eq!(format_rate(12_800), "12.5 KiB/s");
        assert_eq!(format_rate(2 * 1024 * 1024), "2.0 MiB/s");
    }
}
