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
/// or CR becomes a NUL (nothing to match across: a secret never holds one). Characters a
/// terminal draws as nothing (zero-width spaces and joiners, soft hyphens, bidi controls) are
/// left out, and a backspace takes back the character before it, since the next one is drawn
/// in its place: `tok-S\u{200b}ECRET` and `tok-SX\x08ECRET` both read `tok-SECRET`.
pub fn visible_text(line: &str) -> VisibleText {
    let mut out = VisibleText {
        text: String::with_capacity(line.len()),
        raw: Vec::with_capacity(line.len()),
    };
    let base = line.as_ptr() as usize;
    lex(line, |token| match token {
        Token::Text(text) => {
            let at = text.as_ptr() as usize - base;
            if !text.chars().any(is_invisible) {
                out.text.push_str(text);
                out.raw.extend(at..at + text.len());
                return;
            }
            for (i, c) in text.char_indices().filter(|(_, c)| !is_invisible(*c)) {
                out.text.push(c);
                out.raw.extend(at + i..at + i + c.len_utf8());
            }
        }
        Token::Backspace => {
            if let Some(c) = out.text.pop() {
                out.raw.truncate(out.raw.len() - c.len_utf8());
            }
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

/// Whether `text` holds a character a terminal draws as nothing (never in ASCII text).
pub(crate) fn has_invisible(text: &str) -> bool {
    !text.is_ascii() && text.chars().any(is_invisible)
}

/// Format characters that take no cell and draw nothing.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
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

    #[test]
    fn invisible_characters_and_overwritten_ones_are_not_seen() {
        for line in [
            "tok-S\u{200b}ECRET",
            "tok-S\u{2060}ECRET",
            "tok-S\u{ad}ECRET",
            "tok-SX\x08ECRET",
            "tok-\u{202e}SECRET",
        ] {
            let v = visible_text(line);
            assert_eq!(v.text, "tok-SECRET", "{line:?}");
            assert_eq!(v.raw.len(), v.text.len());
            assert!(v.raw.iter().all(|i| *i < line.len()));
        }
    }
}
