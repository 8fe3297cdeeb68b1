//! One line prepared for drawing: its visible text and style runs (SGR colours, the stream's
//! base style, search highlights).

use std::borrow::Cow;
use std::ops::Range;

use ratatui::style::Style;

use super::buffer::LogLine;
use super::search::Matcher;
use crate::term;

/// The visible text of a line and its styles as runs `(end byte, style)` covering it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StyledLine<'a> {
    pub(crate) plain: Cow<'a, str>,
    pub(crate) runs: Vec<(usize, Style)>,
}

/// Highlights for one line: every occurrence gets `style`.
pub(crate) struct Highlight<'m> {
    pub(crate) matcher: &'m Matcher,
    pub(crate) style: Style,
}

impl<'a> StyledLine<'a> {
    /// `line` styled on top of `base`, with the occurrences of a query highlighted.
    pub(crate) fn new(line: &LogLine<'a>, base: Style, highlight: Option<Highlight<'_>>) -> Self {
        let mut styled = if line.has_escapes() {
            let spans = term::to_line(line.text, base);
            let mut plain = String::with_capacity(line.text.len());
            let mut runs = Vec::with_capacity(spans.spans.len());
            for span in &spans.spans {
                plain.push_str(&span.content);
                runs.push((plain.len(), spans.style.patch(span.style)));
            }
            Self {
                plain: Cow::Owned(plain),
                runs,
            }
        } else {
            Self {
                plain: Cow::Borrowed(line.text),
                runs: vec![(line.text.len(), base)],
            }
        };
        if let Some(h) = highlight {
            let ranges = h.matcher.find_all(&styled.plain);
            if !ranges.is_empty() {
                styled.runs = overlay(&styled.runs, &ranges, h.style);
            }
        }
        styled
    }
}

/// `runs` with `patch` applied over `ranges` (both sorted, ranges non-overlapping).
pub(crate) fn overlay(runs: &[(usize, Style)], ranges: &[Range<usize>], patch: Style) -> Vec<(usize, Style)> {
    let mut bounds: Vec<usize> = runs
        .iter()
        .map(|r| r.0)
        .chain(ranges.iter().flat_map(|r| [r.start, r.end]))
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut out: Vec<(usize, Style)> = Vec::with_capacity(bounds.len());
    let (mut ri, mut mi, mut start) = (0, 0, 0);
    for end in bounds {
        if end <= start {
            continue;
        }
        while runs.get(ri).is_some_and(|r| r.0 <= start) {
            ri += 1;
        }
        while ranges.get(mi).is_some_and(|r| r.end <= start) {
            mi += 1;
        }
        let Some(&(_, mut style)) = runs.get(ri) else {
            break;
        };
        if ranges.get(mi).is_some_and(|r| r.start <= start) {
            style = style.patch(patch);
        }
        match out.last_mut() {
            Some(last) if last.1 == style => last.0 = end,
            _ => out.push((end, style)),
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};

    #[test]
    fn overlay_splits_runs_at_match_bounds() {
        let red = Style::new().fg(Color::Red);
        let blue = Style::new().fg(Color::Blue);
        let hl = Style::new().bg(Color::Yellow);
        // "aaaa|bbbb" with a match over "aab|b" (2..7).
        let out = overlay(&[(4, red), (8, blue)], &[2..5, 6..7], hl);
        assert_eq!(
            out,
            [
                (2, red),
                (4, red.patch(hl)),
                (5, blue.patch(hl)),
                (6, blue),
                (7, blue.patch(hl)),
                (8, blue)
            ]
        );
    }

    #[test]
    fn sgr_runs_and_highlight() {
        let mut buf = crate::ui::log_pane::LogBuffer::new();
        buf.push_lines(crate::ui::log_pane::LineKind::Stdout, ["ok \x1b[1;31mFAIL\x1b[0m done"]);
        let Some(line) = buf.line(0) else {
            panic!("no line");
        };
        let base = Style::new().fg(Color::Gray);
        let Some(matcher) = Matcher::new("il d") else {
            panic!("no matcher");
        };
        let hl = Style::new().bg(Color::Yellow);
        let styled = StyledLine::new(
            &line,
            base,
            Some(Highlight {
                matcher: &matcher,
                style: hl,
            }),
        );
        assert_eq!(styled.plain, "ok FAIL done");
        let bold_red = base.fg(Color::Red).add_modifier(Modifier::BOLD);
        assert_eq!(
            styled.runs,
            [
                (3, base),
                (5, bold_red),
                (7, bold_red.patch(hl)),
                (9, base.patch(hl)),
                (12, base)
            ]
        );
    }
}
