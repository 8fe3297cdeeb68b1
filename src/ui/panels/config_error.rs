//! The whole diagnostic of an invalid release.toml: every error with its place and hint,
//! wrapped to the popup's width (the header only has room for the first one), scrolled with
//! ↑/↓. It opens when the file turns invalid and closes when it is fixed; `e` toggles it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};
use unicode_width::UnicodeWidthStr;

use super::block;
use crate::ui::theme::Theme;

const FOOTNOTE: &str = "The last good release.toml stays in use until this one is fixed.";

pub fn render(error: &str, scroll: usize, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let widest = error.lines().map(UnicodeWidthStr::width).max().unwrap_or(0);
    let width = (widest.max(FOOTNOTE.len()) + 4).min(area.width as usize) as u16;
    let inner_width = width.saturating_sub(2).max(1) as usize;
    // Rows each line takes once wrapped, for the popup's height.
    let rows: usize = error
        .lines()
        .map(|l| l.width().div_ceil(inner_width).max(1))
        .sum::<usize>()
        + 2;
    let height = (rows + 2).min(area.height as usize) as u16;
    let popup = super::centered(area, width, height);
    Clear.render(popup, buf);
    let visible = height.saturating_sub(2) as usize;
    let title = if rows > visible {
        "release.toml is invalid · ↑/↓ more · e or Esc to close"
    } else {
        "release.toml is invalid · e or Esc to close"
    };
    let outer = block(title, true, theme);
    let inner = outer.inner(popup);
    outer.render(popup, buf);
    let mut lines: Vec<Line> = error
        .lines()
        .map(|l| {
            // Hints are indented under their error.
            let style = if l.starts_with(' ') { theme.muted } else { theme.alert };
            Line::from(Span::styled(l.to_string(), style))
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(FOOTNOTE, theme.muted)));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(u16::MAX as usize) as u16, 0))
        .render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::panels::test_support::{draw, text, theme};

    const ERROR: &str = "release.toml:5:7: wrong type for `run` in [stages.build]: expected a string or an array of strings, found an integer 5\nrelease.toml:6:1: unknown key `neds` in [stages.build]\n  hint: did you mean `needs`?";

    #[test]
    fn every_error_and_its_hint_show_whole_even_at_80_columns() {
        let buf = draw(80, 24, |area, buf| render(ERROR, 0, &theme(), area, buf));
        let screen = text(&buf);
        // Wrapped, not cut: the end of the long first error is on screen too.
        assert!(screen.contains("release.toml:5:7: wrong type for `run`"), "{screen}");
        assert!(screen.contains("found an integer 5"), "{screen}");
        assert!(
            screen.contains("release.toml:6:1: unknown key `neds` in [stages.build]"),
            "{screen}"
        );
        assert!(screen.contains("hint: did you mean `needs`?"), "{screen}");
        assert!(screen.contains("e or Esc to close"), "{screen}");
    }

    #[test]
    fn a_long_diagnostic_scrolls_in_a_small_terminal() {
        let many: Vec<String> = (1..=30)
            .map(|n| format!("release.toml:{n}:1: unknown key `k{n}` in [app]"))
            .collect();
        let error = many.join("\n");
        let top = text(&draw(60, 12, |area, buf| render(&error, 0, &theme(), area, buf)));
        assert!(top.contains("↑/↓ more"), "{top}");
        assert!(top.contains("`k1`"), "{top}");
        let down = text(&draw(60, 12, |area, buf| render(&error, 25, &theme(), area, buf)));
        assert!(!down.contains("`k1`"), "{down}");
        assert!(down.contains("`k30`"), "{down}");
    }
}
