//! The console's picture of runs and stages: what the engine's events have said so far.

use chrono::{DateTime, Utc};

use super::log_pane::{LineKind, LogBuffer, LogView};
use crate::engine::event::dag_levels;
use crate::engine::{CommitInfo, PastRun, PlanSource, PlannedStage, ServiceState};
use crate::model::{RunStatus, StageStatus};
use crate::store::RunNumber;

/// Whether a finished stage's log has been read back from its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// Lines arrive live from the engine.
    Live,
    /// A run from the history: the log is on disk, not yet asked for.
    OnDisk,
    Requested,
    Loaded,
}

pub struct StageView {
    pub name: String,
    pub needs: Vec<String>,
    pub image: String,
    pub status: StageStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub exit_code: Option<i64>,
    pub message: Option<String>,
    pub log_path: Option<String>,
    pub log: LogBuffer,
    pub view: LogView,
    pub source: LogSource,
    /// The stage's services, in the order they started, with where each is.
    pub services: Vec<(String, ServiceState)>,
}

impl StageView {
    pub fn new(name: &str, needs: Vec<String>, image: String, tail: usize) -> StageView {
        let mut log = LogBuffer::with_capacity(tail);
        // No one log may take more than all logs together (`log_budget`).
        log.set_max_bytes(super::log_budget::LOG_BUDGET_BYTES);
        StageView {
            name: name.to_string(),
            needs,
            image,
            status: StageStatus::Pending,
            started_at: None,
            duration_ms: None,
            exit_code: None,
            message: None,
            log_path: None,
            log,
            view: LogView::new(),
            source: LogSource::Live,
            services: Vec::new(),
        }
    }

    /// Records where one of its services is now.
    pub fn set_service(&mut self, service: &str, state: ServiceState) {
        match self.services.iter_mut().find(|(name, _)| name == service) {
            Some((_, s)) => *s = state,
            None => self.services.push((service.to_string(), state)),
        }
    }

    /// How long it has run: the final duration, or the time since it started.
    pub fn elapsed_ms(&self, now: DateTime<Utc>) -> Option<i64> {
        // A stage that never started (skipped, cancelled while waiting) has no duration.
        let started = self.started_at?;
        self.duration_ms
            .or_else(|| (self.status == StageStatus::Running).then(|| (now - started).num_milliseconds()))
    }

    pub fn push_system(&mut self, line: String) {
        self.log.push_lines(LineKind::System, [line]);
        self.view.sync(&self.log);
    }

    /// `/query 2/5`, or `/query no match`, while a search is active.
    pub fn search_summary(&self) -> Option<String> {
        search_summary(&self.view)
    }
}

/// `/query 2/5`, or `/query no match`, while a search is active in a log view.
pub fn search_summary(view: &LogView) -> Option<String> {
    let query = view.query()?;
    Some(match (view.current_match_index(), view.match_count()) {
        (_, 0) => format!("/{query} no match"),
        (Some(i), n) => format!("/{query} {}/{n}", i + 1),
        (None, n) => format!("/{query} {n} matches"),
    })
}

/// Each stage's column: 0 for stages that need nothing, else one more than the deepest need.
pub fn levels(stages: &[StageView]) -> Vec<usize> {
    dag_levels(stages.iter().map(|s| (s.name.as_str(), s.needs.as_slice())))
}

/// The order in which stage selection moves: column by column, top to bottom, as drawn.
pub fn visual_order(stages: &[StageView]) -> Vec<usize> {
    let levels = levels(stages);
    let mut order: Vec<usize> = (0..stages.len()).collect();
    order.sort_by_key(|i| (levels[*i], *i));
    order
}

pub struct RunView {
    pub number: RunNumber,
    pub commit: String,
    pub short: String,
    pub subject: String,
    pub author: String,
    pub trigger: String,
    pub status: RunStatus,
    pub queued_at: DateTime<Utc>,
    pub duration_ms: Option<i64>,
    pub image_tag: Option<String>,
    pub stages: Vec<StageView>,
    pub selected_stage: usize,
}

impl RunView {
    pub fn is_active(&self) -> bool {
        matches!(self.status, RunStatus::Queued | RunStatus::Running)
    }

    pub fn elapsed_ms(&self, now: DateTime<Utc>) -> i64 {
        self.duration_ms
            .unwrap_or_else(|| (now - self.queued_at).num_milliseconds())
    }

    pub fn stage_mut(&mut self, name: &str) -> Option<&mut StageView> {
        self.stages.iter_mut().find(|s| s.name == name)
    }

    /// The stage a failed run opens on: the first that failed, in the order drawn.
    pub fn failed_stage(&self) -> Option<usize> {
        visual_order(&self.stages)
            .into_iter()
            .find(|i| self.stages[*i].status.is_failure())
    }

    pub fn selected(&self) -> Option<&StageView> {
        self.stages.get(self.selected_stage)
    }

    pub fn selected_mut(&mut self) -> Option<&mut StageView> {
        self.stages.get_mut(self.selected_stage)
    }

