//! Security scan findings: a scanner's report (SARIF, or pip-audit's JSON) read into findings
//! with one severity scale, the `ignore` list applied, and the verdict against `fail_on`.
//!
//! Pure: no Docker, no files. The engine reads the report out of the stage's workspace
//! (`engine::scan_report`) and hands the bytes here; the report is hostile input, so every
//! text taken from it is sanitized and bounded before it reaches a terminal or the store.

mod pip_audit;
mod sarif;
mod verdict;

use serde::{Deserialize, Serialize};

pub use verdict::{judge, ScanVerdict};

/// The most bytes of a report shipdeck reads; a larger one fails the stage.
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;
/// The most findings kept from one report (the counts stay exact).
pub const MAX_KEPT_FINDINGS: usize = 1000;
/// A finding's message is cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 200;
/// An ID or location is cut to this many characters.
const MAX_NAME_CHARS: usize = 120;

/// One severity scale for every scanner, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];

    pub fn word(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(word: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.word() == word)
    }

    /// A CVSS-like score (SARIF's `security-severity`): 9.0+ critical, 7.0+ high, 4.0+
    /// medium, else low (the scale GitHub code scanning uses).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// The report format a scan stage names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// SARIF 2.1.0 (bandit `-f sarif`, semgrep, trivy, grype, …).
    Sarif,
    /// `pip-audit -f json`.
    PipAudit,
}

impl ReportFormat {
    pub fn key(self) -> &'static str {
        match self {
            ReportFormat::Sarif => "sarif",
            ReportFormat::PipAudit => "pip_audit",
        }
    }
}

/// One finding, as shown: every text sanitized and bounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule (`B602`) or the vulnerability (`PYSEC-2018-28`).
    pub id: String,
    /// Other names of the same finding an `ignore` entry may use (CVE and GHSA aliases).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub severity: Severity,
    /// `app/db.py:12`, or `requests 2.19.1`.
    pub location: String,
    pub message: String,
}

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

impl Counts {
    pub fn add(&mut self, severity: Severity) {
        *self.slot(severity) += 1;
    }

    pub fn get(&self, severity: Severity) -> u64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }

    fn slot(&mut self, severity: Severity) -> &mut u64 {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
        }
    }

    pub fn total(&self) -> u64 {
        self.critical + self.high + self.medium + self.low
    }

    /// `2 high, 1 low`, or `no findings`.
    pub fn words(&self) -> String {
        let parts: Vec<String> = Severity::ALL
            .into_iter()
            .filter(|s| self.get(*s) > 0)
            .map(|s| format!("{} {}", self.get(s), s.word()))
            .collect();
        if parts.is_empty() {
            "no findings".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// `0C 2H 0M 1L`: the history's column.
    pub fn short(&self) -> String {
        format!("{}C {}H {}M {}L", self.critical, self.high, self.medium, self.low)
    }
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("the report is not valid {format} JSON: {error}")]
    NotJson { format: &'static str, error: String },
    #[error("the report is not {format}: {what}")]
    Shape { format: &'static str, what: String },
}

/// Reads a report's findings (all of them; [`judge`] bounds what is kept).
pub fn parse(format: ReportFormat, bytes: &[u8]) -> Result<Vec<Finding>, ReportError> {
    match format {
        ReportFormat::Sarif => sarif::parse(bytes),
        ReportFormat::PipAudit => pip_audit::parse(bytes),
    }
}

/// Text from a report made safe to show: one line, no control characters or escape
/// sequences, at most `max` characters.
fn shown(text: &str, max: usize) -> String {
    let one_line = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // Not a log line: no escape sequence survives, colours included.
    let clean = crate::term::plain_text(&one_line);
    crate::text::truncate(clean.trim(), max).into_owned()
}

fn json_error(format: &'static str, error: serde_json::Error) -> ReportError {
    ReportError::NotJson {
        format,
        error: error.to_string(),
    }
}
