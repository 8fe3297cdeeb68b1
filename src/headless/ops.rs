//! Operations on environments as text lines: what is put where by whom, progress, each smoke
//! check, and how it ended (loudly when a release was rolled back).

use std::io::{self, Write};

use crate::deploy::{phrases, OpOutcome};
use crate::engine::Event;
use crate::term::sanitize_cow;

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
            let what = match to {
                Some(to) => phrases::doing(*action, to),
                None => format!("{} {env}", phrases::action_word(*action)),
            };
            let was = phrases::replacing(*action, from.as_ref());
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
            writeln!(out, "{now} {env} {}", phrases::smoke_line(result))?;
            if let Some(excerpt) = &result.excerpt {
                for line in excerpt.lines().take(8) {
                    writeln!(out, "{now} {env}   | {}", sanitize_cow(line))?;
                }
            }
            Ok(())
        }
        Event::LoadTested { env, result, .. } => {
            writeln!(out, "{now} {env} {}", phrases::load_line(result))?;
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
            let word = match outcome {
                OpOutcome::RolledBack => "ROLLED BACK".to_string(),
                other => phrases::outcome_word(*other),
            };
            let mut lines = message.lines();
            let first = sanitize_cow(lines.next().unwrap_or_default());
            writeln!(
                out,
                "{now} {env} {} {}",
                phrases::outcome_mark(*outcome),
                phrases::ended(*action, &word, *duration_ms, &first)
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
