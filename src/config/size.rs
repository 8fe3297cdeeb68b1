//! Sizes written as `"500MB"`, `"2GiB"`, `"512KiB"`, `"1024B"`: decimal units (kB, MB, GB,
//! TB: powers of 1000) and binary ones (KiB, MiB, GiB, TiB: powers of 1024), as Docker and
//! most tools read them.

const UNITS: [(&str, u64); 10] = [
    ("B", 1),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Parses a size into bytes: a whole or decimal number, then a unit (`"1.5GiB"`). Zero is
/// refused: a zero limit is always a mistake.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let expected = || {
        format!("\"{text}\" is not a size: expected a number and a unit (B, kB, MB, GB, KiB, MiB, GiB), like \"500MB\" or \"2GiB\"")
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim_start();
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(expected());
    }
    let Some((_, factor)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(if unit.is_empty() {
            format!("\"{text}\" has no unit: expected B, kB, MB, GB, KiB, MiB or GiB after the number")
        } else {
            let known = UNITS
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(unit))
                .map(|(u, _)| format!(" (did you mean {u}?)"))
                .unwrap_or_default();
            format!("\"{text}\" has an unknown unit `{unit}`{known}: expected B, kB, MB, GB, KiB, MiB or GiB")
        });
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let too_large = || format!("\"{text}\" is too large a size");
    let whole: u64 = whole.parse().map_err(|_| too_large())?;
    let mut bytes = whole.checked_mul(*factor).ok_or_else(too_large)?;
    if !fraction.is_empty() {
        let digits = fraction.len().min(9) as u32;
        let part: u64 = fraction[..digits as usize].parse().map_err(|_| expected())?;
        bytes = bytes
            .checked_add(part.saturating_mul(*factor) / 10u64.pow(digits))
            .ok_or_else(too_large)?;
    }
    if bytes == 0 {
        return Err(format!("\"{text}\" is zero: expected a size above 0"));
    }
    Ok(bytes)
}

/// A size for messages: `"2GiB"` when exact, `"1.3GiB"` otherwise, `"512B"` below 1 KiB.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= factor {
            return if bytes.is_multiple_of(factor) {
                format!("{}{unit}", bytes / factor)
            } else {
                format!("{:.1}{unit}", bytes as f64 / factor as f64)
            };
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_and_binary_units() {
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1024B"), Ok(1024));
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for bad in [
            "",
            "GiB",
            "12",
            "1..5GB",
            "1.GB",
            "-1GB",
            "0MB",
            "5 parsecs",
            "99999999999999TiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse_size("2gib").unwrap_err().contains("did you mean GiB?"));
        assert!(parse_size("12").unwrap_err().contains("has no unit"));
    }

    #[test]
    fn formats_exact_and_rounded() {
        assert_eq!(format_size(2 << 30), "2GiB");
        assert_eq!(format_size((1 << 30) + (1 << 28)), "1.2GiB");
        assert_eq!(format_size(1000), "1000B");
        assert_eq!(format_size(64 << 20), "64MiB");
    }
}
