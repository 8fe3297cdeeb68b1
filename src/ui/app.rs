//! The console's state: a fold of the engine's events plus UI-local state (focus, selection,
//! scroll, modal). `apply` (in `fold.rs`) folds an event, `update` handles an action; both only change state
//! and return effects for the loop to carry out. Nothing here draws or does I/O.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::model::{visual_order, EngineState, LogSource, RepoView, Row, RunView, StageView, WatchView};
use crate::engine::{Command, NoticeLevel, PlannedStage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Runs,
    Pipeline,
    Log,
}

impl Focus {
    fn next(self) -> Focus {
        match self {
            Focus::Runs => Focus::Pipeline,
            Focus::Pipeline => Focus::Log,
            Focus::Log => Focus::Runs,
        }
    }

    fn prev(self) -> Focus {
        match self {
            Focus::Runs => Focus::Log,
            Focus::Pipeline => Focus::Runs,
            Focus::Log => Focus::Pipeline,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    Help,
    /// Quitting would cancel active runs: ask.
    ConfirmQuit,
    /// Typing a search query.
    Search(String),
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Engine(Command),
    Quit,
    /// Cancel everything, then quit.
    Interrupt,
    OpenPager(String),
    Suspend,
}

/// How long a notice stays in the footer.
pub const NOTICE_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(12);

/// How many runs from the history the console loads at start.
pub const HISTORY_RUNS: usize = 30;

pub struct App {
    pub repo: RepoView,
    pub engine: EngineState,
    pub runs: Vec<RunView>,
    pub plan: Vec<PlannedStage>,
    pub selected: usize,
    pub focus: Focus,
    pub modal: Option<Modal>,
    pub split: bool,
    pub notice: Option<(NoticeLevel, String)>,
    /// When the notice was given: it fades from the footer after [`NOTICE_FOR`].
    pub notice_at: DateTime<Utc>,
    /// The working copy's release.toml is invalid: what is wrong, until it is fixed.
    pub config_error: Option<String>,
    pub watch: WatchView,
    /// Watch from the start (the console's default), and whether saves run stages too.
    pub watch_on_start: Option<bool>,
    pub tail_lines: usize,
    pub now: DateTime<Utc>,
    pub spinner: usize,
    /// Set by anything that changes what is drawn; the loop clears it after drawing.
    pub dirty: bool,
}

impl App {
    pub fn new(plan: Vec<PlannedStage>, tail_lines: usize) -> App {
        App {
            repo: RepoView::default(),
            engine: EngineState::Connecting,
            runs: Vec::new(),
            plan,
            selected: 0,
            focus: Focus::Runs,
            modal: None,
            split: false,
            notice: None,
            notice_at: Utc::now(),
            config_error: None,
            watch: WatchView::default(),
            watch_on_start: None,
            tail_lines,
            now: Utc::now(),
            spinner: 0,
            dirty: true,
        }
    }

    /// The commands a starting console sends.
    pub fn startup_commands(&self) -> Vec<Command> {
        let mut commands = vec![Command::Refresh, Command::LoadHistory { limit: HISTORY_RUNS }];
        if let Some(saves) = self.watch_on_start {
            commands.push(Command::Watch { saves });
        }
        commands
    }

    pub fn any_active(&self) -> bool {
        self.runs.iter().any(RunView::is_active)
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

    fn selected_run_mut(&mut self) -> Option<&mut RunView> {
        match self.selected_row()? {
            Row::Run(i) => self.runs.get_mut(i),
            Row::Commit(_) => None,
        }
    }

    pub(super) fn run_mut(&mut self, number: i64) -> Option<&mut RunView> {
        self.runs.iter_mut().find(|r| r.number == number)
    }

    /// Handles a user action.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        match (&self.modal, action) {
            (_, Action::Interrupt) => return vec![Effect::Interrupt],
            (Some(Modal::Help), Action::Help | Action::Quit) => {
                self.modal = None;
                return Vec::new();
            }
            (Some(Modal::Help), _) => return Vec::new(),
            (Some(Modal::ConfirmQuit), _) => return Vec::new(),
            (Some(Modal::Search(_)), _) => return Vec::new(),
            (None, _) => {}
        }
        match action {
            Action::Quit => {
                if self.any_active() {
                    self.modal = Some(Modal::ConfirmQuit);
                } else {
                    return vec![Effect::Quit];
                }
            }
            Action::Interrupt => return vec![Effect::Interrupt],
            Action::Help => self.modal = Some(Modal::Help),
            Action::FocusNext => self.focus = self.focus.next(),
            Action::FocusPrev => self.focus = self.focus.prev(),
            Action::Up => match self.focus {
                Focus::Runs => return self.select_row(self.selected.saturating_sub(1)),
                Focus::Pipeline => return self.select_stage(-1),
                Focus::Log => self.with_log(|s| s.view.scroll_up(&s.log, 1)),
            },
            Action::Down => match self.focus {
                Focus::Runs => return self.select_row(self.selected + 1),
                Focus::Pipeline => return self.select_stage(1),
                Focus::Log => self.with_log(|s| s.view.scroll_down(&s.log, 1)),
            },
            Action::Left => match self.focus {
                Focus::Log | Focus::Pipeline => return self.select_stage(-1),
                Focus::Runs => {}
            },
            Action::Right => match self.focus {
                Focus::Runs => self.focus = Focus::Pipeline,
                Focus::Pipeline | Focus::Log => return self.select_stage(1),
            },
            Action::PageUp => self.with_log(|s| s.view.page_up(&s.log)),
            Action::PageDown => self.with_log(|s| s.view.page_down(&s.log)),
            Action::Top => self.with_log(|s| s.view.top(&s.log)),
            Action::Follow => self.with_log(|s| s.view.end()),
            Action::RunSelected => return self.run_selected(),
            Action::CancelSelected => {
                if let Some(run) = self.selected_run().filter(|r| r.is_active()) {
                    return vec![Effect::Engine(Command::Cancel { run: run.number })];
                }
                self.notify(NoticeLevel::Info, "the selected run is not active");
            }
            Action::Search => self.modal = Some(Modal::Search(String::new())),
            Action::NextMatch => self.with_log(|s| s.view.next_match(&s.log)),
            Action::PrevMatch => self.with_log(|s| s.view.prev_match(&s.log)),
            Action::ToggleWrap => self.with_log(|s| s.view.toggle_wrap(&s.log)),
            Action::ToggleSplit => self.split = !self.split,
            Action::OpenPager => {
                if let Some(path) = self
                    .selected_run()
                    .and_then(|r| r.selected())
                    .and_then(|s| s.log_path.clone())
                {
                    return vec![Effect::OpenPager(path)];
                }
                self.notify(NoticeLevel::Info, "this stage has no log file yet");
            }
            Action::Refresh => {
                return vec![
                    Effect::Engine(Command::Refresh),
                    Effect::Engine(Command::LoadHistory { limit: HISTORY_RUNS }),
                ]
            }
            Action::Suspend => return vec![Effect::Suspend],
            Action::PauseWatch => {
                if self.watch.watching {
                    return vec![Effect::Engine(Command::PauseWatch(!self.watch.paused))];
                }
                return vec![Effect::Engine(Command::Watch {
                    saves: self.watch.saves,
                })];
            }
            Action::ToggleSaves => {
                if self.watch.watching {
                    return vec![Effect::Engine(Command::WatchSaves(!self.watch.saves))];
                }
                return vec![Effect::Engine(Command::Watch { saves: true })];
            }
        }
        Vec::new()
    }

    /// Keys typed while a modal wants text or an answer: the loop routes them here.
    pub fn modal_input(&mut self, input: ModalInput) -> Vec<Effect> {
        self.dirty = true;
        match (&mut self.modal, input) {
            (Some(Modal::ConfirmQuit), ModalInput::Char('y') | ModalInput::Enter) => {
                self.modal = None;
                return vec![Effect::Interrupt];
            }
            (Some(Modal::ConfirmQuit), _) => self.modal = None,
            (Some(Modal::Help), ModalInput::Esc) => self.modal = None,
            (Some(Modal::Search(query)), ModalInput::Char(c)) => query.push(c),
            (Some(Modal::Search(query)), ModalInput::Backspace) => {
                query.pop();
            }
            (Some(Modal::Search(_)), ModalInput::Esc) => self.modal = None,
            (Some(Modal::Search(query)), ModalInput::Enter) => {
                let query = std::mem::take(query);
                self.modal = None;
                self.focus = Focus::Log;
                self.with_log(|s| s.view.search(&s.log, &query));
            }
            _ => {}
        }
        Vec::new()
    }

    /// Shows a message in the footer for a while.
    pub fn notify(&mut self, level: NoticeLevel, message: impl Into<String>) {
        self.notice = Some((level, message.into()));
        self.notice_at = Utc::now();
        self.dirty = true;
    }

    /// The notice to show now, if it is recent enough.
    pub fn current_notice(&self) -> Option<&(NoticeLevel, String)> {
        self.notice.as_ref().filter(|_| self.now - self.notice_at < NOTICE_FOR)
    }

    /// Whether keys should go to [`App::modal_input`] rather than the keymap.
    pub fn wants_text(&self) -> bool {
        matches!(self.modal, Some(Modal::Search(_)) | Some(Modal::ConfirmQuit))
    }

    /// A clock tick: live durations and the spinner move; only dirty when something runs.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.now = now;
        if self.any_active() {
            self.spinner = self.spinner.wrapping_add(1);
            self.dirty = true;
        }
    }

