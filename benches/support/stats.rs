//! Summaries of repeated samples for the bench targets: a figure is a median with its spread
//! (p10–p90 and min–max), never one timing. Included with `#[path]` by each bench (cargo does
//! not build `benches/support/` as a bench of its own).

use std::time::Duration;

/// The median and spread of some samples, in the samples' unit.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    /// Of `samples` (any order); `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Spread> {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        (!s.is_empty()).then(|| Spread {
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
            min: s[0],
            max: s[s.len() - 1],
            n: s.len(),
        })
    }

    /// Of durations, in milliseconds.
    #[allow(dead_code)]
    pub fn of_ms(samples: &[Duration]) -> Option<Spread> {
        Spread::of(&samples.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>())
    }

    /// `median 12.3 (p10 11.9, p90 13.0, min 11.7, max 14.2; n=7)` with `unit` after each.
    pub fn show(&self, unit: &str) -> String {
        format!(
            "median {:.1}{unit} (p10 {:.1}, p90 {:.1}, min {:.1}, max {:.1}; n={})",
            self.median, self.p10, self.p90, self.min, self.max, self.n
        )
    }
}
