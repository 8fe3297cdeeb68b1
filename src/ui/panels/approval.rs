//! The promotion modal: what promoting changes (current → candidate release, the commits
//! between them), whether the smoke gate lets it through, and — when the environment wants an
//! approval — a prompt where its name must be typed before Enter promotes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::{popup, wrap};
use crate::deploy::ReleaseRef;
use crate::text::fit;
use crate::ui::envs::PromoteModal;
use crate::ui::theme::Theme;

/// How many commit subjects are listed at most.
const MAX_COMMITS: usize = 12;

pub fn render(modal: &PromoteModal, production: bool, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let width = area.width.saturating_sub(4).min(84);
    let inner_width = width.saturating_sub(2) as usize;
    let env_style = if production { theme.production } else { theme.accent };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" {} ", modal.source), theme.text),
            Span::styled("→ ", theme.muted),
            Span::styled(modal.env.clone(), env_style),
        ]),
        Line::raw(""),
        release_line("now    ", modal.current.as_ref(), &modal.env, theme, inner_width),
        release_line("becomes", modal.candidate.as_ref(), &modal.source, theme, inner_width),
        Line::raw(""),
    ];
    let same = modal.same();
    let tail = tail(modal, theme, inner_width);
    // Border, the lines above and below the commits, and a blank line before the tail.
    let fixed = 2 + lines.len() + 1 + tail.len() + 1;
    let room = (area.height as usize).saturating_sub(fixed).min(MAX_COMMITS);
    if same {
        lines.push(Line::styled(
            format!(" {} already runs this release: nothing to do", modal.env),
            theme.text,
        ));
    } else if modal.commits.is_empty() {
        lines.push(Line::styled(" no commits listed between them", theme.muted));
    } else {
        let n = modal.commits.len();
        lines.push(Line::styled(
            format!(" {n} commit{} to {}:", if n == 1 { "" } else { "s" }, modal.env),
            theme.text,
        ));
        let shown = if n > room { room.saturating_sub(1) } else { n };
        for c in modal.commits.iter().take(shown) {
            lines.push(Line::from(vec![
                Span::styled(format!("   {} ", c.short), theme.accent),
                Span::styled(fit(&c.subject, inner_width.saturating_sub(12)), theme.text),
            ]));
        }
        if shown < n {
            lines.push(Line::styled(format!("   … {} more", n - shown), theme.muted));
        }
    }
    lines.push(Line::raw(""));
    lines.extend(tail);
    popup(buf, area, width, &format!("Promote to {}", modal.env), lines, theme);
}

/// `now      b2c3d4e  Old subject`, or what is missing.
fn release_line<'a>(label: &str, release: Option<&ReleaseRef>, env: &str, theme: &Theme, width: usize) -> Line<'a> {
    match release {
        Some(r) => Line::from(vec![
            Span::styled(format!(" {label}  "), theme.muted),
            Span::styled(format!("{}  ", r.short_commit), theme.accent),
            Span::styled(fit(&r.subject, width.saturating_sub(label.len() + 12)), theme.text),
        ]),
        None => Line::from(vec![
            Span::styled(format!(" {label}  "), theme.muted),
            Span::styled(format!("nothing runs on {env}"), theme.muted),
        ]),
    }
}

