//! Byte-level scanning for the bytes that need attention: C0 controls, DEL and the
//! UTF-8 lead byte 0xC2 (which starts every C1 control U+0080–U+009F).
//!
//! The input is always valid UTF-8 (`&str`), so scanning bytes is sound: every byte of a
//! multi-byte sequence is >= 0x80, and 0xC2 is only ever a lead byte.

/// Whether `b` is a byte the lexer must look at (it may still turn out to be plain text,
/// e.g. 0xC2 followed by 0xA0..=0xBF is a printable Latin-1 character).
#[inline(always)]
fn is_candidate(b: u8) -> bool {
    b < 0x20 || b == 0x7F || b == 0xC2
}

/// Whether the UTF-8 sequence at `i` (known to start with 0xC2) encodes a C1 control.
#[inline]
pub(crate) fn is_c1_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i) == Some(&0xC2) && matches!(bytes.get(i + 1), Some(0x80..=0x9F))
}

/// Index of the first byte at or after `from` that starts a control character
/// (C0, DEL or C1), or `bytes.len()` when there is none.
#[inline]
pub(crate) fn next_control(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    loop {
        let c = next_candidate(bytes, i);
        if c >= bytes.len() || bytes[c] != 0xC2 || is_c1_at(bytes, c) {
            return c;
        }
        i = c + 1;
    }
}

/// Index of the first candidate byte at or after `from`, or `bytes.len()`.
#[inline]
fn next_candidate(bytes: &[u8], from: usize) -> usize {
    const CHUNK: usize = 16;
    let mut i = from;
    // Branch-free test of 16 bytes at a time: LLVM turns this into a few SIMD ops.
    while i + CHUNK <= bytes.len() {
        let chunk = &bytes[i..i + CHUNK];
        let mut hit = false;
        for &b in chunk {
            hit |= is_candidate(b);
        }
        if hit {
            break;
        }
        i += CHUNK;
    }
    while i < bytes.len() {
        if is_candidate(bytes[i]) {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// Whether `line` contains any control character (C0 incl. TAB/CR/ESC, DEL, C1).
/// Lines without one are already safe and are their own sanitized form.
#[inline]
pub(crate) fn has_control(line: &str) -> bool {
    let bytes = line.as_bytes();
    next_control(bytes, 0) < bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_controls_and_skips_latin1() {
        assert!(!has_control("plain ascii text that is longer than sixteen bytes"));
        assert!(!has_control("caf\u{e9} \u{a0}nbsp \u{bf} \u{2014} 日本"));
        assert!(has_control("x\u{9b}2J"));
        assert!(has_control("tab\there"));
        assert!(has_control("del\u{7f}"));
        assert!(has_control("\u{1b}[31m"));
        let long = format!("{}\u{85}", "a".repeat(40));
        assert_eq!(next_control(long.as_bytes(), 0), 40);
        assert_eq!(next_control(b"ab", 0), 2);
    }
}
