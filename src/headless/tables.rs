//! The command line's tables: `shipdeck history` and the operations of environments, as plain
//! text.

use std::fmt::Display;

use chrono::{Local, TimeZone};

use crate::store::{OperationRecord, RunRecord};
use crate::text::duration::DurationStyle;
use crate::text::{fit, pad, pad_left, width};

const SUBJECT_WIDTH: usize = 40;
const AUTHOR_WIDTH: usize = 20;
const ENV_WIDTH: usize = 20;
const MESSAGE_WIDTH: usize = 100;
/// Before the lines under an operation's row: its message and smoke checks.
const INDENT: &str = "    ";

/// A table of runs (as given, e.g. newest first), times in local time. Columns: #, status,
/// commit, subject (cut to 40 columns), author, started (queued time if it never
/// started), duration, image tag. Control characters from commit data are replaced.
pub fn format_history(runs: &[RunRecord]) -> String {
    format_history_in(runs, &Local)
}

fn format_history_in<Tz: TimeZone>(runs: &[RunRecord], tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    if runs.is_empty() {
        return "no runs yet\n".to_string();
    }
    let header = [
        "#", "STATUS", "COMMIT", "SUBJECT", "AUTHOR", "STARTED", "DURATION", "IMAGE",
    ];
    let right_aligned = [true, false, false, false, false, false, true, false];
    let rows: Vec<[String; 8]> = runs
        .iter()
        .map(|r| {
            [
                r.number.to_string(),
                r.status.to_string(),
                clean(&r.short_commit, usize::MAX),
                clean(&r.subject, SUBJECT_WIDTH),
                clean(&r.author, AUTHOR_WIDTH),
                r.started_at
                    .unwrap_or(r.queued_at)
                    .with_timezone(tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                r.duration_ms
                    .map_or_else(|| "-".to_string(), |ms| DurationStyle::Table.format_ms(ms)),
                r.image_tag
                    .as_deref()
                    .map_or_else(|| "-".to_string(), |t| clean(t, usize::MAX)),
            ]
        })
        .collect();
    let mut out = String::new();
    for line in table(header, right_aligned, &rows) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&scan_lines(runs));
    out
}

/// Under the table, one line per scan stage of the runs shown (none without scans):
/// `#3 scan security: 0C 1H 0M 1L · 1 ignored · failed (fail_on high)`.
fn scan_lines(runs: &[RunRecord]) -> String {
    let mut out = String::new();
    for run in runs {
        let mut scans: Vec<_> = run.scans.iter().collect();
        scans.sort_by(|a, b| a.stage.cmp(&b.stage));
        for scan in scans {
            let v = &scan.verdict;
            let ignored = if v.ignored > 0 {
                format!(" · {} ignored", v.ignored)
            } else {
                String::new()
            };
            let verdict = if v.passed { "passed" } else { "failed" };
            out.push_str(&format!(
                "#{} scan {}: {}{ignored} · {verdict} (fail_on {})\n",
                run.number,
                clean(&scan.stage, usize::MAX),
                v.counts.short(),
                v.fail_on.word()
            ));
        }
    }
    out
}

/// A table of operations (as given, e.g. newest first), times in local time. Columns: #,
/// when (start), environment, action, from and to (short commits, the subject of `to` cut to
/// 40 characters), the image ID of `to` (a release is an image: one commit may have several),
/// outcome, who (OS user and host), duration, notes (forced past which gate, approval). The
/// operation's message and its smoke checks follow each row on indented lines.
pub fn format_operations(ops: &[OperationRecord]) -> String {
    format_operations_in(ops, &Local)
}

