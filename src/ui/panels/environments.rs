//! The environments panel: each environment of release.toml. Deploying is not built yet, so
//! every row says "not deployed" instead of pretending to know what runs there.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use crate::ui::theme::Theme;

pub fn render(environments: &[(String, bool)], config_invalid: bool, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let outer = block("Environments", false, theme);
    let inner = outer.inner(area);
    outer.render(area, buf);
    let lines: Vec<Line> = if environments.is_empty() && config_invalid {
        vec![Line::styled(" release.toml is invalid (see the header)", theme.muted)]
    } else if environments.is_empty() {
        vec![Line::styled(" none in release.toml", theme.muted)]
    } else {
        environments
            .iter()
            .map(|(name, production)| {
                let style = if *production { theme.production } else { theme.text };
                Line::from(vec![
                    Span::styled(format!(" {name:<12}"), style),
                    Span::styled("not deployed", theme.muted),
                ])
            })
            .collect()
    };
    Paragraph::new(lines).render(inner, buf);
}
