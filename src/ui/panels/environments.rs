//! The environments panel: for each environment of release.toml, what its engine says runs
//! there (commit, subject, health), since when and by whom; who holds its lock; an engine that
//! cannot be reached; and the operation of this console running on it, with a spinner.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{block, fit_line, op_glyph, wrap, SPINNER};
use crate::deploy::OpOutcome;
use crate::text::fit;
use crate::ui::app::{App, Focus};
use crate::ui::envs::{local_time, parse_time, short_operator, EnvView};
use crate::ui::model::EngineState;
use crate::ui::theme::Theme;

/// Rows the panel needs inside its border, `width` columns wide.
pub fn height(app: &App, theme: &Theme, width: u16) -> u16 {
    let rows: usize = (0..app.envs.list.len())
        .map(|i| env_lines(app, i, theme, width as usize).len())
        .sum();
    rows.max(1) as u16
}

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Focus::Environments;
    let outer = block("Environments", focused, theme);
    let inner = outer.inner(area);
    outer.render(area, buf);
    if app.envs.list.is_empty() {
        let text = if app.config_error.is_some() {
            " release.toml is invalid (see the header)"
        } else {
            " none in release.toml"
        };
        Paragraph::new(Line::styled(text, theme.muted)).render(inner, buf);
        return;
    }
    let width = inner.width as usize;
    let mut lines: Vec<(usize, Line)> = Vec::new();
    for i in 0..app.envs.list.len() {
        lines.extend(env_lines(app, i, theme, width).into_iter().map(|l| (i, l)));
    }
    // Keep the selected environment in view.
    let height = inner.height as usize;
    let last_selected = lines.iter().rposition(|(i, _)| *i == app.envs.selected).unwrap_or(0);
    let first = (last_selected + 1).saturating_sub(height);
    let shown: Vec<Line> = lines.into_iter().skip(first).map(|(_, l)| l).collect();
    Paragraph::new(shown).render(inner, buf);
}

/// The lines of one environment: its state, then what is going on there, if anything.
fn env_lines<'a>(app: &App, index: usize, theme: &Theme, width: usize) -> Vec<Line<'a>> {
    let env = &app.envs.list[index];
    let name_width = app
        .envs
        .list
        .iter()
        .map(|e| crate::text::width(e.name()))
        .max()
        .unwrap_or(0)
        .clamp(7, 14);
    let name_style = if env.spec.production {
        theme.production
    } else {
        theme.text
    };
    let mut first = vec![Span::styled(
        format!("{} ", crate::text::pad(&fit(env.name(), name_width), name_width)),
        name_style,
    )];
    let (glyph, word, style) = state(app, env, theme);
    // Health words line up across the environments that run something.
    let word_width = app
        .envs
        .list
        .iter()
        .filter(|e| e.deployed.is_some())
        .map(|e| crate::text::width(&health_word(e)))
        .max()
        .unwrap_or(0);
    first.push(Span::styled(format!("{glyph} {word:<word_width$} "), style));
    // A passed verdict follows the health; a failed one took its place (it is what matters,
    // and a narrow panel cuts the commit and subject before it).
    if env.smoke_passed() == Some(true) {
        first.push(Span::styled("✓ smoke ", theme.success));
    }
    if let Some(d) = &env.deployed {
        first.push(Span::styled(format!("{} ", d.release.short_commit), theme.accent));
        // The row's marker comes first.
        let used = 1 + first.iter().map(Span::width).sum::<usize>();
        first.push(Span::styled(
            fit(&d.release.subject, width.saturating_sub(used)),
            theme.text,
        ));
    }
    let indent = " ".repeat(name_width + 1);
    let room = width.saturating_sub(name_width + 2);
    let mut lines = vec![fit_line(Line::from(first), width.saturating_sub(1))];
    for row in detail(app, env, theme, room).into_iter().chain(parts(env, theme)) {
        let mut spans = vec![Span::raw(indent.clone())];
        spans.extend(row);
        lines.push(fit_line(Line::from(spans), width.saturating_sub(1)));
    }
    let selected = index == app.envs.selected;
    for line in &mut lines {
        if selected {
            if app.focus == Focus::Environments {
                *line = std::mem::take(line).patch_style(theme.selection);
            }
            line.spans.insert(0, Span::styled("▌", theme.accent));
        } else {
            line.spans.insert(0, Span::raw(" "));
        }
    }
    lines
}

const SMOKE_FAILED: &str = "smoke failed";
const UNVERIFIED: &str = "unverified";

