//! The pipeline strip of the selected run: stages in DAG order, left to right by depth, with
//! stages that can run in parallel stacked in one column.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{block, fit_line, stage_glyph, stage_style};
use crate::text::duration::DurationStyle;
use crate::ui::app::{App, Focus};
use crate::ui::model::{levels, StageView};
use crate::ui::theme::Theme;

/// How many rows the strip needs inside its border: the tallest column.
pub fn height(stages: &[StageView]) -> u16 {
    let levels = levels(stages);
    let tallest = (0..=levels.iter().copied().max().unwrap_or(0))
        .map(|l| levels.iter().filter(|x| **x == l).count())
        .max()
        .unwrap_or(1);
    tallest.max(1) as u16
}

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let title = match (app.selected_run(), app.selected_commit_plan()) {
        (Some(run), _) => format!("Pipeline · run #{} · {} · {}", run.number, run.short, run.trigger),
        (None, Some((commit, Some(_)))) => format!("Pipeline · {} · planned, not run", commit.short),
        _ => "Pipeline".to_string(),
    };
    let outer = block(&title, app.focus == Focus::Pipeline, theme);
    let inner = outer.inner(area);
    outer.render(area, buf);
    if let Some(run) = app.selected_run() {
        return render_strip(app, &run.stages, Some(run.selected_stage), theme, inner, buf);
    }
    let width = inner.width as usize;
    let hint = match app.selected_commit_plan() {
        Some((commit, Some(plan))) => match (&plan.error, plan.source) {
            (_, None) => format!(" reading the release.toml committed with {}…", commit.short),
            (Some(error), _) => {
                let count = crate::text::count(error.lines().filter(|l| is_error_line(l)).count().max(1), "error");
                let line = format!(" ✗ not runnable ({count}): its diagnostic is in the log");
                let line = fit_line(Line::styled(line, theme.failure), width);
                Paragraph::new(line).render(inner, buf);
                return;
            }
            (None, Some(_)) if plan.stages.is_empty() => " no stages planned".to_string(),
            (None, Some(_)) => return render_strip(app, &plan.stages, None, theme, inner, buf),
        },
        Some((_, None)) => " no run for this commit yet: Enter runs the pipeline".to_string(),
        None => " select a run".to_string(),
    };
    Paragraph::new(fit_line(Line::styled(hint, theme.muted), width)).render(inner, buf);
}

/// A diagnostic's error lines (`release.toml:8:11: …`), not its hints or source excerpts.
fn is_error_line(line: &str) -> bool {
    line.split_once(": ")
        .is_some_and(|(place, _)| place.split(':').filter(|p| p.parse::<u32>().is_ok()).count() == 2)
}

/// Stages in DAG columns, `selected` reversed: a run's, or a commit's as planned.
fn render_strip(
    app: &App,
    stages: &[StageView],
    selected: Option<usize>,
    theme: &Theme,
    inner: Rect,
    buf: &mut Buffer,
) {
    let levels = levels(stages);
    let depth = levels.iter().copied().max().unwrap_or(0) + 1;
    let mut columns: Vec<Vec<Span>> = Vec::new();
    let mut widths = Vec::new();
    for level in 0..depth {
        let mut cells = Vec::new();
        for (i, stage) in stages.iter().enumerate().filter(|(i, _)| levels[*i] == level) {
            let glyph = stage_glyph(stage.status, app.spinner);
            let duration = stage
                .elapsed_ms(app.now)
                .map(|ms| DurationStyle::Compact.format_ms(ms))
                .unwrap_or_default();
            let text = format!(" {glyph} {} {duration} ", stage.name);
            let mut style = stage_style(stage.status, theme);
            if Some(i) == selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            cells.push(Span::styled(text, style));
        }
        widths.push(cells.iter().map(Span::width).max().unwrap_or(0));
        columns.push(cells);
    }
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    let mut lines = Vec::new();
    for row in 0..rows.min(inner.height as usize) {
        let mut spans = Vec::new();
        for (level, cells) in columns.iter().enumerate() {
            if level > 0 {
                let arrow = if row == 0 { " → " } else { "   " };
                spans.push(Span::styled(arrow, theme.muted));
            }
            match cells.get(row) {
                Some(cell) => {
                    let pad = widths[level].saturating_sub(cell.width());
                    spans.push(cell.clone());
                    spans.push(Span::raw(" ".repeat(pad)));
                }
                None => spans.push(Span::raw(" ".repeat(widths[level]))),
            }
        }
        lines.push(fit_line(Line::from(spans), inner.width as usize));
    }
    Paragraph::new(lines).render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::panels::test_support::{draw, find, idle, running, text, theme};

    #[test]
    fn stages_in_order_with_their_status_colours() {
        let (app, theme) = (running(), theme());
        let buf = draw(70, 3, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("Pipeline · run #1 · aaaaaaa · manual"), "{screen}");
        let (x, y) = find(&buf, "✓ test 1.2s");
        assert_eq!(buf[(x, y)].fg, theme.success.fg.unwrap(), "{screen}");
        let (tx, _) = find(&buf, "test");
        let (bx, _) = find(&buf, "build");
        let (px, py) = find(&buf, "package");
        assert!(tx < bx && bx < px, "{screen}");
        assert_eq!(buf[(px, py)].fg, theme.pending.fg.unwrap(), "{screen}");
        let (ax, ay) = find(&buf, "→");
        assert_eq!(buf[(ax, ay)].fg, theme.muted.fg.unwrap());
    }

    #[test]
    fn without_a_run_it_says_its_plan_is_being_read() {
        // A fresh console opens on HEAD and asks the engine for its planned stages.
        let (app, theme) = (idle(), theme());
        let buf = draw(70, 3, |area, buf| render(&app, &theme, area, buf));
        let (x, y) = find(&buf, "reading the release.toml committed with");
        assert_eq!(buf[(x, y)].fg, theme.muted.fg.unwrap(), "{}", text(&buf));
    }
}
