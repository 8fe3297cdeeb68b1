//! Soft wrapping by display width: where a line's rows start, how many rows it takes, and a
//! small per-width cache of row counts for the lines near the viewport.

use unicode_width::UnicodeWidthChar;

use super::buffer::LogLine;

/// Tab stops, relative to the start of the row (as a terminal would place them).
pub(crate) const TAB_WIDTH: usize = 8;

/// Display width of `c` at column `col` of a row `width` columns wide (tabs expand).
pub(crate) fn char_width(c: char, col: usize, width: usize) -> usize {
    if c == '\t' {
        (TAB_WIDTH - col % TAB_WIDTH).min(width.saturating_sub(col).max(1))
    } else if c.is_control() {
        0
    } else {
        c.width().unwrap_or(0)
    }
}

/// Byte offsets where each row of `plain` starts when wrapped at `width` columns (always at
/// least one row, starting at 0). A wide char that does not fit moves to the next row.
pub(crate) fn row_starts(plain: &str, width: usize) -> Vec<usize> {
    let mut starts = vec![0];
    let width = width.max(1);
    let mut col = 0;
    for (i, c) in plain.char_indices() {
        let mut w = char_width(c, col, width);
        if w > 0 && col + w > width && col > 0 {
            starts.push(i);
            col = 0;
            w = char_width(c, col, width);
        }
        col += w;
    }
    starts
}

/// Rows `plain` takes at `width` columns. `simple` means printable ASCII only (width == len).
pub(crate) fn row_count(plain: &str, simple: bool, width: usize) -> usize {
    let width = width.max(1);
    if simple {
        return plain.len().div_ceil(width).max(1);
    }
    let mut rows = 1;
    let mut col = 0;
    for c in plain.chars() {
        let mut w = char_width(c, col, width);
        if w > 0 && col + w > width && col > 0 {
            rows += 1;
            col = 0;
            w = char_width(c, col, width);
        }
        col += w;
    }
    rows
}

/// Rows `line` takes at `width` columns.
pub(crate) fn line_rows(line: &LogLine<'_>, width: usize) -> usize {
    if line.is_simple() && !line.has_escapes() {
        return line.text.len().div_ceil(width.max(1)).max(1);
    }
    row_count(&line.plain(), line.is_simple(), width)
}

const SLOTS: usize = 4096;
const EMPTY: u64 = u64::MAX;

/// Row counts of recently laid-out lines for one width, direct-mapped by line number.
///
/// Lines never change once appended, so an entry stays valid until the width changes; the
/// cache only ever holds lines near where the view has been, whatever the buffer length.
#[derive(Debug, Default)]
pub(crate) struct WrapCache {
    width: usize,
    slots: Vec<(u64, u32)>,
}

impl WrapCache {
    /// Rows of `line` at `width`, computed on a miss.
    pub(crate) fn rows(&mut self, line: &LogLine<'_>, width: usize) -> usize {
        if width != self.width || self.slots.is_empty() {
            self.width = width;
            self.slots.clear();
            self.slots.resize(SLOTS, (EMPTY, 0));
        }
        let slot = (line.number % SLOTS as u64) as usize;
        if let Some(&(number, rows)) = self.slots.get(slot) {
            if number == line.number {
                return rows as usize;
            }
        }
        let rows = line_rows(line, width);
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = (line.number, u32::try_from(rows).unwrap_or(u32::MAX));
        }
        rows
    }

    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.slots.iter().filter(|(n, _)| *n != EMPTY).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::log_pane::{LineKind, LogBuffer};

    fn rows_of(s: &str, width: usize) -> Vec<&str> {
        let starts = row_starts(s, width);
        let mut out = Vec::new();
        for (i, &a) in starts.iter().enumerate() {
            let b = starts.get(i + 1).copied().unwrap_or(s.len());
            out.push(&s[a..b]);
        }
        out
    }

    #[test]
    fn ascii_wraps_at_width() {
        assert_eq!(rows_of("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(rows_of("", 4), [""]);
        assert_eq!(row_count("abcdefgh", true, 4), 2);
        assert_eq!(row_count("", true, 4), 1);
    }

    #[test]
    fn wide_chars_never_split_across_rows() {
        // Each CJK char is 2 columns: at width 5, two fit per row and the 5th column stays blank.
        assert_eq!(rows_of("日本語テキスト", 5), ["日本", "語テ", "キス", "ト"]);
        assert_eq!(row_count("日本語テキスト", false, 5), 4);
        assert_eq!(rows_of("a日本", 2), ["a", "日", "本"]);
        // A wide char in a 1-column pane still takes a row of its own (and no infinite loop).
        assert_eq!(rows_of("日本", 1), ["日", "本"]);
    }

    #[test]
    fn combining_marks_stay_with_their_base() {
        assert_eq!(rows_of("e\u{301}e\u{301}e\u{301}", 2), ["e\u{301}e\u{301}", "e\u{301}"]);
    }

    #[test]
    fn tabs_expand_to_stops() {
        assert_eq!(row_count("\tx", false, 80), 1);
        assert_eq!(rows_of("ab\tcd", 8), ["ab\t", "cd"]);
        assert_eq!(row_count("ab\tcd", false, 8), 2);
    }

    #[test]
    fn counts_agree_with_row_starts() {
        for s in ["héllo wörld", "日本語 and ascii 混合", "\x07bell\ttab", "a\u{200b}b"] {
            for width in 1..12 {
                assert_eq!(row_count(s, false, width), row_starts(s, width).len(), "{s} @ {width}");
            }
        }
    }

    #[test]
    fn cache_is_keyed_by_width() {
        let mut buf = LogBuffer::new();
        buf.push_lines(
            LineKind::Stdout,
            ["x".repeat(100), "\x1b[1m".to_owned() + &"y".repeat(10)],
        );
        let mut cache = WrapCache::default();
        let (l0, l1) = (buf.line(0), buf.line(1));
        let (Some(l0), Some(l1)) = (l0, l1) else {
            panic!("lines missing");
        };
        assert_eq!(cache.rows(&l0, 10), 10);
        assert_eq!(cache.rows(&l1, 10), 1);
        assert_eq!(cache.cached(), 2);
        assert_eq!(cache.rows(&l0, 30), 4);
        assert_eq!(cache.cached(), 1);
    }
}
