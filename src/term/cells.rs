//! Final-state emulation of one line that contains bare carriage returns (progress redraws):
//! a row of cells that later text overwrites, by display columns.

use super::lex::{lex, Token};
use super::sgr::Pen;
use unicode_width::UnicodeWidthChar;

/// One display cell. Its text (a character plus any zero-width characters attached to it)
/// is `buf[start..end]`. `width` is 1 or 2, or 0 for the right half of a wide character
/// (which always directly follows a cell of width 2).
#[derive(Clone, Copy)]
struct Cell {
    start: usize,
    end: usize,
    width: u8,
    pen: usize,
}

/// At most this many bytes of text per cell (a character and its combining marks); further
/// zero-width characters are dropped, as terminals do. Bounds the copying in `attach`.
const MAX_CELL_BYTES: usize = 32;

/// `buf[0..1]` is a space, used for cells blanked when half of a wide character is overwritten.
const BLANK: (usize, usize) = (0, 1);

struct Row {
    buf: String,
    cells: Vec<Cell>,
    /// Distinct pens in order of first use by a cell; cells refer to them by index.
    pens: Vec<Pen>,
    pen: Pen,
    x: usize,
}

/// Renders `line` as the final visible state of a terminal row, with CR moving to column 0
/// and a backspace one column left.
pub(crate) fn render(line: &str) -> String {
    let mut row = Row {
        buf: String::with_capacity(line.len() + 1),
        cells: Vec::new(),
        pens: vec![Pen::default()],
        pen: Pen::default(),
        x: 0,
    };
    row.buf.push(' ');
    lex(line, |token| match token {
        Token::Text(text) => text.chars().for_each(|c| row.put(c)),
        Token::Sgr(params) => row.pen.apply(params),
        Token::Tab => row.tab(),
        Token::Cr => row.x = 0,
        Token::Backspace => row.x = row.x.saturating_sub(1),
    });
    row.finish()
}

impl Row {
    fn pen_id(&mut self) -> usize {
        if self.pens.last() != Some(&self.pen) {
            self.pens.push(self.pen);
        }
        self.pens.len() - 1
    }

    fn put(&mut self, c: char) {
        match c.width().unwrap_or(0) {
            0 => self.attach(c),
            w => {
                let w = if w >= 2 { 2 } else { 1 };
                let pen = self.pen_id();
                let start = self.buf.len();
                self.buf.push(c);
                let end = self.buf.len();
                self.set(
                    self.x,
                    Cell {
                        start,
                        end,
                        width: w,
                        pen,
                    },
                );
                if w == 2 {
                    let half = Cell {
                        start: end,
                        end,
                        width: 0,
                        pen,
                    };
                    self.set(self.x + 1, half);
                }
                self.x += usize::from(w);
            }
        }
    }

    /// A zero-width character joins the cell left of the cursor (dropped at column 0).
    fn attach(&mut self, c: char) {
        let Some(mut k) = self.x.checked_sub(1) else {
            return;
        };
        if k > 0 && self.cells.get(k).is_some_and(|cell| cell.width == 0) {
            k -= 1;
        }
        let Some(cell) = self.cells.get_mut(k) else {
            return;
        };
        if cell.end - cell.start + c.len_utf8() > MAX_CELL_BYTES {
            return;
        }
        if cell.end != self.buf.len() {
            // Move the cell's text to the end of the buffer so it can grow in place.
            let new_start = self.buf.len();
            self.buf.extend_from_within(cell.start..cell.end);
            cell.start = new_start;
        }
        self.buf.push(c);
        cell.end = self.buf.len();
    }

    /// Stores `cell` at column `i`, first blanking the other half of any wide character
    /// that the write cuts in two. The cursor never goes past the end, so `i <= len`.
    fn set(&mut self, i: usize, cell: Cell) {
        if let Some(old) = self.cells.get(i).copied() {
            let partner = match old.width {
                0 => i.checked_sub(1),
                2 => Some(i + 1),
                _ => None,
            };
            if let Some(p) = partner {
                if let Some(other) = self.cells.get_mut(p) {
                    (other.start, other.end, other.width) = (BLANK.0, BLANK.1, 1);
                }
            }
            self.cells[i] = cell;
        } else {
            self.cells.push(cell);
        }
    }

    /// Moves to the next multiple of 8; past the end of the row the gap becomes spaces.
    fn tab(&mut self) {
        let next = (self.x / 8 + 1) * 8;
        while self.x < next {
            if self.x >= self.cells.len() {
                let pen = self.pen_id();
                self.cells.push(Cell {
                    start: BLANK.0,
                    end: BLANK.1,
                    width: 1,
                    pen,
                });
            }
            self.x += 1;
        }
    }

    fn finish(self) -> String {
        let mut out = String::with_capacity(self.buf.len() + 16);
        let mut shown = Pen::default();
        for cell in self.cells.iter().filter(|c| c.width > 0) {
            let pen = self.pens.get(cell.pen).copied().unwrap_or_default();
            if pen != shown {
                pen.write_transition(&shown, &mut out);
                shown = pen;
            }
            if let Some(text) = self.buf.get(cell.start..cell.end) {
                out.push_str(text);
            }
        }
        // Leave the terminal state as the line left it, like the raw line would.
        if self.pen != shown {
            self.pen.write_transition(&shown, &mut out);
        }
        out
    }
}
