//! The runs list: runs newest first (number, status, commit, subject, author, duration), then
//! recent commits that have no run yet, so any of them can be run.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{block, run_glyph, run_style};
use crate::text::duration::DurationStyle;
use crate::text::{fit, width as width_of};
use crate::ui::app::{App, Focus};
use crate::ui::model::Row;
use crate::ui::theme::Theme;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let outer = block("Runs", app.focus == Focus::Runs, theme);
    let inner = outer.inner(area);
    outer.render(area, buf);
    let rows = app.rows();
    if rows.is_empty() {
        Paragraph::new(Line::styled(" no runs or commits yet", theme.muted)).render(inner, buf);
        return;
    }
    let height = inner.height as usize;
    let first = first_shown(app.selected, height);
    let width = inner.width as usize;
    let mut lines = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(first).take(height) {
        let selected = i == app.selected;
        let mut line = match *row {
            Row::Run(r) => {
                let run = &app.runs[r];
                let number = format!("#{:<3}", run.number);
                let glyph = run_glyph(run.status, app.spinner);
                let duration = DurationStyle::Compact.format_ms(run.elapsed_ms(app.now));
                let fixed = number.len() + 2 + width_of(&run.short) + 1 + width_of(&duration) + 2;
                let room = width.saturating_sub(fixed);
                let author = fit(&run.author, (room / 3).min(14));
                let subject = fit(&run.subject, room.saturating_sub(width_of(&author) + 1));
                let pad = room.saturating_sub(width_of(&subject) + width_of(&author) + 1);
                Line::from(vec![
                    Span::styled(number, theme.muted),
                    Span::styled(format!("{glyph} "), run_style(run.status, theme)),
                    Span::styled(format!("{} ", run.short), theme.accent),
                    Span::styled(subject, theme.text),
                    Span::raw(" ".repeat(pad + 1)),
                    Span::styled(author, theme.muted),
                    Span::styled(format!(" {duration}"), theme.muted),
                ])
            }
            Row::Commit(c) => {
                let commit = &app.repo.commits[c];
                // The marker, `    ○ `, the short id and its space, ` · no run`.
                let room = width.saturating_sub(1 + 6 + width_of(&commit.short) + 1 + 9);
                Line::from(vec![
                    Span::styled("    ○ ", theme.pending),
                    Span::styled(format!("{} ", commit.short), theme.muted),
                    Span::styled(fit(&commit.subject, room), theme.muted),
                    Span::styled(" · no run", theme.pending),
                ])
            }
        };
        if selected {
            line = line.patch_style(theme.selection);
            line.spans.insert(0, Span::styled("▌", theme.accent));
        } else {
            line.spans.insert(0, Span::raw(" "));
        }
        lines.push(line);
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The first row shown in `height` lines: the selection is kept in view.
pub fn first_shown(selected: usize, height: usize) -> usize {
    selected.saturating_sub(height.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::panels::test_support::{draw, find, idle, running, text, theme};

    #[test]
    fn commits_without_a_run_are_pending_rows() {
        let (app, theme) = (idle(), theme());
        let buf = draw(44, 6, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("Runs"), "{screen}");
        assert!(screen.contains("○ bbbbbbb Initial commit · no run"), "{screen}");
        let (x, y) = find(&buf, "· no run");
        assert_eq!(buf[(x, y)].fg, theme.pending.fg.unwrap());
        // The selected row is marked and highlighted.
        let (x, y) = find(&buf, "▌");
        assert_eq!((y, buf[(x, y)].fg), (1, theme.accent.fg.unwrap()));
        let (x, y) = find(&buf, "aaaaaaa");
        assert_eq!(buf[(x, y)].bg, theme.selection.bg.unwrap(), "{screen}");
    }

    #[test]
    fn a_running_run_spins_in_the_running_colour() {
        let (app, theme) = (running(), theme());
        let buf = draw(44, 6, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        let (x, y) = find(&buf, "#1");
        let glyph = buf[(x + 4, y)].clone();
        assert!(
            super::super::SPINNER.contains(&glyph.symbol().chars().next().unwrap()),
            "{screen}"
        );
        assert_eq!(glyph.fg, theme.running.fg.unwrap(), "{screen}");
        assert!(screen.contains("aaaaaaa Add /health"), "{screen}");
    }

    #[test]
    fn wide_subjects_keep_the_author_and_duration_columns() {
        let mut app = running();
        app.apply(crate::engine::Event::RunQueued {
            run: 2,
            app: "hello-py".into(),
            commit: "c".repeat(40),
            short_commit: "ccccccc".into(),
            subject: "修复登录页面的编码问题并更新文档".into(),
            author: "Ada Lovelace".into(),
            branch: Some("main".into()),
            trigger: "manual".into(),
            at: crate::ui::panels::test_support::at(0),
        });
        let theme = theme();
        for width in [44, 47, 60] {
            let buf = draw(width, 6, |area, buf| render(&app, &theme, area, buf));
            let screen = text(&buf);
            // Each row ends at the same column: nothing pushed right by the wide characters.
            let ends: Vec<u16> = (1..=2)
                .map(|y| {
                    (0..buf.area.width)
                        .rev()
                        .find(|&x| buf[(x, y)].symbol() != " ")
                        .unwrap()
                })
                .collect();
            assert_eq!(ends[0], ends[1], "at {width} columns:\n{screen}");
            let author = |y: u16| {
                let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
                row.find("Ada").map(|b| row[..b].chars().count())
            };
            assert_eq!(author(1), author(2), "at {width} columns:\n{screen}");
            assert!(screen.contains("#2"), "{screen}");
        }
    }
}
