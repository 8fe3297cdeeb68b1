//! `sanitize`: untrusted line → what a terminal would finally show, with only SGR escapes.

use super::cells;
use super::lex::{lex, Token};
use super::scan::has_control;
use std::borrow::Cow;
use unicode_width::UnicodeWidthChar;

/// Spaces for TAB expansion (a tab is 1–8 columns).
pub(crate) const SPACES: &str = "        ";

/// Returns `line` as a terminal would finally show it, safe to print or render: SGR
/// sequences are kept (as `ESC [ params m`), every other escape sequence and control
/// character is removed, TABs are expanded to the next multiple of 8 columns and bare CRs
/// are resolved by overwriting from column 0.
///
/// `line` is one line without its `\n` (and without the `\r` of a CRLF).
pub fn sanitize(line: &str) -> String {
    sanitize_cow(line).into_owned()
}

/// Like [`sanitize`], but borrows `line` when it needs no change (no control character at
/// all, the common case), so that case allocates nothing.
pub fn sanitize_cow(line: &str) -> Cow<'_, str> {
    if !has_control(line) {
        return Cow::Borrowed(line);
    }
    // A CR or a backspace moves the cursor back over what was printed: what the terminal
    // finally shows is what the cell emulation computes.
    if line.as_bytes().iter().any(|b| *b == b'\r' || *b == 0x08) {
        return Cow::Owned(cells::render(line));
    }
    Cow::Owned(direct(line))
}

/// Display width of a run of printable text, counted per character like a terminal does.
pub(crate) fn char_columns(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Number of spaces a TAB at column `col` expands to.
pub(crate) fn tab_len(col: usize) -> usize {
    8 - col % 8
}

/// A line without CR: a single pass that copies text, re-emits SGR and expands TABs.
fn direct(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    // Columns are only needed for TAB stops; don't pay for them otherwise.
    let track = line.as_bytes().contains(&b'\t');
    let mut col = 0;
    lex(line, |token| match token {
        Token::Text(text) => {
            out.push_str(text);
            if track {
                col += char_columns(text);
            }
        }
        Token::Sgr(params) => {
            out.push_str("\x1b[");
            out.push_str(params);
            out.push('m');
        }
        Token::Tab => {
            let n = tab_len(col);
            out.push_str(&SPACES[..n]);
            col += n;
        }
        // Not reached: lines with a CR or a backspace take the cell path.
        Token::Cr | Token::Backspace => {}
    });
    out
}

/// [`sanitize`] for a text of several lines (an error message, a response body): each line
/// sanitized, the line ends kept. Borrows when nothing needs a change.
pub fn sanitize_text(text: &str) -> Cow<'_, str> {
    if !text.split('\n').any(has_control) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<String> = text.split('\n').map(|l| sanitize_cow(l).into_owned()).collect();
    Cow::Owned(lines.join("\n"))
}

/// Text that is never a log line (a commit subject, an author, a label read from an engine):
/// what a terminal would show of each line, without any escape sequence, colours included.
pub fn plain_text(text: &str) -> Cow<'_, str> {
    if !text.split('\n').any(has_control) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| super::render::strip_sgr(&sanitize_cow(l)))
        .collect();
    Cow::Owned(lines.join("\n"))
}
