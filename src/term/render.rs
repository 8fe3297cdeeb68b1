//! Helpers over sanitized lines: plain text, display width and ratatui `Line`s.

use super::lex::{lex, Token};
use super::sanitize::{char_columns, tab_len, SPACES};
use super::scan::has_control;
use super::sgr::Pen;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// Calls `f` with each piece of visible text and the pen it is drawn with. Meant for
/// sanitized lines; on other input it stays safe: non-SGR sequences and controls are
/// dropped, a TAB becomes spaces and a CR is ignored (not emulated).
fn walk<'a>(line: &'a str, mut f: impl FnMut(Pen, &'a str)) {
    let track = line.as_bytes().contains(&b'\t');
    let mut col = 0;
    let mut pen = Pen::default();
    lex(line, |token| match token {
        Token::Text(text) => {
            if track {
                col += char_columns(text);
            }
            f(pen, text);
        }
        Token::Sgr(params) => pen.apply(params),
        Token::Tab => {
            let n = tab_len(col);
            col += n;
            f(pen, &SPACES[..n]);
        }
        Token::Cr | Token::Backspace => {}
    });
}

/// The plain text of `line`, without any escape sequence (for search and width).
pub fn strip_sgr(line: &str) -> String {
    if !has_control(line) {
        return line.to_owned();
    }
    let mut out = String::with_capacity(line.len());
    walk(line, |_, text| out.push_str(text));
    out
}

/// Display width of `line`, ignoring SGR. Equals the sum of the span widths of
/// [`to_line`] with the default base style (widths are measured per styled run, as
/// ratatui does, since a few character sequences have a width other than the sum of
/// their characters).
pub fn visible_width(line: &str) -> usize {
    if !has_control(line) {
        return UnicodeWidthStr::width(line);
    }
    let mut total = 0;
    let mut run = String::new();
    let mut run_pen = None;
    walk(line, |pen, text| {
        let pen = pen.rendered();
        if run_pen != Some(pen) {
            total += UnicodeWidthStr::width(run.as_str());
            run.clear();
            run_pen = Some(pen);
        }
        run.push_str(text);
    });
    total + UnicodeWidthStr::width(run.as_str())
}

/// Converts a sanitized line into styled spans over `base`: SGR 0 (and 39/49, 22, …)
/// return to `base`. Blinking and hidden are not rendered. Adjacent text with the same
/// resulting style is one span.
pub fn to_line(line: &str, base: Style) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_style: Option<Style> = None;
    walk(line, |pen, text| {
        let style = pen.style_on(base);
        if run_style != Some(style) {
            if let Some(prev) = run_style {
                if !run.is_empty() {
                    spans.push(Span::styled(std::mem::take(&mut run), prev));
                }
            }
            run_style = Some(style);
        }
        run.push_str(text);
    });
    if let Some(style) = run_style {
        if !run.is_empty() {
            spans.push(Span::styled(run, style));
        }
    }
    Line::from(spans)
}
