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

/// Turns byte offsets into 1-based line and column numbers (columns count characters).
#[derive(Debug, Clone)]
pub(crate) struct LineIndex<'s> {
    text: &'s str,
    line_starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(text: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, line_starts }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end clamp to the end.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let col = self.text[start..offset].chars().count() + 1;
        (line, col)
    }
}

/// Collects diagnostics while a file is checked.
#[derive(Debug)]
pub(crate) struct Sink<'s> {
    file: String,
    index: LineIndex<'s>,
    items: Vec<(usize, Diagnostic)>,
}

impl<'s> Sink<'s> {
    pub(crate) fn new(text: &'s str, file: &str) -> Self {
        Sink {
            file: file.to_string(),
            index: LineIndex::new(text),
            items: Vec::new(),
        }
    }

    /// Records a problem at byte offset `at`.
    pub(crate) fn error(&mut self, at: usize, message: impl Into<String>, hint: Option<String>) {
        let (line, col) = self.index.line_col(at);
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
        self.index.text
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
    fn line_col_is_one_based_and_counts_chars() {
        let index = LineIndex::new("ab\ncé d\n\nx");
        assert_eq!(index.line_col(0), (1, 1));
        assert_eq!(index.line_col(1), (1, 2));
        assert_eq!(index.line_col(2), (1, 3));
        assert_eq!(index.line_col(3), (2, 1));
        // "é" is two bytes: the space after it is the third character.
        assert_eq!(index.line_col(6), (2, 3));
        assert_eq!(index.line_col(9), (3, 1));
        assert_eq!(index.line_col(10), (4, 1));
        assert_eq!(index.line_col(999), (4, 2));
    }

    #[test]
    fn offsets_inside_a_char_snap_back() {
        let index = LineIndex::new("é");
        assert_eq!(index.line_col(1), (1, 1));
    }

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
