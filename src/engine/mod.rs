//! The engine: takes [`Command`]s, runs pipelines on a Docker engine, and emits [`Event`]s.
//! It has no UI code; the console and the headless view are both folds of its events.

mod artifacts;
mod build_error;
mod commit_plan;
pub mod connection;
mod context_links;
mod control;
mod dockerignore;
pub mod event;
mod event_group;
pub mod event_text;
mod invalid_run;
mod log_tail;
mod operations;
mod package;
mod pipeline;
mod query;
pub mod reaper;
pub mod recorder;
mod run_error;
pub mod runner_lease;
mod safe_dir;
mod scan_report;
mod services;
mod stage;
mod workspace;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

pub use connection::DockerLink;
pub use event::{
    CommitInfo, Event, NoticeLevel, OpId, PastRun, PlanSource, PlannedStage, ReleaseChoice, ServiceState, Stream,
};
pub use event_group::EventGroup;
pub use operations::OperationError;
pub use pipeline::plan;
pub use query::{Ask, AskError, Reply};
pub use recorder::EventSink;
pub use run_error::RunError;

use crate::config::Config;
use crate::source::Project;
use crate::store::{RunNumber, Store};

/// What a view asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the pipeline for a revision (`HEAD`, a sha, a branch…); `trigger` says why, for the
    /// runs list and history ("manual", "commit abc1234", "save: src/app.py").
    Run { rev: String, trigger: String },
    /// Cancel one run: its stages are stopped and their containers removed.
    Cancel { run: RunNumber },
    /// Cancel every active run.
    CancelAll,
    /// Re-read the repository (branch, HEAD, recent commits). A query: a [`Event::RepoState`]
    /// (or an error notice).
    Refresh,
    /// Recent runs from the history. A query: a [`Event::HistoryLoaded`] (or an error notice).
    LoadHistory { limit: usize },
    /// The tail of a stage's log file. A query: a [`Event::StageLogLoaded`] (or a warning
    /// notice).
    LoadLog {
        run: RunNumber,
        stage: String,
        lines: usize,
    },
    /// What a run of a commit (a revision) would run, before it has run: the stages of the
    /// release.toml committed with it. A query: a [`Event::CommitPlanned`].
    PlanCommit { commit: String },
    /// Watch the repository: every new commit runs the pipeline, and with `saves`, saved files
    /// run the `on_save` stages on the working tree; busy runs follow `[watch].on_busy`.
    Watch { saves: bool },
    /// Stop watching.
    Unwatch,
    /// Turn save-triggered runs on or off while watching.
    WatchSaves(bool),
    /// Hold triggers while paused; a HEAD that moved meanwhile runs on resume.
    PauseWatch(bool),
    /// Deploy a release to an environment (`release`: a commit or its prefix; default the
    /// newest green run's image), then run its smoke checks. Never cancelled by a trigger.
    /// An environment with `promote_from` takes releases by promotion: a deploy there is
    /// refused unless `force`; one with `approval` needs `approval`.
    Deploy {
        env: String,
        release: Option<String>,
        force: bool,
        approval: Option<String>,
    },
    /// Run an environment's smoke checks against what it runs now; `force` applies uncommitted
    /// changes to them (audited).
    Smoke { env: String, force: bool },
    /// Copy the release running in the environment's `promote_from` to it: only if that
    /// release passed the source's smoke checks (or `force`), and with `approval` (what the
    /// operator did to approve: "typed production", "--yes") when the environment wants one.
    Promote {
        env: String,
        force: bool,
        approval: Option<String>,
    },
    /// What promoting to `env` would change, for an approval dialog. A query: a
    /// [`Event::PromotionPreview`] (or an error notice). Changes nothing.
    PreviewPromotion { env: String },
    /// Put a previous release back (`to`: a commit or prefix; default the last good one).
    /// On an environment with `promote_from`, only to a release that ran there before,
    /// unless `force`.
    /// `approval`: how the operator confirmed it, when they did (recorded in the audit).
    Rollback {
        env: String,
        to: Option<String>,
        force: bool,
        approval: Option<String>,
    },
    /// Read what runs on each environment from its engine. A query: one
    /// [`Event::EnvironmentStatus`] per environment of release.toml, in its order, each
    /// followed by an [`Event::EnvironmentParts`] when it has accessories, processes or a
    /// proxy (strategy `proxy` with `publish`).
    LoadEnvironments,
    /// The releases an environment could be rolled back to. A query: a
    /// [`Event::ReleasesListed`] (or an error notice).
    LoadReleases { env: String },
    /// Break an environment's lock: a stale one (its process is gone), or with `force` any.
    /// A query: a notice of what it did (level `Error` when it did not break it), then the
    /// environment's [`Event::EnvironmentStatus`].
    Unlock { env: String, force: bool },
    /// Start, stop, restart (recreate from release.toml, volumes kept) or read the logs of
    /// one accessory of an environment. A query: notices of what it did (level `Error` when it
    /// failed), then the environment's [`Event::EnvironmentParts`].
    Accessory {
        env: String,
        name: String,
        action: crate::deploy::accessories::AccessoryAction,
    },
}

/// How many of the branch's recent commits a [`Event::RepoState`] lists.
pub const RECENT_COMMITS: usize = 30;

