//! What the engine tells its views. Every view (console, headless text, NDJSON) is a fold of
//! these; nothing else crosses from the engine to a view.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::deploy::lock::LockHolder;
pub use crate::deploy::{Deployed, OpAction, OpOutcome, Operator, Refusal, ReleaseRef, SmokeResult};
pub use crate::source::CommitInfo;

/// An operation on an environment (deploy, promote, rollback, smoke), numbered per process.
pub type OpId = u64;
pub use crate::model::{RunStatus, StageStatus};
pub use crate::store::{RunNumber, RunRecord, StageRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
    /// Lines shipdeck writes into a stage's log itself (the command being run, build steps).
    System,
}

/// Where a stage's service container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    Starting,
    Ready,
    Failed,
}

impl ServiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Starting => "starting",
            ServiceState::Ready => "ready",
            ServiceState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKindName {
    Run,
    Package,
}

/// Where a commit's planned stages come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// The release.toml committed with it.
    Committed,
    /// It has none committed: a run takes the working copy's.
    WorkingCopy,
    /// The commit (or its release.toml) could not be read.
    Unreadable,
}

/// Each stage's depth in the DAG, for views that lay stages out by it: 0 for a stage that
/// needs nothing, else one more than its deepest need. `stages` are in topological order, as
/// `(name, needs)`; a need that is not among them is ignored.
pub fn dag_levels<'a>(stages: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Vec<usize> {
    let mut names: Vec<&str> = Vec::new();
    let mut levels: Vec<usize> = Vec::new();
    for (name, needs) in stages {
        let level = needs
            .iter()
            .filter_map(|n| names.iter().position(|s| s == n).map(|i| levels[i] + 1))
            .max()
            .unwrap_or(0);
        names.push(name);
        levels.push(level);
    }
    levels
}

