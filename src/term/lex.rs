//! A small, allocation-free lexer for one line of untrusted terminal output.
//!
//! It follows the shape of the DEC/ECMA-48 parser (ESC, CSI, OSC, DCS/SOS/PM/APC strings and
//! their 8-bit C1 forms), but never executes anything: it only reports visible text, SGR
//! sequences, TAB and CR. Everything else is swallowed. A sequence consumes only bytes that
//! belong to its own syntax: on an unexpected byte it is abandoned and that byte is lexed
//! afresh (so e.g. an ESC inside a broken CSI or OSC starts a new sequence, it is not eaten).

use super::scan::{is_c1_at, next_control};

/// What the lexer reports. Text never contains a control character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A run of printable characters.
    Text(&'a str),
    /// The parameters of an SGR sequence (`ESC [ params m`), only `[0-9;:]`.
    Sgr(&'a str),
    /// A horizontal tab.
    Tab,
    /// A bare carriage return.
    Cr,
    /// A backspace: the cursor moves one column left, so the next character overwrites.
    Backspace,
}

const ESC: u8 = 0x1B;
const BEL: u8 = 0x07;
const CAN: u8 = 0x18;
const SUB: u8 = 0x1A;

/// Lexes `line`, calling `emit` for every token in order.
#[inline]
pub(crate) fn lex<'a>(line: &'a str, mut emit: impl FnMut(Token<'a>)) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let j = next_control(bytes, i);
        if j > i {
            if let Some(text) = line.get(i..j) {
                emit(Token::Text(text));
            }
        }
        if j >= bytes.len() {
            break;
        }
        i = control(line, j, &mut emit);
    }
}

/// Handles the control character at `at`; returns the index after everything it consumed.
fn control<'a>(line: &'a str, at: usize, emit: &mut impl FnMut(Token<'a>)) -> usize {
    let bytes = line.as_bytes();
    match bytes[at] {
        b'\t' => {
            emit(Token::Tab);
            at + 1
        }
        b'\r' => {
            emit(Token::Cr);
            at + 1
        }
        0x08 => {
            emit(Token::Backspace);
            at + 1
        }
        ESC => escape(line, at + 1, emit),
        0xC2 if is_c1_at(bytes, at) => match bytes[at + 1] {
            0x9B => csi(line, at + 2, emit),
            0x9D => string(bytes, at + 2, true),
            0x90 | 0x98 | 0x9E | 0x9F => string(bytes, at + 2, false),
            // Every other C1 control (including a stray ST U+009C) is dropped.
            _ => at + 2,
        },
        // Any other C0 control and DEL: dropped.
        _ => at + 1,
    }
}

/// After an ESC at `at - 1`.
fn escape<'a>(line: &'a str, at: usize, emit: &mut impl FnMut(Token<'a>)) -> usize {
    let bytes = line.as_bytes();
    match bytes.get(at) {
        None => at,
        Some(b'[') => csi(line, at + 1, emit),
        Some(b']') => string(bytes, at + 1, true),
        Some(b'P' | b'X' | b'^' | b'_') => string(bytes, at + 1, false),
        Some(0x20..=0x2F) => {
            // ESC intermediates… final, e.g. `ESC ( B`, `ESC # 8`.
            let mut k = at;
            while k < bytes.len() && (0x20..=0x2F).contains(&bytes[k]) {
                k += 1;
            }
            match bytes.get(k) {
                None => bytes.len(),
                Some(0x30..=0x7E) => k + 1,
                Some(_) => k,
            }
        }
        // Two-byte escapes: `ESC 7`, `ESC 8`, `ESC c`, `ESC =`, `ESC \`, …
        Some(0x30..=0x7E) => at + 1,
        // ESC followed by a control, DEL or non-ASCII: drop the ESC, lex the rest afresh.
        Some(_) => at,
    }
}

/// After a CSI introducer. Parameter bytes 0x30–0x3F and intermediate bytes 0x20–0x2F, then a
/// final byte 0x40–0x7E. Only `[0-9;:]* m` is reported (as SGR); the rest is dropped.
fn csi<'a>(line: &'a str, at: usize, emit: &mut impl FnMut(Token<'a>)) -> usize {
    let bytes = line.as_bytes();
    let mut k = at;
    while k < bytes.len() && (0x20..=0x3F).contains(&bytes[k]) {
        k += 1;
    }
    match bytes.get(k) {
        // Unterminated at end of line: dropped entirely.
        None => bytes.len(),
        Some(&fin @ 0x40..=0x7E) => {
            if fin == b'm' {
                if let Some(params) = line.get(at..k) {
                    if params.bytes().all(|b| b.is_ascii_digit() || b == b';' || b == b':') {
                        emit(Token::Sgr(params));
                    }
                }
            }
            k + 1
        }
        // Malformed: abandon the sequence, lex this byte afresh.
        Some(_) => k,
    }
}

/// After the introducer of a control string (OSC when `osc`, else DCS/SOS/PM/APC).
/// Ends at ST (`ESC \` or U+009C), BEL for OSC, or CAN/SUB (cancel). Any other ESC or C1
/// control abandons the string and is lexed afresh. Unterminated: dropped to end of line.
fn string(bytes: &[u8], at: usize, osc: bool) -> usize {
    let mut k = at;
    while k < bytes.len() {
        match bytes[k] {
            BEL if osc => return k + 1,
            CAN | SUB => return k + 1,
            ESC => {
                return if bytes.get(k + 1) == Some(&b'\\') { k + 2 } else { k };
            }
            0xC2 if is_c1_at(bytes, k) => {
                return if bytes[k + 1] == 0x9C { k + 2 } else { k };
            }
            _ => k += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &str) -> Vec<Token<'_>> {
        let mut v = Vec::new();
        lex(line, |t| v.push(t));
        v
    }

    #[test]
    fn lexes_text_sgr_tab_cr() {
        use Token::*;
        assert_eq!(
            tokens("a\x1b[1;31mb\tc\rd\u{9b}0me"),
            vec![
                Text("a"),
                Sgr("1;31"),
                Text("b"),
                Tab,
                Text("c"),
                Cr,
                Text("d"),
                Sgr("0"),
                Text("e")
            ]
        );
    }

    #[test]
    fn broken_sequences_do_not_eat_following_ones() {
        use Token::*;
        // CSI broken by ESC, OSC broken by ESC, DCS broken by a C1 CSI.
        assert_eq!(tokens("\x1b[12\x1b[32mx"), vec![Sgr("32"), Text("x")]);
        assert_eq!(tokens("\x1b]0;t\x1b[33mx"), vec![Sgr("33"), Text("x")]);
        assert_eq!(tokens("\x1bPq\u{9b}34mx"), vec![Sgr("34"), Text("x")]);
        // A CSI broken by a printable non-ASCII char keeps that char.
        assert_eq!(tokens("\x1b[1é"), vec![Text("é")]);
    }
}
