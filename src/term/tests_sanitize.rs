//! One test per class of sequence, each with a concrete malicious example.

use super::{sanitize, sanitize_cow, strip_sgr, visible_width};
use std::borrow::Cow;

fn s(line: &str) -> String {
    sanitize(line)
}

#[test]
fn plain_line_is_borrowed_unchanged() {
    let line = "Step 3/7 : RUN cargo build --release — ok ✓ 日本語";
    assert!(matches!(sanitize_cow(line), Cow::Borrowed(_)));
    assert_eq!(s(line), line);
    assert_eq!(s(""), "");
}

#[test]
fn sgr_is_kept() {
    assert_eq!(s("\x1b[1;31mERROR\x1b[0m done"), "\x1b[1;31mERROR\x1b[0m done");
    assert_eq!(s("\x1b[mreset"), "\x1b[mreset");
    assert_eq!(s("\x1b[38:2::255:0:0mred"), "\x1b[38:2::255:0:0mred");
    assert_eq!(s("\x1b[38;5;208morange"), "\x1b[38;5;208morange");
}

#[test]
fn c1_csi_sgr_is_rewritten_and_other_c1_csi_dropped() {
    assert_eq!(s("\u{9b}32mgreen\u{9b}0m"), "\x1b[32mgreen\x1b[0m");
    assert_eq!(s("a\u{9b}2Jb"), "ab");
    assert_eq!(s("a\u{9b}?1049hb"), "ab");
}

#[test]
fn osc_52_clipboard_write_removed() {
    assert_eq!(s("before\x1b]52;c;ZXZpbA==\x07after"), "beforeafter");
    assert_eq!(s("x\u{9d}52;c;ZXZpbA==\u{9c}y"), "xy");
}

#[test]
fn osc_title_removed() {
    assert_eq!(s("\x1b]0;pwned\x1b\\ok"), "ok");
    assert_eq!(s("\x1b]2;pwned\x07ok"), "ok");
    assert_eq!(s("\x1b]1;icon\x1b\\ok"), "ok");
}

#[test]
fn osc_8_hyperlink_keeps_text() {
    let link = "see \x1b]8;;https://evil.example/x\x1b\\docs\x1b]8;;\x1b\\ here";
    assert_eq!(s(link), "see docs here");
    let bel = "\x1b]8;id=1;file:///etc/passwd\x07passwd\x1b]8;;\x07";
    assert_eq!(s(bel), "passwd");
}

#[test]
fn osc_colour_queries_removed() {
    assert_eq!(s("a\x1b]4;1;?\x07b\x1b]10;?\x1b\\c\x1b]11;?\x07d"), "abcd");
}

#[test]
fn dcs_apc_pm_sos_removed() {
    assert_eq!(s("a\x1bP+q544e\x1b\\b"), "ab");
    assert_eq!(s("a\x1b_Gf=100;AAAA\x1b\\b"), "ab");
    assert_eq!(s("a\x1b^privacy\x1b\\b"), "ab");
    assert_eq!(s("a\x1bXstring\x1b\\b"), "ab");
    // 8-bit forms, terminated by 8-bit ST.
    assert_eq!(s("a\u{90}+q544e\u{9c}b"), "ab");
    assert_eq!(s("a\u{9f}apc\u{9c}b\u{9e}pm\u{9c}c\u{98}sos\u{9c}d"), "abcd");
    // BEL does not end a DCS.
    assert_eq!(s("a\x1bPq\x07hidden\x1b\\b"), "ab");
}

#[test]
fn screen_and_mode_csi_removed() {
    assert_eq!(s("a\x1b[?1049hb\x1b[?1049lc"), "abc");
    assert_eq!(s("a\x1b[?1000hb\x1b[?1006;1015hc"), "abc");
    assert_eq!(s("a\x1b[?1004hb"), "ab");
    assert_eq!(s("\x1b[2J\x1b[Hclean"), "clean");
    assert_eq!(s("a\x1b[5Ab\x1b[10;20Hc\x1b[Kd\x1b[1;24re\x1b[4lf"), "abcdef");
    assert_eq!(s("a\x1b[>4;2mb"), "ab", "private SGR-like (modifyOtherKeys)");
    assert_eq!(s("a\x1b[?25lb"), "ab");
    assert_eq!(s("a\x1b[1 qb"), "ab", "cursor style with intermediate");
}

#[test]
fn queries_removed() {
    assert_eq!(s("a\x1b[6nb"), "ab");
    assert_eq!(s("a\x1b[cb\x1b[>0cc"), "abc");
    assert_eq!(s("a\x1b[21tb\x1b[8;100;300tc"), "abc");
}

#[test]
fn other_escapes_removed() {
    assert_eq!(s("a\x1bcb"), "ab", "RIS");
    assert_eq!(s("a\x1b7b\x1b8c"), "abc");
    assert_eq!(s("a\x1b(Bb\x1b)0c\x1b#8d"), "abcd");
    assert_eq!(s("a\x1b=b\x1b>c\x1bMd"), "abcd");
}

#[test]
fn c0_controls_removed() {
    assert_eq!(s("ding\x07dong"), "dingdong");
    // A backspace moves back over what was printed, as in a terminal: what follows overwrites.
    assert_eq!(s("abc\x08\x08\x08xyz"), "xyz");
    assert_eq!(s("abc\x08\x08\x08\x08xyz"), "xyz");
    assert_eq!(s("ab\x08"), "ab");
    assert_eq!(s("nul\0byte"), "nulbyte");
    assert_eq!(s("v\x0bt\x0cf\x0e\x0f\x1a\x18\x7fend"), "vtfend");
    assert_eq!(s("stray\nlf"), "straylf");
}

