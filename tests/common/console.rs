//! Console fixtures shared by the console's logic and render tests (the panels' own render
//! tests have theirs in src/ui/panels/test_support.rs, private to the library's unit tests):
//! a fixed clock, staging and production as the fixtures have them, releases named by one
//! letter, and reading a drawn buffer back as text.

use chrono::{DateTime, TimeZone, Utc};
use ratatui::buffer::Buffer;

use shipdeck::deploy::ReleaseRef;
use shipdeck::ui::envs::EnvSpec;

/// `s` seconds after a fixed moment (2023-11-14 22:13:20 UTC).
pub fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
}

/// Staging, and production fed by promotion from it behind an approval.
pub fn specs() -> Vec<EnvSpec> {
    vec![
        EnvSpec {
            name: "staging".into(),
            production: false,
            promote_from: None,
            approval: false,
        },
        EnvSpec {
            name: "production".into(),
            production: true,
            promote_from: Some("staging".into()),
            approval: true,
        },
    ]
}

/// The release of `app` built from commit `c…c`, tagged with its short commit.
pub fn release_of(app: &str, c: char, subject: &str) -> ReleaseRef {
    ReleaseRef {
        commit: c.to_string().repeat(40),
        short_commit: c.to_string().repeat(7),
        subject: subject.into(),
        image_id: format!("sha256:{}", c.to_string().repeat(64)),
        image_tag: Some(format!("{app}:{}", c.to_string().repeat(7))),
    }
}

/// The drawn rows, right-trimmed.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

/// The colour `needle` is drawn in (that of its first cell).
pub fn fg_at(buf: &Buffer, needle: &str) -> ratatui::style::Color {
    let (x, y) = find(buf, needle);
    buf[(x, y)].fg
}

/// The cell where `needle` starts on screen.
pub fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let rows = text(buf);
    for (y, row) in rows.lines().enumerate() {
        if let Some(byte) = row.find(needle) {
            return (row[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("`{needle}` not on screen:\n{rows}");
}
