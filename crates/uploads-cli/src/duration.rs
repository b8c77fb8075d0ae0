//! Durations on the command line (`--timeout 2.5`) and in messages (`850 ms`, `4 min 05 s`,
//! never `0ns`).

use std::time::Duration;

/// A duration for people: `850 ms`, `8 s`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; never `0ns`.
/// The SDK's error messages write durations the same way.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        // Below a millisecond still reads as "< 1 ms", not as nothing.
        return if d.is_zero() {
            "0 s".to_owned()
        } else if ms == 0 {
            "< 1 ms".to_owned()
        } else {
            format!("{ms} ms")
        };
    }
    let secs = d.as_secs();
    if secs < 60 && ms.is_multiple_of(1_000) {
        format!("{secs} s")
    } else if secs < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if secs < 3600 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60)
    }
}

/// Parses `--timeout`: seconds, a whole or decimal number greater than zero.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("invalid number of seconds {text:?} (e.g. 30 or 2.5)"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("must be more than 0 seconds, got {text:?}"));
    }
    Duration::try_from_secs_f64(value).map_err(|_| format!("too many seconds: {text:?}"))
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
    fn timeouts_are_positive_seconds() {
        assert_eq!(parse_seconds("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert!(parse_seconds("0").unwrap_err().contains("more than 0"));
        assert!(parse_seconds("-1").unwrap_err().contains("more than 0"));
        assert!(parse_seconds("inf").unwrap_err().contains("more than 0"));
        assert!(parse_seconds("ten").unwrap_err().contains("invalid number"));
    }
}
