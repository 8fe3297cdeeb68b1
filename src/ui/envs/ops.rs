//! The latest operation on an environment, as a log like a stage's: a start line, the engine's
//! progress lines, each smoke check's result, and how it ended — an automatic rollback loudly.

use chrono::{DateTime, Utc};

use crate::deploy::{phrases, OpAction, OpOutcome, Operator, ReleaseRef, SmokeResult};
use crate::engine::OpId;
use crate::term::sanitize;
use crate::ui::log_pane::{LineKind, LogBuffer, LogView};

/// How many lines an operation's log keeps.
const OP_TAIL: usize = 10_000;
/// Heap bytes an operation's log keeps at most (its newest lines).
const OP_LOG_BYTES: usize = 8 * 1024 * 1024;

/// One operation (with the automatic rollback it may run inside it) and its log.
#[derive(Debug)]
pub struct OpView {
    pub id: OpId,
    pub action: OpAction,
    /// The release it puts there (or smoke-checks).
    pub release: Option<ReleaseRef>,
    pub outcome: OpOutcome,
    /// How it ended, in the engine's words.
    pub message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: Option<i64>,
    /// Operations still running: this one, and an automatic rollback it started.
    pub running: Vec<OpId>,
    /// An automatic rollback ran inside it.
    pub rolled_back: bool,
    /// The release an automatic rollback put back, and whether that failed too.
    pub restored: Option<ReleaseRef>,
    pub restore_failed: bool,
    pub log: LogBuffer,
    pub view: LogView,
}

/// What an `OperationStarted` says.
pub struct Started<'a> {
    pub op: OpId,
    pub env: &'a str,
    pub action: OpAction,
    pub from: Option<&'a ReleaseRef>,
    pub to: Option<&'a ReleaseRef>,
    pub by: &'a Operator,
    pub approval: Option<&'a str>,
    pub forced: bool,
    pub at: DateTime<Utc>,
}

impl OpView {
    pub fn start(s: &Started<'_>) -> OpView {
        let mut view = OpView {
            id: s.op,
            action: s.action,
            release: s.to.cloned(),
            outcome: OpOutcome::Running,
            message: None,
            started_at: s.at,
            duration_ms: None,
            running: Vec::new(),
            rolled_back: false,
            restored: None,
            restore_failed: false,
            log: LogBuffer::with_capacity(OP_TAIL),
            view: LogView::new(),
        };
        // A release command's output may be anything: bounded like a stage's log, smaller.
        view.log.set_max_bytes(OP_LOG_BYTES);
        // Operations say what happened in sentences: wrapped, they can be read whole.
        view.view.toggle_wrap(&view.log);
        view.nest(s);
        view
    }

    /// Another operation on the same environment while this one runs (an automatic rollback).
    pub fn nest(&mut self, s: &Started<'_>) {
        self.running.push(s.op);
        let what = match s.to {
            Some(to) => phrases::doing(s.action, to),
            None => phrases::verb(s.action).to_string(),
        };
        let was = phrases::replacing(s.action, s.from);
        let (lead, kind) = if s.action == OpAction::AutoRollback {
            self.rolled_back = true;
            self.restored = s.to.cloned();
            ("⚠ ", LineKind::Alert)
        } else {
            ("▶ ", LineKind::Stdout)
        };
        let line = format!("{lead}{what} on {}{was} by {}", s.env, s.by.display());
        self.push(kind, [line]);
        if let Some(approval) = s.approval {
            self.push(LineKind::System, [format!("· approved: {approval}")]);
        }
        if s.forced {
            self.push(
                LineKind::Alert,
                ["⚠ FORCED past the smoke gate (--force): recorded in the audit".to_string()],
            );
        }
    }

    pub fn is_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// The top operation is still running but an automatic rollback inside it is too.
    pub fn rolling_back(&self) -> bool {
        self.running.len() > 1
    }

    pub fn progress(&mut self, lines: &[String]) {
        let lines: Vec<String> = lines.iter().map(|l| format!("· {}", sanitize(l))).collect();
        self.push(LineKind::Stdout, lines);
    }

