//! The console's state: a fold of the engine's events plus UI-local state (focus, selection,
//! scroll, modal). `apply` (in `fold.rs`) folds an event, `update` handles an action; both only change state
//! and return effects for the loop to carry out. Nothing here draws or does I/O.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::envs::{EnvSpec, Environments, PromoteModal, RollbackPicker};
use super::model::{CommitPlan, EngineState, RepoView, RunView, WatchView};
use crate::engine::{Command, NoticeLevel, PlannedStage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Runs,
    Pipeline,
    Log,
    Environments,
}

impl Focus {
    fn next(self) -> Focus {
        match self {
            Focus::Runs => Focus::Pipeline,
            Focus::Pipeline => Focus::Log,
            Focus::Log => Focus::Environments,
            Focus::Environments => Focus::Runs,
        }
    }

    fn prev(self) -> Focus {
        match self {
            Focus::Runs => Focus::Environments,
            Focus::Pipeline => Focus::Runs,
            Focus::Log => Focus::Pipeline,
            Focus::Environments => Focus::Log,
        }
    }
}

/// A command a panel offers in the footer: an action, with a word for it where the panel's
/// meaning differs from the action's own hint (`↓` scrolls the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanelCommand {
    pub action: Action,
    pub label: Option<&'static str>,
}

impl PanelCommand {
    pub const fn new(action: Action) -> PanelCommand {
        PanelCommand { action, label: None }
    }

    pub const fn labelled(action: Action, label: &'static str) -> PanelCommand {
        PanelCommand {
            action,
            label: Some(label),
        }
    }

    /// The word the footer shows after the key.
    pub fn label(self) -> &'static str {
        self.label.unwrap_or_else(|| self.action.hint())
    }
}

/// The commands every panel ends with.
const LEAVE: [PanelCommand; 3] = [
    PanelCommand::new(Action::FocusNext),
    PanelCommand::new(Action::Help),
    PanelCommand::new(Action::Quit),
];

impl Focus {
    /// The commands worth a hint when this panel has the focus, in the footer's order: what
    /// `App::update` does with them for this panel is just above.
    pub fn commands(self) -> &'static [PanelCommand] {
        const RUNS: &[PanelCommand] = &[
            PanelCommand::new(Action::Down),
            PanelCommand::new(Action::RunSelected),
            PanelCommand::new(Action::CancelSelected),
            LEAVE[0],
            LEAVE[1],
            LEAVE[2],
        ];
        const PIPELINE: &[PanelCommand] = &[
            PanelCommand::new(Action::Right),
            PanelCommand::new(Action::RunSelected),
            PanelCommand::new(Action::CancelSelected),
            LEAVE[0],
            LEAVE[1],
            LEAVE[2],
        ];
        // The log pane's own keys take the room: Tab is not offered here.
        const LOG: &[PanelCommand] = &[
            PanelCommand::labelled(Action::Down, "scroll"),
            PanelCommand::new(Action::PageDown),
            PanelCommand::new(Action::Follow),
            PanelCommand::new(Action::Search),
            PanelCommand::new(Action::NextFailure),
            PanelCommand::new(Action::ToggleWrap),
            PanelCommand::new(Action::ToggleSplit),
            PanelCommand::new(Action::OpenPager),
            LEAVE[1],
            LEAVE[2],
        ];
        match self {
            Focus::Runs => RUNS,
            Focus::Pipeline => PIPELINE,
            Focus::Log => LOG,
            Focus::Environments => crate::ui::envs::COMMANDS,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    Help,
    /// The whole diagnostic of an invalid release.toml (every error, with its hint), scrolled.
    ConfigError {
        scroll: usize,
    },
    /// Quitting would cancel active runs (or leave an operation to finish): ask.
    ConfirmQuit,
    /// Typing a search query.
    Search(String),
    /// What a promotion changes; with an approval, the environment's name must be typed.
    Promote(Box<PromoteModal>),
    /// The releases an environment can be rolled back to.
    Rollback(RollbackPicker),
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Engine(Command),
    Quit,
    /// Cancel everything, then quit.
    Interrupt,
    OpenPager(String),
    /// Set the terminal's clipboard (OSC 52) to this text; the loop cleans it on the way.
    Copy(String),
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
    /// What each commit without a run (by id) would run, once asked (see `selection`).
    pub commit_plans: std::collections::HashMap<String, CommitPlan>,
    pub selected: usize,
    pub focus: Focus,
    pub modal: Option<Modal>,
    pub split: bool,
    pub notice: Option<(NoticeLevel, String)>,
    /// When the notice was given: it fades from the footer after [`NOTICE_FOR`].
    pub notice_at: DateTime<Utc>,
    /// The notice only hints at what to select: it gives way to the footer's next step and
    /// to a run under way.
    pub notice_is_hint: bool,
    /// How far the help overlay is scrolled, when it does not fit.
    pub help_scroll: usize,
    /// The working copy's release.toml is invalid: what is wrong, until it is fixed.
    pub config_error: Option<String>,
    pub watch: WatchView,
    /// Watch from the start (the console's default), and whether saves run stages too.
    pub watch_on_start: Option<bool>,
    pub tail_lines: usize,
    pub now: DateTime<Utc>,
    pub spinner: usize,
    /// Environments: what runs there, operations on them.
    pub envs: Environments,
    /// The log pane shows the selected environment's latest operation rather than a stage.
    pub env_log: bool,
    /// Set by anything that changes what is drawn; the loop clears it after drawing.
    pub dirty: bool,
    /// Log bytes folded since the memory budget was last looked at (see `log_budget`).
    pub log_bytes_unchecked: usize,
}

impl App {
    pub fn new(plan: Vec<PlannedStage>, tail_lines: usize) -> App {
        App {
            repo: RepoView::default(),
            engine: EngineState::Connecting,
            runs: Vec::new(),
            plan,
            commit_plans: std::collections::HashMap::new(),
            selected: 0,
            focus: Focus::Runs,
            modal: None,
            split: false,
            notice: None,
            notice_at: Utc::now(),
            notice_is_hint: false,
            help_scroll: 0,
            config_error: None,
            watch: WatchView::default(),
            watch_on_start: None,
            tail_lines,
            now: Utc::now(),
            spinner: 0,
            envs: Environments::default(),
            env_log: false,
            dirty: true,
            log_bytes_unchecked: 0,
        }
    }

