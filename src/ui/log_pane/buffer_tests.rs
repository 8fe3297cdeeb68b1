//! Unit tests of `LogBuffer` (a child module: sees the chunks).

use super::*;

fn numbered(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

#[test]
fn keeps_a_bounded_tail_with_absolute_numbers() {
    let mut buf = LogBuffer::with_capacity(2500);
    for batch in 0..50 {
        buf.push_lines(LineKind::Stdout, numbered(batch * 100..(batch + 1) * 100));
    }
    assert_eq!(buf.total_appended(), 5000);
    assert_eq!(buf.dropped(), 2500);
    assert_eq!(buf.len(), 2500);
    assert_eq!((buf.start(), buf.end()), (2500, 5000));
    assert!(buf.line(2499).is_none());
    assert!(buf.line(5000).is_none());
    for n in [2500, 3071, 3072, 4999] {
        let line = buf.line(n);
        assert_eq!(line.map(|l| l.text.to_owned()), Some(format!("line {n}")));
        assert_eq!(line.map(|l| l.number), Some(n));
    }
    // Whole chunks are freed: at most capacity + one chunk stays allocated.
    let stored: u64 = buf.chunks.iter().map(Chunk::len).sum();
    assert!(stored <= 2500 + CHUNK_LINES, "{stored}");
}

#[test]
fn batch_larger_than_capacity_keeps_the_last_lines() {
    let mut buf = LogBuffer::with_capacity(10);
    buf.push_lines(LineKind::Stderr, numbered(0..5000));
    assert_eq!((buf.start(), buf.end(), buf.len()), (4990, 5000, 10));
    let texts: Vec<_> = buf.lines(0, u64::MAX).map(|l| l.text).collect();
    assert_eq!(texts.first(), Some(&"line 4990"));
    assert_eq!(texts.len(), 10);
    assert!(buf.chunks.len() <= 2);
}

#[test]
fn kinds_flags_and_plain_text() {
    let mut buf = LogBuffer::new();
    buf.push_lines(LineKind::Stdout, ["plain"]);
    buf.push_lines(LineKind::Stderr, ["\x1b[31mred\x1b[0m text"]);
    buf.push_lines(LineKind::System, ["café"]);
    let l0 = buf.line(0).map(|l| (l.kind, l.has_escapes(), l.is_simple()));
    let l1 = buf.line(1).map(|l| (l.kind, l.has_escapes(), l.is_simple()));
    let l2 = buf.line(2).map(|l| (l.kind, l.has_escapes(), l.is_simple()));
    assert_eq!(l0, Some((LineKind::Stdout, false, true)));
    assert_eq!(l1, Some((LineKind::Stderr, true, true)));
    assert_eq!(l2, Some((LineKind::System, false, false)));
    assert_eq!(buf.line(1).map(|l| l.plain().into_owned()), Some("red text".into()));
    assert!(matches!(buf.line(0).map(|l| l.plain()), Some(Cow::Borrowed("plain"))));
}

#[test]
fn every_kind_survives_next_to_the_flags() {
    let kinds = [
        LineKind::Stdout,
        LineKind::Stderr,
        LineKind::System,
        LineKind::Success,
        LineKind::Failure,
        LineKind::Alert,
    ];
    let mut buf = LogBuffer::new();
    for kind in kinds {
        buf.push_lines(kind, ["\x1b[1mé\x1b[0m", "ascii"]);
    }
    for (i, kind) in kinds.iter().enumerate() {
        let n = i as u64 * 2;
        let a = buf.line(n).map(|l| (l.kind, l.has_escapes(), l.is_simple()));
        let b = buf.line(n + 1).map(|l| (l.kind, l.has_escapes(), l.is_simple()));
        assert_eq!(a, Some((*kind, true, false)));
        assert_eq!(b, Some((*kind, false, true)));
    }
}

#[test]
fn clear_keeps_numbering_and_realigns() {
    let mut buf = LogBuffer::with_capacity(100);
    buf.push_lines(LineKind::Stdout, numbered(0..1500));
    buf.clear();
    assert!(buf.is_empty());
    assert_eq!((buf.start(), buf.end()), (1500, 1500));
    buf.push_lines(LineKind::Stdout, numbered(1500..1600));
    assert_eq!(buf.line(1500).map(|l| l.text), Some("line 1500"));
    assert_eq!(buf.line(1599).map(|l| l.text), Some("line 1599"));
    assert_eq!(buf.lines(0, 2000).count(), 100);
}

#[test]
fn very_long_lines_are_cut_outside_escapes() {
    let mut buf = LogBuffer::new();
    let mut long = "é".repeat(MAX_LINE_BYTES / 2 - 2);
    long.push_str("ab\x1b[38;5;1");
    long.push_str(&"x".repeat(100));
    buf.push_lines(LineKind::Stdout, [long]);
    let line = buf.line(0).map(|l| l.text).unwrap_or_default();
    // The kept head, then the marker saying what was cut.
    let (text, marker) = line.split_once(CUT_MARKER).expect("a cut line ends with the marker");
    assert!(text.len() <= MAX_LINE_BYTES);
    assert!(text.ends_with("ab"), "{}", &text[text.len() - 4..]);
    assert_eq!(marker, "108 bytes cut: the log file has the whole line]\x1b[0m");
}

#[test]
fn memory_for_a_full_default_tail() {
    let mut buf = LogBuffer::new();
    let line = "x".repeat(50);
    for _ in 0..3000 {
        buf.push_lines(LineKind::Stdout, std::iter::repeat_n(line.as_str(), 100));
    }
    // 100,000 lines × (50 + 5) bytes plus at most one chunk and slack.
    assert!(buf.heap_bytes() < 8 * 1024 * 1024, "{}", buf.heap_bytes());
}

#[test]
fn a_byte_bound_drops_the_oldest_lines_and_keeps_the_newest() {
    let mut buf = LogBuffer::new();
    buf.set_max_bytes(1024 * 1024);
    let line = "y".repeat(100);
    for _ in 0..500 {
        buf.push_lines(LineKind::Stdout, std::iter::repeat_n(line.as_str(), 100));
    }
    // 5 MB went in; about 1 MiB stays (whole chunks: at most one more than the bound).
    assert!(buf.heap_bytes() <= 1024 * 1024, "{}", buf.heap_bytes());
    assert!(buf.start() > 0 && buf.end() == 50_000);
    assert_eq!(buf.line(49_999).map(|l| l.text), Some(line.as_str()));
    assert_eq!(buf.line(0), None);
    // Numbering holds across the drop: every retained line is where it was.
    assert!(buf.lines(buf.start(), buf.end()).all(|l| l.text == line));
}

#[test]
fn a_flood_of_long_lines_stays_within_the_bound() {
    let mut buf = LogBuffer::new();
    buf.set_max_bytes(16 * 1024 * 1024);
    let long = "z".repeat(33_000);
    for _ in 0..2_000 {
        buf.push_lines(LineKind::Stdout, [long.as_str()]);
    }
    assert!(buf.heap_bytes() <= 16 * 1024 * 1024, "{}", buf.heap_bytes());
    let last = buf.line(1_999).expect("the newest line stays");
    assert!(last.text.len() < MAX_LINE_BYTES + 100);
    assert!(last.plain().ends_with("bytes cut: the log file has the whole line]"));
}
