//! The user's own settings for the console: `$XDG_CONFIG_HOME/shipdeck/config.toml` (by
//! default `~/.config/shipdeck/config.toml`).
//!
//! ```toml
//! theme = "light"              # default, light, high-contrast, mono, or a file in themes/
//! log_tail_lines = 100000      # lines of each stage's log kept in memory (the file has all)
//! [keys]                       # action = [keys]; see the help overlay (?) for the actions
//! quit = ["q", "ctrl-q"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::log_pane::DEFAULT_TAIL_LINES;

/// The user's settings file cannot be used; every message names it.
#[derive(Debug, thiserror::Error)]
pub enum UserConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{col}: {message}\n  hint: valid keys are theme, log_tail_lines and [keys]", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{}: log_tail_lines must be at least 1", path.display())]
    NoTailLines { path: PathBuf },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub theme: Option<String>,
    pub log_tail_lines: Option<usize>,
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
}

impl UserConfig {
    /// The directory of the user's shipdeck settings (and `themes/`).
    pub fn dir() -> Option<PathBuf> {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".config")))
            .map(|d| d.join("shipdeck"))
    }

    /// Reads the settings; a missing file is the defaults, a bad one an error naming it.
    pub fn load(dir: Option<&Path>) -> Result<UserConfig, UserConfigError> {
        let Some(path) = dir.map(|d| d.join("config.toml")) else {
            return Ok(UserConfig::default());
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UserConfig::default()),
            Err(source) => return Err(UserConfigError::Unreadable { path, source }),
        };
        let config: UserConfig = match toml::from_str(&text) {
            Ok(config) => config,
            Err(e) => {
                let (line, col) = e
                    .span()
                    .map(|s| crate::text::line_col(&text, s.start))
                    .unwrap_or((0, 0));
                let message = e.message().to_string();
                return Err(UserConfigError::Invalid {
                    path,
                    line,
                    col,
                    message,
                });
            }
        };
        if config.log_tail_lines == Some(0) {
            return Err(UserConfigError::NoTailLines { path });
        }
        Ok(config)
    }

    pub fn tail_lines(&self) -> usize {
        self.log_tail_lines.unwrap_or(DEFAULT_TAIL_LINES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let config = UserConfig::load(Some(dir.path())).unwrap();
        assert_eq!(config.theme, None);
        assert_eq!(config.tail_lines(), DEFAULT_TAIL_LINES);
    }

    #[test]
    fn reads_theme_keys_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "theme = \"light\"\nlog_tail_lines = 500\n[keys]\nquit = [\"x\"]\n",
        )
        .unwrap();
        let config = UserConfig::load(Some(dir.path())).unwrap();
        assert_eq!(config.theme.as_deref(), Some("light"));
        assert_eq!(config.tail_lines(), 500);
        assert_eq!(config.keys["quit"], ["x"]);
    }

    #[test]
    fn an_unknown_key_names_the_file_and_position() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "theme = \"light\"\ncolour = 1\n").unwrap();
        let err = UserConfig::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("config.toml:2:1") && err.contains("colour"), "{err}");
    }
}
