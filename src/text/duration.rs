//! Durations for people, in the three styles the places that show them need. Parsing lives
//! with the config (`config::parse_duration`); the [`DurationStyle::Config`] style is its
//! inverse.

use std::time::Duration;

/// How a duration is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationStyle {
    /// Exactly, the way `release.toml` writes it (it parses back): `1h30m`, `1s500ms`, `0s`.
    /// For the config's description and messages about configured limits (timeouts).
    Config,
    /// Tables of the command line (history, operations): tenths below a minute, then two
    /// fixed-width units: `0.4s`, `12.4s`, `1m 03s`, `2h 05m`.
    Table,
    /// Panels of the console, as narrow as it gets: `1.2s`, `12s`, `3m04s`, `1h05m`.
    Compact,
}

impl DurationStyle {
    /// `duration` in this style.
    pub fn format(self, duration: Duration) -> String {
        match self {
            DurationStyle::Config => config(duration.as_millis()),
            _ => self.format_ms(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// A duration of `ms` milliseconds (negative ones, from a clock that stepped back, are 0).
    pub fn format_ms(self, ms: i64) -> String {
        let ms = ms.max(0);
        match self {
            DurationStyle::Config => config(ms.unsigned_abs().into()),
            DurationStyle::Table => table(ms),
            DurationStyle::Compact => compact(ms),
        }
    }
}

fn config(mut ms: u128) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

fn table(ms: i64) -> String {
    let tenths = ms.saturating_add(50) / 100;
    if tenths < 600 {
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    let secs = ms.saturating_add(500) / 1000;
    if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h {:02}m", secs / 3600, secs % 3600 / 60)
    }
}

fn compact(ms: i64) -> String {
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::DurationStyle::{Compact, Config, Table};
    use super::*;

    #[test]
    fn config_style_is_what_release_toml_writes() {
        assert_eq!(Config.format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(Config.format(Duration::from_millis(500)), "500ms");
        assert_eq!(Config.format(Duration::from_secs(90)), "1m30s");
        assert_eq!(Config.format(Duration::ZERO), "0s");
        assert_eq!(Config.format(Duration::from_secs(2)), "2s");
        // A timeout of 1.5 s is not "1s", and a whole hour has no "0m".
        assert_eq!(Config.format(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(Config.format(Duration::from_secs(3600)), "1h");
        for text in ["90s", "5m", "1h30m", "500ms", "2h5s", "1s500ms"] {
            let parsed = crate::config::parse_duration(text).unwrap();
            assert_eq!(crate::config::parse_duration(&Config.format(parsed)).unwrap(), parsed);
        }
    }

    #[test]
    fn table_style_rounds_to_tenths_then_fixed_units() {
        assert_eq!(Table.format_ms(0), "0.0s");
        assert_eq!(Table.format_ms(-5), "0.0s");
        assert_eq!(Table.format_ms(412), "0.4s");
        assert_eq!(Table.format_ms(12_400), "12.4s");
        assert_eq!(Table.format_ms(59_940), "59.9s");
        assert_eq!(Table.format_ms(59_960), "1m 00s");
        assert_eq!(Table.format_ms(63_000), "1m 03s");
        assert_eq!(Table.format_ms(3_599_000), "59m 59s");
        assert_eq!(Table.format_ms(7_500_000), "2h 05m");
    }

    #[test]
    fn compact_style_is_narrow() {
        assert_eq!(Compact.format_ms(1234), "1.2s");
        assert_eq!(Compact.format_ms(12_345), "12s");
        assert_eq!(Compact.format_ms(184_000), "3m04s");
        assert_eq!(Compact.format_ms(3_900_000), "1h05m");
        assert_eq!(Compact.format_ms(-1), "0.0s");
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        assert!(Config.format(Duration::MAX).ends_with("ms"));
        assert!(Table.format(Duration::MAX).ends_with('m'));
        assert!(Compact.format(Duration::MAX).ends_with('m'));
    }
}
