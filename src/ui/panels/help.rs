//! The help overlay, generated from the keymap so it never disagrees with the keys. When the
//! terminal is too short for one column, the keys are laid out in two; when it is too narrow
//! for two as well, one column scrolls (↑/↓).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::block;
use crate::text::fit;
use crate::ui::keymap::Keymap;
use crate::ui::theme::Theme;

const FOOTNOTE: &str = " Keys can be changed in ~/.config/shipdeck/config.toml [keys].";

/// The width a column of rows needs: keys right-aligned, a gap, the descriptions.
fn column_width(rows: &[(String, &str)]) -> usize {
    let keys = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let what = rows.iter().map(|(_, d)| d.chars().count()).max().unwrap_or(0);
    keys + what + 4
}

pub fn render(keymap: &Keymap, scroll: usize, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let rows = keymap.help_rows();
    // Borders, the footnote and a blank line around the rows.
    let chrome = 4;
    let fits_tall = rows.len() + chrome <= area.height as usize;
    let half = rows.len().div_ceil(2);
    let two_wide = column_width(&rows[..half]) + column_width(&rows[half..]) + 2;
    let columns = if !fits_tall && two_wide <= area.width as usize {
        2
    } else {
        1
    };
    let per_column = rows.len().div_ceil(columns);
    let visible = per_column.min((area.height as usize).saturating_sub(chrome)).max(1);
    let scroll = scroll.min(per_column - visible.min(per_column));
    let needed = if columns == 2 {
        two_wide
    } else {
        column_width(&rows) + 2
    };
    let width = needed.max(FOOTNOTE.len() + 2).min(area.width as usize) as u16;
    let popup = super::centered(area, width, (visible + chrome) as u16);
    Clear.render(popup, buf);
    let title = if visible < per_column {
        let more = match (scroll > 0, scroll + visible < per_column) {
            (true, true) => "↑/↓ more",
            (false, _) => "↓ more",
            (true, false) => "↑ more",
        };
        format!("Keys · {more} · ? or Esc to close")
    } else {
        "Keys · ? or Esc to close".to_string()
    };
    let outer = block(&title, true, theme);
    let inner = outer.inner(popup);
    outer.render(popup, buf);
    let [keys_area, note_area] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    let constraints: Vec<Constraint> = rows
        .chunks(per_column.max(1))
        .map(|chunk| Constraint::Length(column_width(chunk) as u16))
        .collect();
    let column_areas = Layout::horizontal(constraints).split(keys_area);
    for (chunk, column_area) in rows.chunks(per_column.max(1)).zip(column_areas.iter()) {
        let key_width = chunk.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        let room = (column_area.width as usize).saturating_sub(key_width + 3);
        let lines: Vec<Line> = chunk
            .iter()
            .skip(scroll)
            .take(visible)
            .map(|(keys, what)| {
                Line::from(vec![
                    Span::styled(format!(" {keys:>key_width$} "), theme.accent),
                    Span::styled(format!(" {}", fit(what, room)), theme.text),
                ])
            })
            .collect();
        Paragraph::new(lines).render(*column_area, buf);
    }
    Paragraph::new(Line::styled(fit(FOOTNOTE, note_area.width as usize), theme.muted)).render(note_area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::panels::test_support::{draw, find, text, theme};

    #[test]
    fn lists_every_key_of_the_keymap_with_keys_in_the_accent_colour() {
        let (theme, keymap) = (theme(), Keymap::default());
        let buf = draw(100, 40, |area, buf| render(&keymap, 0, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("Keys · ? or Esc to close"), "{screen}");
        for (keys, what) in keymap.help_rows() {
            assert!(screen.contains(what), "`{what}` ({keys}) missing:\n{screen}");
        }
        // The row of the `?` key: the key in the accent colour, what it does in the text colour.
        let (x, y) = find(&buf, "?  this help");
        assert_eq!(buf[(x, y)].fg, theme.accent.fg.unwrap(), "{screen}");
        assert_eq!(buf[(x + 3, y)].style().fg, theme.text.fg, "{screen}");
    }

    #[test]
    fn a_short_terminal_says_there_is_more() {
        let (theme, keymap) = (theme(), Keymap::default());
        let buf = draw(40, 10, |area, buf| render(&keymap, 0, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("↓ more"), "{screen}");
    }
}