fn format_operations_in<Tz: TimeZone>(ops: &[OperationRecord], tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    if ops.is_empty() {
        return "no operations yet\n".to_string();
    }
    let header = [
        "#", "WHEN", "ENV", "ACTION", "FROM", "TO", "IMAGE", "OUTCOME", "BY", "DURATION", "NOTES",
    ];
    let right_aligned = [
        true, false, false, false, false, false, false, false, false, true, false,
    ];
    let rows: Vec<[String; 11]> = ops
        .iter()
        .map(|op| {
            let mut notes = Vec::new();
            match (&op.overridden, op.forced) {
                (Some(gate), _) => notes.push(format!("forced past {}", clean(gate, MESSAGE_WIDTH))),
                (None, true) => notes.push("forced".to_string()),
                (None, false) => {}
            }
            if let Some(approval) = &op.approval {
                notes.push(format!("approved: {}", clean(approval, MESSAGE_WIDTH)));
            }
            if let Some(policy) = &op.policy {
                notes.push(format!("gates: {}", clean(policy, MESSAGE_WIDTH)));
            }
            [
                // 0: kept on the engine only (see `shipdeck history ENV`).
                if op.id > 0 { op.id.to_string() } else { "-".to_string() },
                op.started_at.with_timezone(tz).format("%Y-%m-%d %H:%M").to_string(),
                clean(&op.env, ENV_WIDTH),
                op.action.as_str().replace('_', "-"),
                op.from
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |r| clean(&r.short_commit, usize::MAX)),
                op.to.as_ref().map_or_else(
                    || "-".to_string(),
                    |r| {
                        format!(
                            "{} {}",
                            clean(&r.short_commit, usize::MAX),
                            clean(&r.subject, SUBJECT_WIDTH)
                        )
                    },
                ),
                op.to.as_ref().map_or_else(
                    || "-".to_string(),
                    |r| clean(&crate::deploy::short_image_id(&r.image_id), usize::MAX),
                ),
                op.outcome.as_str().replace('_', " "),
                clean(&format!("{}@{}", op.operator.os_user, op.operator.host), AUTHOR_WIDTH),
                op.duration_ms
                    .map_or_else(|| "-".to_string(), |ms| DurationStyle::Table.format_ms(ms)),
                notes.join(", "),
            ]
        })
        .collect();
    let mut out = String::new();
    let mut lines = table(header, right_aligned, &rows).into_iter();
    if let Some(header) = lines.next() {
        out.push_str(&header);
        out.push('\n');
    }
    for (op, line) in ops.iter().zip(lines) {
        out.push_str(&line);
        out.push('\n');
        if let Some(message) = &op.message {
            out.push_str(&format!("{INDENT}{}\n", clean(message, MESSAGE_WIDTH)));
        }
        let checks: Vec<String> = op.smoke.iter().map(|s| clean(&s.check, SUBJECT_WIDTH)).collect();
        let check_width = checks.iter().map(|c| width(c)).max().unwrap_or(0);
        for (smoke, check) in op.smoke.iter().zip(&checks) {
            let check = pad(check, check_width);
            let attempts = crate::text::count(smoke.attempts as usize, "attempt");
            // The latency is the last attempt's, not the sum of them all: say so.
            let line = if smoke.passed {
                format!(
                    "{INDENT}✓ {check}  passed on attempt {} (answered in {} ms)",
                    smoke.attempts, smoke.latency_ms
                )
            } else {
                format!(
                    "{INDENT}✗ {check}  {attempts}: {}",
                    clean(&smoke.message, MESSAGE_WIDTH)
                )
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for load in &op.load {
            let line = format!(
                "{INDENT}{}",
                clean(&crate::deploy::phrases::load_line(load), MESSAGE_WIDTH)
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The lines of an aligned table, header first, cells two spaces apart, without trailing
/// blanks.
fn table<const N: usize>(header: [&str; N], right_aligned: [bool; N], rows: &[[String; N]]) -> Vec<String> {
    let mut widths = header.map(width);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let header = header.map(str::to_string);
    std::iter::once(&header)
        .chain(rows)
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                if right_aligned[i] {
                    line.push_str(&pad_left(cell, widths[i]));
                } else {
                    line.push_str(&pad(cell, widths[i]));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Replaces control characters (terminal escapes in commit data) and cuts to `max` display
/// columns with a trailing `…`.
fn clean(text: &str, max: usize) -> String {
    let visible: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    fit(&visible, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::model::{OpAction, OpOutcome, ReleaseRef};
    use crate::model::RunStatus;
    use crate::store::test_support::{operator, release, smoke, t};
    use chrono::Utc;

    fn record(number: i64, status: RunStatus, subject: &str) -> RunRecord {
        RunRecord {
            number,
            app: "shop".into(),
            commit: "1a2b3c4d5e6f".into(),
            short_commit: "1a2b3c4".into(),
            branch: Some("main".into()),
            subject: subject.into(),
            author: "Ada Lovelace".into(),
            trigger: "watch".into(),
            status,
            queued_at: t(0),
            started_at: Some(t(60)),
            finished_at: Some(t(123)),
            duration_ms: Some(63_000),
            image_id: Some("sha256:abc".into()),
            image_tag: Some("shop:1a2b3c4".into()),
            owner: "1@host".into(),
            scans: Vec::new(),
        }
    }

    #[test]
    fn history_table() {
        let long = "Refactor the checkout flow so that payment retries are idempotent";
        let mut running = record(3, RunStatus::Running, "Fix \x1b]52;c;evil\x07 typo");
        running.finished_at = None;
        running.duration_ms = None;
        running.image_tag = None;
        let mut queued = record(2, RunStatus::Cancelled, "Bump deps");
        queued.started_at = None;
        queued.duration_ms = None;
        let fast = RunRecord {
            duration_ms: Some(12_400),
            ..record(1, RunStatus::Success, long)
        };
        let out = format_history_in(&[running, queued, fast], &Utc);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        for h in [
            "#", "STATUS", "COMMIT", "SUBJECT", "AUTHOR", "STARTED", "DURATION", "IMAGE",
        ] {
            assert!(lines[0].contains(h), "{out}");
        }
        // started in local (here UTC) time, `YYYY-MM-DD HH:MM`
        assert!(lines[1].starts_with("3  running "), "{out}");
        assert!(lines[1].contains("2023-11-14 22:14"), "{out}");
        assert!(lines[1].contains("Fix  ]52;c;evil  typo"), "{out}");
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out}");
        assert!(lines[1].trim_end().ends_with('-'), "no image yet: {out}");
        // never started: queued time shown, no duration
        assert!(lines[2].contains("cancelled") && lines[2].contains("2023-11-14 22:13"));
        assert!(lines[2].contains("shop:1a2b3c4"));
        assert!(lines[3].contains("success") && lines[3].contains("1a2b3c4"));
        assert!(lines[3].contains("Ada Lovelace") && lines[3].contains("12.4s"));
        let cut: String = long.chars().take(39).collect();
        assert!(lines[3].contains(&format!("{cut}…")), "{out}");
        assert!(!lines[3].contains("idempotent"), "{out}");
        // columns line up: SUBJECT starts at the same place on every line
        let col = lines[0].find("SUBJECT").unwrap();
        assert_eq!(lines[3].find("Refactor"), Some(col));
        assert_eq!(lines[2].find("Bump"), Some(col));
        let d = lines[0].find("DURATION").unwrap() + "DURATION".len();
        let row3: Vec<char> = lines[3].chars().collect();
        let cell: String = row3[d - "12.4s".len()..d].iter().collect();
        assert_eq!(cell, "12.4s", "right-aligned: {out}");

        assert_eq!(format_history_in(&[], &Utc), "no runs yet\n");
        let local = format_history(&[record(1, RunStatus::Success, "x")]);
        assert!(local.contains("1m 03s"));
    }

    #[test]
    fn wide_characters_keep_the_columns() {
        let cjk = RunRecord {
            author: "山田太郎".into(),
            ..record(
                2,
                RunStatus::Success,
                "修复登录页面的编码问题并更新文档，让用户可以用中文名字登录系统",
            )
        };
        let out = format_history_in(&[cjk, record(1, RunStatus::Failed, "Fix typo")], &Utc);
        let lines: Vec<&str> = out.lines().collect();
        let column = |line: &str, text: &str| line.find(text).map(|i| width(&line[..i]));
        for heading in ["AUTHOR", "STARTED"] {
            let at = column(lines[0], heading);
            let cell = if heading == "AUTHOR" {
                ["山田太郎", "Ada Lovelace"]
            } else {
                ["2023", "2023"]
            };
            assert_eq!(column(lines[1], cell[0]), at, "{heading}:\n{out}");
            assert_eq!(column(lines[2], cell[1]), at, "{heading}:\n{out}");
        }
        // The subject is cut at 40 columns (20 wide characters), not 40 characters.
        let subject = &lines[1][lines[1].find("修").unwrap()..];
        let subject = subject.split("  ").next().unwrap();
        assert!(subject.ends_with('…') && width(subject) <= SUBJECT_WIDTH, "{out}");
        assert_eq!(width(lines[1]), width(lines[2]), "rows end together:\n{out}");
    }

    fn operation(id: i64, action: OpAction, outcome: OpOutcome) -> OperationRecord {
        OperationRecord {
            id,
            app: "shop".into(),
            env: "staging".into(),
            action,
            from: None,
            to: Some(release("5d6e7f8a9b0c")),
            run: Some(4),
            operator: operator(),
            approval: None,
            forced: false,
            overridden: None,
            policy: None,
            outcome,
            message: None,
            started_at: t(60),
            finished_at: Some(t(72)),
            duration_ms: Some(12_400),
            smoke: vec![],
            load: vec![],
        }
    }

    #[test]
    fn operations_table() {
        let long = "Refactor the checkout flow so that payment retries are idempotent";
        let promote = OperationRecord {
            env: "production".into(),
            from: Some(release("1a2b3c4d5e6f")),
            to: Some(ReleaseRef {
                subject: long.into(),
                ..release("5d6e7f8a9b0c")
            }),
            approval: Some("typed production".into()),
            forced: true,
            smoke: vec![smoke("GET /health", true), smoke("GET /version\x1b[2J", false)],
            message: Some("smoke failed: put 1a2b3c4 back".into()),
            ..operation(12, OpAction::Promote, OpOutcome::RolledBack)
        };
        let running = OperationRecord {
            to: None,
            finished_at: None,
            duration_ms: None,
            ..operation(13, OpAction::AutoRollback, OpOutcome::Running)
        };
        let deploy = operation(9, OpAction::Deploy, OpOutcome::Succeeded);
        let out = format_operations_in(&[running, promote, deploy], &Utc);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 7, "{out}");
        for h in [
            "#", "WHEN", "ENV", "ACTION", "FROM", "TO", "OUTCOME", "BY", "DURATION", "NOTES",
        ] {
            assert!(lines[0].contains(h), "{out}");
        }
        assert!(lines[1].starts_with("13  2023-11-14 22:14  staging "), "{out}");
        assert!(
            lines[1].contains("auto-rollback") && lines[1].contains("running"),
            "{out}"
        );
        assert!(lines[1].trim_end().ends_with('-'), "no duration yet: {out}");

        let row = lines[2];
        assert!(row.starts_with("12  "), "{out}");
        for cell in [
            "production",
            "promote",
            "1a2b3c4",
            "5d6e7f8 Refactor the checkout",
            "rolled back",
            "ada@box",
            "12.4s",
            "forced, approved: typed production",
        ] {
            assert!(row.contains(cell), "{cell:?} in {out}");
        }
        let cut: String = long.chars().take(39).collect();
        assert!(row.contains(&format!("{cut}…")) && !row.contains("idempotent"), "{out}");
        assert_eq!(lines[3], "    smoke failed: put 1a2b3c4 back");
        assert_eq!(
            lines[4],
            "    ✓ GET /health       passed on attempt 1 (answered in 12 ms)"
        );
        assert_eq!(
            lines[5],
            "    ✗ GET /version [2J  5 attempts: expected status 200, got 503"
        );
        assert!(!out.contains('\x1b'), "{out}");
        assert!(
            lines[6].starts_with(" 9  ") && lines[6].contains("Release 5d6e7f8"),
            "{out}"
        );
        assert!(lines[6].contains("succeeded"), "{out}");

        // columns line up (in characters: the cut subject ends with a 3-byte `…`)
        let col = |line: &str, text: &str| line.find(text).map(|i| line[..i].chars().count());
        let outcome = col(lines[0], "OUTCOME");
        assert_eq!(col(lines[1], "running"), outcome, "{out}");
        assert_eq!(col(lines[2], "rolled back"), outcome, "{out}");
        assert_eq!(col(lines[6], "succeeded"), outcome, "{out}");

        assert_eq!(format_operations_in(&[], &Utc), "no operations yet\n");
        let local = format_operations(&[operation(1, OpAction::Smoke, OpOutcome::Failed)]);
        assert!(local.contains("smoke") && local.contains("failed"), "{local}");
    }

    #[test]
    fn operations_name_the_image_the_gate_forced_and_where_the_gates_came_from() {
        let forced = OperationRecord {
            forced: true,
            overridden: Some("promote_from: rolled back to 5d6e7f8, which never ran on staging".into()),
            policy: Some("release.toml at 1a2b3c4".into()),
            ..operation(7, OpAction::Rollback, OpOutcome::Succeeded)
        };
        let kept = OperationRecord {
            id: 0,
            ..operation(0, OpAction::Deploy, OpOutcome::Succeeded)
        };
        let out = format_operations_in(&[forced, kept], &Utc);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].contains("IMAGE"), "{out}");
        // `release("5d6e7f8a9b0c")` has the image sha256:5d6e7f8a9b0c.
        assert!(lines[1].contains("5d6e7f8a9b0c"), "{out}");
        assert!(
            lines[1].contains("forced past promote_from: rolled back to 5d6e7f8, which never ran on staging"),
            "{out}"
        );
        assert!(lines[1].contains("gates: release.toml at 1a2b3c4"), "{out}");
        assert!(
            lines[2].starts_with("-  "),
            "a record kept on the engine only has no number: {out}"
        );
    }
}