/// The ends a view holds: commands in, events out, and queries answered to the asker alone.
/// Dropping `commands` cancels whatever is running and, once it has stopped and been cleaned
/// up, closes `events`.
pub struct EngineHandle {
    pub commands: mpsc::UnboundedSender<Command>,
    pub events: mpsc::Receiver<Event>,
    /// Queries whose answer comes back on their own channel (see [`EngineHandle::ask`]).
    pub queries: mpsc::UnboundedSender<Ask>,
}

impl EngineHandle {
    /// Asks a query ([`Command::is_query`]); the future gives exactly its answer. It borrows
    /// nothing, so the caller can keep reading `events` meanwhile (it should: the engine's
    /// tasks wait for room on a full channel).
    pub fn ask(&self, command: Command) -> impl std::future::Future<Output = Result<Reply, AskError>> + Send + 'static {
        let sent = if command.is_query() {
            let (reply, answer) = oneshot::channel();
            self.queries
                .send(Ask { command, reply })
                .map(|()| answer)
                .map_err(|_| AskError::EngineGone)
        } else {
            Err(AskError::NotAQuery(Box::new(command)))
        };
        async move { sent?.await.map_err(|_| AskError::EngineGone) }
    }
}

/// Everything a pipeline needs that does not change from run to run.
#[derive(Clone)]
pub struct Engine {
    pub docker: DockerLink,
    pub project: Project,
    /// The working copy's release.toml, when it is valid: the pipeline of snapshot runs, and of
    /// commits that have none committed. A commit's own release.toml wins (see `pipeline`).
    pub config: Option<Arc<Config>>,
}

/// Capacity of the event channels: large enough to absorb bursts of log lines, small enough
/// that a slow view slows the log readers (backpressure) instead of growing memory.
const EVENT_CAPACITY: usize = 4096;
/// The console's: with lines cut to 8 KiB on the way, a few MB in flight at most, so that a
/// flood cannot grow the console's memory while it draws.
const CONSOLE_EVENT_CAPACITY: usize = 512;

impl Engine {
    pub fn new(docker: DockerLink, project: Project, config: Option<Config>) -> Engine {
        Engine {
            docker,
            project,
            config: config.map(Arc::new),
        }
    }

    /// Starts the engine's command loop; `store` records every run.
    pub fn start(self, store: Store) -> EngineHandle {
        let (sink, events) = recorder::spawn(store, EVENT_CAPACITY, false);
        if let Some(config) = &self.config {
            pipeline::mask_secrets_of(config, &sink);
        }
        start_notifications(self.config.as_ref(), &sink);
        let (commands, rx) = mpsc::unbounded_channel();
        let (queries, asks) = mpsc::unbounded_channel();
        tokio::spawn(self.command_loop(rx, asks, sink));
        EngineHandle {
            commands,
            events,
            queries,
        }
    }

    /// Starts an engine for a long-lived view: it connects to Docker in the background (and
    /// reports the engine's state as events) instead of requiring it up front.
    pub fn start_monitored(project: Project, config: Option<Config>, store: Store) -> EngineHandle {
        let (sink, events) = recorder::spawn(store, CONSOLE_EVENT_CAPACITY, true);
        if let Some(config) = &config {
            pipeline::mask_secrets_of(config, &sink);
        }
        let engine = Engine::new(DockerLink::monitored(sink.clone()), project, config);
        start_notifications(engine.config.as_ref(), &sink);
        let (commands, rx) = mpsc::unbounded_channel();
        let (queries, asks) = mpsc::unbounded_channel();
        tokio::spawn(engine.command_loop(rx, asks, sink));
        EngineHandle {
            commands,
            events,
            queries,
        }
    }

    /// The app's name: from release.toml, or the app directory's name while it is invalid.
    pub fn app_name(&self) -> String {
        match &self.config {
            Some(config) => config.app.name.clone(),
            None => self
                .project
                .app_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// The repository as it is now, for views.
    async fn repo_state(&self) -> Event {
        let project = self.project.clone();
        let app = self.app_name();
        let read = tokio::task::spawn_blocking(move || {
            let head = project.resolve("HEAD").ok();
            let commits = project.recent_commits(RECENT_COMMITS).unwrap_or_default();
            (project, head, commits)
        })
        .await;
        match read {
            Ok((project, head, commits)) => Event::RepoState {
                app,
                repo: project.repo_root.display().to_string(),
                app_dir: project.prefix.clone(),
                branch: head.as_ref().and_then(|h| h.branch.clone()),
                head,
                commits,
            },
            Err(e) => Event::Notice {
                level: NoticeLevel::Error,
                message: format!("reading the repository failed: {e}"),
            },
        }
    }

    async fn command_loop(
        self,
        rx: mpsc::UnboundedReceiver<Command>,
        asks: mpsc::UnboundedReceiver<Ask>,
        sink: EventSink,
    ) {
        control::Control::new(self, sink.clone()).run(rx, asks).await;
        // Everything has stopped and sent its last event: the notifications of those events
        // are queued; the outbox may finish them and then let the recorder close.
        sink.request(recorder::RecorderMsg::CloseTap).await;
    }
}

/// Starts the notification outbox for `config`'s `[notify]` channels and shows the recorder
/// the tap that feeds it (before any command can produce an event).
fn start_notifications(config: Option<&Arc<Config>>, sink: &EventSink) {
    if let Some(tap) = crate::notifications::start(config, sink) {
        // The recorder's channel has room: nothing else has been sent yet.
        let _ = sink.try_request(recorder::RecorderMsg::Tap(Box::new(tap)));
    }
}
