//! The log pane of the selected stage; with split on, the stages that run in parallel with it
//! side by side, one pane each.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{block, op_glyph, stage_glyph};
use crate::text::duration::DurationStyle;
use crate::ui::app::{App, Focus};
use crate::ui::log_pane::{self, LogBuffer, LogStyles, LogView};
use crate::ui::model::{levels, search_summary, RunView, StageView};
use crate::ui::theme::Theme;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Focus::Log;
    if app.shows_env_log() {
        return render_operation(app, theme, focused, area, buf);
    }
    let Some(run) = app.selected_run() else {
        match app.selected_commit_plan() {
            Some((commit, Some(plan))) => {
                let title = format!("Log · {} · planned", commit.short);
                render_log(&title, &plan.log, &plan.view, theme, focused, area, buf);
            }
            _ => block("Log", focused, theme).render(area, buf),
        }
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
    // Its services, each with where it is: `· db ◆ cache ◇`.
    if !stage.services.is_empty() {
        let services: Vec<String> = stage
            .services
            .iter()
            .map(|(name, state)| format!("{name} {}", crate::headless::service_glyph(*state)))
            .collect();
        title.push_str(&format!(" · {}", services.join(" ")));
    }
    render_log(&title, &stage.log, &stage.view, theme, focused, area, buf);
}

/// The selected environment's latest operation, as a log.
fn render_operation(app: &App, theme: &Theme, focused: bool, area: Rect, buf: &mut Buffer) {
    let Some(env) = app.envs.selected() else {
        block("Log", focused, theme).render(area, buf);
        return;
    };
    let Some(op) = &env.op else {
        let title = format!("Log · {}", env.name());
        let outer = block(&title, focused, theme);
        let inner = outer.inner(area);
        outer.render(area, buf);
        let hint = match &env.requested {
            Some(what) => format!(" {what} on {}: asked of the engine…", env.name()),
            None => format!(
                " no operation on {} in this session: d deploys, s smoke-checks, p promotes, r rolls back",
                env.name()
            ),
        };
        Paragraph::new(Line::styled(hint, theme.muted))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .render(inner, buf);
        return;
    };
    let mut title = format!(
        "Log · {} {} {}",
        op_glyph(op.outcome, op.rolled_back, app.spinner),
        op.action.as_str().replace('_', "-"),
        env.name()
    );
    if let Some(ms) = op.duration_ms {
        title.push_str(&format!(" · {}", DurationStyle::Compact.format_ms(ms)));
    }
    render_log(&title, &op.log, &op.view, theme, focused, area, buf);
}

fn render_log(
    title: &str,
    log: &LogBuffer,
    view: &LogView,
    theme: &Theme,
    focused: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let mut title = title.to_string();
    if !view.following() {
        title.push_str(" · scrolled");
    }
    if view.wrap() {
        title.push_str(" · wrap");
    }
    if let Some(summary) = search_summary(view) {
        title.push_str(&format!(" · {summary}"));
    }
    let outer = block(&title, focused, theme);
    let inner = outer.inner(area);
    outer.render(area, buf);
    log_pane::render(log, view, &styles(theme), inner, buf);
}

/// The log pane's styles from the theme's meanings.
pub fn styles(theme: &Theme) -> LogStyles {
    LogStyles {
        text: theme.text,
        muted: theme.muted,
        stderr: theme.stderr,
        success: theme.success,
        failure: theme.failure,
        alert: theme.alert,
        search_match: theme.search_match,
        current_match: theme.current_match,
        indicator: theme.accent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::panels::test_support::{draw, find, idle, running, text, theme};
    use ratatui::style::Color;

    #[test]
    fn the_selected_stage_log_keeps_its_colours_and_nothing_else() {
        let (app, theme) = (running(), theme());
        let buf = draw(60, 8, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("$ python -m zipapp app"), "{screen}");
        let (x, y) = find(&buf, "built dist/hello.pyz");
        // SGR 32 from the stage's output reaches the cell; the text after the reset does not.
        assert_eq!(buf[(x, y)].fg, Color::Green, "{screen}");
        assert_ne!(buf[(x + 6, y)].fg, Color::Green, "{screen}");
        assert!(!screen.contains('\x1b'), "{screen:?}");
    }

    #[test]
    fn a_stage_pane_shows_its_services_and_what_they_said() {
        use crate::engine::{Event, ServiceState};
        let (mut app, theme) = (running(), theme());
        let service = |state, duration_ms, message: Option<&str>| Event::ServiceStatus {
            run: 1,
            stage: "build".into(),
            service: if state == ServiceState::Failed { "cache" } else { "db" }.into(),
            image: if state == ServiceState::Failed {
                "redis:7"
            } else {
                "postgres:15"
            }
            .into(),
            state,
            duration_ms,
            message: message.map(str::to_string),
            at: chrono::Utc::now(),
        };
        app.apply(service(ServiceState::Starting, None, None));
        app.apply(service(
            ServiceState::Ready,
            Some(1500),
            Some("ready: port 5432 listens"),
        ));
        // A hostile engine message: nothing but plain text reaches the pane.
        let hostile = "failed: it exited\x1b]52;c;aGk=\x07 with code 1";
        app.apply(service(ServiceState::Failed, None, Some(hostile)));
        let buf = draw(100, 10, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("build · db ◆ cache ✗"), "{screen}");
        assert!(screen.contains("service db (postgres:15) starting"), "{screen}");
        assert!(
            screen.contains("service db (postgres:15) ready in 1.5s: ready: port 5432 listens"),
            "{screen}"
        );
        assert!(
            screen.contains("service cache (redis:7) failed: failed: it exited with code 1"),
            "{screen}"
        );
        assert!(!screen.contains('\x1b') && !screen.contains('\x07'), "{screen:?}");
    }

    #[test]
    fn without_a_run_it_is_an_empty_frame() {
        let (app, theme) = (idle(), theme());
        let buf = draw(30, 4, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("Log"), "{screen}");
        assert_eq!(
            screen
                .lines()
                .nth(1)
                .map(|l| l.trim_matches(|c| c == '│' || c == '┃' || c == ' ')),
            Some("")
        );
        // Not focused: the muted title on a rounded border in the border colour.
        let (x, y) = find(&buf, "Log");
        assert_eq!(buf[(x, y)].fg, theme.muted.fg.unwrap(), "{screen}");
        assert_eq!(buf[(0, 0)].symbol(), "╭", "{screen}");
        assert_eq!(buf[(0, 0)].style().fg, theme.border.fg, "{screen}");
    }
}
