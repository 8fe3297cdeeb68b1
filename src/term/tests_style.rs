//! `to_line`: SGR → ratatui styles.

use super::{sanitize, to_line};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

fn spans(line: &str) -> Vec<Span<'static>> {
    to_line(line, Style::default()).spans
}

fn one(text: &str, style: Style) -> Span<'static> {
    Span::styled(text.to_owned(), style)
}

#[test]
fn plain_text_is_one_base_span() {
    let base = Style::default().fg(Color::White).bg(Color::Black);
    assert_eq!(to_line("hello", base).spans, vec![one("hello", base)]);
    assert!(to_line("", base).spans.is_empty());
}

#[test]
fn basic_colours_and_reset() {
    assert_eq!(
        spans("a\x1b[31mb\x1b[42mc\x1b[0md"),
        vec![
            one("a", Style::default()),
            one("b", Style::default().fg(Color::Red)),
            one("c", Style::default().fg(Color::Red).bg(Color::Green)),
            one("d", Style::default()),
        ]
    );
    assert_eq!(
        spans("\x1b[97;104mx\x1b[39my\x1b[49mz"),
        vec![
            one("x", Style::default().fg(Color::White).bg(Color::LightBlue)),
            one("y", Style::default().bg(Color::LightBlue)),
            one("z", Style::default()),
        ]
    );
    assert_eq!(spans("\x1b[30;90;37mx")[0].style.fg, Some(Color::Gray));
}

#[test]
fn reset_goes_back_to_base() {
    let base = Style::default().fg(Color::Yellow).add_modifier(Modifier::ITALIC);
    let line = to_line("\x1b[1;34mb\x1b[0mn\x1b[31mr\x1b[39md", base);
    assert_eq!(
        line.spans,
        vec![
            one("b", base.fg(Color::Blue).add_modifier(Modifier::BOLD)),
            one("n", base),
            one("r", base.fg(Color::Red)),
            one("d", base),
        ]
    );
}

#[test]
fn attributes_and_their_resets() {
    let d = Style::default();
    assert_eq!(
        spans("\x1b[1mb\x1b[22;2md\x1b[22;3mi\x1b[23;4mu\x1b[24;7mr\x1b[27;9ms\x1b[29mn"),
        vec![
            one("b", d.add_modifier(Modifier::BOLD)),
            one("d", d.add_modifier(Modifier::DIM)),
            one("i", d.add_modifier(Modifier::ITALIC)),
            one("u", d.add_modifier(Modifier::UNDERLINED)),
            one("r", d.add_modifier(Modifier::REVERSED)),
            one("s", d.add_modifier(Modifier::CROSSED_OUT)),
            one("n", d),
        ]
    );
    assert_eq!(spans("\x1b[1mb\x1b[21mn")[1], one("n", d));
}

#[test]
fn blink_and_hidden_are_not_rendered() {
    // 5/6/8 change nothing visible, so the text stays one span and is shown.
    assert_eq!(
        spans("a\x1b[5mb\x1b[6mc\x1b[8mhidden"),
        vec![one("abchidden", Style::default())]
    );
}

#[test]
fn indexed_256_colours() {
    assert_eq!(
        spans("\x1b[38;5;208mo\x1b[48;5;17mb"),
        vec![
            one("o", Style::default().fg(Color::Indexed(208))),
            one("b", Style::default().fg(Color::Indexed(208)).bg(Color::Indexed(17))),
        ]
    );
    assert_eq!(spans("\x1b[38:5:99mx")[0].style.fg, Some(Color::Indexed(99)));
    // Out of range index: ignored, and the following parameter is still applied.
    assert_eq!(
        spans("\x1b[38;5;300;1mx")[0].style,
        Style::default().add_modifier(Modifier::BOLD)
    );
}

#[test]
fn truecolour_semicolon_and_colon_forms() {
    let rgb = |r, g, b| Some(Color::Rgb(r, g, b));
    assert_eq!(spans("\x1b[38;2;255;128;0mx")[0].style.fg, rgb(255, 128, 0));
    assert_eq!(spans("\x1b[48;2;1;2;3mx")[0].style.bg, rgb(1, 2, 3));
    assert_eq!(spans("\x1b[38:2::10:20:30mx")[0].style.fg, rgb(10, 20, 30));
    assert_eq!(spans("\x1b[38:2:0:10:20:30mx")[0].style.fg, rgb(10, 20, 30));
    assert_eq!(spans("\x1b[48:2:10:20:30mx")[0].style.bg, rgb(10, 20, 30));
    // Parameters after a truecolour colour still apply.
    assert_eq!(
        spans("\x1b[38;2;1;2;3;4mx")[0].style,
        Style::default()
            .fg(Color::Rgb(1, 2, 3))
            .add_modifier(Modifier::UNDERLINED)
    );
    // Underline colour (58) is consumed, not misread as colours or attributes.
    assert_eq!(spans("\x1b[58;2;1;2;3mx")[0].style, Style::default());
}

#[test]
fn curly_underline_and_unknown_params() {
    let u = Style::default().add_modifier(Modifier::UNDERLINED);
    assert_eq!(spans("\x1b[4:3mx")[0].style, u);
    assert_eq!(spans("\x1b[4:3mx\x1b[4:0my")[1].style, Style::default());
    assert_eq!(spans("\x1b[53;73;99999999999;12mx")[0].style, Style::default());
    assert_eq!(
        spans("\x1b[;1mx")[0].style,
        Style::default().add_modifier(Modifier::BOLD)
    );
}

#[test]
fn same_style_runs_merge_and_unsafe_input_stays_safe() {
    assert_eq!(
        spans("\x1b[31ma\x1b[31mb\x1b[0m\x1b[31mc"),
        vec![one("abc", Style::default().fg(Color::Red))]
    );
    // Raw (unsanitized) input: controls and non-SGR sequences never reach a span.
    let raw = spans("a\x1b]0;t\x07b\x07c\x1b[2Jd\te");
    let text: String = raw.iter().map(|s| s.content.as_ref()).collect();
    assert_eq!(text, "abcd    e");
}

#[test]
fn sanitized_cr_output_renders_with_styles() {
    let line = sanitize("\x1b[31mabcdef\x1b[0m\rxy");
    assert_eq!(
        spans(&line),
        vec![
            one("xy", Style::default()),
            one("cdef", Style::default().fg(Color::Red)),
        ]
    );
}
