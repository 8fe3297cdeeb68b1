//! The text a terminal would show of a line, with where each byte of it came from: what the
//! secret masker searches, so that an escape sequence inside a secret does not hide it.

use super::lex::{lex, Token};

/// Visible text of a line and, per byte of it, the index of that byte in the line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VisibleText {
    pub text: String,
    pub raw: Vec<usize>,
}

/// The printable characters of `line` in order, without escape sequences and controls. A TAB
/// or CR becomes a NUL (nothing to match across: a secret never holds one).
pub fn visible_text(line: &str) -> VisibleText {
    let mut out = VisibleText {
        text: String::with_capacity(line.len()),
        raw: Vec::with_capacity(line.len()),
    };
    let base = line.as_ptr() as usize;
    lex(line, |token| match token {
        Token::Text(text) => {
            let at = text.as_ptr() as usize - base;
            out.text.push_str(text);
            out.raw.extend(at..at + text.len());
        }
        Token::Tab | Token::Cr => {
            // Where the control was is not known here; the byte before the next text is a
            // safe stand-in, because NUL never belongs to a match.
            out.text.push('\0');
            out.raw.push(out.raw.last().map_or(0, |l| l + 1));
        }
        Token::Sgr(_) => {}
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_visible_bytes_to_their_place() {
        let v = visible_text("a\x1b[31mbc\x1b]2;title\x07d");
        assert_eq!(v.text, "abcd");
        assert_eq!(v.raw, vec![0, 6, 7, 18]);
    }
}