/// One stage as planned when a run starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStage {
    pub name: String,
    pub needs: Vec<String>,
    pub kind: StageKindName,
    /// The image a run stage runs in, or the Dockerfile a package stage builds.
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A run was accepted and numbered.
    RunQueued {
        run: RunNumber,
        app: String,
        commit: String,
        short_commit: String,
        subject: String,
        author: String,
        branch: Option<String>,
        trigger: String,
        at: DateTime<Utc>,
    },
    RunStarted {
        run: RunNumber,
        stages: Vec<PlannedStage>,
        at: DateTime<Utc>,
    },
    /// Pulling an image a stage needs; `progress` is a human line such as `12.3/45.6 MB`.
    ImagePull {
        run: RunNumber,
        image: String,
        status: String,
        progress: Option<String>,
    },
    StageStarted {
        run: RunNumber,
        stage: String,
        at: DateTime<Utc>,
        /// Where the stage's full log is written.
        log_path: Option<String>,
    },
    /// Lines of a stage's output, in order, from one stream, secrets already masked. Lines
    /// come in batches (as the container wrote them) so a stage printing a million lines is
    /// not a million events.
    StageLog {
        run: RunNumber,
        stage: String,
        stream: Stream,
        lines: Vec<String>,
    },
    StageFinished {
        run: RunNumber,
        stage: String,
        status: StageStatus,
        exit_code: Option<i64>,
        duration_ms: i64,
        /// Why it failed, timed out, was cancelled or skipped, in words for the user.
        message: Option<String>,
        at: DateTime<Utc>,
    },
    /// A service container of a stage (`[services.NAME]`) is starting, became ready (after
    /// `duration_ms`, judged as `message` says) or failed (why, in `message`; its last log
    /// lines follow in the stage's log).
    ServiceStatus {
        run: RunNumber,
        stage: String,
        service: String,
        image: String,
        state: ServiceState,
        duration_ms: Option<i64>,
        message: Option<String>,
        at: DateTime<Utc>,
    },
    /// A scan stage's report was read and judged (before its `StageFinished`).
    ScanFinished {
        run: RunNumber,
        stage: String,
        verdict: crate::scan::ScanVerdict,
    },
    ArtifactsCopied {
        run: RunNumber,
        stage: String,
        dir: String,
        files: usize,
        bytes: u64,
    },
    ImageBuilt {
        run: RunNumber,
        stage: String,
        image_id: String,
        tag: String,
    },
    RunFinished {
        run: RunNumber,
        status: RunStatus,
        duration_ms: i64,
        image_id: Option<String>,
        image_tag: Option<String>,
        at: DateTime<Utc>,
    },
    /// A run could not even be queued: the revision does not resolve, the app is not in the
    /// commit, the history cannot be written.
    RunRejected { rev: String, message: String },
    /// The Docker engine was reached, or lost; `message` says what happened and what to check.
    EngineStatus {
        connected: bool,
        address: String,
        version: Option<String>,
        api_version: Option<String>,
        message: Option<String>,
    },
    /// The repository as it is now: where, which branch, HEAD, and the branch's recent commits.
    RepoState {
        app: String,
        repo: String,
        app_dir: String,
        branch: Option<String>,
        head: Option<CommitInfo>,
        commits: Vec<CommitInfo>,
    },
    /// Recent runs from the history, newest first, for a view that starts.
    HistoryLoaded { runs: Vec<PastRun> },
    /// Runs another shipdeck process (a `shipdeck run`, a second console, `shipdeck watch`)
    /// recorded or advanced in this app's history since the last look, newest first: a view
    /// follows them live.
    RunsElsewhere { runs: Vec<PastRun> },
    /// What a run of `commit` would run, before it has run: its stages in topological order,
    /// or (`error`) the whole diagnostic of its invalid release.toml, or why it cannot be read.
    CommitPlanned {
        commit: String,
        stages: Vec<PlannedStage>,
        source: PlanSource,
        error: Option<String>,
    },
    /// The tail of a finished stage's log, read back from its file.
    StageLogLoaded {
        run: RunNumber,
        stage: String,
        path: String,
        lines: Vec<String>,
        /// Lines of the file before the tail that were not read.
        skipped: u64,
    },
    /// What the watcher does: whether it watches, saves too, is paused; how many directories;
    /// whether it fell back to polling; the last trigger (time and what).
    WatchStatus {
        watching: bool,
        paused: bool,
        saves: bool,
        dirs: usize,
        polling: bool,
        last_trigger: Option<String>,
    },
    /// release.toml was edited: `error` when the new one is invalid (the last good one stays).
    ConfigReloaded {
        error: Option<String>,
        /// The new configuration, when it is valid (for views that show its environments).
        #[serde(skip)]
        config: Option<std::sync::Arc<crate::config::Config>>,
    },
    /// An operation on an environment began (also one that is refused at once: the audit
    /// keeps those too). `from` is what ran there, `to` the release it puts there.
    OperationStarted {
        op: OpId,
        app: String,
        env: String,
        action: OpAction,
        from: Option<ReleaseRef>,
        to: Option<ReleaseRef>,
        run: Option<RunNumber>,
        by: Operator,
        approval: Option<String>,
        forced: bool,
        /// Which gate `--force` went past, in words ("promote_from: …", "smoke gate: …",
        /// "uncommitted gates: approval true → false"); `None` when nothing was overridden.
        overridden: Option<String>,
        /// Where the environment's gates came from: "release.toml at a1b2c3d" (HEAD), or the
        /// working copy's when `--force` applied an uncommitted change.
        policy: Option<String>,
        at: DateTime<Utc>,
    },
    /// Progress of an operation, in words: container created, stopping the previous release…
    OperationLog { op: OpId, env: String, lines: Vec<String> },
    /// A step of a switch (strategy `proxy`): the overlap, the pre-switch smoke checks, the
    /// moment traffic moved, the drain counting down.
    SwitchProgress {
        op: OpId,
        env: String,
        step: crate::deploy::switch_step::SwitchStep,
    },
    /// One smoke check's result, in the environment's order.
    SmokeChecked {
        op: OpId,
        env: String,
        release: ReleaseRef,
        position: u32,
        result: SmokeResult,
    },
    /// One load test's result, in the environment's order (its progress comes as log lines).
    LoadTested {
        op: OpId,
        env: String,
        release: ReleaseRef,
        position: u32,
        result: crate::deploy::load::LoadResult,
    },
    OperationFinished {
        op: OpId,
        env: String,
        action: OpAction,
        outcome: OpOutcome,
        /// What happened, or why not, in words.
        message: String,
        /// The last log lines of a release that failed to start.
        logs: Vec<String>,
        /// Why it was refused (outcome `refused`).
        refusal: Option<Refusal>,
        duration_ms: i64,
        at: DateTime<Utc>,
    },
    /// What runs on an environment, read from its engine, and who holds its lock.
    EnvironmentStatus {
        env: String,
        deployed: Option<Deployed>,
        lock: Option<LockHolder>,
        /// The engine could not be asked: why.
        error: Option<String>,
        /// The last smoke verdict on this environment for the release it runs, from the local
        /// history: passed, failed, or unknown.
        smoke: Option<bool>,
    },
    /// What runs on an environment besides its release container, read from its engine: its
    /// accessories and the release's processes, each with its state and health. Follows the
    /// environment's [`Event::EnvironmentStatus`] when it has any.
    EnvironmentParts {
        env: String,
        accessories: Vec<crate::deploy::accessories::PartState>,
        processes: Vec<crate::deploy::accessories::PartState>,
        /// The environment's proxy (strategy `proxy`): `missing`, `running` and what it serves,
        /// `broken: …` when its runtime API does not answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proxy: Option<crate::deploy::accessories::PartState>,
    },
    /// What promoting to `env` would do: the release it runs now (`current`) → the one running
    /// in `source` (`candidate`), the commits between them (newest first), and whether the
    /// smoke gate lets it through (`blocked`: why not).
    PromotionPreview {
        env: String,
        source: String,
        current: Option<ReleaseRef>,
        candidate: Option<ReleaseRef>,
        commits: Vec<CommitInfo>,
        approval: bool,
        blocked: Option<String>,
    },
    /// Releases an environment can be rolled back to, newest first.
    /// `approval`: whether rolling back there needs one (HEAD's gates).
    ReleasesListed {
        env: String,
        releases: Vec<ReleaseChoice>,
        approval: bool,
    },
    /// Something the user should know that is not part of one stage: leftovers reaped, a
    /// secret too short to mask, an engine warning.
    Notice { level: NoticeLevel, message: String },
    /// What happened to a notification on one channel (`[notify.NAME]`): sent, failed and
    /// retried later, or given up. `message` is the line to show after "notify NAME: ".
    Notification {
        channel: String,
        /// "webhook", "slack" or "email".
        kind: String,
        /// What the notification was about.
        about: crate::config::NotifyEvent,
        env: Option<String>,
        status: crate::notifications::DeliveryStatus,
        attempt: u32,
        message: String,
        at: DateTime<Utc>,
    },
}

