//! The rows of a switch under an environment in the environments panel:
//!
//! ```text
//! a1b2c3d ● serving              traffic→b2c3d4e 03:20:01
//! b2c3d4e ● ready (healthy)      a1b2c3d ◐ drain 2 · 28s   (2 requests in flight, 28 s left)
//! ✓ smoke passed (2 checks)
//! ```

use ratatui::style::Style;
use ratatui::text::Span;

use crate::text::fit;
use crate::ui::envs::{local_time, SwitchView};
use crate::ui::theme::Theme;

/// One row per release, then the smoke answer; each `room` columns at most (the panel is
/// narrow: the log pane has the same steps in full sentences).
pub fn rows<'a>(sw: &SwitchView, now: chrono::DateTime<chrono::Utc>, theme: &Theme, room: usize) -> Vec<Vec<Span<'a>>> {
    let mut rows: Vec<(String, Style)> = Vec::new();
    match sw.moved {
        None => {
            if let Some(old) = &sw.old {
                rows.push((format!("{old} ● serving"), theme.success));
            }
            rows.push(match (&sw.abandoned, &sw.ready) {
                (Some(why), _) => (format!("{} ✗ removed: {why}", sw.new), theme.failure),
                (None, Some(how)) => (format!("{} ● ready ({how})", sw.new), theme.success),
                (None, None) => (format!("{} ◐ starting", sw.new), theme.running),
            });
            match &sw.smoke {
                Some((true, summary)) => rows.push((format!("✓ {summary}"), theme.success)),
                Some((false, summary)) => rows.push((format!("✗ {summary}"), theme.failure)),
                None if sw.ready.is_some() && sw.abandoned.is_none() => {
                    rows.push(("◐ smoke-checking it directly…".to_string(), theme.running))
                }
                None => {}
            }
        }
        Some(at) => {
            rows.push((format!("traffic→{} {}", sw.new, local_time(at, now)), theme.accent));
            if let Some(old) = &sw.old {
                rows.push(match (sw.draining, sw.drained, sw.retired) {
                    (_, _, true) => (format!("{old} retired"), theme.muted),
                    (_, Some(0), _) => (format!("{old} ○ drained"), theme.muted),
                    (_, Some(cut), _) => (format!("{old} ✗ drain over: {cut} cut"), theme.alert),
                    (Some((n, left)), _, _) => (format!("{old} ◐ drain {n} · {left}s"), theme.running),
                    (None, None, false) => (format!("{old} ◐ draining"), theme.running),
                });
            }
        }
    }
    rows.into_iter()
        .map(|(text, style)| vec![Span::styled(fit(&text, room), style)])
        .collect()
}
