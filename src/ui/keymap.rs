//! Keys → actions, from the default keys each [`Action`] declares, which the user config
//! overrides action by action. The help overlay and the footer's hints are generated from
//! the same map.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

/// A key name that is none of the keys shipdeck knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key `{0}`: use a character, or enter, tab, esc, space, backspace, up, down, left, right, pageup, pagedown, home, end, delete, f1–f12, with ctrl-, alt-, shift- prefixes")]
pub struct UnknownKey(pub String);

/// A `[keys]` table in the user's settings that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("unknown action `{name}` in [keys]; actions are: {actions}")]
    UnknownAction { name: String, actions: String },
    #[error("[keys] {action}: {source}")]
    BadKey { action: String, source: UnknownKey },
}

impl Key {
    /// The key as the map stores it: an upper-case letter is its own key (no SHIFT), so `G`
    /// matches whether or not the terminal reports the shift.
    pub fn from_event(event: KeyEvent) -> Key {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match event.code {
            KeyCode::Char(c) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(if modifiers.contains(KeyModifiers::CONTROL) {
                    c.to_ascii_lowercase()
                } else {
                    c
                })
            }
            KeyCode::BackTab => {
                modifiers.insert(KeyModifiers::SHIFT);
                KeyCode::Tab
            }
            other => other,
        };
        Key { code, modifiers }
    }

    pub fn parse(text: &str) -> Result<Key, UnknownKey> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (prefix, flag) = if lower.starts_with("ctrl-") {
                ("ctrl-", KeyModifiers::CONTROL)
            } else if lower.starts_with("alt-") {
                ("alt-", KeyModifiers::ALT)
            } else if lower.starts_with("shift-") && rest.len() > "shift-".len() {
                ("shift-", KeyModifiers::SHIFT)
            } else {
                break;
            };
            modifiers.insert(flag);
            rest = &rest[prefix.len()..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "tab" => KeyCode::Tab,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "delete" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        modifiers.remove(KeyModifiers::SHIFT);
                        KeyCode::Char(if modifiers.contains(KeyModifiers::CONTROL) {
                            c.to_ascii_lowercase()
                        } else {
                            c
                        })
                    }
                    _ => return Err(UnknownKey(text.to_string())),
                }
            }
        };
        Ok(Key { code, modifiers })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Key, Action)>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        let mut bindings = Vec::new();
        for action in Action::all() {
            for key in action.default_keys() {
                // The defaults are fixed (in `Action`), checked by a test.
                if let Ok(key) = Key::parse(key) {
                    bindings.push((key, action));
                }
            }
        }
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with the user's `[keys]` table on top: each named action gets exactly the
    /// keys given, and a key taken by an override is removed from the action that had it.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Action::all().map(Action::name).collect();
                KeymapError::UnknownAction {
                    name: name.clone(),
                    actions: names.join(", "),
                }
            })?;
            let keys = keys
                .iter()
                .map(|k| {
                    Key::parse(k).map_err(|source| KeymapError::BadKey {
                        action: name.clone(),
                        source,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            map.bindings.retain(|(k, a)| *a != action && !keys.contains(k));
            map.bindings.extend(keys.into_iter().map(|k| (k, action)));
        }
        Ok(map)
    }

    pub fn action(&self, event: KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        self.bindings.iter().find(|(k, _)| *k == key).map(|(_, a)| *a)
    }

    /// The keys of an action, for display: `q`, `↑/k`.
    pub fn keys(&self, action: Action) -> String {
        let keys: Vec<String> = self
            .bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| k.to_string())
            .collect();
        keys.join("/")
    }

    /// The first key of an action, for the footer's short hints.
    pub fn primary(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|(_, a)| *a == action)
            .map(|(k, _)| k.to_string())
            .unwrap_or_default()
    }

    /// The help overlay's rows: keys and what they do, in the order of [`Action::all`].
    pub fn help_rows(&self) -> Vec<(String, &'static str)> {
        Action::all()
            .map(|a| (self.keys(a), a.describe()))
            .filter(|(keys, _)| !keys.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn every_default_key_parses_and_every_action_has_a_key() {
        for action in Action::all() {
            for key in action.default_keys() {
                assert!(Key::parse(key).is_ok(), "{key} for {action:?}");
            }
        }
        let map = Keymap::default();
        for action in Action::all() {
            assert!(!map.keys(action).is_empty(), "{action:?} has no key");
        }
    }

    #[test]
    fn no_key_is_bound_twice_by_default() {
        let map = Keymap::default();
        for (i, (key, _)) in map.bindings.iter().enumerate() {
            assert!(
                !map.bindings[i + 1..].iter().any(|(k, _)| k == key),
                "{key} bound twice"
            );
        }
    }

    #[test]
    fn shifted_letters_and_backtab_match_their_bindings() {
        let map = Keymap::default();
        assert_eq!(
            map.action(event(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Follow)
        );
        assert_eq!(
            map.action(event(KeyCode::Char('G'), KeyModifiers::NONE)),
            Some(Action::Follow)
        );
        assert_eq!(
            map.action(event(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::FocusPrev)
        );
        assert_eq!(
            map.action(event(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Interrupt)
        );
        assert_eq!(
            map.action(event(KeyCode::Char('c'), KeyModifiers::NONE)),
            Some(Action::CancelSelected)
        );
    }

    #[test]
    fn overrides_replace_an_actions_keys_and_steal_keys() {
        let overrides = BTreeMap::from([
            ("quit".to_string(), vec!["x".to_string()]),
            ("help".to_string(), vec!["q".to_string()]),
        ]);
        let map = Keymap::with_overrides(&overrides).unwrap();
        assert_eq!(
            map.action(event(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(event(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::Help)
        );
        assert_eq!(map.keys(Action::Help), "q");
    }

    #[test]
    fn bad_overrides_say_what_is_valid() {
        let bad_action = BTreeMap::from([("qiut".to_string(), vec!["x".to_string()])]);
        assert!(Keymap::with_overrides(&bad_action)
            .unwrap_err()
            .to_string()
            .contains("actions are: quit"));
        let bad_key = BTreeMap::from([("quit".to_string(), vec!["hyper-x".to_string()])]);
        assert!(Keymap::with_overrides(&bad_key)
            .unwrap_err()
            .to_string()
            .contains("unknown key `hyper-x`"));
    }
}