    fn with_log(&mut self, f: impl FnOnce(&mut StageView)) {
        if let Some(stage) = self.selected_run_mut().and_then(RunView::selected_mut) {
            f(stage);
        }
    }

    fn select_row(&mut self, index: usize) -> Vec<Effect> {
        let count = self.rows().len();
        if count > 0 {
            self.selected = index.min(count - 1);
        }
        self.request_log()
    }

    fn select_stage(&mut self, delta: isize) -> Vec<Effect> {
        if let Some(run) = self.selected_run_mut() {
            let order = visual_order(&run.stages);
            if let Some(at) = order.iter().position(|i| *i == run.selected_stage) {
                let next = (at as isize + delta).clamp(0, order.len() as isize - 1) as usize;
                run.selected_stage = order[next];
            }
        }
        self.request_log()
    }

    /// Asks the engine for the selected stage's log when it is a finished one on disk.
    pub(super) fn request_log(&mut self) -> Vec<Effect> {
        let tail = self.tail_lines;
        let Some(run) = self.selected_run_mut() else {
            return Vec::new();
        };
        let number = run.number;
        let Some(stage) = run.selected_mut() else {
            return Vec::new();
        };
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

    fn run_selected(&mut self) -> Vec<Effect> {
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

/// Input for a modal (a search prompt, a yes/no question).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModalInput {
    Char(char),
    Backspace,
    Enter,
    Esc,
}

pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