#[test]
fn c1_controls_removed() {
    assert_eq!(s("a\u{84}b\u{85}c\u{8d}d\u{9c}e\u{80}f\u{9a}g"), "abcdefg");
}

#[test]
fn unterminated_sequences_dropped() {
    assert_eq!(s("text\x1b"), "text");
    assert_eq!(s("text\x1b[31"), "text");
    assert_eq!(s("text\x1b]52;c;ZXZpbA=="), "text");
    assert_eq!(s("text\x1bPq never ends"), "text");
    assert_eq!(s("text\x1b("), "text");
}

#[test]
fn broken_sequences_cannot_hide_following_ones() {
    // An OSC cut short by a new sequence: the new one is still parsed (and removed).
    assert_eq!(s("a\x1b]0;x\x1b]52;c;QQ==\x07b"), "ab");
    assert_eq!(s("a\x1b[12\x1b[?1049hb"), "ab");
    assert_eq!(s("a\x1b[1\u{9b}2Jb"), "ab");
    // ... and an SGR following a broken sequence survives.
    assert_eq!(s("\x1b]0;t\x1b[31mred"), "\x1b[31mred");
}

#[test]
fn tabs_expand_to_multiples_of_8() {
    assert_eq!(s("\tx"), "        x");
    assert_eq!(s("ab\tc"), "ab      c");
    assert_eq!(s("12345678\tx"), "12345678        x");
    // SGR has no width, wide chars count 2.
    assert_eq!(s("\x1b[1mab\x1b[0m\tc"), "\x1b[1mab\x1b[0m      c");
    assert_eq!(s("日本\tx"), "日本    x");
}

#[test]
fn cr_progress_keeps_final_state() {
    assert_eq!(s("10%\r20%\r30%"), "30%");
    assert_eq!(s("abcdef\rxy"), "xycdef");
    assert_eq!(s("progress\r"), "progress");
    assert_eq!(s("\rstart"), "start");
    assert_eq!(s("abcdefghij\r\tX"), "abcdefghXj");
    assert_eq!(s("ab\r\tX"), "ab      X");
}

#[test]
fn cr_keeps_sgr_of_visible_cells() {
    assert_eq!(s("\x1b[31mabcdef\x1b[0m\rxy"), "xy\x1b[31mcdef\x1b[0m");
    assert_eq!(s("old\r\x1b[32mnew\x1b[0m"), "\x1b[32mnew\x1b[0m");
    assert_eq!(s("\x1b[1;31mab\rc"), "\x1b[1;31mcb");
    assert_eq!(s("aaaa\r\x1b[34mb\x1b[0mc"), "\x1b[34mb\x1b[0mcaa");
    // Never a non-SGR escape, even with hostile content.
    let out = s("x\x1b]0;t\x07\ry\x1b[2Kz\x1b[?1049h");
    assert_eq!(out, "yz");
}

#[test]
fn cr_with_wide_chars() {
    // Overwriting half of a wide char blanks its other half.
    assert_eq!(s("日本語\rx"), "x 本語");
    assert_eq!(s("ab日\rxyz"), "xyz ");
    assert_eq!(s("a日b\rxy"), "xy b");
    assert_eq!(s("abcd\r日"), "日cd");
    assert_eq!(s("abc\r\u{e9}\u{301}"), "\u{e9}\u{301}bc");
    assert_eq!(visible_width(&s("日本語\rx")), 6);
}

#[test]
fn replacement_char_passes_through() {
    assert_eq!(s("bad \u{fffd}\u{fffd} bytes"), "bad \u{fffd}\u{fffd} bytes");
    assert_eq!(s("\u{fffd}\x1b[1m\u{fffd}"), "\u{fffd}\x1b[1m\u{fffd}");
}

#[test]
fn strip_and_width() {
    let line = s("\x1b[1;31m日本\x1b[0m ok\x1b]0;t\x07");
    assert_eq!(strip_sgr(&line), "日本 ok");
    assert_eq!(visible_width(&line), 7);
    assert_eq!(visible_width("plain"), 5);
    assert_eq!(strip_sgr("plain"), "plain");
}

#[test]
fn hostile_long_lines_stay_linear() {
    // Many zero-width marks on one cell, then repeated re-attachment after other writes:
    // bounded per cell, so this is linear (it used to be the quadratic case to guard).
    let mut line = format!("abcdefgh{}", "\u{301}".repeat(20_000));
    line.push_str(&"\rx\r\t\u{301}".repeat(20_000));
    let out = s(&line);
    assert!(out.len() < 64, "{}", out.len());
    assert!(out.starts_with('x'));
    // A long progress line with many redraws and colours.
    let progress: String = (0..5_000)
        .map(|i| format!("\x1b[32m{:>3}%\x1b[0m [{}]\r", i % 101, "#".repeat(i % 40)))
        .collect();
    let out = s(&progress);
    assert_eq!(strip_sgr(&out), format!(" 50% [{}]", "#".repeat(39)));
    assert!(out.starts_with("\x1b[32m 50%\x1b[0m ["), "{out:?}");
    // Unterminated OSC swallowing a huge payload.
    let osc = format!("ok\x1b]52;c;{}", "QUFB".repeat(50_000));
    assert_eq!(s(&osc), "ok");
}
