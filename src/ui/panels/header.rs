//! The header: app, repository, branch and HEAD; the Docker engine's state; watch state.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::text::{first_line, fit};
use crate::ui::app::App;
use crate::ui::model::EngineState;
use crate::ui::theme::Theme;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let repo = &app.repo;
    let mut first = vec![
        Span::styled(" shipdeck ", theme.accent),
        Span::styled(
            if repo.app.is_empty() {
                "…".to_string()
            } else {
                repo.app.clone()
            },
            theme.text,
        ),
    ];
    if !repo.repo.is_empty() {
        let place = if repo.app_dir.is_empty() {
            repo.repo.clone()
        } else {
            format!("{} ▸ {}", repo.repo, repo.app_dir)
        };
        first.push(Span::styled(format!("  {place}"), theme.muted));
    }
    match (&repo.branch, &repo.head) {
        (branch, Some(head)) => {
            let branch = branch.clone().unwrap_or_else(|| "detached".to_string());
            first.push(Span::styled(format!("  ⎇ {branch}"), theme.text));
            first.push(Span::styled(format!(" @ {}", head.short), theme.accent));
            let room = (area.width as usize).saturating_sub(Line::from(first.clone()).width() + 3);
            first.push(Span::styled(format!("  {}", fit(&head.subject, room)), theme.text));
        }
        (_, None) => first.push(Span::styled("  reading the repository…", theme.muted)),
    }
    let engine = match &app.engine {
        EngineState::Connecting => vec![Span::styled(" docker ◌ connecting…", theme.muted)],
        EngineState::Up { version, api, .. } => vec![
            Span::styled(" docker ", theme.muted),
            Span::styled("●", theme.success),
            Span::styled(format!(" {version} (API {api})"), theme.muted),
        ],
        EngineState::Down { address, message } => {
            // What to check always shows; the engine's own words get what room is left.
            let head = format!(" docker ✗ unreachable at {address}: ");
            let tail = " — check `docker version` ";
            let room = (area.width as usize).saturating_sub(head.chars().count() + tail.chars().count());
            vec![Span::styled(
                format!("{head}{}{tail}", fit(first_line(message), room)),
                theme.alert,
            )]
        }
    };
    let mut second = engine;
    match &app.config_error {
        Some(error) => {
            // Where to read it always shows; the first error gets what room is left.
            let count = error.lines().filter(|l| !l.starts_with(' ')).count();
            let head = format!("  release.toml: {} (e shows all) ", crate::text::count(count, "error"));
            let room = (area.width as usize).saturating_sub(Line::from(second.clone()).width() + head.len() + 2);
            second.push(Span::styled(head, theme.alert));
            second.push(Span::styled(fit(first_line(error), room), theme.alert));
        }
        None => second.extend(watch_spans(app, theme)),
    }
    Paragraph::new(vec![Line::from(first), Line::from(second)]).render(area, buf);
}

/// `watch: commits+saves · 1,204 dirs · last 12:01:02 commit abc1234`
fn watch_spans(app: &App, theme: &Theme) -> Vec<Span<'static>> {
    let w = &app.watch;
    if !w.watching {
        return vec![Span::styled("   watch: off", theme.muted)];
    }
    let what = if w.saves { "commits+saves" } else { "commits" };
    let mut spans = vec![Span::styled(format!("   watch: {what}"), theme.text)];
    if w.paused {
        spans.push(Span::styled(" (paused)", theme.awaiting_approval));
    }
    spans.push(Span::styled(
        format!(" · {}", crate::text::count(w.dirs, "dir")),
        theme.muted,
    ));
    if w.polling {
        spans.push(Span::styled(" · polling", theme.awaiting_approval));
    }
    if let Some(last) = &w.last_trigger {
        spans.push(Span::styled(format!(" · last {last}"), theme.muted));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Event;
    use crate::ui::panels::test_support::{draw, find, idle, text, theme};

    #[test]
    fn names_the_app_the_head_and_a_live_engine_in_green() {
        let (app, theme) = (idle(), theme());
        let buf = draw(80, 2, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(
            screen.starts_with(" shipdeck hello-py  /home/ada/hello-py  ⎇ main @ aaaaaaa"),
            "{screen}"
        );
        assert!(screen.contains("docker ● 20.10.24 (API 1.41)"), "{screen}");
        let (x, y) = find(&buf, "●");
        assert_eq!(buf[(x, y)].fg, theme.success.fg.unwrap());
        let (x, y) = find(&buf, "aaaaaaa");
        assert_eq!(buf[(x, y)].fg, theme.accent.fg.unwrap());
    }

    #[test]
    fn an_unreachable_engine_is_one_alert_line() {
        let (mut app, theme) = (idle(), theme());
        app.apply(Event::EngineStatus {
            connected: false,
            address: "unix:///var/run/docker.sock".into(),
            version: None,
            api_version: None,
            message: Some("connection refused\nsecond line never shown".into()),
        });
        let buf = draw(100, 2, |area, buf| render(&app, &theme, area, buf));
        let screen = text(&buf);
        assert!(
            screen.contains("docker ✗ unreachable at unix:///var/run/docker.sock: connection refused"),
            "{screen}"
        );
        assert!(!screen.contains("second line"), "{screen}");
        let (x, y) = find(&buf, "✗");
        assert_eq!(buf[(x, y)].style().fg, theme.alert.fg);
        assert_eq!(buf[(x, y)].style().bg, theme.alert.bg);
    }
}
