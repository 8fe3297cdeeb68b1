//! The footer: the latest notice, or the search prompt, and key hints for the focused panel,
//! generated from the commands the panel lists (`Focus::commands`) and the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::engine::NoticeLevel;
use crate::text::{first_line, fit};
use crate::ui::app::{App, Modal};
use crate::ui::keymap::Keymap;
use crate::ui::theme::Theme;

/// Columns a notice keeps however long the next step is.
const MIN_NOTICE: usize = 12;

pub fn render(app: &App, keymap: &Keymap, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let line = match &app.modal {
        Some(Modal::Search(query)) => Line::from(vec![
            Span::styled(" search: ", theme.accent),
            Span::styled(query.clone(), theme.text),
            Span::styled("▏", theme.accent),
            Span::styled("   Enter find · Esc cancel", theme.muted),
        ]),
        Some(Modal::ConfirmQuit) if !app.any_active() => {
            let env = app
                .envs
                .list
                .iter()
                .find(|e| e.busy())
                .map(|e| e.name())
                .unwrap_or("an environment");
            Line::from(vec![Span::styled(
                format!(" An operation runs on {env}: quit once it has finished? y/n "),
                theme.awaiting_approval,
            )])
        }
        Some(Modal::ConfirmQuit) => Line::from(vec![Span::styled(
            " A run is active: quit and cancel it (its containers are removed)? y/n ",
            theme.awaiting_approval,
        )]),
        Some(Modal::Promote(modal)) => {
            let what = if modal.same() {
                "nothing to do".to_string()
            } else if modal.blocked.is_some() {
                "the smoke gate refuses this promotion".to_string()
            } else if modal.needs_name() && !modal.ready() {
                format!("type `{}` to approve, then Enter", modal.env)
            } else if modal.ready() {
                "Enter promotes".to_string()
            } else {
                "nothing to promote".to_string()
            };
            Line::from(vec![
                Span::styled(format!(" promote to {}: ", modal.env), theme.awaiting_approval),
                Span::styled(what, theme.text),
                Span::styled(" · Esc cancels", theme.muted),
            ])
        }
        Some(Modal::Rollback(picker)) if picker.confirming => Line::from(vec![
            Span::styled(format!(" roll back {}: ", picker.env), theme.awaiting_approval),
            Span::styled(format!("type `{}` to confirm, then Enter", picker.env), theme.text),
            Span::styled(" · Esc goes back", theme.muted),
        ]),
        Some(Modal::Rollback(picker)) => Line::from(vec![
            Span::styled(format!(" roll back {}: ", picker.env), theme.awaiting_approval),
            Span::styled("↑/↓ choose a release, Enter rolls back", theme.text),
            Span::styled(" · Esc closes", theme.muted),
        ]),
        _ => {
            let mut spans = Vec::new();
            let next = app.next_step();
            let mut step = Vec::new();
            if let Some((action, what)) = &next {
                step.push(Span::styled(format!(" {} ", keymap.primary(*action)), theme.accent));
                step.push(Span::styled(
                    format!("{what} "),
                    theme.success.add_modifier(Modifier::BOLD),
                ));
                step.push(Span::styled("│", theme.border));
            }
            if let Some((level, message)) = app.current_notice() {
                let style = match level {
                    NoticeLevel::Error => theme.failure,
                    NoticeLevel::Warning => theme.awaiting_approval,
                    NoticeLevel::Info => theme.muted,
                };
                // The next step is what to do about it: a long message is cut to leave it
                // room, never the other way round.
                let step_width: usize = step.iter().map(Span::width).sum();
                let room = (area.width as usize).saturating_sub(step_width + 3).max(MIN_NOTICE);
                spans.push(Span::styled(format!(" {} ", fit(first_line(message), room)), style));
                spans.push(Span::styled("│", theme.border));
            }
            spans.extend(step);
            let offered = next.map(|(a, _)| a);
            // Each panel lists its commands beside its logic (`Focus::commands`).
            for command in app.focus.commands().iter().filter(|c| Some(c.action) != offered) {
                spans.push(Span::styled(
                    format!(" {} ", keymap.primary(command.action)),
                    theme.accent,
                ));
                spans.push(Span::styled(command.label(), theme.muted));
            }
            Line::from(spans)
        }
    };
    Paragraph::new(crate::ui::panels::fit_line(line, area.width as usize)).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Event;
    use crate::ui::action::Action;
    use crate::ui::panels::test_support::{draw, find, finished, text, theme};

    #[test]
    fn offers_the_next_step_in_bold_green_then_the_focus_keys() {
        let (app, theme, keymap) = (finished(), theme(), Keymap::default());
        let buf = draw(100, 1, |area, buf| render(&app, &keymap, &theme, area, buf));
        let screen = text(&buf);
        let (x, y) = find(&buf, "deploy aaaaaaa → staging");
        assert_eq!(buf[(x, y)].fg, theme.success.fg.unwrap(), "{screen}");
        assert!(buf[(x, y)].modifier.contains(Modifier::BOLD), "{screen}");
        let key = keymap.primary(Action::Deploy);
        let (kx, ky) = find(&buf, &format!(" {key} deploy"));
        assert_eq!(buf[(kx + 1, ky)].fg, theme.accent.fg.unwrap(), "{screen}");
    }

    #[test]
    fn a_notice_comes_first_in_its_level_colour() {
        let (mut app, theme, keymap) = (finished(), theme(), Keymap::default());
        app.apply(Event::Notice {
            level: NoticeLevel::Error,
            message: "the engine went away".into(),
        });
        let buf = draw(100, 1, |area, buf| render(&app, &keymap, &theme, area, buf));
        let (x, y) = find(&buf, "the engine went away");
        assert_eq!((x, y), (1, 0), "{}", text(&buf));
        assert_eq!(buf[(x, y)].fg, theme.failure.fg.unwrap());
    }

    #[test]
    fn a_long_notice_never_hides_the_next_step() {
        let (mut app, theme, keymap) = (finished(), theme(), Keymap::default());
        let long = format!(
            "deploy to staging failed: {}",
            "the container kept restarting ".repeat(6)
        );
        app.apply(Event::Notice {
            level: NoticeLevel::Error,
            message: long,
        });
        for width in [60, 80, 132] {
            let buf = draw(width, 1, |area, buf| render(&app, &keymap, &theme, area, buf));
            let screen = text(&buf);
            let key = keymap.primary(Action::Deploy);
            assert!(
                screen.contains(&format!(" {key} deploy aaaaaaa → staging")),
                "at {width} columns: {screen}"
            );
            assert!(screen.starts_with(" deploy to staging failed:"), "{screen}");
            assert!(screen.contains('…'), "the notice is cut: {screen}");
            assert_eq!(find(&buf, "deploy to staging").0, 1);
        }
    }
}