    /// The environments of release.toml, in its order.
    pub fn set_environments(&mut self, specs: Vec<EnvSpec>) {
        self.envs = Environments::new(specs);
        self.dirty = true;
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

    /// Something moves on screen: a run, or an operation on an environment.
    pub fn busy(&self) -> bool {
        self.any_active() || self.envs.busy()
    }

    /// Every [`crate::ui::envs::POLL`]: re-read what runs on each environment.
    pub fn poll_environments(&self) -> Vec<Effect> {
        match self.engine {
            EngineState::Up { .. } if !self.envs.list.is_empty() => vec![Effect::Engine(Command::LoadEnvironments)],
            _ => Vec::new(),
        }
    }

    /// Handles a user action. What each panel offers in the footer is listed beside this, in
    /// [`Focus::commands`] (the environments' in `envs/actions.rs`): change both together.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        match (&self.modal, action) {
            (_, Action::Interrupt) => return vec![Effect::Interrupt],
            (Some(Modal::Help), Action::Help | Action::Quit) => {
                self.modal = None;
                return Vec::new();
            }
            (Some(Modal::Help), Action::Down | Action::PageDown) => {
                let by = if action == Action::Down { 1 } else { 10 };
                self.help_scroll = (self.help_scroll + by).min(<Action as strum::EnumCount>::COUNT);
                return Vec::new();
            }
            (Some(Modal::Help), Action::Up | Action::PageUp) => {
                self.help_scroll = self
                    .help_scroll
                    .saturating_sub(if action == Action::Up { 1 } else { 10 });
                return Vec::new();
            }
            (Some(Modal::Help), _) => return Vec::new(),
            (Some(Modal::ConfigError { .. }), Action::ShowConfigError | Action::Quit) => {
                self.modal = None;
                return Vec::new();
            }
            (Some(Modal::ConfigError { scroll }), Action::Down | Action::PageDown | Action::Up | Action::PageUp) => {
                let lines = self.config_error.as_deref().map_or(0, |e| e.lines().count());
                let scroll = match action {
                    Action::Down => scroll + 1,
                    Action::PageDown => scroll + 10,
                    Action::Up => scroll.saturating_sub(1),
                    _ => scroll.saturating_sub(10),
                };
                self.modal = Some(Modal::ConfigError {
                    scroll: scroll.min(lines.saturating_sub(1)),
                });
                return Vec::new();
            }
            (Some(Modal::ConfigError { .. }), _) => return Vec::new(),
            (Some(Modal::ConfirmQuit), _) => return Vec::new(),
            (Some(Modal::Search(_) | Modal::Promote(_) | Modal::Rollback(_)), _) => return Vec::new(),
            (None, _) => {}
        }
        match action {
            Action::Quit => {
                if self.busy() {
                    self.modal = Some(Modal::ConfirmQuit);
                } else {
                    return vec![Effect::Quit];
                }
            }
            Action::Interrupt => return vec![Effect::Interrupt],
            Action::Help => {
                self.help_scroll = 0;
                self.modal = Some(Modal::Help);
            }
            Action::ShowConfigError => match self.config_error {
                Some(_) => self.modal = Some(Modal::ConfigError { scroll: 0 }),
                None => self.notify(NoticeLevel::Info, "release.toml is valid"),
            },
            Action::FocusNext => self.focus_on(self.focus.next()),
            Action::FocusPrev => self.focus_on(self.focus.prev()),
            Action::Up => match self.focus {
                Focus::Runs => return self.select_row(self.selected.saturating_sub(1)),
                Focus::Pipeline => return self.select_stage(-1),
                Focus::Log => self.with_log(|v, l| v.scroll_up(l, 1)),
                Focus::Environments => self.envs.select(self.envs.selected.saturating_sub(1)),
            },
            Action::Down => match self.focus {
                Focus::Runs => return self.select_row(self.selected + 1),
                Focus::Pipeline => return self.select_stage(1),
                Focus::Log => self.with_log(|v, l| v.scroll_down(l, 1)),
                Focus::Environments => self.envs.select(self.envs.selected + 1),
            },
            Action::Left => match self.focus {
                Focus::Log if self.shows_env_log() => self.focus_on(Focus::Environments),
                Focus::Log | Focus::Pipeline => return self.select_stage(-1),
                Focus::Runs | Focus::Environments => {}
            },
            Action::Right => match self.focus {
                Focus::Runs => self.focus_on(Focus::Pipeline),
                Focus::Environments => self.focus_on(Focus::Log),
                Focus::Log if self.shows_env_log() => {}
                Focus::Pipeline | Focus::Log => return self.select_stage(1),
            },
            Action::PageUp => self.with_log(|v, l| v.page_up(l)),
            Action::PageDown => self.with_log(|v, l| v.page_down(l)),
            Action::Top => self.with_log(|v, l| v.top(l)),
            Action::Follow => self.with_log(|v, _| v.end()),
            // Enter is the runs' key: on the environments it would run an unseen commit.
            Action::RunSelected if self.focus == Focus::Environments => self.notify(
                NoticeLevel::Info,
                "Enter does nothing here: d deploy · s smoke · p promote · r rollback",
            ),
            Action::RunSelected => return self.run_selected(),
            Action::CancelSelected => {
                if let Some(run) = self.selected_run().filter(|r| r.is_active()) {
                    return vec![Effect::Engine(Command::Cancel { run: run.number })];
                }
                self.notify(NoticeLevel::Info, "the selected run is not active");
            }
            Action::Search => self.modal = Some(Modal::Search(String::new())),
            Action::NextMatch => self.with_log(|v, l| v.next_match(l)),
            Action::PrevMatch => self.with_log(|v, l| v.prev_match(l)),
            Action::NextFailure => {
                let mut found = None;
                self.with_log(|v, l| found = Some(v.next_failure(l)));
                if found != Some(true) {
                    self.notify(
                        NoticeLevel::Info,
                        "no failure line in this log (exit code, FAILED, error:, panic, traceback)",
                    );
                }
            }
            Action::ToggleWrap => self.with_log(|v, l| v.toggle_wrap(l)),
            Action::ToggleSplit => self.split = !self.split,
            Action::OpenPager if self.shows_env_log() => {
                let env = self.envs.selected().map(|e| e.name().to_string()).unwrap_or_default();
                self.notify(
                    NoticeLevel::Info,
                    format!("operations are recorded in the history: `shipdeck history {env}`"),
                );
            }
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
            Action::CopyCommit | Action::CopyImage | Action::CopyLine => return self.copy(action),
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
            Action::Deploy => return self.deploy_selected(),
            Action::Smoke => return self.smoke_selected(),
            Action::Promote => return self.promote_next(),
            Action::Rollback => return self.rollback_selected(),
        }
        Vec::new()
    }

