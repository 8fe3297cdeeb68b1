//! The verdict of a scan: findings counted per severity once `ignore` has taken out the
//! accepted ones, and failed when any left is at or above `fail_on`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Counts, Finding, Severity, MAX_KEPT_FINDINGS};
use crate::config::{ScanConfig, ScanIgnore};

/// What a scan stage found and what that means for the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanVerdict {
    /// The findings that count (ignored ones left out), per severity.
    pub counts: Counts,
    /// Findings an `ignore` entry accepted.
    pub ignored: u64,
    /// `ignore` entries past their `until` that matched a finding: it counts again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired: Vec<String>,
    pub fail_on: Severity,
    pub passed: bool,
    /// The counted findings, most severe first, at most [`MAX_KEPT_FINDINGS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

impl ScanVerdict {
    /// `2 high, 1 low (1 ignored): fails fail_on = "high"`.
    pub fn summary(&self) -> String {
        let mut text = self.counts.words();
        if self.ignored > 0 {
            text.push_str(&format!(" ({} ignored)", self.ignored));
        }
        let at = self.fail_on.word();
        if self.passed {
            text.push_str(&format!(": passes fail_on = \"{at}\""));
        } else {
            let over: u64 = Severity::ALL
                .into_iter()
                .filter(|s| *s >= self.fail_on)
                .map(|s| self.counts.get(s))
                .sum();
            text.push_str(&format!(": {over} at or above fail_on = \"{at}\""));
        }
        if !self.expired.is_empty() {
            text.push_str(&format!("; expired ignore: {}", self.expired.join(", ")));
        }
        text
    }
}

/// Whether `entry` accepts `finding` on `today`; `None` when it names the finding but its
/// `until` is past.
fn accepts(entry: &ScanIgnore, finding: &Finding, today: NaiveDate) -> Option<bool> {
    let names = entry.id == finding.id || finding.aliases.contains(&entry.id);
    if !names {
        return Some(false);
    }
    match entry.until {
        Some(until) if today > until => None,
        _ => Some(true),
    }
}

/// Judges `findings` by the stage's `scan` settings, as of `today` (an `until` date is the
/// last day an entry holds).
pub fn judge(findings: Vec<Finding>, config: &ScanConfig, today: NaiveDate) -> ScanVerdict {
    let mut counts = Counts::default();
    let mut ignored = 0;
    let mut expired: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    for finding in findings {
        let mut accepted = false;
        for entry in &config.ignore {
            match accepts(entry, &finding, today) {
                Some(true) => accepted = true,
                Some(false) => {}
                None => {
                    if !expired.contains(&entry.id) {
                        expired.push(entry.id.clone());
                    }
                }
            }
        }
        if accepted {
            ignored += 1;
            continue;
        }
        counts.add(finding.severity);
        kept.push(finding);
    }
    kept.sort_by_key(|f| std::cmp::Reverse(f.severity));
    kept.truncate(MAX_KEPT_FINDINGS);
    let passed = Severity::ALL
        .into_iter()
        .filter(|s| *s >= config.fail_on)
        .all(|s| counts.get(s) == 0);
    ScanVerdict {
        counts,
        ignored,
        expired,
        fail_on: config.fail_on,
        passed,
        findings: kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ReportFormat;

    fn finding(id: &str, severity: Severity) -> Finding {
        Finding {
            id: id.into(),
            aliases: vec![format!("CVE-{id}")],
            severity,
            location: "a.py:1".into(),
            message: "m".into(),
        }
    }

    fn config(fail_on: Severity, ignore: Vec<ScanIgnore>) -> ScanConfig {
        ScanConfig {
            report: "r.sarif".into(),
            format: ReportFormat::Sarif,
            fail_on,
            ignore,
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ignore(id: &str, until: Option<&str>) -> ScanIgnore {
        ScanIgnore {
            id: id.into(),
            reason: "accepted".into(),
            until: until.map(day),
        }
    }

    #[test]
    fn fail_on_is_a_threshold() {
        let found = || vec![finding("B602", Severity::High), finding("B101", Severity::Low)];
        let today = day("2026-01-01");
        assert!(!judge(found(), &config(Severity::High, vec![]), today).passed);
        assert!(!judge(found(), &config(Severity::Low, vec![]), today).passed);
        let critical_only = judge(found(), &config(Severity::Critical, vec![]), today);
        assert!(critical_only.passed);
        assert_eq!(critical_only.counts.words(), "1 high, 1 low");
        assert_eq!(critical_only.summary(), "1 high, 1 low: passes fail_on = \"critical\"");
    }

    #[test]
    fn ignore_holds_until_its_date_and_matches_aliases() {
        let found = || vec![finding("B602", Severity::High)];
        let entry = |until| config(Severity::High, vec![ignore("B602", until)]);
        let v = judge(found(), &entry(Some("2026-01-01")), day("2026-01-01"));
        assert!(v.passed && v.ignored == 1 && v.expired.is_empty(), "{v:?}");
        let v = judge(found(), &entry(Some("2026-01-01")), day("2026-01-02"));
        assert!(!v.passed, "an expired ignore no longer ignores");
        assert_eq!(v.expired, vec!["B602".to_string()]);
        assert!(v.summary().contains("expired ignore: B602"), "{}", v.summary());
        let by_alias = config(Severity::High, vec![ignore("CVE-B602", None)]);
        assert!(judge(found(), &by_alias, day("2030-01-01")).passed);
    }
}
