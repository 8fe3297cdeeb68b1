//! The rows of a switch under an environment in the environments panel:
//!
//! ```text
//! a1b2c3d ● serving · b2c3d4e ◐ starting
//! a1b2c3d ● serving · b2c3d4e ● ready (healthy) · smoke ✓ passed (2 checks)
//! ⇄ traffic moved to b2c3d4e at 03:20:01 · a1b2c3d ◐ draining: 2 in flight, 28 s left
//! ```

use ratatui::style::Style;
use ratatui::text::Span;

use crate::text::fit;
use crate::ui::envs::{local_time, SwitchView};
use crate::ui::theme::Theme;

/// One or two rows, each `room` columns at most.
pub fn rows<'a>(sw: &SwitchView, now: chrono::DateTime<chrono::Utc>, theme: &Theme, room: usize) -> Vec<Vec<Span<'a>>> {
    let mut first: Vec<(String, Style)> = Vec::new();
    if sw.moved.is_none() {
        if let Some(old) = &sw.old {
            first.push((format!("{old} ● serving"), theme.success));
        }
        let (new, style) = match (&sw.abandoned, &sw.ready) {
            (Some(why), _) => (format!("{} ✗ removed: {why}", sw.new), theme.failure),
            (None, Some(how)) => (format!("{} ● ready ({how})", sw.new), theme.success),
            (None, None) => (format!("{} ◐ starting", sw.new), theme.running),
        };
        first.push((new, style));
    } else {
        first.push((format!("{} ● serving", sw.new), theme.success));
    }
    match &sw.smoke {
        Some((true, summary)) => first.push((format!("smoke ✓ {summary}"), theme.success)),
        Some((false, summary)) => first.push((format!("smoke ✗ {summary}"), theme.failure)),
        None if sw.ready.is_some() && sw.abandoned.is_none() && sw.moved.is_none() => {
            first.push(("smoke-checking directly…".to_string(), theme.running))
        }
        None => {}
    }
    let mut rows = vec![joined(first, theme, room)];
    if let Some(at) = sw.moved {
        let mut second = vec![(
            format!("⇄ traffic moved to {} at {}", sw.new, local_time(at, now)),
            theme.accent,
        )];
        if let Some(old) = &sw.old {
            let (text, style) = match (sw.draining, sw.drained, sw.retired) {
                (_, _, true) => (format!("{old} retired"), theme.muted),
                (_, Some(0), _) => (format!("{old} ○ drained"), theme.muted),
                (_, Some(cut), _) => (format!("{old} ✗ drain over: {cut} cut"), theme.alert),
                (Some((n, left)), _, _) => (format!("{old} ◐ draining: {n} in flight, {left} s left"), theme.running),
                (None, None, false) => (format!("{old} ◐ draining"), theme.running),
            };
            second.push((text, style));
        }
        rows.push(joined(second, theme, room));
    }
    rows
}

/// Parts separated by ` · `, cut to `room`.
fn joined<'a>(parts: Vec<(String, Style)>, theme: &Theme, room: usize) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, (text, style)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted));
            used += 3;
        }
        let text = fit(&text, room.saturating_sub(used));
        used += crate::text::width(&text);
        spans.push(Span::styled(text, style));
    }
    spans
}
