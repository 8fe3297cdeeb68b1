//! The help overlay, generated from the keymap so it never disagrees with the keys. When the
//! terminal is too short for one column, the keys are laid out in two.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::block;
use crate::ui::keymap::Keymap;
use crate::ui::theme::Theme;

const FOOTNOTE: &str = " Keys can be changed in ~/.config/shipdeck/config.toml [keys].";

pub fn render(keymap: &Keymap, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let rows = keymap.help_rows();
    let key_width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let column_width = rows.iter().map(|(_, d)| d.len()).max().unwrap_or(0) + key_width + 4;
    // Borders, the footnote and a blank line around the rows.
    let chrome = 4;
    let columns = if rows.len() + chrome <= area.height as usize {
        1
    } else {
        2
    };
    let per_column = rows.len().div_ceil(columns);
    let width = (column_width * columns + 2)
        .max(FOOTNOTE.len() + 2)
        .min(area.width as usize) as u16;
    let height = ((per_column + chrome) as u16).min(area.height);
    let popup = Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
    };
    Clear.render(popup, buf);
    let outer = block("Keys · ? or Esc to close", true, theme);
    let inner = outer.inner(popup);
    outer.render(popup, buf);
    let [keys_area, note_area] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    let column_areas = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(keys_area);
    for (chunk, column_area) in rows.chunks(per_column.max(1)).zip(column_areas.iter()) {
        let lines: Vec<Line> = chunk
            .iter()
            .map(|(keys, what)| {
                Line::from(vec![
                    Span::styled(format!(" {keys:>key_width$} "), theme.accent),
                    Span::styled(format!(" {what}"), theme.text),
                ])
            })
            .collect();
        Paragraph::new(lines).render(*column_area, buf);
    }
    Paragraph::new(Line::styled(FOOTNOTE, theme.muted)).render(note_area, buf);
}
