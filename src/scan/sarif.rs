//! SARIF 2.1.0 results → findings.
//!
//! Severity, first that is present:
//! 1. `security-severity` (a CVSS-like score, on the result's or its rule's `properties`):
//!    9.0+ critical, 7.0+ high, 4.0+ medium, else low;
//! 2. `issue_severity` (bandit's, on the result's `properties`): HIGH / MEDIUM / LOW;
//! 3. the SARIF `level` (the result's, else its rule's `defaultConfiguration.level`, else
//!    SARIF's default `warning`): error → high, warning → medium, note / none → low.

use serde_json::Value;

use super::{json_error, shown, Finding, ReportError, Severity, MAX_MESSAGE_CHARS, MAX_NAME_CHARS};

const FORMAT: &str = "SARIF";

pub(super) fn parse(bytes: &[u8]) -> Result<Vec<Finding>, ReportError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| json_error(FORMAT, e))?;
    let shape = |what: &str| ReportError::Shape {
        format: FORMAT,
        what: what.to_string(),
    };
    let runs = doc
        .get("runs")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("no `runs` array"))?;
    let mut out = Vec::new();
    for run in runs {
        let rules = run
            .pointer("/tool/driver/rules")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(results) = run.get("results") else { continue };
        let results = results.as_array().ok_or_else(|| shape("`results` is not an array"))?;
        for result in results {
            out.push(finding(result, rules));
        }
    }
    Ok(out)
}

fn finding(result: &Value, rules: &[Value]) -> Finding {
    let rule_id = result.get("ruleId").and_then(Value::as_str);
    let rule = result
        .get("ruleIndex")
        .and_then(Value::as_u64)
        .and_then(|i| rules.get(usize::try_from(i).ok()?))
        .or_else(|| {
            rules
                .iter()
                .find(|r| r.get("id").and_then(Value::as_str) == rule_id && rule_id.is_some())
        });
    let id = rule_id
        .or_else(|| rule.and_then(|r| r.get("id")).and_then(Value::as_str))
        .unwrap_or("unnamed");
    let message = result
        .pointer("/message/text")
        .and_then(Value::as_str)
        .or_else(|| {
            rule.and_then(|r| r.pointer("/shortDescription/text"))
                .and_then(Value::as_str)
        })
        .unwrap_or("");
    Finding {
        id: shown(id, MAX_NAME_CHARS),
        aliases: Vec::new(),
        severity: severity(result, rule),
        location: shown(&location(result), MAX_NAME_CHARS),
        message: shown(message, MAX_MESSAGE_CHARS),
    }
}

fn severity(result: &Value, rule: Option<&Value>) -> Severity {
    let score = |v: Option<&Value>| {
        v.and_then(|p| p.get("security-severity")).and_then(|s| match s {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        })
    };
    let props = result.get("properties");
    if let Some(s) = score(props).or_else(|| score(rule.and_then(|r| r.get("properties")))) {
        if s.is_finite() {
            return Severity::from_score(s);
        }
    }
    let bandit = props.and_then(|p| p.get("issue_severity")).and_then(Value::as_str);
    match bandit.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => return Severity::Critical,
        Some("high") => return Severity::High,
        Some("medium") => return Severity::Medium,
        Some("low") => return Severity::Low,
        _ => {}
    }
    let level = result
        .get("level")
        .or_else(|| rule.and_then(|r| r.pointer("/defaultConfiguration/level")))
        .and_then(Value::as_str)
        .unwrap_or("warning");
    match level {
        "error" => Severity::High,
        "warning" => Severity::Medium,
        _ => Severity::Low,
    }
}

/// `app/db.py:12`: the first location's file and line, as the scanner wrote it.
fn location(result: &Value) -> String {
    let Some(physical) = result.pointer("/locations/0/physicalLocation") else {
        return String::new();
    };
    let uri = physical
        .pointer("/artifactLocation/uri")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match physical.pointer("/region/startLine").and_then(Value::as_u64) {
        Some(line) => format!("{uri}:{line}"),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(result: &str, rules: &str) -> Finding {
        let doc = format!(
            r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"x","rules":{rules}}}}},"results":[{result}]}}]}}"#
        );
        let mut all = parse(doc.as_bytes()).unwrap();
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn the_score_comes_before_bandit_severity_and_level() {
        let f = one(
            r#"{"ruleId":"R1","level":"note","message":{"text":"m"},"properties":{"security-severity":"9.8","issue_severity":"LOW"}}"#,
            "[]",
        );
        assert_eq!(f.severity, Severity::Critical);
        let f = one(
            r#"{"ruleId":"R1","ruleIndex":0,"message":{"text":"m"}}"#,
            r#"[{"id":"R1","properties":{"security-severity":7.5}}]"#,
        );
        assert_eq!(f.severity, Severity::High);
        let f = one(
            r#"{"ruleId":"B105","level":"error","properties":{"issue_severity":"LOW"},"message":{"text":"m"}}"#,
            "[]",
        );
        assert_eq!(f.severity, Severity::Low, "bandit's own severity beats its level");
    }

    #[test]
    fn levels_map_and_the_default_is_warning() {
        for (level, want) in [
            ("error", Severity::High),
            ("warning", Severity::Medium),
            ("note", Severity::Low),
            ("none", Severity::Low),
        ] {
            let f = one(
                &format!(r#"{{"ruleId":"R","level":"{level}","message":{{"text":"m"}}}}"#),
                "[]",
            );
            assert_eq!(f.severity, want, "{level}");
        }
        assert_eq!(
            one(r#"{"ruleId":"R","message":{"text":"m"}}"#, "[]").severity,
            Severity::Medium
        );
        let rule_default = one(
            r#"{"ruleId":"R","message":{"text":"m"}}"#,
            r#"[{"id":"R","defaultConfiguration":{"level":"error"}}]"#,
        );
        assert_eq!(rule_default.severity, Severity::High);
    }

    #[test]
    fn escape_sequences_and_newlines_never_survive() {
        let f = one(
            r#"{"ruleId":"B\u001b]0;pwned\u0007602","level":"error","message":{"text":"line one\n\u001b[2J\u001b[31mred\u001b[0m\rtwo"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a\u001b[1m.py"},"region":{"startLine":3}}}]}"#,
            "[]",
        );
        for text in [&f.id, &f.message, &f.location] {
            assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
        }
        assert!(f.message.contains("line one"), "{:?}", f.message);
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(10_000);
        let f = one(&format!(r#"{{"ruleId":"R","message":{{"text":"{long}"}}}}"#), "[]");
        assert!(f.message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn not_sarif_is_an_error() {
        assert!(matches!(parse(b"{\"version\":1}"), Err(ReportError::Shape { .. })));
        assert!(matches!(parse(b"<xml/>"), Err(ReportError::NotJson { .. })));
        assert_eq!(parse(br#"{"runs":[{"tool":{}}]}"#).unwrap(), Vec::new());
    }
}