    /// Keys typed while a modal wants text or an answer: the loop routes them here.
    pub fn modal_input(&mut self, input: ModalInput) -> Vec<Effect> {
        self.dirty = true;
        match &self.modal {
            Some(Modal::Promote(_)) => return self.promote_input(input),
            Some(Modal::Rollback(_)) => return self.rollback_input(input),
            _ => {}
        }
        match (&mut self.modal, input) {
            (Some(Modal::ConfirmQuit), ModalInput::Char('y') | ModalInput::Enter) => {
                self.modal = None;
                return vec![Effect::Interrupt];
            }
            (Some(Modal::ConfirmQuit), _) => self.modal = None,
            (Some(Modal::Help | Modal::ConfigError { .. }), ModalInput::Esc) => self.modal = None,
            (Some(Modal::Search(query)), ModalInput::Char(c)) => query.push(c),
            (Some(Modal::Search(query)), ModalInput::Backspace) => {
                query.pop();
            }
            (Some(Modal::Search(_)), ModalInput::Esc) => self.modal = None,
            (Some(Modal::Search(query)), ModalInput::Enter) => {
                let query = std::mem::take(query);
                self.modal = None;
                self.focus = Focus::Log;
                self.with_log(|v, l| v.search(l, &query));
            }
            _ => {}
        }
        Vec::new()
    }

