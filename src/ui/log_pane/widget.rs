//! Drawing a log pane. Only the lines on screen are looked at, whatever the buffer's length.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::buffer::{LineKind, LogBuffer, LogLine};
use super::failures::is_failure_line;
use super::styled::{Highlight, StyledLine};
use super::view::LogView;
use super::wrap::{char_width, row_starts};
use super::LogStyles;

/// Hint shown when the view does not follow the tail; the app passes its own key binding.
pub const DEFAULT_FOLLOW_HINT: &str = "End to follow";

const MAX_QUERY_SHOWN: usize = 24;

/// A log pane borrowed for one frame: `frame.render_widget(LogPaneWidget::new(..), area)`.
#[derive(Debug, Clone, Copy)]
pub struct LogPaneWidget<'a> {
    buffer: &'a LogBuffer,
    view: &'a LogView,
    styles: &'a LogStyles,
    follow_hint: &'a str,
}

impl<'a> LogPaneWidget<'a> {
    /// The pane for `buffer` as `view` shows it.
    pub fn new(buffer: &'a LogBuffer, view: &'a LogView, styles: &'a LogStyles) -> Self {
        Self {
            buffer,
            view,
            styles,
            follow_hint: DEFAULT_FOLLOW_HINT,
        }
    }

    /// Replaces "End to follow" in the scroll indicator (e.g. from the keymap).
    pub fn follow_hint(mut self, hint: &'a str) -> Self {
        self.follow_hint = hint;
        self
    }
}

/// Draws `buffer` as `view` shows it into `area` of `buf`.
pub fn render(buffer: &LogBuffer, view: &LogView, styles: &LogStyles, area: Rect, buf: &mut Buffer) {
    LogPaneWidget::new(buffer, view, styles).render(area, buf);
}

impl Widget for LogPaneWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        self.view.set_viewport(area.width, area.height);
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                if let Some(cell) = buf.cell_mut((x, y)) {
                    cell.reset();
                    cell.set_style(self.styles.text);
                }
            }
        }
        let geo = self.view.geometry_for(self.buffer, area.width, area.height);
        let top = self.view.top_in(&geo);
        let mut y = area.top();
        let mut skip = top.row;
        let mut last_drawn = None;
        for line in self.buffer.lines(top.line, self.buffer.end()) {
            if y >= area.bottom() {
                break;
            }
            let styled = StyledLine::new(&line, self.line_style(&line), self.highlight(line.number));
            let starts = if self.view.wrap() {
                row_starts(&styled.plain, usize::from(area.width))
            } else {
                vec![0]
            };
            for (i, &start) in starts.iter().enumerate().skip(skip) {
                if y >= area.bottom() {
                    break;
                }
                let end = starts.get(i + 1).copied().unwrap_or(styled.plain.len());
                draw_row(buf, area, y, &styled, start, end);
                y += 1;
            }
            skip = 0;
            last_drawn = Some(line.number);
        }
        self.draw_indicators(area, buf, top.line, last_drawn);
    }
}

