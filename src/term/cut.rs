//! Very long lines, cut for memory: a view keeps at most [`MAX_LINE_BYTES`] of a line, then a
//! dim marker saying how many bytes were cut. The log file always keeps the whole line.

/// The head of a long line kept in memory (at a character boundary, never inside an escape).
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// How a cut line's marker starts (dim, after a reset of the line's colours):
/// ` [+N bytes cut: the log file has the whole line]`.
pub const CUT_MARKER: &str = "\x1b[0;2m [+";

const CUT_END: &str = " bytes cut: the log file has the whole line]\x1b[0m";

/// Longest marker: the number has at most 20 digits.
const MARKER_MAX: usize = CUT_MARKER.len() + 20 + CUT_END.len();

/// The head of `line` to keep when it is too long; `None` when it fits or is already cut
/// (so that cutting twice — in the engine, then in a view — changes nothing).
pub fn head(line: &str) -> Option<&str> {
    if line.len() <= MAX_LINE_BYTES || (line.len() <= MAX_LINE_BYTES + MARKER_MAX && line.ends_with(CUT_END)) {
        return None;
    }
    let mut cut = MAX_LINE_BYTES;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &line[..cut];
    // An escape cut in half would leak its parameters as text: end before it instead.
    Some(match head.rfind('\x1b') {
        Some(esc) if !head[esc..].contains(|c: char| ('@'..='~').contains(&c) && c != '[') => &head[..esc],
        _ => head,
    })
}

/// Writes `line`, cut with its marker when too long, into `out` (cleared first); false, and
/// `out` untouched, when it needs no cut.
pub fn cut_into(line: &str, out: &mut String) -> bool {
    let Some(head) = head(line) else {
        return false;
    };
    out.clear();
    out.push_str(head);
    out.push_str(CUT_MARKER);
    out.push_str(&(line.len() - head.len()).to_string());
    out.push_str(CUT_END);
    true
}

/// `line`, cut with its marker when too long.
pub fn cut(line: String) -> String {
    let mut out = String::new();
    if cut_into(&line, &mut out) {
        out
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_pass_and_long_ones_end_with_the_marker() {
        assert_eq!(cut("short".into()), "short");
        let long = "a".repeat(MAX_LINE_BYTES + 1000);
        let once = cut(long.clone());
        assert_eq!(once.len(), MAX_LINE_BYTES + CUT_MARKER.len() + 4 + CUT_END.len());
        assert!(once.ends_with("\x1b[0;2m [+1000 bytes cut: the log file has the whole line]\x1b[0m"));
        // Cut again (by a view after the engine): unchanged.
        assert_eq!(cut(once.clone()), once);
    }
}