    pub fn smoke(&mut self, result: &SmokeResult) {
        let kind = if result.passed {
            LineKind::Success
        } else {
            LineKind::Failure
        };
        self.push(kind, [sanitize(&phrases::smoke_line(result))]);
        if let Some(excerpt) = result.excerpt.as_deref().filter(|_| !result.passed) {
            let lines: Vec<String> = excerpt
                .lines()
                .take(8)
                .map(|l| format!("  | {}", sanitize(l)))
                .collect();
            self.push(LineKind::Stderr, lines);
        }
    }

    /// An operation ended: the top one sets the outcome; a nested one (an automatic rollback)
    /// only adds its line. Returns whether it was the top one.
    pub fn finish(&mut self, f: &Finished<'_>) -> bool {
        self.running.retain(|id| *id != f.op);
        let top = f.op == self.id;
        let (mark, kind) = match f.outcome {
            OpOutcome::RolledBack => ("⚠", LineKind::Alert),
            OpOutcome::Succeeded | OpOutcome::Unchanged => ("✓", LineKind::Success),
            other => (phrases::outcome_mark(other), LineKind::Failure),
        };
        let kind = if f.action == OpAction::AutoRollback {
            LineKind::Alert
        } else {
            kind
        };
        let word = match f.outcome {
            OpOutcome::RolledBack => "ROLLED BACK automatically".to_string(),
            other => phrases::outcome_word(other),
        };
        let ended = phrases::ended(f.action, &word, f.duration_ms, &sanitize(f.message));
        let line = format!("{mark} {ended}");
        self.push(kind, [line]);
        if !f.logs.is_empty() {
            self.push(LineKind::System, ["  last lines of its log:".to_string()]);
            let logs: Vec<String> = f.logs.iter().map(|l| format!("  | {}", sanitize(l))).collect();
            self.push(LineKind::Stderr, logs);
        }
        if f.outcome == OpOutcome::RolledBack {
            self.rolled_back = true;
        }
        if f.action == OpAction::AutoRollback && !f.outcome.is_ok() {
            self.restore_failed = true;
        }
        if top {
            self.outcome = f.outcome;
            self.message = Some(f.message.to_string());
            self.duration_ms = Some(f.duration_ms);
            // Whatever else was still marked running ended with it.
            self.running.clear();
        }
        top
    }

    /// The notice of an operation that ended with an automatic rollback: what was put back,
    /// or that putting it back failed too.
    pub fn rollback_notice(&self, env: &str) -> Option<String> {
        if self.outcome != OpOutcome::RolledBack {
            return None;
        }
        let failed = self
            .release
            .as_ref()
            .map(|r| r.short_commit.as_str())
            .unwrap_or("the release");
        Some(match (&self.restored, self.restore_failed) {
            (Some(r), false) => format!(
                "⚠ {env} ROLLED BACK automatically to {}: {failed} failed its smoke checks",
                r.short_commit
            ),
            (Some(r), true) => format!(
                "⚠ {env}: {failed} failed its smoke checks and the automatic rollback to {} FAILED too — see the log",
                r.short_commit
            ),
            (None, _) => format!(
                "⚠ {env} ROLLED BACK automatically: {}",
                self.message.as_deref().unwrap_or_default()
            ),
        })
    }

    /// `deploying a1b2c3d`, for the spinner in the panel.
    pub fn doing(&self) -> String {
        let verb = match self.action {
            _ if self.rolling_back() => "ROLLING BACK automatically from",
            // The console marks an automatic rollback wherever it names one.
            OpAction::AutoRollback => "⚠ AUTOMATIC ROLLBACK to",
            action => phrases::verb(action),
        };
        match &self.release {
            Some(r) => format!("{verb} {}", r.short_commit),
            None => verb.to_string(),
        }
    }

    fn push<S: AsRef<str>>(&mut self, kind: LineKind, lines: impl IntoIterator<Item = S>) {
        self.log.push_lines(kind, lines);
        self.view.sync(&self.log);
    }
}

/// What an `OperationFinished` says.
pub struct Finished<'a> {
    pub op: OpId,
    pub action: OpAction,
    pub outcome: OpOutcome,
    pub message: &'a str,
    pub logs: &'a [String],
    pub duration_ms: i64,
}
