//! `pip-audit -f json` → findings: one per vulnerability of each dependency.
//!
//! pip-audit's JSON carries no severity (its vulnerability services give none), so every
//! known vulnerability of a dependency counts as **high**: `fail_on = "high"` fails on any, and
//! `ignore` (by its ID or any alias: PYSEC-…, CVE-…, GHSA-…) accepts one with a reason.

use serde::Deserialize;

use super::{json_error, shown, Finding, ReportError, Severity, MAX_MESSAGE_CHARS, MAX_NAME_CHARS};

const FORMAT: &str = "pip-audit";

#[derive(Deserialize)]
struct Report {
    dependencies: Vec<Dependency>,
}

#[derive(Deserialize)]
struct Dependency {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    vulns: Vec<Vuln>,
}

#[derive(Deserialize)]
struct Vuln {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    fix_versions: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Vec<Finding>, ReportError> {
    let report: Report = serde_json::from_slice(bytes).map_err(|e| json_error(FORMAT, e))?;
    let mut out = Vec::new();
    for dep in &report.dependencies {
        let location = match &dep.version {
            Some(v) => format!("{} {v}", dep.name),
            None => dep.name.clone(),
        };
        for vuln in &dep.vulns {
            let fix = if vuln.fix_versions.is_empty() {
                "no fixed version".to_string()
            } else {
                format!("fixed in {}", vuln.fix_versions.join(", "))
            };
            let description = vuln.description.as_deref().unwrap_or("");
            out.push(Finding {
                id: shown(&vuln.id, MAX_NAME_CHARS),
                aliases: vuln.aliases.iter().take(20).map(|a| shown(a, MAX_NAME_CHARS)).collect(),
                severity: Severity::High,
                location: shown(&location, MAX_NAME_CHARS),
                message: shown(&format!("{fix}: {description}"), MAX_MESSAGE_CHARS),
            });
        }
    }
    Ok(out)
}
