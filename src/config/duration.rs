//! Durations written as `"500ms"`, `"90s"`, `"5m"`, `"1h30m"`.

use std::time::Duration;

/// Parses a duration: one or more `<integer><unit>` parts with units `ms`, `s`, `m`, `h`
/// (largest first, each at most once), e.g. `"1h30m"`. Zero is refused: a zero timeout or
/// window is always a mistake.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let not_a_duration = || {
        format!("\"{text}\" is not a duration: expected a number and a unit (ms, s, m or h), like \"90s\" or \"1h30m\"")
    };
    if text.is_empty() {
        return Err(not_a_duration());
    }
    let mut rest = text;
    let mut total_ms: u64 = 0;
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(not_a_duration());
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("\"{text}\" is too long a duration"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        let Some(position) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(match (unit.is_empty(), rest.is_empty()) {
                (true, true) => {
                    format!("\"{text}\" has no unit: expected ms, s, m or h after the number")
                }
                (true, false) => not_a_duration(),
                (false, _) => {
                    format!("\"{text}\" has an unknown unit `{unit}`: expected ms, s, m or h")
                }
            });
        };
        if last_unit.is_some_and(|last| position <= last) {
            return Err(format!(
                "\"{text}\" is not a duration: write the units largest first, each once, like \"1h30m\""
            ));
        }
        last_unit = Some(position);
        total_ms = number
            .checked_mul(UNITS[position].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("\"{text}\" is too long a duration"))?;
        rest = &rest[unit_len..];
    }
    if total_ms == 0 {
        return Err(format!("\"{text}\" is zero: expected a duration longer than 0"));
    }
    Ok(Duration::from_millis(total_ms))
}

/// A duration string close to a wrong one: `"90"` → `"90s"`, `"5 minutes"` → `"5m"`.
pub(crate) fn suggest_duration(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (number, word) = trimmed.split_at(digits);
    let word = word.trim().to_ascii_lowercase();
    let unit = match word.as_str() {
        "" => "s",
        w if w.starts_with("ms") || w.starts_with("milli") => "ms",
        w if w.starts_with("sec") || w == "s" => "s",
        w if w.starts_with("min") || w == "m" => "m",
        w if w.starts_with("h") => "h",
        _ => return None,
    };
    let suggestion = format!("{number}{unit}");
    (parse_duration(&suggestion).is_ok() && suggestion != text).then_some(suggestion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_compound_durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s250ms"), Ok(Duration::from_millis(90_250)));
    }

    #[test]
    fn refuses_bad_durations() {
        for bad in [
            "", " ", "5", "m", "5 m", "5min", "1.5s", "-5s", "30m1h", "1m1m", "0s", "5m ",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            parse_duration("5"),
            Err("\"5\" has no unit: expected ms, s, m or h after the number".into())
        );
        assert_eq!(
            parse_duration("5min"),
            Err("\"5min\" has an unknown unit `min`: expected ms, s, m or h".into())
        );
        assert!(parse_duration("99999999999999999999h").is_err());
        assert!(parse_duration("9999999999999999h").is_err());
    }

    #[test]
    fn suggests_a_fix() {
        assert_eq!(suggest_duration("90").as_deref(), Some("90s"));
        assert_eq!(suggest_duration("5 minutes").as_deref(), Some("5m"));
        assert_eq!(suggest_duration("5min").as_deref(), Some("5m"));
        assert_eq!(suggest_duration("2 hours").as_deref(), Some("2h"));
        assert_eq!(suggest_duration("100 millis").as_deref(), Some("100ms"));
        assert_eq!(suggest_duration("soon"), None);
        assert_eq!(suggest_duration("0"), None);
    }
}
