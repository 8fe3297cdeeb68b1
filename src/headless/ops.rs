//! Operations on environments as text lines: what is put where by whom, progress, each smoke
//! check, and how it ended (loudly when a release was rolled back).

use std::io::{self, Write};

use crate::deploy::{OpAction, OpOutcome};
use crate::engine::Event;
use crate::term::sanitize_cow;
use crate::text::duration::DurationStyle;

/// Writes an operation event; `now` is the time prefix. Other events are left alone.
pub(super) fn text(out: &mut impl Write, now: &str, event: &Event) -> io::Result<()> {
    match event {
        Event::OperationStarted {
            env,
            action,
            from,
            to,
            by,
            approval,
            forced,
            overridden,
            policy,
            ..
        } => {
            let what = match (action, to) {
                (OpAction::Smoke, Some(to)) => format!("smoke-checking {}", to.describe()),
                (_, Some(to)) => format!("{} {} \"{}\"", verb(*action), to.describe(), to.subject),
                (_, None) => format!("{} {env}", action.as_str().replace('_', "-")),
            };
            let was = match (action, from) {
                (OpAction::Smoke, _) | (_, None) => String::new(),
                (_, Some(f)) => format!(" (now {})", f.describe()),
            };
            let by = by.display();
            match to {
                Some(_) => writeln!(out, "{now} {env} ▶ {what}{was} by {by}")?,
                None => writeln!(out, "{now} {env} ▶ {what} (asked by {by})")?,
            }
            if let Some(approval) = approval {
                writeln!(out, "{now} {env} · approved: {approval}")?;
            }
            match (overridden, forced) {
                (Some(gate), _) => writeln!(
                    out,
                    "{now} {env} · FORCED past {} (--force): recorded in the audit",
                    sanitize_cow(gate)
                )?,
                (None, true) => writeln!(out, "{now} {env} · FORCED (--force): recorded in the audit")?,
                (None, false) => {}
            }
            if let Some(policy) = policy {
                writeln!(out, "{now} {env} · gates from {}", sanitize_cow(policy))?;
            }
            Ok(())
        }
        Event::OperationLog { env, lines, .. } => {
            for line in lines {
                writeln!(out, "{now} {env} · {}", sanitize_cow(line))?;
            }
            Ok(())
        }
        Event::SmokeChecked { env, result, .. } => {
            let mark = if result.passed { "✓" } else { "✗" };
            let attempts = if result.attempts == 1 {
                "1 attempt".to_string()
            } else {
                format!("{} attempts", result.attempts)
            };
            writeln!(
                out,
                "{now} {env} {mark} smoke {}: {} ({attempts}, {} ms)",
                result.check, result.message, result.latency_ms
            )?;
            if let Some(excerpt) = &result.excerpt {
                for line in excerpt.lines().take(8) {
                    writeln!(out, "{now} {env}   | {}", sanitize_cow(line))?;
                }
            }
            Ok(())
        }
        Event::OperationFinished {
            env,
            action,
            outcome,
            message,
            logs,
            duration_ms,
            ..
        } => {
            let mark = match outcome {
                OpOutcome::Succeeded | OpOutcome::Unchanged => "✓",
                OpOutcome::Refused => "⊘",
                _ => "✗",
            };
            let word = match outcome {
                OpOutcome::RolledBack => "ROLLED BACK".to_string(),
                other => other.as_str().replace('_', " "),
            };
            let mut lines = message.lines();
            writeln!(
                out,
                "{now} {env} {mark} {} {word} in {}: {}",
                action.as_str().replace('_', "-"),
                DurationStyle::Table.format_ms(*duration_ms),
                sanitize_cow(lines.next().unwrap_or_default())
            )?;
            for line in lines {
                writeln!(out, "{now} {env}   {}", sanitize_cow(line.trim()))?;
            }
            if !logs.is_empty() {
                writeln!(out, "{now} {env}   last lines of its log:")?;
                for line in logs {
                    writeln!(out, "{now} {env}   | {}", sanitize_cow(line))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn verb(action: OpAction) -> &'static str {
    match action {
        OpAction::Deploy => "deploying",
        OpAction::Promote => "promoting",
        OpAction::Rollback => "rolling back to",
        OpAction::AutoRollback => "AUTOMATIC ROLLBACK to",
        OpAction::Smoke => "smoke-checking",
    }
}
