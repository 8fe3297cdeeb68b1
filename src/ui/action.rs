//! Everything a user can ask of the console. Keys map to these through the keymap; `update`
//! matches on them, never on key codes.
//!
//! This enum is the one list of actions: each variant carries its `[keys]` name (snake case),
//! its footer hint (`message`), its help text (`detailed_message`) and its default keys
//! (`keys`, separated by spaces); the keymap, the help overlay and the footer read them here.

use strum::{EnumCount, EnumIter, EnumMessage, EnumProperty, EnumString, IntoEnumIterator, IntoStaticStr};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    EnumCount,
    EnumString,
    IntoStaticStr,
    EnumMessage,
    EnumProperty,
)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    #[strum(
        message = "quit",
        detailed_message = "quit (asks while a run or deploy is on)",
        props(keys = "q")
    )]
    Quit,
    /// Ctrl-C: cancel what runs (removing its containers) and leave at once.
    #[strum(
        message = "interrupt",
        detailed_message = "cancel runs and quit now",
        props(keys = "ctrl-c")
    )]
    Interrupt,
    #[strum(message = "help", detailed_message = "this help", props(keys = "?"))]
    Help,
    /// Opens (and closes) the whole diagnostic of an invalid release.toml.
    #[strum(message = "why", detailed_message = "why release.toml is invalid", props(keys = "e"))]
    ShowConfigError,
    #[strum(message = "panel", detailed_message = "focus the next panel", props(keys = "tab"))]
    FocusNext,
    #[strum(
        message = "panel",
        detailed_message = "focus the previous panel",
        props(keys = "shift-tab")
    )]
    FocusPrev,
    #[strum(message = "select", detailed_message = "previous / scroll up", props(keys = "up k"))]
    Up,
    #[strum(message = "select", detailed_message = "next / scroll down", props(keys = "down j"))]
    Down,
    #[strum(message = "stage", detailed_message = "previous stage", props(keys = "left h"))]
    Left,
    #[strum(message = "stage", detailed_message = "next stage", props(keys = "right l"))]
    Right,
    #[strum(
        message = "page",
        detailed_message = "log page up",
        props(keys = "pageup ctrl-b ctrl-u")
    )]
    PageUp,
    #[strum(
        message = "page",
        detailed_message = "log page down",
        props(keys = "pagedown ctrl-f ctrl-d")
    )]
    PageDown,
    #[strum(message = "top", detailed_message = "log top", props(keys = "home g"))]
    Top,
    /// Jump to the end of the log and follow it again.
    #[strum(message = "follow", detailed_message = "log end, follow", props(keys = "end G"))]
    Follow,
    #[strum(message = "run", detailed_message = "run the commit (Runs)", props(keys = "enter"))]
    RunSelected,
    #[strum(message = "cancel", detailed_message = "cancel the run", props(keys = "c"))]
    CancelSelected,
    #[strum(message = "search", detailed_message = "search the log", props(keys = "/"))]
    Search,
    #[strum(message = "match", detailed_message = "next search match", props(keys = "n"))]
    NextMatch,
    #[strum(message = "match", detailed_message = "previous search match", props(keys = "N"))]
    PrevMatch,
    /// Jump to the next line that reports a failure (exit code, FAILED, error:, panic, traceback).
    #[strum(
        message = "failure",
        detailed_message = "next failure line in the log",
        props(keys = "F")
    )]
    NextFailure,
    #[strum(message = "wrap", detailed_message = "wrap long lines", props(keys = "w"))]
    ToggleWrap,
    #[strum(message = "split", detailed_message = "parallel stages split", props(keys = "v"))]
    ToggleSplit,
    #[strum(message = "pager", detailed_message = "full log in $PAGER", props(keys = "o"))]
    OpenPager,
    #[strum(
        message = "refresh",
        detailed_message = "re-read repo, history",
        props(keys = "ctrl-r f5")
    )]
    Refresh,
    #[strum(message = "pause watch", detailed_message = "pause/resume watch", props(keys = "W"))]
    PauseWatch,
    #[strum(message = "saves", detailed_message = "saves run stages on/off", props(keys = "S"))]
    ToggleSaves,
    #[strum(
        message = "suspend",
        detailed_message = "suspend (fg resumes)",
        props(keys = "ctrl-z")
    )]
    Suspend,
    /// Deploy the selected run's release to the first environment.
    #[strum(
        message = "copy id",
        detailed_message = "copy the commit id (OSC 52)",
        props(keys = "y")
    )]
    CopyCommit,
    #[strum(
        message = "copy image",
        detailed_message = "copy the run's image (OSC 52)",
        props(keys = "Y")
    )]
    CopyImage,
    #[strum(
        message = "copy line",
        detailed_message = "copy the log line (match, failure)",
        props(keys = "ctrl-y")
    )]
    CopyLine,
    #[strum(message = "deploy", detailed_message = "deploy run → first env", props(keys = "d"))]
    Deploy,
    /// Smoke-check the selected environment.
    #[strum(message = "smoke", detailed_message = "smoke-check the env", props(keys = "s"))]
    Smoke,
    /// Promote along `promote_from`, through the approval modal.
    #[strum(message = "promote", detailed_message = "promote the next env", props(keys = "p"))]
    Promote,
    /// Pick a release to roll the selected environment back to.
    #[strum(message = "rollback", detailed_message = "roll the env back", props(keys = "r"))]
    Rollback,
}

impl Action {
    /// Every action, in the order of the help overlay.
    pub fn all() -> impl Iterator<Item = Action> {
        Action::iter()
    }

    /// The name used in the user config's `[keys]` table.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// What it does, for the help overlay.
    pub fn describe(self) -> &'static str {
        self.get_detailed_message().unwrap_or_default()
    }

    /// A short word for the footer's key hints.
    pub fn hint(self) -> &'static str {
        self.get_message().unwrap_or_default()
    }

    /// The keys bound to it before the user config's `[keys]` table.
    pub fn default_keys(self) -> impl Iterator<Item = &'static str> {
        self.get_str("keys").unwrap_or_default().split_whitespace()
    }

    pub fn from_name(name: &str) -> Option<Action> {
        name.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_name_a_hint_a_description_and_a_key() {
        assert_eq!(Action::all().count(), Action::COUNT);
        for action in Action::all() {
            assert!(!action.hint().is_empty(), "{action:?} has no hint");
            assert!(!action.describe().is_empty(), "{action:?} has no description");
            assert!(action.default_keys().next().is_some(), "{action:?} has no default key");
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
    }

    #[test]
    fn names_are_snake_case() {
        assert_eq!(Action::FocusNext.name(), "focus_next");
        assert_eq!(Action::OpenPager.name(), "open_pager");
        assert_eq!(Action::from_name("page_up"), Some(Action::PageUp));
        assert_eq!(Action::from_name("PageUp"), None);
        assert_eq!(Action::from_name("nothing"), None);
    }

    #[test]
    fn default_keys_keep_their_order() {
        let keys: Vec<&str> = Action::PageUp.default_keys().collect();
        assert_eq!(keys, ["pageup", "ctrl-b", "ctrl-u"]);
    }
}
