//! Property tests: arbitrary bytes never produce anything but text and well-formed SGR.

use super::{sanitize, strip_sgr, to_line, visible_width};
use proptest::prelude::*;
use ratatui::style::Style;

/// Byte fragments that hit the interesting parser paths far more often than random bytes.
const FRAGMENTS: &[&[u8]] = &[
    b"\x1b",
    b"\x1b[",
    b"\x1b]",
    b"\x1bP",
    b"\x1b\\",
    b"[",
    b"]",
    b"\\",
    b";",
    b":",
    b"?",
    b"m",
    b"0",
    b"1",
    b"3",
    b"5",
    b"8",
    b"2",
    b"38;2;",
    b"48:5:",
    b"4:3",
    b"H",
    b"J",
    b"h",
    b"\x07",
    b"\r",
    b"\t",
    b"\x08",
    b"\0",
    b"\x18",
    b"\x7f",
    b" ",
    b"a",
    b"xyz",
    "\u{9b}".as_bytes(),
    "\u{9d}".as_bytes(),
    "\u{9c}".as_bytes(),
    "\u{90}".as_bytes(),
    "\u{85}".as_bytes(),
    "日".as_bytes(),
    "é".as_bytes(),
    "\u{301}".as_bytes(),
    "\u{fe0f}".as_bytes(),
    "\u{200d}".as_bytes(),
    "❤".as_bytes(),
    b"\xc2",
    b"\xff",
];

fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        2 => any::<u8>().prop_map(|b| vec![b]),
        5 => proptest::sample::select(FRAGMENTS).prop_map(|f| f.to_vec()),
    ];
    proptest::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

/// Every ESC in `out` starts `ESC [ [0-9;:]* m`; no other control character is present.
fn assert_safe(out: &str) -> Result<(), TestCaseError> {
    let b = out.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b {
            prop_assert_eq!(b.get(i + 1), Some(&b'['), "ESC not followed by [ in {:?}", out);
            let mut k = i + 2;
            while k < b.len() && (b[k].is_ascii_digit() || b[k] == b';' || b[k] == b':') {
                k += 1;
            }
            prop_assert_eq!(b.get(k), Some(&b'm'), "non-SGR escape in {:?}", out);
            i = k + 1;
        } else {
            i += 1;
        }
    }
    for c in out.chars() {
        prop_assert!(c == '\x1b' || c >= ' ', "control {:?} in {:?}", c, out);
        prop_assert!(!('\u{7f}'..='\u{9f}').contains(&c), "DEL/C1 {:?} in {:?}", c, out);
    }
    Ok(())
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let out = sanitize(raw);
        assert_safe(&out)?;
        // Idempotent: the output is already in final form.
        prop_assert_eq!(sanitize(&out), out.clone());
        let line = to_line(&out, Style::default());
        let span_width: usize = line.spans.iter().map(|s| s.width()).sum();
        prop_assert_eq!(visible_width(&out), span_width, "width of {:?}", out);
        let plain = strip_sgr(&out);
        prop_assert!(!plain.contains('\x1b'));
        let spans_text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        prop_assert_eq!(plain, spans_text);
        // Rendering raw input directly must be safe as well.
        for span in to_line(raw, Style::default()).spans {
            prop_assert!(!span.content.chars().any(|c| c.is_control()));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn sanitize_output_is_safe_for_fragment_soup(bytes in line_bytes()) {
        check(&bytes)?;
    }

    #[test]
    fn sanitize_output_is_safe_for_random_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..200)
    ) {
        check(&bytes)?;
    }
}
