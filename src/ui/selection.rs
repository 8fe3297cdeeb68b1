//! Selection and focus: the runs list's rows, which run and stage are selected, which log the
//! log pane shows (a stage's, or an environment's latest operation), and what moving the
//! selection asks of the engine.

use super::app::{App, Effect, Focus};
use super::log_pane::{LogBuffer, LogView};
use super::model::{visual_order, CommitPlan, EngineState, LogSource, Row, RunView};
use crate::engine::{Command, CommitInfo, NoticeLevel};

impl App {
    /// Whether the log pane shows the selected environment's operation: while the
    /// environments panel has the focus (or had it before the log), after an operation was
    /// asked for, or when no run is selected and the environment has one.
    pub fn shows_env_log(&self) -> bool {
        let has_op = self.envs.selected().is_some_and(|e| e.op.is_some());
        self.focus == Focus::Environments || self.env_log || (self.selected_run().is_none() && has_op)
    }

    /// The runs list: commits newer than any run that have no run yet (HEAD first, so Enter
    /// on a fresh console runs HEAD), then runs newest first, then older commits without a run.
    pub fn rows(&self) -> Vec<Row> {
        let has_run = |id: &str| self.runs.iter().any(|r| r.commit == id);
        let newest_with_run = self
            .repo
            .commits
            .iter()
            .position(|c| has_run(&c.id))
            .unwrap_or(self.repo.commits.len());
        let unrun = |range: std::ops::Range<usize>| {
            range
                .filter(|i| !has_run(&self.repo.commits[*i].id))
                .map(Row::Commit)
                .collect::<Vec<_>>()
        };
        let mut rows = unrun(0..newest_with_run);
        rows.extend((0..self.runs.len()).map(Row::Run));
        rows.extend(unrun(newest_with_run..self.repo.commits.len()));
        rows
    }

    pub fn selected_row(&self) -> Option<Row> {
        self.rows().get(self.selected).copied()
    }

    pub fn selected_run(&self) -> Option<&RunView> {
        match self.selected_row()? {
            Row::Run(i) => self.runs.get(i),
            Row::Commit(_) => None,
        }
    }

    pub(super) fn selected_run_mut(&mut self) -> Option<&mut RunView> {
        match self.selected_row()? {
            Row::Run(i) => self.runs.get_mut(i),
            Row::Commit(_) => None,
        }
    }

    pub(super) fn run_mut(&mut self, number: i64) -> Option<&mut RunView> {
        self.runs.iter_mut().find(|r| r.number == number)
    }

    /// The log on show (a stage's, or an environment's operation) and its view.
    pub(super) fn with_log(&mut self, f: impl FnOnce(&mut LogView, &LogBuffer)) {
        if self.shows_env_log() {
            if let Some(op) = self.envs.selected_mut().and_then(|e| e.op.as_mut()) {
                f(&mut op.view, &op.log);
            }
        } else if let Some(stage) = self.selected_run_mut().and_then(RunView::selected_mut) {
            f(&mut stage.view, &stage.log);
        } else if let Some(Row::Commit(i)) = self.selected_row() {
            let id = self.repo.commits[i].id.clone();
            if let Some(plan) = self.commit_plans.get_mut(&id) {
                f(&mut plan.view, &plan.log);
            }
        }
    }

    /// Focus moves: to the environments panel, the log follows; to a run's panels, it goes
    /// back to the stages.
    pub fn focus_on(&mut self, to: Focus) {
        self.env_log = match to {
            Focus::Environments => true,
            Focus::Log => self.env_log || self.focus == Focus::Environments,
            Focus::Runs | Focus::Pipeline => false,
        };
        self.focus = to;
    }

