//! The words of deployments, shared by the engine, the history and the views: what an operation
//! does, how it ended, which release, who did it, what a smoke check found.

use serde::Serialize;

/// What an operation on an environment does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpAction {
    Deploy,
    Promote,
    Rollback,
    /// The previous release put back by shipdeck itself after a failed smoke check.
    AutoRollback,
    Smoke,
}

impl OpAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OpAction::Deploy => "deploy",
            OpAction::Promote => "promote",
            OpAction::Rollback => "rollback",
            OpAction::AutoRollback => "auto_rollback",
            OpAction::Smoke => "smoke",
        }
    }

    pub fn parse(s: &str) -> Option<OpAction> {
        [
            OpAction::Deploy,
            OpAction::Promote,
            OpAction::Rollback,
            OpAction::AutoRollback,
            OpAction::Smoke,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// How an operation ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    Running,
    Succeeded,
    Failed,
    /// Nothing to do: the release already runs there.
    Unchanged,
    /// Not attempted: no approval, smoke gate not passed, lock held, nothing to roll back to.
    Refused,
    /// The new release failed and the previous one was put back.
    RolledBack,
    /// The process died while it ran.
    Interrupted,
}

impl OpOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            OpOutcome::Running => "running",
            OpOutcome::Succeeded => "succeeded",
            OpOutcome::Failed => "failed",
            OpOutcome::Unchanged => "unchanged",
            OpOutcome::Refused => "refused",
            OpOutcome::RolledBack => "rolled_back",
            OpOutcome::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<OpOutcome> {
        [
            OpOutcome::Running,
            OpOutcome::Succeeded,
            OpOutcome::Failed,
            OpOutcome::Unchanged,
            OpOutcome::Refused,
            OpOutcome::RolledBack,
            OpOutcome::Interrupted,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// Whether the operation left the environment as asked.
    pub fn is_ok(self) -> bool {
        matches!(self, OpOutcome::Succeeded | OpOutcome::Unchanged)
    }
}

/// Why an operation was refused, for scripts (exit codes, `--json`) and views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Bad input: an unknown environment or revision, an environment that cannot do this.
    Usage,
    /// The environment's Docker engine cannot be reached.
    Engine,
    /// The environment wants an approval and none was given.
    Approval,
    /// The release has not passed the source environment's smoke checks.
    SmokeGate,
    /// The release's scan stages failed, or it has no passing scan verdict.
    ScanGate,
    /// The environment takes releases only by promotion (or rollback to one it ran).
    Gated,
    /// Another operator holds the environment's lock.
    Locked,
    /// Nothing to deploy, promote, check or roll back to.
    NoRelease,
}

/// A release: the image a run's package stage built, by image ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseRef {
    pub commit: String,
    pub short_commit: String,
    pub subject: String,
    /// `sha256:…`.
    pub image_id: String,
    /// `<app>:<short sha>`, when the tag is known.
    pub image_tag: Option<String>,
}

impl ReleaseRef {
    /// `a1b2c3d (sha256:0123456789ab)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.short_commit, short_image_id(&self.image_id))
    }
}

/// `sha256:0123456789ab…` → `0123456789ab`.
pub fn short_image_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Who ran an operation: the git identity of the repository, the OS user and the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    /// `Alice Example <alice@example.com>`, from git's `user.name` / `user.email`.
    pub git_user: Option<String>,
    pub os_user: String,
    pub host: String,
}

impl Operator {
    /// `alice@build-box (Alice Example <alice@example.com>)`.
    pub fn display(&self) -> String {
        match &self.git_user {
            Some(git) => format!("{}@{} ({git})", self.os_user, self.host),
            None => format!("{}@{}", self.os_user, self.host),
        }
    }
}

/// The result of one smoke check on one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmokeResult {
    /// What was checked: `GET /health` or the command line.
    pub check: String,
    pub passed: bool,
    pub attempts: u32,
    /// Of the last attempt.
    pub latency_ms: u64,
    /// The HTTP status of the last attempt, for HTTP checks that got an answer.
    pub status: Option<u16>,
    /// The start of the body (or command output) of the last attempt, when it failed.
    pub excerpt: Option<String>,
    /// In words: "200, body contains a1b2c3d" or "expected status 200, got 503".
    pub message: String,
}
