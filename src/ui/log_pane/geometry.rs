//! Row arithmetic over a buffer for one viewport: moving a position by screen rows, the
//! bottom-most position, visibility. Every walk touches at most the rows it moves over (plus
//! one screen), never the whole buffer; without wrap it is plain arithmetic.

use std::cell::RefCell;

use super::buffer::LogBuffer;
use super::wrap::{line_rows, WrapCache};

/// A point in the log: an absolute line and a row inside it (always 0 without wrap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Absolute line number.
    pub line: u64,
    /// Wrapped row within the line.
    pub row: usize,
}

impl Position {
    /// Row 0 of `line`.
    pub fn line(line: u64) -> Self {
        Self { line, row: 0 }
    }
}

/// A buffer seen through a viewport of `height` rows; `width` is the wrap width, 0 = no wrap.
pub(crate) struct Geometry<'a> {
    pub(crate) buffer: &'a LogBuffer,
    pub(crate) width: usize,
    pub(crate) height: usize,
    cache: &'a RefCell<WrapCache>,
}

impl<'a> Geometry<'a> {
    pub(crate) fn new(buffer: &'a LogBuffer, cache: &'a RefCell<WrapCache>, width: usize, height: usize) -> Self {
        Self {
            buffer,
            width,
            height,
            cache,
        }
    }

    fn wraps(&self) -> bool {
        self.width > 0
    }

    /// Rows taken by `line` (1 without wrap, or for a line that is not retained).
    pub(crate) fn rows(&self, line: u64) -> usize {
        if !self.wraps() {
            return 1;
        }
        let Some(l) = self.buffer.line(line) else {
            return 1;
        };
        match self.cache.try_borrow_mut() {
            Ok(mut cache) => cache.rows(&l, self.width),
            Err(_) => line_rows(&l, self.width),
        }
    }

    /// The first position of the buffer.
    pub(crate) fn first(&self) -> Position {
        Position::line(self.buffer.start())
    }

    /// The last row of the last line (or the first position when empty).
    pub(crate) fn last(&self) -> Position {
        match self.buffer.end().checked_sub(1) {
            Some(line) if !self.buffer.is_empty() => Position {
                line,
                row: self.rows(line) - 1,
            },
            _ => self.first(),
        }
    }

    /// `pos` moved up by `n` rows, stopping at the first position.
    pub(crate) fn up(&self, pos: Position, n: usize) -> Position {
        let start = self.buffer.start();
        if pos.line < start || self.buffer.is_empty() {
            return self.first();
        }
        if !self.wraps() {
            return Position::line(pos.line.saturating_sub(n as u64).max(start));
        }
        let (mut pos, mut n) = (pos, n);
        loop {
            if pos.row >= n {
                pos.row -= n;
                return pos;
            }
            n -= pos.row + 1;
            if pos.line <= start {
                return Position::line(start);
            }
            pos.line -= 1;
            pos.row = self.rows(pos.line) - 1;
        }
    }

    /// `pos` moved down by `n` rows, stopping at the last row.
    pub(crate) fn down(&self, pos: Position, n: usize) -> Position {
        let end = self.buffer.end();
        if self.buffer.is_empty() {
            return self.first();
        }
        if pos.line < self.buffer.start() {
            return self.down(self.first(), n);
        }
        if !self.wraps() {
            return Position::line(pos.line.saturating_add(n as u64).min(end - 1));
        }
        let (mut pos, mut n) = (pos, n);
        loop {
            let rows = self.rows(pos.line);
            if pos.row + n < rows {
                pos.row += n;
                return pos;
            }
            n -= rows.saturating_sub(pos.row);
            if pos.line + 1 >= end {
                pos.row = rows - 1;
                return pos;
            }
            pos.line += 1;
            pos.row = 0;
        }
    }

    /// The top position that shows the last row on the bottom row (the "following" view).
    pub(crate) fn bottom(&self) -> Position {
        self.up(self.last(), self.height.max(1) - 1)
    }

    /// `pos` made valid: inside the retained lines and no lower than [`Self::bottom`].
    pub(crate) fn clamp(&self, pos: Position) -> Position {
        if self.buffer.is_empty() || pos.line < self.buffer.start() {
            return self.first();
        }
        let bottom = self.bottom();
        if pos.line >= self.buffer.end() {
            return bottom;
        }
        let row = if self.wraps() {
            pos.row.min(self.rows(pos.line) - 1)
        } else {
            0
        };
        Position { row, ..pos }.min(bottom)
    }

    /// Whether row 0 of `line` is on screen when the view's top is `top`.
    pub(crate) fn is_visible(&self, top: Position, line: u64) -> bool {
        if line < top.line || (line == top.line && top.row > 0) {
            return false;
        }
        let mut rows = 0;
        let mut n = top.line;
        while n < line {
            rows += self.rows(n) - if n == top.line { top.row } else { 0 };
            if rows >= self.height {
                return false;
            }
            n += 1;
        }
        rows < self.height
    }

    /// The last line with at least one row on screen when the view's top is `top`.
    pub(crate) fn last_visible(&self, top: Position) -> u64 {
        self.down(top, self.height.max(1) - 1).line
    }
}
