//! The rollback picker: the releases an environment can go back to, newest first, with commit,
//! release (run number and image ID: one commit may have several releases), subject, when and
//! by whom each was deployed there and how its smoke checks went. The one running now is
//! marked and cannot be chosen.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::popup;
use crate::text::{fit, pad};
use crate::ui::envs::{local_time, short_operator, RollbackPicker};
use crate::ui::theme::Theme;

const WHEN: usize = 16;
const BY: usize = 14;
/// `#123 0123abcd`.
const RELEASE: usize = 13;
/// After a release built before the newest one whose release_command ran there.
const SCHEMA_MARK: &str = " schema may be ahead";

pub fn render(picker: &RollbackPicker, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let width = area.width.saturating_sub(4).min(100);
    let inner_width = width.saturating_sub(2) as usize;
    // Marker, commit, release, when, by, smoke, "current" (or the schema mark) and the gaps
    // between columns.
    let tail = if picker.releases.iter().any(|c| c.schema_behind) {
        SCHEMA_MARK.chars().count()
    } else {
        8
    };
    let subject_width = inner_width.saturating_sub(2 + 7 + 2 + RELEASE + 2 + 2 + WHEN + 2 + BY + 2 + 5 + tail);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<7}  {:<RELEASE$}  {:<subject_width$}  {:<WHEN$}  {:<BY$}  smoke",
            "commit", "release", "subject", "deployed", "by"
        ),
        theme.muted,
    )];
    // Border, header, blank line and keys (and the approval prompt).
    let prompt = if picker.confirming { 3 } else { 0 };
    let room = (area.height as usize).saturating_sub(5 + prompt).max(1);
    let first = (picker.selected + 1).saturating_sub(room);
    for (i, choice) in picker.releases.iter().enumerate().skip(first).take(room) {
        let r = &choice.release;
        let when = choice
            .deployed_at
            .map(|t| local_time(t, now))
            .unwrap_or_else(|| "–".into());
        let by = choice.by.as_deref().map(short_operator).unwrap_or("–");
        let (smoke, smoke_style) = match choice.smoke {
            Some(true) => ("✓", theme.success),
            Some(false) => ("✗", theme.failure),
            None => ("–", theme.muted),
        };
        let text = if choice.current { theme.muted } else { theme.text };
        let mut line = Line::from(vec![
            Span::styled(
                format!("{:<7}  ", r.short_commit),
                if choice.current { theme.muted } else { theme.accent },
            ),
            Span::styled(
                format!("{}  ", pad(&fit(&release_words(choice), RELEASE), RELEASE)),
                theme.muted,
            ),
            Span::styled(
                format!("{}  ", pad(&fit(&r.subject, subject_width), subject_width)),
                text,
            ),
            Span::styled(format!("{}  ", pad(&fit(&when, WHEN), WHEN)), theme.muted),
            Span::styled(format!("{}  ", pad(&fit(by, BY), BY)), theme.muted),
            Span::styled(format!("  {smoke}  "), smoke_style),
        ]);
        if choice.current {
            line.spans.push(Span::styled(" current", theme.accent));
        }
        if choice.schema_behind {
            // Built before the newest release whose release_command ran there.
            line.spans.push(Span::styled(SCHEMA_MARK, theme.awaiting_approval));
        }
        if i == picker.selected {
            line = line.patch_style(theme.selection);
            line.spans.insert(0, Span::styled("▌ ", theme.accent));
        } else if choice.current {
            line.spans.insert(0, Span::styled("● ", theme.accent));
        } else {
            line.spans.insert(0, Span::raw("  "));
        }
        lines.push(line);
    }
    lines.push(Line::raw(""));
    if picker.confirming {
        let short = picker
            .chosen()
            .map(|c| c.release.short_commit.clone())
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!(" Roll {} back to ", picker.env), theme.text),
            Span::styled(short, theme.accent),
            Span::styled(": type ", theme.text),
            Span::styled(picker.env.clone(), theme.awaiting_approval),
            Span::styled(" to confirm: ", theme.text),
            Span::styled(picker.typed.clone(), theme.text.add_modifier(Modifier::BOLD)),
            Span::styled("▏", theme.accent),
        ]));
        if picker.mismatch {
            lines.push(Line::styled(
                format!(" ✗ the name does not match: type `{}`", picker.env),
                theme.failure,
            ));
        }
        lines.push(Line::raw(""));
        let ready = picker.typed == picker.env;
        lines.push(Line::from(vec![
            Span::styled(" Enter", if ready { theme.accent } else { theme.muted }),
            Span::styled(
                if ready {
                    " roll back"
                } else {
                    " rolls back once the name is typed"
                },
                if ready { theme.text } else { theme.muted },
            ),
            Span::styled(" · ", theme.muted),
            Span::styled("Esc", theme.accent),
            Span::styled(" back to the list", theme.text),
        ]));
    } else {
        lines.push(Line::from(vec![
            Span::styled(" ↑/↓", theme.accent),
            Span::styled(" select · ", theme.muted),
            Span::styled("Enter", theme.accent),
            Span::styled(format!(" roll {} back to it · ", picker.env), theme.text),
            Span::styled("Esc", theme.accent),
            Span::styled(" close", theme.text),
        ]));
    }
    popup(buf, area, width, &format!("Roll back {}", picker.env), lines, theme);
}

