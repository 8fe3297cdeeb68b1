//! Drawing: a read-only function of the app state. Layout, then each panel.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};
use ratatui::Frame;

use super::app::{App, Focus, Modal};
use super::keymap::Keymap;
use super::panels::{
    approval, config_error, environments, footer, header, help, logs, pipeline, rollback_picker, runs,
};
use super::theme::Theme;

/// The smallest terminal the console lays out in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// What rendering needs besides the state, and does not change while the console runs.
pub struct Chrome {
    pub theme: Theme,
    pub keymap: Keymap,
    /// Environments of release.toml, and whether each is a production one. The console's
    /// environments model starts from these unless the app was given more (see
    /// [`App::set_environments`]).
    pub environments: Vec<(String, bool)>,
}

pub fn draw(app: &App, chrome: &Chrome, frame: &mut Frame) {
    let area = frame.area();
    render(app, chrome, area, frame.buffer_mut());
}

pub fn render(app: &App, chrome: &Chrome, area: Rect, buf: &mut Buffer) {
    let theme = &chrome.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = vec![
            Line::styled("terminal too small", theme.alert),
            Line::styled(
                format!(
                    "shipdeck needs {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}",
                    area.width, area.height
                ),
                theme.text,
            ),
            Line::styled("enlarge the window, or press q to quit", theme.muted),
        ];
        let y = area.y + area.height.saturating_sub(3) / 2;
        let rect = Rect {
            x: area.x,
            y,
            width: area.width,
            height: area.height.min(3),
        };
        Paragraph::new(text)
            .centered()
            .wrap(Wrap { trim: true })
            .render(rect, buf);
        return;
    }
    let areas = layout(app, chrome, area);
    header::render(app, theme, areas.header, buf);
    footer::render(app, &chrome.keymap, theme, areas.footer, buf);
    runs::render(app, theme, areas.runs, buf);
    environments::render(app, theme, areas.environments, buf);
    pipeline::render(app, theme, areas.pipeline, buf);
    logs::render(app, theme, areas.log, buf);

    match &app.modal {
        Some(Modal::Help) => help::render(&chrome.keymap, app.help_scroll, theme, area, buf),
        Some(Modal::ConfigError { scroll }) => {
            let error = app.config_error.as_deref().unwrap_or_default();
            config_error::render(error, *scroll, theme, area, buf)
        }
        Some(Modal::Promote(modal)) => {
            let production = app.envs.get(&modal.env).is_some_and(|e| e.spec.production);
            approval::render(modal, production, theme, area, buf);
        }
        Some(Modal::Rollback(picker)) => rollback_picker::render(picker, app.now, theme, area, buf),
        _ => {}
    }
}

/// Where each panel goes.
pub struct Areas {
    pub header: Rect,
    pub footer: Rect,
    pub runs: Rect,
    pub environments: Rect,
    pub pipeline: Rect,
    pub log: Rect,
}

pub fn layout(app: &App, chrome: &Chrome, area: Rect) -> Areas {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(2), Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    // The runs list widens with the terminal (subjects are what gets cut), up to a width past
    // which a subject is as long as a commit's first line should be.
    let left_width = (area.width * 2 / 5).clamp(36, 88);
    let [left, right] = Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(body);
    // The environments get what they need, up to half the column.
    let env_height = (environments::height(app, &chrome.theme, left.width.saturating_sub(2)) + 2).min(left.height / 2);
    let [runs, environments] = Layout::vertical([Constraint::Fill(1), Constraint::Length(env_height)]).areas(left);
    let planned = app.selected_commit_plan().and_then(|(_, plan)| plan);
    let strip = app
        .selected_run()
        .map(|r| pipeline::height(&r.stages))
        .or_else(|| planned.map(|p| pipeline::height(&p.stages)))
        .unwrap_or(1)
        .min(6)
        + 2;
    let [pipeline, log] = Layout::vertical([Constraint::Length(strip), Constraint::Fill(1)]).areas(right);
    Areas {
        header,
        footer,
        runs,
        environments,
        pipeline,
        log,
    }
}

/// The panel under a screen position, for the mouse wheel.
pub fn panel_at(app: &App, chrome: &Chrome, area: Rect, column: u16, row: u16) -> Option<Focus> {
    clicked(app, chrome, area, column, row).map(|(focus, _)| focus)
}

/// The panel under a screen position, and the line of its inside (below its border) that
/// was hit: `None` on the border.
pub fn clicked(app: &App, chrome: &Chrome, area: Rect, column: u16, row: u16) -> Option<(Focus, Option<usize>)> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let areas = layout(app, chrome, area);
    let position = ratatui::layout::Position { x: column, y: row };
    let line = |rect: Rect| {
        let inside = row > rect.y && row + 1 < rect.y + rect.height;
        inside.then(|| (row - rect.y - 1) as usize)
    };
    [
        (areas.runs, Focus::Runs),
        (areas.pipeline, Focus::Pipeline),
        (areas.log, Focus::Log),
        (areas.environments, Focus::Environments),
    ]
    .into_iter()
    .find(|(rect, _)| rect.contains(position))
    .map(|(rect, focus)| (focus, line(rect)))
}