/// A release offered for rollback: where it was deployed before, by whom, how smoke went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseChoice {
    pub release: ReleaseRef,
    pub deployed_at: Option<DateTime<Utc>>,
    pub by: Option<String>,
    /// The last smoke verdict on this environment: passed, failed, or never checked.
    pub smoke: Option<bool>,
    /// It runs there now.
    pub current: bool,
    /// The run that built it, when known: one commit may have several releases.
    pub run: Option<RunNumber>,
    /// Built before the newest release whose release_command ran on this environment: the
    /// schema (or whatever the release_command changed) may be ahead of it.
    pub schema_behind: bool,
}

/// A run from the history, with its stages and where their logs are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastRun {
    pub run: RunRecord,
    pub stages: Vec<StageRecord>,
    pub log_paths: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

impl Event {
    pub fn run(&self) -> Option<RunNumber> {
        match self {
            Event::RunQueued { run, .. }
            | Event::RunStarted { run, .. }
            | Event::ImagePull { run, .. }
            | Event::StageStarted { run, .. }
            | Event::StageLog { run, .. }
            | Event::StageFinished { run, .. }
            | Event::ServiceStatus { run, .. }
            | Event::ArtifactsCopied { run, .. }
            | Event::ScanFinished { run, .. }
            | Event::ImageBuilt { run, .. }
            | Event::RunFinished { run, .. }
            | Event::StageLogLoaded { run, .. } => Some(*run),
            Event::Notice { .. }
            | Event::Notification { .. }
            | Event::RunRejected { .. }
            | Event::EngineStatus { .. }
            | Event::RepoState { .. }
            | Event::HistoryLoaded { .. }
            | Event::RunsElsewhere { .. }
            | Event::CommitPlanned { .. }
            | Event::WatchStatus { .. }
            | Event::ConfigReloaded { .. }
            | Event::OperationStarted { .. }
            | Event::OperationLog { .. }
            | Event::SwitchProgress { .. }
            | Event::SmokeChecked { .. }
            | Event::LoadTested { .. }
            | Event::OperationFinished { .. }
            | Event::EnvironmentStatus { .. }
            | Event::EnvironmentParts { .. }
            | Event::ReleasesListed { .. }
            | Event::PromotionPreview { .. } => None,
        }
    }
}
