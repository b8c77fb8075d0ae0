//! Durations on the command line (`--timeout 10m`, `--timeout 2.5`) and in messages (`850 ms`,
//! `4 min 05 s`, never `0ns`).
//!
//! Messages use the SDK's one formatter, [`uploads_ext::format_duration`], so the CLI and the
//! SDK's errors write durations the same way.

use std::time::Duration;

pub use uploads_ext::format_duration as human_duration;

/// Parses a duration flag: a number of seconds (`30`, `2.5`, as before), or a duration with units
/// as `humantime` reads them (`10m`, `2h`, `1h 30m`, `500ms`). Zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let duration = match trimmed.parse::<f64>() {
        Ok(seconds) if !seconds.is_finite() || seconds <= 0.0 => {
            return Err(format!("must be more than 0 seconds, got {text:?}"));
        }
        Ok(seconds) => Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("too many seconds: {text:?}"))?,
        Err(_) => humantime::parse_duration(trimmed).map_err(|e| {
            format!(
                "invalid duration {text:?} ({e}): use seconds (30, 2.5) or units (10m, 2h, 1h 30m)"
            )
        })?,
    };
    if duration.is_zero() {
        return Err(format!("must be more than 0 seconds, got {text:?}"));
    }
    Ok(duration)
}

/// The shortest and longest `--expires-after` the API accepts.
pub const EXPIRES_AFTER: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(3_600)..=Duration::from_secs(2_592_000);

/// Parses `--expires-after`: a duration as [`parse_duration`] reads it, whole seconds, 1 hour to
/// 30 days.
pub fn parse_expires_after(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if !EXPIRES_AFTER.contains(&duration) || duration.subsec_nanos() != 0 {
        return Err(format!(
            "must be whole seconds from 3600 (1h) to 2592000 (30d), got {text:?}"
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(Duration::ZERO), "0 s");
        assert_eq!(human_duration(Duration::from_nanos(5)), "< 1 ms");
        assert_eq!(human_duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(human_duration(Duration::from_secs(10)), "10 s");
        assert_eq!(human_duration(Duration::from_millis(12_340)), "12.3 s");
        assert_eq!(human_duration(Duration::from_secs(245)), "4 min 05 s");
        assert_eq!(human_duration(Duration::from_secs(7380)), "2 h 03 min");
    }

    #[test]
    fn plain_seconds_still_parse() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration(" 2.5 "), Ok(Duration::from_millis(2500)));
        assert!(parse_duration("0").unwrap_err().contains("more than 0"));
        assert!(parse_duration("-1").unwrap_err().contains("more than 0"));
        assert!(parse_duration("inf").unwrap_err().contains("more than 0"));
    }

    #[test]
    fn units_parse_as_humantime_reads_them() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_duration("0s").unwrap_err().contains("more than 0"));
        let err = parse_duration("ten").unwrap_err();
        assert!(err.contains("invalid duration \"ten\""), "{err}");
        assert!(err.contains("10m"), "{err}");
        assert!(parse_duration("10 parsecs").is_err());
    }

    #[test]
    fn file_expiry_is_one_hour_to_thirty_days() {
        assert_eq!(parse_expires_after("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_expires_after("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(
            parse_expires_after("30d"),
            Ok(Duration::from_secs(2_592_000))
        );
        for bad in ["60", "59m", "31d", "3600.5"] {
            let err = parse_expires_after(bad).unwrap_err();
            assert!(err.contains("3600 (1h) to 2592000 (30d)"), "{bad}: {err}");
        }
    }
}