    /// A run from the history; `plan` (the current pipeline) supplies the DAG edges the
    /// history does not keep.
    pub fn from_past(past: &PastRun, plan: &[PlannedStage], tail: usize) -> RunView {
        let run = &past.run;
        let stages = past
            .stages
            .iter()
            .map(|s| {
                let planned = plan.iter().find(|p| p.name == s.name);
                let mut view = StageView::new(
                    &s.name,
                    planned.map(|p| p.needs.clone()).unwrap_or_default(),
                    planned.map(|p| p.image.clone()).unwrap_or_default(),
                    tail,
                );
                view.status = s.status;
                view.started_at = s.started_at;
                view.duration_ms = s.duration_ms;
                view.exit_code = s.exit_code;
                view.message = s.message.clone();
                view.log_path = past
                    .log_paths
                    .iter()
                    .find(|(n, _)| *n == s.name)
                    .map(|(_, p)| p.clone());
                view.source = if s.started_at.is_some() {
                    LogSource::OnDisk
                } else {
                    LogSource::Loaded
                };
                view
            })
            .collect();
        let mut view = RunView {
            number: run.number,
            commit: run.commit.clone(),
            short: run.short_commit.clone(),
            subject: run.subject.clone(),
            author: run.author.clone(),
            trigger: run.trigger.clone(),
            status: run.status,
            queued_at: run.queued_at,
            duration_ms: run.duration_ms,
            image_tag: run.image_tag.clone(),
            stages,
            selected_stage: 0,
        };
        // A failed run opens on the stage that failed.
        view.selected_stage = view.failed_stage().unwrap_or(0);
        view
    }
}

/// What a commit without a run would run: its planned stages (all pending), or the
/// diagnostic of its invalid release.toml; `log` says it in words for the log pane.
pub struct CommitPlan {
    /// `None` while the engine is asked.
    pub source: Option<PlanSource>,
    pub stages: Vec<StageView>,
    pub error: Option<String>,
    pub log: LogBuffer,
    pub view: LogView,
}

impl CommitPlan {
    /// Asked of the engine, not answered yet.
    pub fn asked() -> CommitPlan {
        CommitPlan {
            source: None,
            stages: Vec::new(),
            error: None,
            log: LogBuffer::with_capacity(1000),
            view: LogView::new(),
        }
    }

    /// The engine's answer for the commit `short`.
    pub fn answered(short: &str, stages: &[PlannedStage], source: PlanSource, error: Option<String>) -> CommitPlan {
        let mut plan = CommitPlan::asked();
        plan.source = Some(source);
        plan.stages = stages
            .iter()
            .map(|p| StageView::new(&p.name, p.needs.clone(), p.image.clone(), 1))
            .collect();
        let file = crate::config::CONFIG_FILE;
        match &error {
            Some(error) => {
                let head = match source {
                    PlanSource::Committed => format!("{file} committed with {short} is not valid: a run of it fails"),
                    _ => format!("what {short} would run cannot be read"),
                };
                plan.log.push_lines(LineKind::System, [head]);
                plan.log.push_lines(LineKind::Stderr, error.lines());
            }
            None => {
                let from = match source {
                    PlanSource::WorkingCopy => {
                        format!("{short} has no committed {file}: a run takes the working copy's")
                    }
                    _ => format!("planned from the {file} committed with {short}"),
                };
                plan.log.push_lines(LineKind::System, [format!("not run yet · {from}")]);
                for (i, stage) in stages.iter().enumerate() {
                    let needs = match stage.needs.as_slice() {
                        [] => String::new(),
                        needs => format!(" · needs {}", needs.join(", ")),
                    };
                    let image = match stage.image.as_str() {
                        "" => String::new(),
                        image => format!(" · {image}"),
                    };
                    plan.log
                        .push_lines(LineKind::Stdout, [format!("{}. {}{needs}{image}", i + 1, stage.name)]);
                }
                plan.log.push_lines(LineKind::System, ["Enter runs it"]);
            }
        }
        plan.error = error;
        plan.view.sync(&plan.log);
        // A diagnostic is read whole, not cut at the pane's edge (w still turns it off).
        plan.view.toggle_wrap(&plan.log);
        plan
    }
}

/// A row of the runs list: a run, or a recent commit that has no run yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Run(usize),
    Commit(usize),
}

/// The state of the Docker engine as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineState {
    Connecting,
    Up {
        address: String,
        version: String,
        api: String,
    },
    Down {
        address: String,
        message: String,
    },
}

/// What the header shows of the watcher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchView {
    pub watching: bool,
    pub paused: bool,
    pub saves: bool,
    pub dirs: usize,
    pub polling: bool,
    pub last_trigger: Option<String>,
}

/// What the header shows of the repository.
#[derive(Debug, Clone, Default)]
pub struct RepoView {
    pub app: String,
    pub repo: String,
    pub app_dir: String,
    pub branch: Option<String>,
    pub head: Option<CommitInfo>,
    pub commits: Vec<CommitInfo>,
}
