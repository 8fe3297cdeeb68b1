//! Everything a user can ask of the console. Keys map to these through the keymap; `update`
//! matches on them, never on key codes.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    /// Ctrl-C: cancel what runs (removing its containers) and leave at once.
    Interrupt,
    Help,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    /// Jump to the end of the log and follow it again.
    Follow,
    RunSelected,
    CancelSelected,
    Search,
    NextMatch,
    PrevMatch,
    ToggleWrap,
    ToggleSplit,
    OpenPager,
    Refresh,
    PauseWatch,
    ToggleSaves,
    Suspend,
    /// Deploy the selected run's release to the first environment.
    Deploy,
    /// Smoke-check the selected environment.
    Smoke,
    /// Promote along `promote_from`, through the approval modal.
    Promote,
    /// Pick a release to roll the selected environment back to.
    Rollback,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Quit,
        Action::Interrupt,
        Action::Help,
        Action::FocusNext,
        Action::FocusPrev,
        Action::Up,
        Action::Down,
        Action::Left,
        Action::Right,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Follow,
        Action::RunSelected,
        Action::CancelSelected,
        Action::Search,
        Action::NextMatch,
        Action::PrevMatch,
        Action::ToggleWrap,
        Action::ToggleSplit,
        Action::OpenPager,
        Action::Refresh,
        Action::PauseWatch,
        Action::ToggleSaves,
        Action::Suspend,
        Action::Deploy,
        Action::Smoke,
        Action::Promote,
        Action::Rollback,
    ];

    /// The name used in the user config's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Interrupt => "interrupt",
            Action::Help => "help",
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "left",
            Action::Right => "right",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Follow => "follow",
            Action::RunSelected => "run_selected",
            Action::CancelSelected => "cancel_selected",
            Action::Search => "search",
            Action::NextMatch => "next_match",
            Action::PrevMatch => "prev_match",
            Action::ToggleWrap => "toggle_wrap",
            Action::ToggleSplit => "toggle_split",
            Action::OpenPager => "open_pager",
            Action::Refresh => "refresh",
            Action::PauseWatch => "pause_watch",
            Action::ToggleSaves => "toggle_saves",
            Action::Suspend => "suspend",
            Action::Deploy => "deploy",
            Action::Smoke => "smoke",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
        }
    }

    /// What it does, for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit (asks while a run or deploy is on)",
            Action::Interrupt => "cancel runs and quit now",
            Action::Help => "this help",
            Action::FocusNext => "focus the next panel",
            Action::FocusPrev => "focus the previous panel",
            Action::Up => "previous / scroll up",
            Action::Down => "next / scroll down",
            Action::Left => "previous stage",
            Action::Right => "next stage",
            Action::PageUp => "log page up",
            Action::PageDown => "log page down",
            Action::Top => "log top",
            Action::Follow => "log end, follow",
            Action::RunSelected => "run the commit (Runs)",
            Action::CancelSelected => "cancel the run",
            Action::Search => "search the log",
            Action::NextMatch => "next search match",
            Action::PrevMatch => "previous search match",
            Action::ToggleWrap => "wrap long lines",
            Action::ToggleSplit => "parallel stages split",
            Action::OpenPager => "full log in $PAGER",
            Action::Refresh => "re-read repo, history",
            Action::PauseWatch => "pause/resume watch",
            Action::ToggleSaves => "saves run stages on/off",
            Action::Suspend => "suspend (fg resumes)",
            Action::Deploy => "deploy run → first env",
            Action::Smoke => "smoke-check the env",
            Action::Promote => "promote the next env",
            Action::Rollback => "roll the env back",
        }
    }

    /// A short word for the footer's key hints.
    pub fn hint(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Interrupt => "interrupt",
            Action::Help => "help",
            Action::FocusNext => "panel",
            Action::FocusPrev => "panel",
            Action::Up | Action::Down => "select",
            Action::Left | Action::Right => "stage",
            Action::PageUp | Action::PageDown => "page",
            Action::Top => "top",
            Action::Follow => "follow",
            Action::RunSelected => "run",
            Action::CancelSelected => "cancel",
            Action::Search => "search",
            Action::NextMatch | Action::PrevMatch => "match",
            Action::ToggleWrap => "wrap",
            Action::ToggleSplit => "split",
            Action::OpenPager => "pager",
            Action::Refresh => "refresh",
            Action::PauseWatch => "pause watch",
            Action::ToggleSaves => "saves",
            Action::Suspend => "suspend",
            Action::Deploy => "deploy",
            Action::Smoke => "smoke",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}
