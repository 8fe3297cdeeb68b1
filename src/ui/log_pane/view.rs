//! [`LogView`]: the UI-local state of one log pane (follow, scroll position, wrap, search).
//!
//! The position is anchored to an absolute line number, so lines appended below or dropped
//! above do not move what is on screen. Actions that depend on the screen size use the size
//! of the last render, which rendering records in `Cell`s (the only thing it writes, besides
//! the wrap cache).

use std::cell::{Cell, RefCell};

use super::buffer::LogBuffer;
use super::failures::is_failure_line;
use super::geometry::{Geometry, Position};
use super::search::{Matcher, SearchState};
use super::wrap::WrapCache;

/// UI-local state of a log pane.
#[derive(Debug)]
pub struct LogView {
    follow: bool,
    /// Top of the viewport while not following.
    anchor: Position,
    /// The anchor is a line revealed before the pane was ever drawn: the first render puts
    /// it a third of the way down (the height was unknown), until the view moves.
    anchor_needs_context: bool,
    wrap: bool,
    search: Option<SearchState>,
    /// The failure line last jumped to (see [`Self::next_failure`]).
    failure: Option<u64>,
    /// Size of the last render (columns, rows).
    size: Cell<(u16, u16)>,
    wrap_cache: RefCell<WrapCache>,
}

impl Default for LogView {
    fn default() -> Self {
        Self::new()
    }
}

impl LogView {
    /// Following the tail, wrap off, no search.
    pub fn new() -> Self {
        Self {
            follow: true,
            anchor: Position::default(),
            anchor_needs_context: false,
            wrap: false,
            search: None,
            failure: None,
            size: Cell::new((0, 0)),
            wrap_cache: RefCell::new(WrapCache::default()),
        }
    }

    /// Whether the view sticks to the newest line.
    pub fn following(&self) -> bool {
        self.follow
    }

    /// Whether long lines wrap (else they are cut at the pane's edge).
    pub fn wrap(&self) -> bool {
        self.wrap
    }

    /// The top of the viewport as of the last render's size.
    pub fn top_position(&self, buffer: &LogBuffer) -> Position {
        self.top_in(&self.geometry(buffer))
    }

    /// Size (columns, rows) of the last render; (0, 0) before the first.
    pub fn viewport(&self) -> (u16, u16) {
        self.size.get()
    }

    /// The search query, if a search is active.
    pub fn query(&self) -> Option<&str> {
        self.search.as_ref().map(|s| s.matcher.query())
    }

