//! Follow / scroll / search / wrap semantics, driven by actions without a terminal.

use super::*;

fn pane(lines: u64, capacity: usize, height: u16) -> LogPane {
    let mut pane = LogPane::with_capacity(capacity);
    pane.push_lines(LineKind::Stdout, (0..lines).map(|i| format!("line {i}")));
    pane.view.set_viewport(40, height);
    pane
}

fn top(pane: &LogPane) -> u64 {
    pane.view.top_position(&pane.buffer).line
}

#[test]
fn following_stays_at_the_bottom_while_lines_arrive() {
    let mut p = pane(100, 1000, 10);
    assert!(p.view.following());
    assert_eq!(top(&p), 90);
    p.push_lines(LineKind::Stdout, (100..150).map(|i| format!("line {i}")));
    assert!(p.view.following());
    assert_eq!(top(&p), 140);
}

#[test]
fn scrolled_up_the_view_does_not_move_when_lines_arrive() {
    let mut p = pane(100, 1000, 10);
    p.scroll_up(5);
    assert!(!p.view.following());
    assert_eq!(top(&p), 85);
    p.push_lines(LineKind::Stdout, (100..600).map(|i| format!("line {i}")));
    assert_eq!(top(&p), 85);
    assert!(!p.view.following());
}

#[test]
fn any_upward_scroll_stops_following_and_end_resumes() {
    let mut p = pane(5, 1000, 10);
    p.scroll_up(1);
    assert!(!p.view.following(), "even when everything fits on screen");
    p.end();
    assert!(p.view.following());
    p.page_up();
    assert!(!p.view.following());
}

#[test]
fn scrolling_down_to_the_bottom_resumes_following() {
    let mut p = pane(100, 1000, 10);
    p.scroll_up(20);
    assert_eq!(top(&p), 70);
    p.scroll_down(15);
    assert_eq!((top(&p), p.view.following()), (85, false));
    p.scroll_down(5);
    assert!(p.view.following());
    p.scroll_down(5);
    assert_eq!(top(&p), 90);
}

#[test]
fn pages_use_the_last_rendered_height() {
    let mut p = pane(100, 1000, 10);
    p.page_up();
    assert_eq!(top(&p), 80);
    p.view.set_viewport(40, 25);
    p.page_up();
    assert_eq!(top(&p), 50, "from 75, the bottom at 25 rows");
    p.page_down();
    assert_eq!(top(&p), 75);
    assert!(p.view.following(), "reached the bottom");
}

#[test]
fn top_and_clamping_when_old_lines_are_dropped() {
    let mut p = pane(100, 100, 10);
    p.top();
    assert_eq!((top(&p), p.view.following()), (0, false));
    p.scroll_up(3);
    assert_eq!(top(&p), 0);
    p.scroll_down(30);
    assert_eq!(top(&p), 30);
    // Lines 0..50 dropped: the anchor (30) no longer exists, the view shows the oldest line.
    p.push_lines(LineKind::Stdout, (100..150).map(|i| format!("line {i}")));
    assert_eq!(top(&p), 50);
    p.scroll_down(1);
    assert_eq!(top(&p), 51);
}

#[test]
fn empty_buffer_is_harmless() {
    let mut p = pane(0, 10, 10);
    p.scroll_up(3);
    p.page_down();
    p.top();
    p.search("x");
    p.next_match();
    p.prev_match();
    p.toggle_wrap();
    assert_eq!(top(&p), 0);
    assert_eq!(p.view.match_count(), 0);
}

#[test]
fn search_selects_nearest_match_and_scrolls_to_it() {
    let mut p = pane(1000, 10_000, 10);
    // Following: lines 990..1000 on screen. "line 99" matches 99 and 990..=999.
    p.search("line 99");
    assert_eq!(p.view.match_count(), 11);
    assert_eq!(p.view.current_match(), Some(990));
    assert_eq!(top(&p), 990, "visible: the view does not move");
    assert!(!p.view.following());
    p.next_match();
    assert_eq!(p.view.current_match(), Some(991));
    p.prev_match();
    p.prev_match();
    assert_eq!(p.view.current_match(), Some(99));
    // Off screen: the match is placed a third of the way down.
    assert_eq!(top(&p), 96);
    p.prev_match();
    assert_eq!(p.view.current_match(), Some(999), "wraps around to the last");
    p.next_match();
    assert_eq!(p.view.current_match(), Some(99), "wraps around to the first");
    assert_eq!(p.view.current_match_index(), Some(0));
}

