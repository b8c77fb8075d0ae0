//! Byte sizes on the command line (`64KiB`, `8M`, `1048576`). Output writes them with
//! `indicatif::HumanBytes` (binary units, like these).

/// One kibibyte.
pub const KIB: u64 = 1024;
/// One mebibyte.
pub const MIB: u64 = 1024 * KIB;
/// One gibibyte.
pub const GIB: u64 = 1024 * MIB;

/// Parses a byte size: a whole number, optionally followed (with or without a space) by a unit.
///
/// Units are case-insensitive: `B`; `K`, `KB`, `KiB`; `M`, `MB`, `MiB`; `G`, `GB`, `GiB`.
/// Every unit is binary: `K` = `KB` = `KiB` = 1024 bytes, `M` = 1024², `G` = 1024³ (the API's
/// limits, 64 MiB per part and 8 GiB per upload, are binary too). Zero is rejected.
///
/// The error is a sentence meant for the user, e.g. `unknown unit "XB" in "12XB" ...`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("expected a size such as 1048576, 512KiB or 8MiB, got nothing".to_owned());
    }
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    if number.is_empty() {
        return Err(format!(
            "invalid size {text:?}: expected a whole number of bytes, optionally followed by a \
             unit (K, KiB, M, MiB, G, GiB), e.g. 512KiB or 8MiB"
        ));
    }
    let value: u64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}: the number is too large"))?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => KIB,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => GIB,
        other if other.starts_with('.') || other.starts_with(',') => {
            return Err(format!(
                "invalid size {text:?}: use a whole number (e.g. 1536KiB instead of 1.5MiB)"
            ));
        }
        _ => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {:?} (use B, K/KB/KiB, M/MB/MiB or G/GB/GiB; \
                 all are binary: K = 1024 bytes)",
                unit.trim()
            ));
        }
    };
    let bytes = value
        .checked_mul(multiplier)
        .ok_or_else(|| format!("invalid size {text:?}: too large"))?;
    if bytes == 0 {
        return Err(format!("invalid size {text:?}: must be at least 1 byte"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bytes_and_units() {
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("1048576"), Ok(MIB));
        assert_eq!(parse_size("12B"), Ok(12));
        assert_eq!(parse_size("64K"), Ok(64 * KIB));
        assert_eq!(parse_size("64kb"), Ok(64 * KIB));
        assert_eq!(parse_size("64KiB"), Ok(64 * KIB));
        assert_eq!(parse_size("8M"), Ok(8 * MIB));
        assert_eq!(parse_size("8MB"), Ok(8 * MIB));
        assert_eq!(parse_size("8 MiB"), Ok(8 * MIB));
        assert_eq!(parse_size(" 2GiB "), Ok(2 * GIB));
        assert_eq!(parse_size("2g"), Ok(2 * GIB));
        assert_eq!(parse_size("2GB"), Ok(2 * GIB));
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let err = parse_size("12XB").unwrap_err();
        assert!(err.contains("unknown unit \"XB\""), "{err}");
        assert!(parse_size("").unwrap_err().contains("got nothing"));
        assert!(parse_size("MiB").unwrap_err().contains("whole number"));
        assert!(parse_size("-5").unwrap_err().contains("whole number"));
        assert!(parse_size("1.5MiB").unwrap_err().contains("whole number"));
        assert!(parse_size("0").unwrap_err().contains("at least 1 byte"));
        assert!(parse_size("0KiB").unwrap_err().contains("at least 1 byte"));
        assert!(parse_size("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_size("17179869184G")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_size("5 M i B").is_err());
    }
}
