//! The log pane: a stage's live log, as a bounded in-memory tail ([`LogBuffer`]), the pane's
//! UI-local state ([`LogView`]: follow, scroll, wrap, search) and its drawing
//! ([`LogPaneWidget`] / [`render`]).
//!
//! ```text
//! Event::StageOutput { lines, .. } ─► LogPane::push_lines ─► LogBuffer (tail) + LogView::sync
//! Action::ScrollUp | Search(..) …   ─► LogView::scroll_up / search …   (state only)
//! draw                              ─► render(&LogBuffer, &LogView, &LogStyles, area, buf)
//! ```
//!
//! Lines are numbered from the first line ever appended, and those numbers never change:
//! the scroll position and the search matches refer to them, so they stay put when new lines
//! arrive below or old lines are dropped above. Rendering reads only the lines on screen.

mod buffer;
mod failures;
mod geometry;
mod search;
mod styled;
mod view;
mod widget;
mod wrap;

#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod view_tests;

use ratatui::style::{Color, Modifier, Style};

pub use buffer::{LineKind, LogBuffer, LogLine, CUT_MARKER, DEFAULT_TAIL_LINES, MAX_LINE_BYTES};
pub use failures::is_failure_line;
pub use geometry::Position;
pub use search::Matcher;
pub use view::LogView;
pub use widget::{render, LogPaneWidget, DEFAULT_FOLLOW_HINT};

/// What the pane draws with; the theme maps meanings to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStyles {
    /// Stdout lines, and the pane's background.
    pub text: Style,
    /// System lines (written by shipdeck itself).
    pub muted: Style,
    /// Stderr lines.
    pub stderr: Style,
    /// Lines reporting success ([`LineKind::Success`]).
    pub success: Style,
    /// Lines reporting a failure ([`LineKind::Failure`]).
    pub failure: Style,
    /// Lines that must not be missed ([`LineKind::Alert`]).
    pub alert: Style,
    /// Every occurrence of the search query.
    pub search_match: Style,
    /// Occurrences on the current match's line.
    pub current_match: Style,
    /// The scroll / search indicator chips.
    pub indicator: Style,
}

impl Default for LogStyles {
    fn default() -> Self {
        Self {
            text: Style::new(),
            muted: Style::new().fg(Color::DarkGray),
            stderr: Style::new().fg(Color::LightRed),
            success: Style::new().fg(Color::Green),
            failure: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            alert: Style::new()
                .fg(Color::Black)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            search_match: Style::new().fg(Color::Black).bg(Color::Yellow),
            current_match: Style::new()
                .fg(Color::Black)
                .bg(Color::LightMagenta)
                .add_modifier(Modifier::BOLD),
            indicator: Style::new().add_modifier(Modifier::REVERSED),
        }
    }
}

/// One stage's pane: its buffer and view together, with the actions as methods.
#[derive(Debug, Default)]
pub struct LogPane {
    /// The retained lines.
    pub buffer: LogBuffer,
    /// Follow, scroll, wrap and search state.
    pub view: LogView,
}

impl LogPane {
    /// An empty pane keeping the last `capacity` lines.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buffer: LogBuffer::with_capacity(capacity),
            view: LogView::new(),
        }
    }

    /// Appends a batch of lines and searches them if a search is active.
    pub fn push_lines<S: AsRef<str>>(&mut self, kind: LineKind, lines: impl IntoIterator<Item = S>) {
        self.buffer.push_lines(kind, lines);
        self.view.sync(&self.buffer);
    }

    /// Drops the retained lines (numbering continues) and the search's matches.
    pub fn clear(&mut self) {
        self.buffer.clear();
        self.view.sync(&self.buffer);
    }

    /// See [`LogView::scroll_up`].
    pub fn scroll_up(&mut self, n: usize) {
        self.view.scroll_up(&self.buffer, n);
    }

    /// See [`LogView::scroll_down`].
    pub fn scroll_down(&mut self, n: usize) {
        self.view.scroll_down(&self.buffer, n);
    }

    /// See [`LogView::page_up`].
    pub fn page_up(&mut self) {
        self.view.page_up(&self.buffer);
    }

    /// See [`LogView::page_down`].
    pub fn page_down(&mut self) {
        self.view.page_down(&self.buffer);
    }

    /// See [`LogView::top`].
    pub fn top(&mut self) {
        self.view.top(&self.buffer);
    }

    /// See [`LogView::end`].
    pub fn end(&mut self) {
        self.view.end();
    }

    /// See [`LogView::toggle_wrap`].
    pub fn toggle_wrap(&mut self) {
        self.view.toggle_wrap(&self.buffer);
    }

    /// See [`LogView::search`].
    pub fn search(&mut self, query: &str) {
        self.view.search(&self.buffer, query);
    }

    /// See [`LogView::next_match`].
    pub fn next_match(&mut self) {
        self.view.next_match(&self.buffer);
    }

    /// See [`LogView::prev_match`].
    pub fn prev_match(&mut self) {
        self.view.prev_match(&self.buffer);
    }

    /// See [`LogView::clear_search`].
    pub fn clear_search(&mut self) {
        self.view.clear_search();
    }

    /// The widget drawing this pane for one frame.
    pub fn widget<'a>(&'a self, styles: &'a LogStyles) -> LogPaneWidget<'a> {
        LogPaneWidget::new(&self.buffer, &self.view, styles)
    }
}
