//! Render tests: text snapshots of the drawn buffer, plus the styles of exact cells.

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::Widget;
use ratatui::Terminal;
use unicode_width::UnicodeWidthStr;

use super::*;

/// The buffer as text, one quoted line per row (cells hidden by a wide char are skipped).
fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        out.push('"');
        out.push_str(&row_text(buf, y));
        out.push_str("\"\n");
    }
    out
}

fn row_text(buf: &Buffer, y: u16) -> String {
    let mut out = String::new();
    let mut skip = 0;
    for x in 0..buf.area.width {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let symbol = buf[(x, y)].symbol();
        skip = symbol.width().saturating_sub(1);
        out.push_str(symbol);
    }
    out
}

fn draw(pane: &LogPane, width: u16, height: u16) -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, width, height));
    render(&pane.buffer, &pane.view, &LogStyles::default(), buf.area, &mut buf);
    buf
}

/// A stage's output: numbered stdout lines, a coloured one, stderr and system lines.
fn stage_log(lines: u64) -> LogPane {
    let mut pane = LogPane::default();
    pane.push_lines(LineKind::System, ["▶ test · python:3.11-slim"]);
    for i in 1..lines {
        match i % 10 {
            3 => pane.push_lines(LineKind::Stdout, [format!("test_{i} ... \x1b[32mok\x1b[0m")]),
            7 => pane.push_lines(LineKind::Stderr, [format!("warning: slow test {i}")]),
            _ => pane.push_lines(LineKind::Stdout, [format!("test_{i} ... ok")]),
        }
    }
    pane
}

#[test]
fn following_the_tail() {
    let pane = stage_log(40);
    let buf = draw(&pane, 36, 8);
    insta::assert_snapshot!("following_tail", text(&buf));
    let styles = LogStyles::default();
    // Row 0 is line 32; "test_33 ... ok" (row 1) has a green "ok"; line 37 (row 5) is stderr.
    assert_eq!(row_text(&buf, 1), format!("{:<36}", "test_33 ... ok"));
    assert_eq!(buf[(12, 1)].fg, Color::Green);
    assert_eq!(buf[(0, 1)].fg, Color::Reset);
    assert_eq!(buf[(0, 5)].style().fg, styles.stderr.fg);
}

#[test]
fn system_lines_are_muted_and_the_pane_is_cleared() {
    let pane = stage_log(3);
    let mut buf = Buffer::empty(Rect::new(0, 0, 30, 4));
    buf.set_string(0, 3, "stale stale stale", ratatui::style::Style::new());
    render(&pane.buffer, &pane.view, &LogStyles::default(), buf.area, &mut buf);
    insta::assert_snapshot!("short_log_top_aligned", text(&buf));
    assert_eq!(buf[(0, 0)].fg, Color::DarkGray);
}