/// The gate's refusal, or the approval prompt, then the keys.
fn tail<'a>(modal: &PromoteModal, theme: &Theme, width: usize) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    if modal.same() || modal.candidate.is_none() && modal.blocked.is_none() {
        lines.push(keys(Enter::Absent, theme));
        return lines;
    }
    if let Some(why) = &modal.blocked {
        for (i, row) in wrap(&format!("the smoke gate refuses: {why}"), width.saturating_sub(3))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 { " ✗ " } else { "   " };
            lines.push(Line::styled(format!("{lead}{row}"), theme.failure));
        }
        let hint = format!(
            "The console never forces a promotion: `shipdeck promote {} --force` does, and the audit records it.",
            modal.env
        );
        lines.extend(
            wrap(&hint, width.saturating_sub(3))
                .into_iter()
                .map(|row| Line::styled(format!("   {row}"), theme.muted)),
        );
        lines.push(Line::raw(""));
        lines.push(keys(Enter::Absent, theme));
        return lines;
    }
    if modal.needs_name() {
        let matches = modal.typed == modal.env;
        let mut prompt = vec![
            Span::styled(" Type ", theme.text),
            Span::styled(modal.env.clone(), theme.awaiting_approval),
            Span::styled(" to approve: ", theme.text),
            Span::styled(modal.typed.clone(), theme.text.add_modifier(Modifier::BOLD)),
            Span::styled("▏", theme.accent),
        ];
        if matches {
            prompt.push(Span::styled(" ✓", theme.success));
        }
        lines.push(Line::from(prompt));
        if modal.mismatch {
            lines.push(Line::styled(
                format!(" ✗ the name does not match: type `{}`", modal.env),
                theme.failure,
            ));
        }
        lines.push(Line::raw(""));
    }
    let enter = if modal.ready() { Enter::Ready } else { Enter::NeedsName };
    lines.push(keys(enter, theme));
    lines
}

/// What Enter does in the dialog.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Enter {
    Ready,
    /// Once the name is typed.
    NeedsName,
    /// Nothing: only Esc.
    Absent,
}

/// ` Enter promote · Esc cancel`; Enter is not offered while it would do nothing.
fn keys<'a>(enter: Enter, theme: &Theme) -> Line<'a> {
    let mut spans = match enter {
        Enter::Ready => vec![
            Span::styled(" Enter", theme.accent),
            Span::styled(" promote", theme.text),
            Span::styled(" · ", theme.muted),
        ],
        Enter::NeedsName => vec![Span::styled(" Enter promotes once the name is typed · ", theme.muted)],
        Enter::Absent => vec![Span::raw(" ")],
    };
    let word = if enter == Enter::Absent { " close" } else { " cancel" };
    spans.push(Span::styled("Esc", theme.accent));
    spans.push(Span::styled(word, theme.text));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Event;
    use crate::ui::action::Action;
    use crate::ui::app::{App, Modal, ModalInput};
    use crate::ui::panels::test_support::{commit, draw, find, finished, release, text, theme};

    fn promoting(typed: &str) -> App {
        let mut app = finished();
        app.update(Action::Promote);
        app.apply(Event::PromotionPreview {
            env: "production".into(),
            source: "staging".into(),
            current: Some(release('b', "Initial commit")),
            candidate: Some(release('a', "Add /health endpoint")),
            commits: vec![commit('a', "Add /health endpoint")],
            approval: true,
            blocked: None,
        });
        for c in typed.chars() {
            app.modal_input(ModalInput::Char(c));
        }
        app
    }

    fn draw_modal(app: &App) -> ratatui::buffer::Buffer {
        let theme = theme();
        let Some(Modal::Promote(modal)) = &app.modal else {
            panic!("no promote dialog: {:?}", app.modal.is_some())
        };
        draw(90, 20, |area, buf| render(modal, true, &theme, area, buf))
    }

    #[test]
    fn enter_lights_up_only_once_the_name_is_typed() {
        let theme = theme();
        let buf = draw_modal(&promoting("produ"));
        let screen = text(&buf);
        assert!(screen.contains("staging → production"), "{screen}");
        assert!(screen.contains("aaaaaaa"), "{screen}");
        let (x, y) = find(&buf, "Enter promote");
        assert_eq!(buf[(x + 1, y)].fg, theme.muted.fg.unwrap(), "{screen}");
        let buf = draw_modal(&promoting("production"));
        let (x, y) = find(&buf, "Enter promote");
        assert_eq!(buf[(x + 1, y)].fg, theme.accent.fg.unwrap(), "{}", text(&buf));
    }
}