    /// A click: the panel under it takes the focus; on a line of the runs list (`height`
    /// lines tall, scrolled as drawn), that row is selected.
    pub fn click(&mut self, panel: Focus, line: Option<usize>, height: usize) -> Vec<Effect> {
        self.dirty = true;
        if self.modal.is_some() {
            return Vec::new();
        }
        self.focus_on(panel);
        match (panel, line) {
            (Focus::Runs, Some(line)) => {
                let row = super::panels::runs::first_shown(self.selected, height) + line;
                if row < self.rows().len() {
                    return self.select_row(row);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn select_row(&mut self, index: usize) -> Vec<Effect> {
        self.env_log = false;
        let count = self.rows().len();
        if count > 0 {
            self.selected = index.min(count - 1);
        }
        self.request_log()
    }

    pub(super) fn select_stage(&mut self, delta: isize) -> Vec<Effect> {
        self.env_log = false;
        if let Some(run) = self.selected_run_mut() {
            let order = visual_order(&run.stages);
            if let Some(at) = order.iter().position(|i| *i == run.selected_stage) {
                let next = (at as isize + delta).clamp(0, order.len() as isize - 1) as usize;
                run.selected_stage = order[next];
            }
        }
        self.request_log()
    }

    /// The selected commit that has no run, and what it would run (once the engine said).
    pub fn selected_commit_plan(&self) -> Option<(&CommitInfo, Option<&CommitPlan>)> {
        match self.selected_row()? {
            Row::Commit(i) => {
                let commit = self.repo.commits.get(i)?;
                Some((commit, self.commit_plans.get(&commit.id)))
            }
            Row::Run(_) => None,
        }
    }

    /// Asks the engine for the selected stage's log when it is a finished one on disk, or for
    /// the selected commit's planned stages when it has no run (once per commit).
    pub(super) fn request_log(&mut self) -> Vec<Effect> {
        let tail = self.tail_lines;
        if let Some((commit, None)) = self.selected_commit_plan() {
            let id = commit.id.clone();
            self.commit_plans.insert(id.clone(), CommitPlan::asked());
            return vec![Effect::Engine(Command::PlanCommit { commit: id })];
        }
        let Some(run) = self.selected_run_mut() else {
            return Vec::new();
        };
        let number = run.number;
        let Some(stage) = run.selected_mut() else {
            return Vec::new();
        };
        // A failed stage whose log is here shows where it failed (once: see LogView).
        if stage.status.is_failure() && matches!(stage.source, LogSource::Live | LogSource::Loaded) {
            stage.view.show_first_failure(&stage.log);
        }
        if stage.source != LogSource::OnDisk {
            return Vec::new();
        }
        stage.source = LogSource::Requested;
        vec![Effect::Engine(Command::LoadLog {
            run: number,
            stage: stage.name.clone(),
            lines: tail,
        })]
    }

    /// What `y`, `Y` and ctrl-y copy: the selected run's or commit's id, the run's image, the
    /// log line at the search match or the failure (else the last line).
    pub(super) fn copy(&mut self, what: super::action::Action) -> Vec<Effect> {
        use super::action::Action;
        let text = match what {
            Action::CopyCommit => match self.selected_row() {
                Some(Row::Run(i)) => Some(self.runs[i].commit.clone()),
                Some(Row::Commit(i)) => Some(self.repo.commits[i].id.clone()),
                None => None,
            },
            Action::CopyImage => self.selected_run().and_then(|r| r.image_tag.clone()),
            _ => {
                let mut line = None;
                self.with_log(|view, log| {
                    let at = view
                        .current_match()
                        .or(view.current_failure())
                        .unwrap_or(log.end().saturating_sub(1));
                    line = log.line(at).map(|l| l.plain().into_owned());
                });
                line
            }
        };
        match text.filter(|t| !t.trim().is_empty()) {
            Some(text) => {
                let shown = crate::text::fit(&crate::term::clipboard::copyable(&text), 60);
                self.notify(NoticeLevel::Info, format!("copied {shown}"));
                vec![Effect::Copy(text)]
            }
            None => {
                let nothing = match what {
                    Action::CopyImage => "this run built no image",
                    Action::CopyCommit => "no run or commit selected",
                    _ => "no log line to copy",
                };
                self.notify(NoticeLevel::Info, nothing);
                Vec::new()
            }
        }
    }

    pub(super) fn run_selected(&mut self) -> Vec<Effect> {
        let rev = match self.selected_row() {
            Some(Row::Run(i)) => self.runs[i].commit.clone(),
            Some(Row::Commit(i)) => self.repo.commits[i].id.clone(),
            None => "HEAD".to_string(),
        };
        if matches!(self.engine, EngineState::Down { .. }) {
            self.notify(NoticeLevel::Error, "the Docker engine is not reachable: see the header");
            return Vec::new();
        }
        vec![Effect::Engine(Command::Run {
            rev,
            trigger: "manual".into(),
        })]
    }
}