    /// Shows a message in the footer for a while.
    pub fn notify(&mut self, level: NoticeLevel, message: impl Into<String>) {
        self.notice = Some((level, message.into()));
        self.notice_at = Utc::now();
        self.notice_is_hint = false;
        self.dirty = true;
    }

    /// A notice that only says what to select (see [`App::notice_is_hint`]).
    pub fn hint(&mut self, message: impl Into<String>) {
        self.notify(NoticeLevel::Info, message);
        self.notice_is_hint = true;
    }

    /// The notice to show now, if it is recent enough (and, for a hint, still useful).
    pub fn current_notice(&self) -> Option<&(NoticeLevel, String)> {
        let stale_hint = self.notice_is_hint && (self.any_active() || self.next_step().is_some());
        self.notice
            .as_ref()
            .filter(|_| self.now - self.notice_at < NOTICE_FOR && !stale_hint)
    }

    /// Whether keys should go to [`App::modal_input`] rather than the keymap.
    pub fn wants_text(&self) -> bool {
        matches!(
            self.modal,
            Some(Modal::Search(_) | Modal::ConfirmQuit | Modal::Promote(_) | Modal::Rollback(_))
        )
    }

    /// A clock tick: live durations and the spinner move; only dirty when something runs.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.now = now;
        if self.busy() {
            self.spinner = self.spinner.wrapping_add(1);
            self.dirty = true;
        }
    }
}

/// Input for a modal (a search prompt, a yes/no question).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModalInput {
    Char(char),
    Backspace,
    Enter,
    Esc,
    Up,
    Down,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PANELS: [Focus; 4] = [Focus::Runs, Focus::Pipeline, Focus::Log, Focus::Environments];

    #[test]
    fn every_panel_offers_help_and_quit_last_and_no_action_twice() {
        for focus in PANELS {
            let actions: Vec<Action> = focus.commands().iter().map(|c| c.action).collect();
            assert_eq!(actions[actions.len() - 2..], [Action::Help, Action::Quit], "{focus:?}");
            for (i, action) in actions.iter().enumerate() {
                assert!(!actions[i + 1..].contains(action), "{focus:?} offers {action:?} twice");
            }
        }
    }

    #[test]
    fn a_panel_can_name_a_command_its_own_way() {
        let down = |focus: Focus| {
            focus
                .commands()
                .iter()
                .find(|c| c.action == Action::Down)
                .map(|c| c.label())
        };
        assert_eq!(down(Focus::Log), Some("scroll"));
        assert_eq!(down(Focus::Runs), Some("select"));
        assert_eq!(down(Focus::Environments), Some("select"));
        assert_eq!(down(Focus::Pipeline), None);
    }
}
