//! The footer: the latest notice, or the search prompt, and key hints for the focused panel,
//! generated from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::engine::NoticeLevel;
use crate::ui::action::Action;
use crate::ui::app::{App, Focus, Modal};
use crate::ui::keymap::Keymap;
use crate::ui::theme::Theme;

/// The actions worth a hint when a panel has the focus.
fn hinted(focus: Focus) -> &'static [Action] {
    match focus {
        Focus::Runs => &[
            Action::Down,
            Action::RunSelected,
            Action::CancelSelected,
            Action::FocusNext,
            Action::Help,
            Action::Quit,
        ],
        Focus::Pipeline => &[
            Action::Right,
            Action::RunSelected,
            Action::CancelSelected,
            Action::FocusNext,
            Action::Help,
            Action::Quit,
        ],
        Focus::Log => &[
            Action::Down,
            Action::PageDown,
            Action::Follow,
            Action::Search,
            Action::ToggleWrap,
            Action::ToggleSplit,
            Action::OpenPager,
            Action::Help,
            Action::Quit,
        ],
    }
}

pub fn render(app: &App, keymap: &Keymap, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let line = match &app.modal {
        Some(Modal::Search(query)) => Line::from(vec![
            Span::styled(" search: ", theme.accent),
            Span::styled(query.clone(), theme.text),
            Span::styled("▏", theme.accent),
            Span::styled("   Enter find · Esc cancel", theme.muted),
        ]),
        Some(Modal::ConfirmQuit) => Line::from(vec![Span::styled(
            " A run is active: quit and cancel it (its containers are removed)? y/n ",
            theme.awaiting_approval,
        )]),
        _ => {
            let mut spans = Vec::new();
            if let Some((level, message)) = app.current_notice() {
                let style = match level {
                    NoticeLevel::Error => theme.failure,
                    NoticeLevel::Warning => theme.awaiting_approval,
                    NoticeLevel::Info => theme.muted,
                };
                spans.push(Span::styled(format!(" {message} "), style));
                spans.push(Span::styled("│", theme.border));
            }
            for action in hinted(app.focus) {
                let hint = match (app.focus, action) {
                    (Focus::Log, Action::Down) => "scroll",
                    _ => action.hint(),
                };
                spans.push(Span::styled(format!(" {} ", keymap.primary(*action)), theme.accent));
                spans.push(Span::styled(hint, theme.muted));
            }
            Line::from(spans)
        }
    };
    Paragraph::new(line).render(area, buf);
}
