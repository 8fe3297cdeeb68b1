//! The log pane of the selected stage; with split on, the stages that run in parallel with it
//! side by side, one pane each.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

use super::{block, stage_glyph};
use crate::ui::app::{App, Focus};
use crate::ui::log_pane::{self, LogStyles};
use crate::ui::model::{levels, RunView, StageView};
use crate::ui::theme::Theme;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Focus::Log;
    let Some(run) = app.selected_run() else {
        block("Log", focused, theme).render(area, buf);
        return;
    };
    let panes = panes(run, app.split);
    if panes.is_empty() {
        block("Log", focused, theme).render(area, buf);
        return;
    }
    let areas = Layout::horizontal(vec![Constraint::Fill(1); panes.len()]).split(area);
    for (stage_index, pane_area) in panes.into_iter().zip(areas.iter()) {
        let stage = &run.stages[stage_index];
        let selected = stage_index == run.selected_stage;
        render_pane(app, stage, theme, focused && selected, *pane_area, buf);
    }
}

/// Which stages get a pane: the selected one, or with split on, every stage of its column.
fn panes(run: &RunView, split: bool) -> Vec<usize> {
    if run.stages.is_empty() {
        return Vec::new();
    }
    if !split {
        return vec![run.selected_stage];
    }
    let levels = levels(&run.stages);
    let level = levels[run.selected_stage];
    (0..run.stages.len()).filter(|i| levels[*i] == level).collect()
}

fn render_pane(app: &App, stage: &StageView, theme: &Theme, focused: bool, area: Rect, buf: &mut Buffer) {
    let mut title = format!("Log · {} {}", stage_glyph(stage.status, app.spinner), stage.name);
    let view = &stage.view;
    if !view.following() {
        title.push_str(" · scrolled");
    }
    if view.wrap() {
        title.push_str(" · wrap");
    }
    if let Some(summary) = stage.search_summary() {
        title.push_str(&format!(" · {summary}"));
    }
    let outer = block(&title, focused, theme);
    let inner = outer.inner(area);
    outer.render(area, buf);
    let styles = LogStyles {
        text: theme.text,
        muted: theme.muted,
        stderr: theme.stderr,
        search_match: theme.search_match,
        current_match: theme.current_match,
        indicator: theme.accent,
    };
    log_pane::render(&stage.log, view, &styles, inner, buf);
}