    /// Absolute numbers of the retained lines that match the query, ascending.
    pub fn matches(&self) -> impl Iterator<Item = u64> + '_ {
        self.search.iter().flat_map(|s| s.matches.iter().copied())
    }

    /// Number of matching lines.
    pub fn match_count(&self) -> usize {
        self.search.as_ref().map_or(0, |s| s.matches.len())
    }

    /// The current match's absolute line number.
    pub fn current_match(&self) -> Option<u64> {
        self.search.as_ref().and_then(|s| s.current)
    }

    /// 0-based index of the current match among [`Self::matches`].
    pub fn current_match_index(&self) -> Option<usize> {
        self.search.as_ref().and_then(SearchState::current_index)
    }

    /// Call after appending to `buffer`: searches the new lines only, forgets dropped matches.
    pub fn sync(&mut self, buffer: &LogBuffer) {
        if let Some(search) = &mut self.search {
            search.sync(buffer);
        }
    }

    /// Scrolls up `n` rows; stops following.
    pub fn scroll_up(&mut self, buffer: &LogBuffer, n: usize) {
        let geo = self.geometry(buffer);
        let top = self.top_in(&geo);
        self.set_anchor(geo.up(top, n));
        self.follow = false;
    }

    /// Scrolls down `n` rows; reaching the bottom resumes following.
    pub fn scroll_down(&mut self, buffer: &LogBuffer, n: usize) {
        if self.follow {
            return;
        }
        let geo = self.geometry(buffer);
        let pos = geo.down(self.top_in(&geo), n);
        if pos >= geo.bottom() {
            self.follow = true;
        } else {
            self.set_anchor(pos);
        }
    }

    /// Scrolls up one screen (the height of the last render).
    pub fn page_up(&mut self, buffer: &LogBuffer) {
        self.scroll_up(buffer, self.page());
    }

    /// Scrolls down one screen; reaching the bottom resumes following.
    pub fn page_down(&mut self, buffer: &LogBuffer) {
        self.scroll_down(buffer, self.page());
    }

    /// Jumps to the oldest retained line; stops following.
    pub fn top(&mut self, buffer: &LogBuffer) {
        self.set_anchor(Position::line(buffer.start()));
        self.follow = false;
    }

    /// Jumps to the newest line and follows it.
    pub fn end(&mut self) {
        self.follow = true;
    }

    /// Turns wrapping on or off, keeping the top line in place.
    pub fn toggle_wrap(&mut self, buffer: &LogBuffer) {
        let top = self.top_position(buffer);
        self.wrap = !self.wrap;
        self.set_anchor(Position::line(top.line));
    }

    /// Starts a search (an empty query clears it) and shows the match nearest to the view:
    /// the first at or below the top of the screen, else the last one above.
    pub fn search(&mut self, buffer: &LogBuffer, query: &str) {
        let Some(matcher) = Matcher::new(query) else {
            self.clear_search();
            return;
        };
        let mut state = SearchState::new(matcher, buffer);
        let top = self.top_position(buffer).line;
        let i = state.matches.partition_point(|&n| n < top);
        state.current = state.matches.get(i).or(state.matches.back()).copied();
        let target = state.current;
        self.search = Some(state);
        if let Some(line) = target {
            self.reveal(buffer, line);
        }
    }

    /// Ends the search; the view stays where it is.
    pub fn clear_search(&mut self) {
        self.search = None;
    }

    /// Moves to the next match (wrapping around to the first) and scrolls to it.
    pub fn next_match(&mut self, buffer: &LogBuffer) {
        let top = self.top_position(buffer).line;
        let Some(search) = &mut self.search else {
            return;
        };
        let target = match search.current {
            Some(current) => search.after(current, false),
            None => search.after(top, true),
        };
        search.current = target;
        if let Some(line) = target {
            self.reveal(buffer, line);
        }
    }

    /// Moves to the previous match (wrapping around to the last) and scrolls to it.
    pub fn prev_match(&mut self, buffer: &LogBuffer) {
        let geo = self.geometry(buffer);
        let last_visible = geo.last_visible(self.top_in(&geo));
        let Some(search) = &mut self.search else {
            return;
        };
        let target = match search.current {
            Some(current) => search.before(current, false),
            None => search.before(last_visible, true),
        };
        search.current = target;
        if let Some(line) = target {
            self.reveal(buffer, line);
        }
    }

    /// Moves to the next line that reports a failure (see [`is_failure_line`]) after the one
    /// last jumped to, or from the top of the screen, wrapping around to the first; scrolls
    /// to it. False when the log has none.
    pub fn next_failure(&mut self, buffer: &LogBuffer) -> bool {
        let from = match self.failure {
            Some(last) => last + 1,
            None => self.top_position(buffer).line,
        };
        let found = find_failure(buffer, from, buffer.end()).or_else(|| find_failure(buffer, buffer.start(), from));
        if let Some(line) = found {
            self.failure = Some(line);
            self.reveal(buffer, line);
        }
        found.is_some()
    }

    /// Once per log: scrolls to its first failure line (a failed stage shows where it failed
    /// when it is selected). Later calls leave the view where the user put it.
    pub fn show_first_failure(&mut self, buffer: &LogBuffer) {
        if self.failure.is_some() {
            return;
        }
        if let Some(line) = find_failure(buffer, buffer.start(), buffer.end()) {
            self.failure = Some(line);
            self.reveal(buffer, line);
        }
    }

    /// The failure line last jumped to.
    pub fn current_failure(&self) -> Option<u64> {
        self.failure
    }

    /// Stops following and makes `line` visible: unchanged if it is on screen, else it is
    /// placed a third of the way down, with context above it.
    fn reveal(&mut self, buffer: &LogBuffer, line: u64) {
        let geo = self.geometry(buffer);
        let top = self.top_in(&geo);
        if geo.height == 0 {
            self.anchor = Position::line(line);
            self.anchor_needs_context = true;
        } else if !geo.is_visible(top, line) {
            self.set_anchor(geo.clamp(geo.up(Position::line(line), geo.height / 3)));
        } else {
            self.set_anchor(top);
        }
        self.follow = false;
    }

    fn set_anchor(&mut self, anchor: Position) {
        self.anchor = anchor;
        self.anchor_needs_context = false;
    }

    fn page(&self) -> usize {
        usize::from(self.size.get().1).max(1)
    }

    /// Row arithmetic for the last rendered size.
    fn geometry<'a>(&'a self, buffer: &'a LogBuffer) -> Geometry<'a> {
        let (width, height) = self.size.get();
        self.geometry_for(buffer, width, height)
    }

    pub(crate) fn geometry_for<'a>(&'a self, buffer: &'a LogBuffer, width: u16, height: u16) -> Geometry<'a> {
        let wrap_width = if self.wrap { usize::from(width) } else { 0 };
        Geometry::new(buffer, &self.wrap_cache, wrap_width, usize::from(height))
    }

    /// The top of the viewport: the bottom when following, else the (clamped) anchor.
    pub(crate) fn top_in(&self, geo: &Geometry<'_>) -> Position {
        if self.follow {
            geo.bottom()
        } else if self.anchor_needs_context {
            geo.clamp(geo.up(self.anchor, geo.height / 3))
        } else {
            geo.clamp(self.anchor)
        }
    }

    /// Records the rendered size (rendering is otherwise read-only).
    pub(crate) fn set_viewport(&self, width: u16, height: u16) {
        self.size.set((width, height));
    }

    pub(crate) fn matcher(&self) -> Option<&Matcher> {
        self.search.as_ref().map(|s| &s.matcher)
    }
}

#[cfg(test)]
impl LogView {
    /// How many row counts the wrap cache holds.
    pub(crate) fn cached_rows(&self) -> usize {
        self.wrap_cache.borrow().cached()
    }
}

/// The first line in `from..to` that reports a failure.
fn find_failure(buffer: &LogBuffer, from: u64, to: u64) -> Option<u64> {
    buffer
        .lines(from, to)
        .find(|line| is_failure_line(&line.plain()))
        .map(|line| line.number)
}
