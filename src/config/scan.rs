//! `scan = { sarif = "reports/scan.sarif", fail_on = "high", ignore = [{ id, reason, until }] }`
//! of a run stage: the stage is a security scan; its report gates the release.

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::model::{ScanConfig, ScanIgnore};
use crate::config::reader::Table;
use crate::config::rules::check_relative;
use crate::scan::{ReportFormat, Severity};
use crate::text::closest;

const SCAN_KEYS: &[&str] = &["sarif", "pip_audit", "fail_on", "ignore"];
const IGNORE_KEYS: &[&str] = &["id", "reason", "until"];
const FORMATS: [ReportFormat; 2] = [ReportFormat::Sarif, ReportFormat::PipAudit];

pub(crate) fn read_scan(sink: &mut Sink<'_>, stage: &Table<'_, '_>) -> Option<ScanConfig> {
    let t = stage.table(sink, "scan", format!("`scan` of {}", stage.label))?;
    t.check_keys(sink, SCAN_KEYS);
    let given: Vec<ReportFormat> = FORMATS.into_iter().filter(|f| t.has(f.key())).collect();
    let format = match given.as_slice() {
        [one] => *one,
        [] => {
            sink.error(
                t.at(),
                format!("{} names no report: expected `sarif` or `pip_audit`", t.label),
                Some("e.g. scan = { sarif = \"reports/scan.sarif\", fail_on = \"high\" }".into()),
            );
            return None;
        }
        _ => {
            sink.error(
                t.key_at("pip_audit"),
                format!("{} names two reports (`sarif` and `pip_audit`): expected one", t.label),
                Some("scan each report in a stage of its own".into()),
            );
            return None;
        }
    };
    let report = t.non_empty_str(sink, format.key())?;
    if let Err(message) = check_relative(report.get_ref()) {
        t.invalid(sink, report.span().start, format.key(), &message, None);
        return None;
    }
    let fail_on = match t.str(sink, "fail_on") {
        None => Severity::High,
        Some(word) => match Severity::parse(word.get_ref()) {
            Some(s) => s,
            None => {
                let words = Severity::ALL.map(Severity::word);
                let hint = closest(word.get_ref(), words)
                    .map(|c| format!("did you mean \"{c}\"?"))
                    .or_else(|| Some("findings at or above `fail_on` fail the scan".into()));
                t.invalid(
                    sink,
                    word.span().start,
                    "fail_on",
                    &format!(
                        "expected \"critical\", \"high\", \"medium\" or \"low\", found \"{}\"",
                        word.get_ref()
                    ),
                    hint,
                );
                return None;
            }
        },
    };
    let ignore = read_ignore(sink, &t)?;
    Some(ScanConfig {
        report: report.into_inner(),
        format,
        fail_on,
        ignore,
    })
}

fn read_ignore(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<Vec<ScanIgnore>> {
    let Some(value) = t.get("ignore") else {
        return Some(Vec::new());
    };
    let DeValue::Array(items) = value.get_ref() else {
        let hint = Some("ignore = [{ id = \"B602\", reason = \"…\", until = \"2026-12-31\" }]".to_string());
        t.wrong_type_hint(sink, "ignore", value, "an array of tables", hint);
        return None;
    };
    let label = format!("`ignore` of {}", t.label);
    let mut out = Vec::new();
    let mut ok = true;
    for item in items.iter() {
        let DeValue::Table(entry) = item.get_ref() else {
            t.wrong_type(sink, "ignore", item, "an array of tables");
            ok = false;
            continue;
        };
        let entry = Table::new(label.clone(), item.span(), entry);
        match read_entry(sink, &entry) {
            Some(e) => out.push(e),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_entry(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<ScanIgnore> {
    t.check_keys(sink, IGNORE_KEYS);
    let id = t.non_empty_str(sink, "id");
    let reason = t.non_empty_str(sink, "reason");
    for (key, value, hint) in [
        ("id", &id, "the rule or vulnerability it accepts, e.g. id = \"B602\""),
        (
            "reason",
            &reason,
            "say why the finding is accepted: the audit of the release keeps it",
        ),
    ] {
        if !t.has(key) {
            sink.error(t.at(), format!("{} has no `{key}`", t.label), Some(hint.into()));
        } else if value.as_ref().is_some_and(|v| v.get_ref().trim().is_empty()) {
            t.invalid(
                sink,
                t.key_at(key),
                key,
                "expected a non-blank string",
                Some(hint.into()),
            );
            return None;
        }
    }
    let until = match t.get("until").map(|v| (v, v.get_ref())) {
        None => None,
        Some((
            _,
            DeValue::Datetime(toml::value::Datetime {
                date: Some(date),
                time: None,
                ..
            }),
        )) => chrono::NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day)),
        Some((_, DeValue::String(s))) => match s.parse::<chrono::NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                let at = t.get("until").map_or(t.at(), |v| v.span().start);
                t.invalid(
                    sink,
                    at,
                    "until",
                    &format!("expected a date like 2026-12-31, found \"{s}\""),
                    None,
                );
                return None;
            }
        },
        Some((v, _)) => {
            t.wrong_type_hint(sink, "until", v, "a date", Some("e.g. until = 2026-12-31".into()));
            return None;
        }
    };
    Some(ScanIgnore {
        id: id?.into_inner(),
        reason: reason?.into_inner(),
        until,
    })
}

impl super::Config {
    /// What `shipdeck check` warns of in the scan gates on `today`: `ignore` entries whose
    /// `until` has passed (their findings count again, so the next scan may fail on them).
    pub fn scan_warnings(&self, today: chrono::NaiveDate) -> Vec<String> {
        let mut out = Vec::new();
        for stage in &self.stages {
            let Some(scan) = stage.run_stage().and_then(|r| r.scan.as_ref()) else {
                continue;
            };
            for entry in &scan.ignore {
                if let Some(until) = entry.until.filter(|until| *until < today) {
                    out.push(format!(
                        "stage {}: the ignore entry for {} ran out on {until}: its findings count again (reason given: {}); renew `until` or fix them",
                        stage.name, entry.id, entry.reason
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod warning_tests {
    #[test]
    fn an_ignore_entry_past_its_date_is_warned_about_and_a_current_one_is_not() {
        let text = "[app]\nname = \"a\"\n[stages.s]\nimage = \"i\"\nrun = [\"r\"]\nscan = { sarif = \"r.sarif\", ignore = [{ id = \"B105\", reason = \"fixture\", until = 2026-01-31 }, { id = \"B602\", reason = \"later\", until = 2026-03-01 }, { id = \"B101\", reason = \"always\" }] }\n";
        let config = crate::config::parse(text, "release.toml", None).unwrap();
        let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert!(
            config.scan_warnings(day("2026-01-31")).is_empty(),
            "its last day still holds"
        );
        let warnings = config.scan_warnings(day("2026-02-01"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("B105") && warnings[0].contains("2026-01-31"),
            "{warnings:?}"
        );
        assert_eq!(config.scan_warnings(day("2027-01-01")).len(), 2);
    }
}