/// What the panel says of a release's health: its smoke checks failed, or its container's.
fn health_word(env: &EnvView) -> String {
    match &env.deployed {
        Some(_) if env.smoke_passed() == Some(false) => SMOKE_FAILED.to_string(),
        Some(d) => match d.health() {
            // Up, but its smoke checks never passed against it (an operation died before
            // them): not healthy in any sense that matters until `s` (or a deploy) verifies it.
            h if env.unverified() && (h == "healthy" || h == "running") => UNVERIFIED.to_string(),
            h => h,
        },
        None => String::new(),
    }
}

/// The health glyph, word and style of an environment.
fn state(app: &App, env: &EnvView, theme: &Theme) -> (char, String, Style) {
    if env.error.is_some() {
        return ('✗', "unreachable".into(), theme.failure);
    }
    if !env.loaded {
        return match app.engine {
            EngineState::Down { .. } => ('?', "unknown".into(), theme.muted),
            _ => ('◌', "reading…".into(), theme.muted),
        };
    }
    if env.deployed.is_none() {
        return ('○', "not deployed".into(), theme.muted);
    }
    let health = health_word(env);
    let (glyph, style) = match health.as_str() {
        // Running, but its smoke checks failed: not a healthy release.
        SMOKE_FAILED => ('✗', theme.failure.add_modifier(Modifier::BOLD)),
        UNVERIFIED => ('?', theme.alert),
        "healthy" | "running" => ('●', theme.success),
        "starting" | "restarting" => ('◐', theme.running),
        "unhealthy" | "dead" => ('✗', theme.failure),
        _ => ('○', theme.muted),
    };
    (glyph, health, style)
}

/// A row of its proxy, its accessories and its release's other processes, each with a health
/// glyph: `proxy ● serving hello-py-… on 127.0.0.1:18080 · db ● running · worker ✗ exited`.
fn parts<'a>(env: &EnvView, theme: &Theme) -> Option<Vec<Span<'a>>> {
    // A proxy missing where nothing was ever deployed is no news: the first deploy makes it.
    let proxy = env
        .proxy
        .iter()
        .filter(|p| env.deployed.is_some() || p.state != "missing");
    let all: Vec<&crate::deploy::accessories::PartState> =
        proxy.chain(&env.accessories).chain(&env.processes).collect();
    if all.is_empty() {
        return None;
    }
    let mut spans = Vec::new();
    for (i, part) in all.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted));
        }
        let (glyph, style) = match part.health.as_str() {
            "healthy" | "running" => ('●', theme.success),
            // The proxy says what it serves, or that it is broken.
            h if h.starts_with("serving") => ('●', theme.success),
            h if h.starts_with("no release") => ('◐', theme.running),
            h if h.starts_with("missing") => ('○', theme.muted),
            "starting" | "restarting" | "created" => ('◐', theme.running),
            "missing" => ('○', theme.muted),
            _ => ('✗', theme.failure),
        };
        spans.push(Span::styled(format!("{} ", part.name), theme.text));
        spans.push(Span::styled(format!("{glyph} {}", part.health), style));
    }
    Some(spans)
}