/// `#12 0123abcd`: the run that built it (when known) and the start of its image ID.
fn release_words(choice: &crate::engine::event::ReleaseChoice) -> String {
    let image: String = crate::deploy::short_image_id(&choice.release.image_id)
        .chars()
        .take(8)
        .collect();
    match choice.run {
        Some(run) => format!("#{run} {image}"),
        None => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Event, ReleaseChoice};
    use crate::ui::action::Action;
    use crate::ui::app::Modal;
    use crate::ui::panels::test_support::{at, draw, find, finished, release, text, theme};

    #[test]
    fn the_first_earlier_release_is_selected_and_failed_smoke_is_red() {
        let theme = theme();
        let mut app = finished();
        app.update(Action::Rollback);
        let choice = |c: char, subject: &str, current: bool, smoke: Option<bool>, s: i64| ReleaseChoice {
            release: release(c, subject),
            deployed_at: Some(at(s)),
            by: Some("ada@box (Ada Lovelace <ada@example.com>)".into()),
            smoke,
            current,
            run: Some(1),
            schema_behind: false,
        };
        app.apply(Event::ReleasesListed {
            env: "staging".into(),
            releases: vec![
                choice('b', "Initial commit", true, Some(true), 0),
                choice('c', "Log requests", false, Some(false), -3600),
            ],
            approval: false,
        });
        let Some(Modal::Rollback(picker)) = &app.modal else {
            panic!("no rollback picker");
        };
        let buf = draw(100, 12, |area, buf| render(picker, app.now, &theme, area, buf));
        let screen = text(&buf);
        assert!(screen.contains("Initial commit"), "{screen}");
        let (x, y) = find(&buf, "▌ ccccccc");
        assert_eq!(buf[(x + 2, y)].bg, theme.selection.bg.unwrap(), "{screen}");
        let row: String = (0..100).map(|x| buf[(x, y)].symbol().to_string()).collect();
        let cross = row.find('✗').map(|b| row[..b].chars().count() as u16).unwrap();
        assert_eq!(buf[(cross, y)].fg, theme.failure.fg.unwrap(), "{screen}");
        let (x, y) = find(&buf, "bbbbbbb");
        assert_eq!(
            buf[(x, y)].fg,
            theme.muted.fg.unwrap(),
            "the current release is dimmed:\n{screen}"
        );
    }

    #[test]
    fn a_release_behind_the_release_commands_schema_is_marked() {
        let theme = theme();
        let mut app = finished();
        app.update(Action::Rollback);
        let choice = |c: char, current: bool, behind: bool| ReleaseChoice {
            release: release(c, "Add a column"),
            deployed_at: Some(at(0)),
            by: None,
            smoke: Some(true),
            current,
            run: Some(1),
            schema_behind: behind,
        };
        app.apply(Event::ReleasesListed {
            env: "staging".into(),
            releases: vec![choice('b', true, false), choice('c', false, true)],
            approval: false,
        });
        let Some(Modal::Rollback(picker)) = &app.modal else {
            panic!("no rollback picker");
        };
        let buf = draw(120, 12, |area, buf| render(picker, app.now, &theme, area, buf));
        let screen = text(&buf);
        let (x, y) = find(&buf, "schema may be ahead");
        let (_, row_c) = find(&buf, "ccccccc");
        assert_eq!(y, row_c, "the mark is on the older release's row:\n{screen}");
        assert_eq!(buf[(x, y)].fg, theme.awaiting_approval.fg.unwrap(), "{screen}");
        assert_eq!(screen.matches("schema may be ahead").count(), 1, "{screen}");
    }
}
