//! Themes map meanings (success, failure, running, muted, alert, …) to styles; panels ask
//! for a meaning, never for a colour.
//!
//! The built-in themes are `themes/*.toml`, embedded at compile time. A user theme
//! `<config dir>/themes/NAME.toml` overrides a built-in of the same name and may set only
//! some styles: the others come from the `default` theme.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ratatui::style::Style;

mod parse;

/// The built-in theme names, in the order they are listed to users.
pub const BUILTIN: &[&str] = &["default", "light", "high-contrast", "mono"];

/// Every style key a theme file may set under `[styles]`, in `Theme` field order.
pub const STYLE_KEYS: [&str; 17] = [
    "text",
    "muted",
    "accent",
    "selection",
    "running",
    "success",
    "failure",
    "pending",
    "skipped",
    "cancelled",
    "awaiting_approval",
    "production",
    "alert",
    "search_match",
    "current_match",
    "stderr",
    "border",
];

/// Styles by meaning. Build one with [`Theme::resolve`], [`Theme::builtin`] or
/// [`Theme::parse`]; `Theme::default()` is the built-in `default` theme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    /// Ordinary text.
    pub text: Style,
    /// Timestamps, hints, secondary information.
    pub muted: Style,
    /// Focused panel border, selected-item marker, titles.
    pub accent: Style,
    /// The selected row.
    pub selection: Style,
    pub running: Style,
    pub success: Style,
    pub failure: Style,
    pub pending: Style,
    pub skipped: Style,
    pub cancelled: Style,
    pub awaiting_approval: Style,
    /// The production environment's name wherever it appears.
    pub production: Style,
    /// Engine down, error banner.
    pub alert: Style,
    pub search_match: Style,
    pub current_match: Style,
    /// Stderr lines in the log pane.
    pub stderr: Style,
    pub border: Style,
}

/// Why a theme could not be loaded. Every message says what is wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// No user theme file and no built-in by that name.
    #[error("{}", unknown_message(name, valid, user_themes_dir.as_deref(), suggestion.as_deref()))]
    UnknownTheme {
        name: String,
        /// Built-in names, then the user themes found.
        valid: Vec<String>,
        /// `<config dir>/themes`, when there is a config dir.
        user_themes_dir: Option<PathBuf>,
        /// `did you mean …` target.
        suggestion: Option<String>,
    },
    /// A problem in a theme file; `line` and `col` are 1-based, or 0 when unknown.
    #[error("{}", located(file, *line, *col, message, hint.as_deref()))]
    Invalid {
        file: String,
        line: usize,
        col: usize,
        message: String,
        hint: Option<String>,
    },
    /// A user theme file exists but cannot be read.
    #[error("cannot read theme file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
}

fn located(file: &str, line: usize, col: usize, message: &str, hint: Option<&str>) -> String {
    let mut out = if line == 0 {
        format!("{file}: {message}")
    } else {
        format!("{file}:{line}:{col}: {message}")
    };
    if let Some(hint) = hint {
        let _ = write!(out, "\n  hint: {hint}");
    }
    out
}

fn unknown_message(name: &str, valid: &[String], user_themes_dir: Option<&Path>, suggestion: Option<&str>) -> String {
    let mut out = format!("unknown theme `{name}`: valid themes are {}", valid.join(", "));
    if let Some(dir) = user_themes_dir {
        let _ = write!(out, " (and user themes in {}/)", tilde(dir));
    }
    if let Some(s) = suggestion {
        let _ = write!(out, "\n  hint: did you mean `{s}`?");
    }
    out
}

/// `/home/ada/.config/shipdeck/themes` → `~/.config/shipdeck/themes`.
fn tilde(path: &Path) -> String {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match home.as_deref().and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

/// The embedded text of a built-in theme.
fn builtin_text(name: &str) -> Option<&'static str> {
    match name {
        "default" => Some(include_str!("../../themes/default.toml")),
        "light" => Some(include_str!("../../themes/light.toml")),
        "high-contrast" => Some(include_str!("../../themes/high-contrast.toml")),
        "mono" => Some(include_str!("../../themes/mono.toml")),
        _ => None,
    }
}

/// Whether NO_COLOR asks for no colour: set and non-empty (<https://no-color.org>).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Default for Theme {
    /// The built-in `default` theme (all-plain styles if it could not be read, which the
    /// tests rule out).
    fn default() -> Self {
        Theme::builtin("default").unwrap_or_else(|_| Theme::plain("default"))
    }
}

impl Theme {
    /// Every style plain: the terminal's own colours.
    fn plain(name: &str) -> Theme {
        let s = Style::default();
        Theme {
            name: name.to_string(),
            text: s,
            muted: s,
            accent: s,
            selection: s,
            running: s,
            success: s,
            failure: s,
            pending: s,
            skipped: s,
            cancelled: s,
            awaiting_approval: s,
            production: s,
            alert: s,
            search_match: s,
            current_match: s,
            stderr: s,
            border: s,
        }
    }

    fn slot_mut(&mut self, key: &str) -> Option<&mut Style> {
        Some(match key {
            "text" => &mut self.text,
            "muted" => &mut self.muted,
            "accent" => &mut self.accent,
            "selection" => &mut self.selection,
            "running" => &mut self.running,
            "success" => &mut self.success,
            "failure" => &mut self.failure,
            "pending" => &mut self.pending,
            "skipped" => &mut self.skipped,
            "cancelled" => &mut self.cancelled,
            "awaiting_approval" => &mut self.awaiting_approval,
            "production" => &mut self.production,
            "alert" => &mut self.alert,
            "search_match" => &mut self.search_match,
            "current_match" => &mut self.current_match,
            "stderr" => &mut self.stderr,
            "border" => &mut self.border,
            _ => return None,
        })
    }

