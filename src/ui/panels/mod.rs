//! One file per panel; each draws from the app state alone.

pub mod approval;
pub mod config_error;
pub mod environments;
pub mod footer;
pub mod header;
pub mod help;
pub mod logs;
pub mod pipeline;
pub mod rollback_picker;
pub mod runs;
mod switch;
#[cfg(test)]
mod test_support;

use ratatui::style::Style;
use ratatui::widgets::{Block, BorderType, Borders};

use super::theme::Theme;
use crate::deploy::OpOutcome;
use crate::model::{RunStatus, StageStatus};

pub(crate) const SPINNER: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// A panel's frame: accent border and title when focused.
pub fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    let (border, title_style) = if focused {
        (theme.accent, theme.accent)
    } else {
        (theme.border, theme.muted)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(border)
        .title(ratatui::text::Span::styled(format!(" {title} "), title_style))
}

/// A stage's glyph; a running one spins.
pub fn stage_glyph(status: StageStatus, spinner: usize) -> char {
    match status {
        StageStatus::Running => SPINNER[spinner % SPINNER.len()],
        other => crate::headless::stage_glyph(other),
    }
}

pub fn run_glyph(status: RunStatus, spinner: usize) -> char {
    match status {
        RunStatus::Queued => '◌',
        RunStatus::Running => SPINNER[spinner % SPINNER.len()],
        RunStatus::Success => '✓',
        RunStatus::Failed => '✗',
        RunStatus::Cancelled => '⊘',
    }
}

/// An operation's glyph: it spins while running; an automatic rollback is a warning sign.
pub fn op_glyph(outcome: OpOutcome, rolled_back: bool, spinner: usize) -> char {
    match outcome {
        OpOutcome::Running => SPINNER[spinner % SPINNER.len()],
        OpOutcome::RolledBack => '⚠',
        _ if rolled_back => '⚠',
        OpOutcome::Succeeded | OpOutcome::Unchanged => '✓',
        OpOutcome::Refused => '⊘',
        OpOutcome::Failed | OpOutcome::Interrupted => '✗',
    }
}

/// Words of `text` in rows of at most `width` columns (a longer word gets a row of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split_whitespace() {
        if !row.is_empty() && row.chars().count() + 1 + word.chars().count() > width {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

pub fn stage_style(status: StageStatus, theme: &Theme) -> Style {
    theme.status(status.as_str())
}

pub fn run_style(status: RunStatus, theme: &Theme) -> Style {
    theme.status(match status {
        RunStatus::Failed => "failed",
        other => other.as_str(),
    })
}

/// Cuts a line to `width` display columns, ending with `…` when cut (spans keep their styles).
pub fn fit_line(line: ratatui::text::Line<'_>, width: usize) -> ratatui::text::Line<'_> {
    if line.width() <= width {
        return line;
    }
    let mut spans = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let w = span.width();
        if used + w < width {
            used += w;
            spans.push(span);
            continue;
        }
        // This span reaches the edge: it ends with the ellipsis.
        use unicode_width::UnicodeWidthChar;
        let mut content = String::new();
        let mut room = (width - used).saturating_sub(1);
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if w > room {
                break;
            }
            room -= w;
            content.push(c);
        }
        if width > 0 {
            content.push('…');
        }
        spans.push(ratatui::text::Span::styled(content, span.style));
        break;
    }
    ratatui::text::Line::from(spans).style(line.style)
}

/// A `width`×`height` rectangle centred in `area` (clipped to it).
pub(super) fn centered(area: ratatui::layout::Rect, width: u16, height: u16) -> ratatui::layout::Rect {
    let (width, height) = (width.min(area.width), height.min(area.height));
    ratatui::layout::Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
    }
}

/// A dialog: `lines` in a focused, titled box `width` wide, as tall as they are, centred in
/// `area` over whatever was drawn there.
pub(super) fn popup(
    buf: &mut ratatui::buffer::Buffer,
    area: ratatui::layout::Rect,
    width: u16,
    title: &str,
    lines: Vec<ratatui::text::Line<'_>>,
    theme: &crate::ui::theme::Theme,
) {
    use ratatui::widgets::{Clear, Paragraph, Widget};
    let popup = centered(area, width, lines.len() as u16 + 2);
    Clear.render(popup, buf);
    let outer = block(title, true, theme);
    let inner = outer.inner(popup);
    outer.render(popup, buf);
    Paragraph::new(lines).render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_with_an_ellipsis() {
        use ratatui::text::{Line, Span};
        let line = Line::from(vec![Span::raw("abc "), Span::raw("defgh")]);
        assert_eq!(fit_line(line.clone(), 9).to_string(), "abc defgh");
        assert_eq!(fit_line(line.clone(), 7).to_string(), "abc de…");
        assert_eq!(fit_line(line, 4).to_string(), "abc…");
    }

    #[test]
    fn wrap_breaks_between_words() {
        assert_eq!(wrap("one two three four", 9), vec!["one two", "three", "four"]);
        assert_eq!(wrap("", 9), Vec::<String>::new());
    }
}