impl LogPaneWidget<'_> {
    fn base_style(&self, kind: LineKind) -> Style {
        match kind {
            LineKind::Stdout => self.styles.text,
            LineKind::Stderr => self.styles.text.patch(self.styles.stderr),
            LineKind::System => self.styles.text.patch(self.styles.muted),
            LineKind::Success => self.styles.text.patch(self.styles.success),
            LineKind::Failure => self.styles.text.patch(self.styles.failure),
            LineKind::Alert => self.styles.text.patch(self.styles.alert),
        }
    }

    /// A stage's own line that reports a failure stands out as shipdeck's failure lines do;
    /// the one last jumped to (with the next-failure key) is marked like a current match.
    fn line_style(&self, line: &LogLine<'_>) -> Style {
        let base = self.base_style(line.kind);
        if !matches!(line.kind, LineKind::Stdout | LineKind::Stderr | LineKind::System) {
            return base;
        }
        if !is_failure_line(&line.plain()) {
            return base;
        }
        let failure = self.styles.text.patch(self.styles.failure);
        if self.view.current_failure() == Some(line.number) {
            failure.add_modifier(Modifier::REVERSED)
        } else {
            failure
        }
    }

    fn highlight(&self, line: u64) -> Option<Highlight<'_>> {
        let style = if self.view.current_match() == Some(line) {
            self.styles.current_match
        } else {
            self.styles.search_match
        };
        self.view.matcher().map(|matcher| Highlight { matcher, style })
    }

    /// Right-aligned chips: lines trimmed above (top row, at the very top), and the search
    /// status and the way back to the tail (bottom row).
    fn draw_indicators(&self, area: Rect, buf: &mut Buffer, top: u64, last_drawn: Option<u64>) {
        let follow = self.view.following();
        if !follow && top == self.buffer.start() && self.buffer.dropped() > 0 && area.height > 1 {
            let text = format!(" ↑ {} older lines not kept ", group(self.buffer.dropped()));
            self.chip(area, area.top(), buf, &[text]);
        }
        let mut chips = Vec::new();
        if let Some(query) = self.view.query() {
            chips.push(self.search_status(query));
        }
        if !follow {
            let below = last_drawn.map_or(0, |l| self.buffer.end().saturating_sub(l + 1));
            chips.push(if below > 0 {
                format!(" ↓ {} more · {} ", group(below), self.follow_hint)
            } else {
                format!(" paused · {} ", self.follow_hint)
            });
        }
        self.chip(area, area.bottom() - 1, buf, &chips);
    }

    fn search_status(&self, query: &str) -> String {
        let shown = crate::text::truncate(query, MAX_QUERY_SHOWN);
        let count = self.view.match_count();
        match (count, self.view.current_match_index()) {
            (0, _) => format!(" /{shown}: no match "),
            (n, Some(i)) => format!(" /{shown} {}/{} ", group(i as u64 + 1), group(n as u64)),
            (1, None) => format!(" /{shown} 1 match "),
            (n, None) => format!(" /{shown} {} matches ", group(n as u64)),
        }
    }

    /// Draws the chips right-aligned on row `y`, dropping leading chips that do not fit.
    fn chip(&self, area: Rect, y: u16, buf: &mut Buffer, chips: &[String]) {
        for skip in 0..chips.len() {
            let text = chips.get(skip..).unwrap_or_default().join("│");
            let width = text.width();
            if width <= usize::from(area.width) {
                let x = area.right() - width as u16;
                buf.set_stringn(x, y, &text, width, self.styles.indicator);
                return;
            }
        }
    }
}

/// Draws bytes `start..end` of `line` on row `y`, cut at the right edge; tabs become spaces.
fn draw_row(buf: &mut Buffer, area: Rect, y: u16, line: &StyledLine<'_>, start: usize, end: usize) {
    let mut x = area.left();
    let mut run_start = 0;
    for &(run_end, style) in &line.runs {
        let (a, b) = (run_start.max(start), run_end.min(end));
        run_start = run_end;
        if a >= b {
            if run_end >= end {
                break;
            }
            continue;
        }
        let Some(segment) = line.plain.get(a..b) else {
            continue;
        };
        for piece in segment.split_inclusive('\t') {
            if x >= area.right() {
                return;
            }
            let (text, tab) = match piece.strip_suffix('\t') {
                Some(text) => (text, true),
                None => (piece, false),
            };
            x = buf.set_stringn(x, y, text, usize::from(area.right() - x), style).0;
            if tab {
                let col = usize::from(x - area.left());
                let w = char_width('\t', col, usize::from(area.width));
                for _ in 0..w {
                    if let Some(cell) = buf.cell_mut((x, y)).filter(|_| x < area.right()) {
                        cell.set_symbol(" ").set_style(style);
                        x += 1;
                    }
                }
            }
        }
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