#[test]
fn scrolled_up_with_indicator() {
    let mut pane = stage_log(2000);
    let mut terminal = match Terminal::new(TestBackend::new(48, 8)) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let styles = LogStyles::default();
    let draw = |terminal: &mut Terminal<TestBackend>, pane: &LogPane| {
        if let Err(e) = terminal.draw(|f| f.render_widget(pane.widget(&styles), f.area())) {
            panic!("{e}");
        }
    };
    draw(&mut terminal, &pane);
    pane.scroll_up(1234);
    pane.push_lines(LineKind::Stdout, ["arrived while scrolled up"]);
    draw(&mut terminal, &pane);
    let buf = terminal.backend().buffer().clone();
    insta::assert_snapshot!("scrolled_up_indicator", text(&buf));
    let chip = " ↓ 1,235 more · End to follow ";
    assert!(row_text(&buf, 7).ends_with(chip));
    let x0 = 48 - chip.width() as u16;
    for x in x0..48 {
        assert!(buf[(x, 7)].modifier.contains(Modifier::REVERSED), "cell {x}");
    }
    assert!(!buf[(x0 - 1, 7)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn top_shows_trimmed_lines_and_hint_is_configurable() {
    let mut pane = LogPane::with_capacity(50);
    pane.push_lines(LineKind::Stdout, (0..120).map(|i| format!("line {i}")));
    pane.view.set_viewport(44, 5);
    pane.top();
    let mut buf = Buffer::empty(Rect::new(0, 0, 44, 5));
    pane.widget(&LogStyles::default())
        .follow_hint("G to follow")
        .render(buf.area, &mut buf);
    insta::assert_snapshot!("top_with_trimmed_lines", text(&buf));
}

#[test]
fn wrap_on_with_wide_chars() {
    let mut pane = LogPane::default();
    pane.push_lines(LineKind::Stdout, ["short"]);
    pane.push_lines(LineKind::Stdout, ["a long line that wraps at the pane width of twenty"]);
    pane.push_lines(LineKind::Stdout, ["日本語のテキストは二列幅です"]);
    pane.push_lines(LineKind::Stderr, ["x\x1b[31m赤い\x1b[0m文字とASCII mixed"]);
    pane.push_lines(LineKind::Stdout, ["\tindented by a tab"]);
    pane.view.set_viewport(20, 12);
    pane.toggle_wrap();
    let buf = draw(&pane, 20, 12);
    insta::assert_snapshot!("wrap_on", text(&buf));
    // Wide chars never straddle the edge: rows of 日本語… hold 10 columns each.
    assert_eq!(row_text(&buf, 4), "日本語のテキストは二");
    // Colour survives wrapping: 赤 is red on top of the stderr style.
    let red = (0..20).find(|&x| buf[(x, 6)].symbol() == "赤");
    assert_eq!(red.map(|x| buf[(x, 6)].fg), Some(Color::Red));

    pane.toggle_wrap();
    let cut = draw(&pane, 20, 12);
    insta::assert_snapshot!("wrap_off_cuts", text(&cut));
}

#[test]
fn search_highlights_matches_and_the_current_one() {
    let mut pane = LogPane::default();
    pane.push_lines(LineKind::Stdout, ["GET /health 200", "GET /api 500 error", "retry"]);
    pane.push_lines(LineKind::Stderr, ["\x1b[1mERROR\x1b[0m: upstream error"]);
    pane.push_lines(LineKind::Stdout, ["done"]);
    pane.view.set_viewport(40, 6);
    pane.search("error");
    pane.next_match();
    let buf = draw(&pane, 40, 6);
    insta::assert_snapshot!("search_highlight", text(&buf));
    let styles = LogStyles::default();
    let bg = |x: u16, y: u16| buf[(x, y)].bg;
    // Line 1: "GET /api 500 error": a match, not the current one.
    for x in 13..18 {
        assert_eq!(bg(x, 1), Color::Yellow, "cell ({x}, 1)");
    }
    assert_eq!(bg(12, 1), Color::Reset);
    assert_eq!(bg(18, 1), Color::Reset);
    // Line 3 is the current match: both occurrences (bold ERROR and "error"), in its style.
    for x in (0..5).chain(16..21) {
        assert_eq!(buf[(x, 3)].style().bg, styles.current_match.bg, "cell ({x}, 3)");
        assert!(buf[(x, 3)].modifier.contains(Modifier::BOLD));
    }
    assert_eq!(bg(5, 3), Color::Reset);
    // `ERROR:` opens a failure line: between the matches it has the failure style, not stderr's.
    assert_eq!(
        buf[(6, 3)].fg,
        styles.failure.fg.unwrap(),
        "failure style between matches"
    );
    assert_eq!(bg(0, 0), Color::Reset);
    assert!(row_text(&buf, 5).ends_with(" /error 2/2 │ paused · End to follow "));
}

#[test]
fn follows_the_bottom_in_wrap_mode_with_a_partial_top_line() {
    let mut pane = LogPane::default();
    pane.push_lines(
        LineKind::Stdout,
        (0..10).map(|i| format!("{i}:{}", "abcdefgh".repeat(2))),
    );
    pane.view.set_viewport(8, 5);
    pane.toggle_wrap();
    let buf = draw(&pane, 8, 5);
    insta::assert_snapshot!("wrap_follow_partial_top", text(&buf));
}

#[test]
fn renders_into_a_sub_area_only() {
    let pane = stage_log(30);
    let mut buf = Buffer::empty(Rect::new(0, 0, 30, 6));
    buf.set_string(0, 0, "header", ratatui::style::Style::new());
    render(
        &pane.buffer,
        &pane.view,
        &LogStyles::default(),
        Rect::new(2, 1, 20, 4),
        &mut buf,
    );
    insta::assert_snapshot!("sub_area", text(&buf));
    // A tiny or empty area is fine.
    render(
        &pane.buffer,
        &pane.view,
        &LogStyles::default(),
        Rect::new(0, 0, 0, 0),
        &mut buf,
    );
    render(
        &pane.buffer,
        &pane.view,
        &LogStyles::default(),
        Rect::new(0, 5, 1, 1),
        &mut buf,
    );
}

#[test]
fn failure_lines_stand_out_and_the_one_jumped_to_is_reversed() {
    let mut pane = LogPane::default();
    pane.push_lines(
        LineKind::Stdout,
        ["collected 2 items", "FAILED tests/test_app.py::test_health"],
    );
    pane.push_lines(LineKind::Stderr, ["\x1b[31merror\x1b[0m: could not compile `hello`"]);
    pane.push_lines(
        LineKind::System,
        ["shipdeck: exited with code 0", "shipdeck: exited with code 1"],
    );
    let styles = LogStyles::default();
    let buf = draw(&pane, 40, 5);
    let fg = |y: u16| buf[(0, y)].fg;
    assert_eq!(fg(0), Color::Reset, "an ordinary line:\n{}", text(&buf));
    assert_eq!(fg(1), styles.failure.fg.unwrap(), "FAILED:\n{}", text(&buf));
    assert!(buf[(0, 1)].modifier.contains(Modifier::BOLD));
    // The line's own colour stays on its word; the rest is the failure's.
    assert_eq!(fg(2), Color::Red);
    assert_eq!(buf[(6, 2)].fg, styles.failure.fg.unwrap());
    assert_eq!(fg(3), styles.muted.fg.unwrap(), "a zero exit is not a failure");
    assert_eq!(fg(4), styles.failure.fg.unwrap());

    assert!(pane.view.next_failure(&pane.buffer));
    let buf = draw(&pane, 40, 5);
    assert_eq!(pane.view.current_failure(), Some(1));
    assert!(buf[(0, 1)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(0, 4)].modifier.contains(Modifier::REVERSED));
}
