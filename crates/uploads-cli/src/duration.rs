//! Durations on the command line (`--timeout 2.5`) and in messages (`850 ms`, `4 min 05 s`,
//! never `0ns`).

use std::time::Duration;

/// A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; never `0ns`.
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
    if secs < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if secs < 3600 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60)
    }
}

/// Rewrites durations in Rust's debug notation (`0ns`, `1.5s`, `600s`) inside an SDK message
/// as [`human_duration`] writes them. Only whole tokens are touched: a number glued to `ns`,
/// `µs`, `us`, `ms` or `s`, with no letter or digit on either side.
pub fn humanize_durations(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        // Ids (`req_9ms`), ranges (`0..1024`) and words are not durations.
        let starts_token = c.is_ascii_digit()
            && !prev.is_some_and(|p| p.is_alphanumeric() || matches!(p, '.' | '_' | '-'));
        if starts_token {
            if let Some((duration, len)) = debug_duration(rest) {
                out.push_str(&human_duration(duration));
                prev = rest[..len].chars().last();
                rest = &rest[len..];
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A debug-formatted duration at the start of `text`, and its length in bytes.
fn debug_duration(text: &str) -> Option<(Duration, usize)> {
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let unit_len = text[number_len..]
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(text.len() - number_len);
    let number: f64 = text[..number_len].parse().ok()?;
    let seconds = match &text[number_len..number_len + unit_len] {
        "ns" => number / 1e9,
        "µs" | "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        _ => return None,
    };
    let end = number_len + unit_len;
    if text[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some((Duration::try_from_secs_f64(seconds).ok()?, end))
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
        assert_eq!(human_duration(Duration::from_millis(12_340)), "12.3 s");
        assert_eq!(human_duration(Duration::from_secs(245)), "4 min 05 s");
        assert_eq!(human_duration(Duration::from_secs(7380)), "2 h 03 min");
    }

    #[test]
    fn debug_durations_in_sdk_messages_become_readable() {
        assert_eq!(
            humanize_durations("the upload expires in 0ns; part 3 would need about 12.5s"),
            "the upload expires in 0 s; part 3 would need about 12.5 s"
        );
        assert_eq!(
            humanize_durations("no response within 600s (margin 30s)"),
            "no response within 10 min 00 s (margin 30.0 s)"
        );
        assert_eq!(
            humanize_durations("no response within 500ms"),
            "no response within 500 ms"
        );
        // Not durations: ids, sizes, ranges, statuses.
        for text in [
            "upload_12s3 [request req_9ms] part 1 (bytes 0..1024s)",
            "HTTP 500, 64MiB, sha256 00s1, 5xx",
        ] {
            assert_eq!(humanize_durations(text), text);
        }
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
