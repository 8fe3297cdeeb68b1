//! Diagnostics: what went wrong in a `release.toml`, where (file, 1-based line and column),
//! and what to do about it.

use std::fmt;

/// One problem found in a configuration file.
///
/// Displays as `file:line:col: message`, followed by an indented `hint:` line when there is a
/// hint. A diagnostic that is not tied to a position (an unreadable file) has line and column
/// 0 and displays as `file: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A configuration that could not be loaded: every problem found, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(&self.diagnostics))]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// An error that is not tied to a position in the file (for example an io error).
    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            diagnostics: vec![Diagnostic {
                file: file.into(),
                line: 0,
                col: 0,
                message: message.into(),
                hint: None,
            }],
        }
    }
}

/// Collects diagnostics while a file is checked.
#[derive(Debug)]
pub(crate) struct Sink<'s> {
    file: String,
    text: &'s str,
    items: Vec<(usize, Diagnostic)>,
}

impl<'s> Sink<'s> {
    pub(crate) fn new(text: &'s str, file: &str) -> Self {
        Sink {
            file: file.to_string(),
            text,
            items: Vec::new(),
        }
    }

    /// Records a problem at byte offset `at`.
    pub(crate) fn error(&mut self, at: usize, message: impl Into<String>, hint: Option<String>) {
        let (line, col) = crate::text::line_col(self.text, at);
        let diagnostic = Diagnostic {
            file: self.file.clone(),
            line,
            col,
            message: message.into(),
            hint,
        };
        if !self.items.iter().any(|(_, d)| *d == diagnostic) {
            self.items.push((at, diagnostic));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many diagnostics so far (to tell whether a part of the file added any).
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The text being checked.
    pub(crate) fn source(&self) -> &'s str {
        self.text
    }

    /// All diagnostics so far, sorted by position (stable for equal positions).
    pub(crate) fn into_error(self) -> ConfigError {
        let mut items = self.items;
        items.sort_by_key(|(at, _)| *at);
        ConfigError {
            diagnostics: items.into_iter().map(|(_, d)| d).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_hint() {
        let mut d = Diagnostic {
            file: "release.toml".into(),
            line: 7,
            col: 1,
            message: "unknown key `imgae` in [stages.test]".into(),
            hint: Some("did you mean `image`?".into()),
        };
        assert_eq!(
            d.to_string(),
            "release.toml:7:1: unknown key `imgae` in [stages.test]\n  hint: did you mean `image`?"
        );
        d.hint = None;
        d.line = 0;
        assert_eq!(d.to_string(), "release.toml: unknown key `imgae` in [stages.test]");
    }

    #[test]
    fn sink_sorts_by_position_and_dedups() {
        let mut sink = Sink::new("a\nb\nc", "f.toml");
        sink.error(4, "third", None);
        sink.error(0, "first", None);
        sink.error(2, "second", None);
        sink.error(2, "second", None);
        let err = sink.into_error();
        assert_eq!(
            err.to_string(),
            "f.toml:1:1: first\nf.toml:2:1: second\nf.toml:3:1: third"
        );
    }
}