#[test]
fn search_is_smart_case_and_cleared_by_empty_query() {
    let mut p = pane(0, 100, 10);
    p.push_lines(LineKind::Stderr, ["Error: one", "error: two", "ERROR three"]);
    p.search("error");
    assert_eq!(p.view.matches().collect::<Vec<_>>(), [0, 1, 2]);
    p.search("Error");
    assert_eq!(p.view.matches().collect::<Vec<_>>(), [0]);
    p.search("");
    assert_eq!(p.view.query(), None);
}

#[test]
fn search_ignores_sgr_escapes() {
    let mut p = pane(0, 100, 10);
    p.push_lines(LineKind::Stdout, ["\x1b[31mfa\x1b[0mil here", "fa\x1b[1mil"]);
    p.search("fail");
    assert_eq!(p.view.matches().collect::<Vec<_>>(), [0, 1]);
    p.search("31m");
    assert_eq!(p.view.match_count(), 0);
}

#[test]
fn new_lines_are_searched_incrementally_and_old_matches_dropped() {
    let mut p = pane(0, 20, 5);
    p.push_lines(
        LineKind::Stdout,
        (0..20).map(|i| format!("{} {i}", if i % 5 == 0 { "hit" } else { "miss" })),
    );
    p.search("hit");
    assert_eq!(p.view.matches().collect::<Vec<_>>(), [0, 5, 10, 15]);
    assert_eq!(p.view.current_match(), Some(15));
    p.push_lines(
        LineKind::Stdout,
        (20..30).map(|i| format!("{} {i}", if i % 5 == 0 { "hit" } else { "miss" })),
    );
    assert_eq!(p.view.matches().collect::<Vec<_>>(), [10, 15, 20, 25]);
    assert_eq!(p.view.current_match(), Some(15), "the current match survives");
    p.push_lines(LineKind::Stdout, (30..50).map(|i| format!("miss {i}")));
    assert_eq!(p.view.match_count(), 0);
    assert_eq!(p.view.current_match(), None);
    p.push_lines(LineKind::Stdout, ["hit again"]);
    assert_eq!(p.view.matches().collect::<Vec<_>>(), [50]);
    p.next_match();
    assert_eq!(p.view.current_match(), Some(50));
}

#[test]
fn wrap_scrolls_by_screen_rows() {
    let mut p = LogPane::with_capacity(1000);
    // 100 lines of 25 chars: 3 rows each at width 10.
    p.push_lines(LineKind::Stdout, (0..100).map(|i| format!("{i:05}{}", "x".repeat(20))));
    p.view.set_viewport(10, 6);
    p.toggle_wrap();
    assert!(p.view.wrap());
    let pos = |p: &LogPane| p.view.top_position(&p.buffer);
    assert_eq!(pos(&p), Position { line: 98, row: 0 });
    p.scroll_up(1);
    assert_eq!(pos(&p), Position { line: 97, row: 2 });
    p.scroll_up(4);
    assert_eq!(pos(&p), Position { line: 96, row: 1 });
    p.scroll_down(2);
    assert_eq!(pos(&p), Position { line: 97, row: 0 });
    // Unwrapping keeps the top line.
    p.toggle_wrap();
    assert_eq!(pos(&p), Position { line: 94, row: 0 }, "clamped to the bottom");
    p.top();
    p.toggle_wrap();
    p.scroll_down(4);
    assert_eq!(pos(&p), Position { line: 1, row: 1 });
}

#[test]
fn wrap_scrolling_does_not_rewrap_the_whole_buffer() {
    let mut p = LogPane::default();
    let line = "日本語のログ ".repeat(12);
    for _ in 0..1000 {
        p.push_lines(LineKind::Stdout, std::iter::repeat_n(line.as_str(), 100));
    }
    p.view.set_viewport(80, 60);
    p.toggle_wrap();
    p.page_up();
    p.page_up();
    p.scroll_down(7);
    assert!(!p.view.following());
    assert!(p.view.cached_rows() < 200, "{}", p.view.cached_rows());
}

#[test]
fn resize_invalidates_wrapped_row_counts() {
    let mut p = LogPane::default();
    p.push_lines(LineKind::Stdout, (0..50).map(|i| format!("{i:02}{}", "y".repeat(38))));
    p.view.set_viewport(20, 10);
    p.toggle_wrap();
    p.scroll_up(3);
    assert_eq!(p.view.top_position(&p.buffer), Position { line: 43, row: 1 });
    p.view.set_viewport(40, 10);
    assert_eq!(
        p.view.top_position(&p.buffer),
        Position { line: 40, row: 0 },
        "clamped to bottom"
    );
    p.scroll_up(1);
    assert_eq!(p.view.top_position(&p.buffer), Position { line: 39, row: 0 });
}