    /// The styles with their keys, in [`STYLE_KEYS`] order.
    pub fn styles(&self) -> [(&'static str, Style); 17] {
        [
            ("text", self.text),
            ("muted", self.muted),
            ("accent", self.accent),
            ("selection", self.selection),
            ("running", self.running),
            ("success", self.success),
            ("failure", self.failure),
            ("pending", self.pending),
            ("skipped", self.skipped),
            ("cancelled", self.cancelled),
            ("awaiting_approval", self.awaiting_approval),
            ("production", self.production),
            ("alert", self.alert),
            ("search_match", self.search_match),
            ("current_match", self.current_match),
            ("stderr", self.stderr),
            ("border", self.border),
        ]
    }

    /// Lays the styles of `text` over `base`; the name is the file's `name`, else `fallback_name`.
    fn parse_over(text: &str, file: &str, base: Theme, fallback_name: &str) -> Result<Theme, ThemeError> {
        let parsed = parse::parse_file(text, file)?;
        let mut theme = base;
        theme.name = parsed.name.unwrap_or_else(|| fallback_name.to_string());
        for (key, style) in parsed.styles {
            if let Some(slot) = theme.slot_mut(key) {
                *slot = style;
            }
        }
        Ok(theme)
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Result<Theme, ThemeError> {
        let Some(text) = builtin_text(name) else {
            return Err(unknown(name, Vec::new(), None));
        };
        let file = format!("themes/{name}.toml");
        let base = if name == "default" {
            Theme::plain(name)
        } else {
            Theme::builtin("default")?
        };
        let mut theme = Theme::parse_over(text, &file, base, name)?;
        theme.name = name.to_string();
        Ok(theme)
    }

    /// Parses a theme file; styles it does not set come from the `default` theme. `file` is
    /// the name used in error messages. The theme's name is its `name` key, else the file stem.
    pub fn parse(text: &str, file: &str) -> Result<Theme, ThemeError> {
        let stem = Path::new(file)
            .file_stem()
            .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned());
        Theme::parse_over(text, file, Theme::builtin("default")?, &stem)
    }

    /// The theme to use: `requested` (from `--theme` or the user config) if given, else
    /// `default` — or `mono` when `no_color` is true (NO_COLOR set and non-empty, see
    /// [`no_color_env`]) and nothing was requested explicitly.
    ///
    /// `user_dir` is shipdeck's config directory (`~/.config/shipdeck`): a file
    /// `<user_dir>/themes/NAME.toml` takes precedence over a built-in of the same name, and
    /// styles it leaves out come from `default`.
    pub fn resolve(requested: Option<&str>, user_dir: Option<&Path>, no_color: bool) -> Result<Theme, ThemeError> {
        let name = match requested.map(str::trim) {
            Some(name) => name,
            None if no_color => "mono",
            None => "default",
        };
        let themes_dir = user_dir.map(|d| d.join("themes"));
        // A name is a file stem: never a path that could leave the themes directory.
        let plain_name = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0']);
        if let (Some(dir), true) = (&themes_dir, plain_name) {
            let path = dir.join(format!("{name}.toml"));
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let file = path.display().to_string();
                    let base = Theme::builtin("default")?;
                    let mut theme = Theme::parse_over(&text, &file, base, name)?;
                    theme.name = name.to_string();
                    return Ok(theme);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(ThemeError::Read { path, source }),
            }
        }
        if builtin_text(name).is_some() {
            return Theme::builtin(name);
        }
        let user_themes = themes_dir.as_deref().map(user_theme_names).unwrap_or_default();
        Err(unknown(name, user_themes, themes_dir))
    }

    /// The style for a status word used across the console: `running`, `success`, `failed`,
    /// `timed_out`, `cancelled`, `skipped`, `pending`, `queued` (as pending), and
    /// `awaiting_approval`. Anything else gets the `text` style.
    pub fn status(&self, status: &str) -> Style {
        match status {
            "running" => self.running,
            "success" | "succeeded" | "passed" => self.success,
            "failed" | "failure" | "timed_out" => self.failure,
            "cancelled" | "canceled" => self.cancelled,
            "skipped" => self.skipped,
            "pending" | "queued" => self.pending,
            "awaiting_approval" => self.awaiting_approval,
            _ => self.text,
        }
    }
}

/// The `*.toml` stems in a user themes directory that are not built-in names, sorted.
fn user_theme_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|n| !BUILTIN.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

/// Words people try for a built-in theme.
const THEME_SYNONYMS: &[(&str, &str)] = &[
    ("dark", "default"),
    ("contrast", "high-contrast"),
    ("hc", "high-contrast"),
    ("monochrome", "mono"),
    ("none", "mono"),
    ("no-color", "mono"),
    ("plain", "mono"),
];

fn unknown(name: &str, user_themes: Vec<String>, user_themes_dir: Option<PathBuf>) -> ThemeError {
    let mut valid: Vec<String> = BUILTIN.iter().map(|s| s.to_string()).collect();
    valid.extend(user_themes);
    let lower = name.to_ascii_lowercase();
    let suggestion = crate::text::closest(name, valid.iter().map(String::as_str))
        .map(str::to_string)
        .or_else(|| {
            THEME_SYNONYMS
                .iter()
                .find(|(from, _)| *from == lower)
                .map(|(_, to)| to.to_string())
        });
    ThemeError::UnknownTheme {
        name: name.to_string(),
        valid,
        user_themes_dir,
        suggestion,
    }
}

#[cfg(test)]
mod tests;