/// The rows under the state: an operation under way, an unreachable engine, a lock, or since
/// when and by whom (with how the last operation of this session ended when it did not go well).
fn detail<'a>(app: &App, env: &EnvView, theme: &Theme, room: usize) -> Vec<Vec<Span<'a>>> {
    let spin = SPINNER[app.spinner % SPINNER.len()];
    let one = |text: String, style: Style| vec![vec![Span::styled(fit(&text, room), style)]];
    // A note of its own: up to three rows.
    let note = |text: &str, style: Style| {
        let mut rows = wrap(text, room);
        if rows.len() > 3 {
            rows.truncate(3);
            rows[2].push_str(" …");
        }
        rows.into_iter()
            .map(|row| vec![Span::styled(fit(&row, room), style)])
            .collect::<Vec<_>>()
    };
    if let Some(what) = &env.requested {
        return one(format!("{spin} {what}…"), theme.running);
    }
    if let Some(op) = env.op.as_ref().filter(|o| o.is_running()) {
        let style = if op.rolling_back() { theme.alert } else { theme.running };
        let mut rows = one(format!("{spin} {}…", op.doing()), style);
        if let Some(sw) = &env.switch {
            rows.extend(super::switch::rows(sw, app.now, theme, room));
        }
        return rows;
    }
    if let Some(error) = &env.error {
        return note(crate::text::first_line(error), theme.muted);
    }
    if let Some(lock) = &env.lock {
        let since = lock.since.map(|t| local_time(t, app.now)).unwrap_or_else(|| "?".into());
        let mut text = format!(
            "locked by {} since {since} ({})",
            short_operator(&lock.holder),
            lock.doing
        );
        if lock.stale {
            text.push_str(&format!(" · stale: shipdeck unlock {}", env.name()));
        }
        return note(&text, theme.awaiting_approval);
    }
    let mut spans = Vec::new();
    let mut used = 0;
    if let Some(d) = &env.deployed {
        let since = parse_time(&d.deployed_at)
            .map(|t| local_time(t, app.now))
            .unwrap_or_else(|| "?".into());
        let text = fit(&format!("since {since} · {}", short_operator(&d.deployed_by)), room);
        used = text.chars().count();
        spans.push(Span::styled(text, theme.muted));
    }
    if let Some(op) = env.op.as_ref().filter(|o| !o.outcome.is_ok() || o.rolled_back) {
        let action = op.action.as_str().replace('_', "-");
        let (text, style) = match op.outcome {
            OpOutcome::RolledBack => ("⚠ ROLLED BACK".to_string(), theme.alert),
            other => (
                format!(
                    "{} {action} {}",
                    op_glyph(other, false, 0),
                    other.as_str().replace('_', " ")
                ),
                theme.failure,
            ),
        };
        let sep = if spans.is_empty() { "" } else { " · " };
        spans.push(Span::styled(sep, theme.muted));
        spans.push(Span::styled(fit(&text, room.saturating_sub(used + sep.len())), style));
    }
    if spans.is_empty() {
        Vec::new()
    } else {
        vec![spans]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::panels::test_support::{draw, find, running, text, theme};

    use crate::engine::Event;
    use crate::ui::panels::test_support::deployed;

    fn staging_smoke(app: &mut App, smoke: Option<bool>) {
        app.apply(Event::EnvironmentStatus {
            env: "staging".into(),
            deployed: Some(deployed('b', "Initial commit", "Up 2 minutes (healthy)")),
            lock: None,
            error: None,
            smoke,
        });
    }

    #[test]
    fn a_verified_staging_is_green_and_an_empty_production_is_marked() {
        let (mut app, theme) = (running(), theme());
        staging_smoke(&mut app, Some(true));
        let buf = draw(40, 6, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("Environments"), "{screen}");
        assert!(screen.contains("bbbbbbb"), "{screen}");
        let (x, y) = find(&buf, "● healthy");
        assert_eq!(buf[(x, y)].fg, theme.success.fg.unwrap(), "{screen}");
        let (x, y) = find(&buf, "production ○");
        assert_eq!(buf[(x, y)].fg, theme.production.fg.unwrap(), "{screen}");
        let (x, y) = find(&buf, "not deployed");
        assert_eq!(buf[(x, y)].fg, theme.muted.fg.unwrap(), "{screen}");
    }

    #[test]
    fn a_failed_smoke_verdict_is_a_bold_failure_whatever_docker_says() {
        let (mut app, theme) = (running(), theme());
        staging_smoke(&mut app, Some(false));
        let buf = draw(40, 6, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(!screen.contains("healthy"), "{screen}");
        let (x, y) = find(&buf, "✗");
        assert_eq!(buf[(x, y)].fg, theme.failure.fg.unwrap(), "{screen}");
        assert!(buf[(x, y)].modifier.contains(Modifier::BOLD), "{screen}");
    }

    #[test]
    fn accessories_and_processes_show_under_their_environment_with_their_health() {
        use crate::deploy::accessories::PartState;
        let (mut app, theme) = (running(), theme());
        staging_smoke(&mut app, Some(true));
        let part = |name: &str, state: &str| PartState {
            name: name.into(),
            container: Some(format!("c-{name}")),
            state: state.into(),
            health: state.into(),
            image: "postgres:15".into(),
        };
        app.apply(Event::EnvironmentParts {
            env: "staging".into(),
            accessories: vec![part("db", "running")],
            processes: vec![part("worker", "exited")],
            proxy: None,
        });
        let buf = draw(60, 8, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        let (x, y) = find(&buf, "db ● running");
        assert_eq!(buf[(x + 3, y)].fg, theme.success.fg.unwrap(), "{screen}");
        let (x, y2) = find(&buf, "worker ✗ exited");
        assert_eq!(y, y2, "one row for the parts:\n{screen}");
        assert_eq!(buf[(x + 7, y)].fg, theme.failure.fg.unwrap(), "{screen}");
        let (_, staging) = find(&buf, "staging");
        let (_, production) = find(&buf, "production");
        assert!(staging < y && y < production, "under staging:\n{screen}");
    }
}
