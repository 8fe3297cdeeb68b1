//! `shipdeck status`: one row per environment, read from its engine.

use chrono::{DateTime, Local, Utc};

use crate::deploy::accessories::PartState;
use crate::deploy::{short_image_id, Deployed};
use crate::engine::event::LockHolder;

/// What `shipdeck status` knows of one environment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EnvironmentRow {
    pub env: String,
    pub deployed: Option<Deployed>,
    pub lock: Option<LockHolder>,
    pub error: Option<String>,
    /// The smoke verdict kept on the engine for the container that runs now: passed, failed,
    /// or none (UNVERIFIED: put there by an operation that died before its checks).
    pub smoke: Option<bool>,
    /// Its accessories, with their state and health.
    pub accessories: Vec<PartState>,
    /// The processes of the release that runs there, besides its web process.
    pub processes: Vec<PartState>,
    /// Its proxy (strategy `proxy`): missing, running and what it serves, or broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<PartState>,
}

/// An aligned table: ENV RELEASE COMMIT IMAGE SINCE HEALTH SMOKE BY, then lock and error notes.
pub fn format_status(rows: &[EnvironmentRow]) -> String {
    let header = ["ENV", "RELEASE", "COMMIT", "IMAGE", "SINCE", "HEALTH", "SMOKE", "BY"].map(String::from);
    let mut table: Vec<[String; 8]> = vec![header];
    let mut notes = Vec::new();
    let mut parts = Vec::new();
    for row in rows {
        let cells = match (&row.deployed, &row.error) {
            (_, Some(error)) => {
                notes.push(format!("{}: {error}", row.env));
                [
                    row.env.clone(),
                    "?".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "unreachable".into(),
                    "".into(),
                    "".into(),
                ]
            }
            (None, None) => [
                row.env.clone(),
                "not deployed".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ],
            (Some(d), None) => [
                row.env.clone(),
                d.release
                    .image_tag
                    .clone()
                    .unwrap_or_else(|| d.release.short_commit.clone()),
                format!(
                    "{} {}",
                    d.release.short_commit,
                    crate::text::fit(&d.release.subject, 32)
                ),
                short_image_id(&d.release.image_id),
                since(&d.deployed_at),
                d.health(),
                match row.smoke {
                    Some(true) => "passed".into(),
                    Some(false) => "FAILED".into(),
                    None => "UNVERIFIED".into(),
                },
                // `user@host`; the git identity is in the history and the container's labels.
                d.deployed_by.split(" (").next().unwrap_or_default().to_string(),
            ],
        };
        table.push(cells);
        if let (Some(d), None, None) = (&row.deployed, &row.error, row.smoke) {
            notes.push(format!(
                "{}: {} is UNVERIFIED: its smoke checks have not passed against the container that runs it (an operation died before them?); `shipdeck smoke {}` verifies it (and rolls back with auto_rollback when they fail)",
                row.env,
                d.release.describe(),
                row.env
            ));
        }
        if let Some(lock) = &row.lock {
            notes.push(format!("{} (lock)", lock.describe().replace('\n', "\n ")));
        }
        parts.extend(part_lines(row));
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| table.iter().map(|r| crate::text::width(&r[i])).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| crate::text::pad(cell, *w))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for line in parts.into_iter().chain(notes) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `  staging accessory db: healthy (postgres:15)`, `  staging process worker: running (a1b2c3d)`.
fn part_lines(row: &EnvironmentRow) -> Vec<String> {
    let kinds = [
        ("proxy", row.proxy.as_slice()),
        ("accessory", row.accessories.as_slice()),
        ("process", row.processes.as_slice()),
    ];
    kinds
        .into_iter()
        .flat_map(|(kind, parts)| parts.iter().map(move |p| (kind, p)))
        .map(|(kind, p)| {
            let what = if p.image.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.image)
            };
            let hint = match (kind, p.state.as_str()) {
                (_, "running") => String::new(),
                ("accessory", "missing") => " — started by the next deploy".to_string(),
                ("accessory", _) => format!(" — `shipdeck accessory {} {} start`", row.env, p.name),
                _ => String::new(),
            };
            match kind {
                "proxy" => format!("  {} proxy: {}{what}", row.env, p.health),
                _ => format!("  {} {kind} {}: {}{what}{hint}", row.env, p.name, p.health),
            }
        })
        .collect()
}

fn since(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            let t: DateTime<Utc> = t.with_timezone(&Utc);
            t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
        })
        .unwrap_or_else(|_| "?".into())
}
