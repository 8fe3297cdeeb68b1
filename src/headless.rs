//! The headless view: the engine's events as readable lines or as NDJSON, for scripts, CI and
//! terminals that are not a TTY.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::{Local, Timelike};

mod check_json;
mod ops;
mod safe_out;
mod status;
mod tables;

use safe_out::SafeLines;

pub use check_json::{check_error_json, check_json};
pub use status::{format_status, EnvironmentRow};
pub use tables::{format_history, format_operations};

use crate::engine::event::dag_levels;
use crate::engine::{Event, EventGroup, NoticeLevel, PlannedStage, ServiceState, Stream};
use crate::exit::ExitCode;
use crate::model::{RunStatus, StageStatus};
use crate::store::RunNumber;
use crate::term::{sanitize_cow, strip_sgr};
use crate::text::duration::DurationStyle;

/// The glyph both views show for a stage's status (the console spins a running one).
pub fn stage_glyph(status: StageStatus) -> char {
    match status {
        StageStatus::Success => '✓',
        StageStatus::Failed => '✗',
        StageStatus::TimedOut => '⏱',
        StageStatus::Cancelled => '⊘',
        StageStatus::Skipped => '↷',
        StageStatus::Running => '▶',
        StageStatus::Pending => '·',
    }
}

/// The glyph both views show for a stage's service.
pub fn service_glyph(state: ServiceState) -> char {
    match state {
        ServiceState::Starting => '◇',
        ServiceState::Ready => '◆',
        ServiceState::Failed => '✗',
    }
}

/// What both views say of a service's step: `service db (postgres:15) ready in 1.2s: …`.
pub fn service_line(
    service: &str,
    image: &str,
    state: ServiceState,
    duration_ms: Option<i64>,
    message: Option<&str>,
) -> String {
    let what = match (state, duration_ms) {
        (ServiceState::Ready, Some(ms)) => format!("ready in {}", DurationStyle::Table.format_ms(ms)),
        _ => state.as_str().to_string(),
    };
    let message = message.map(|m| format!(": {m}")).unwrap_or_default();
    format!("service {service} ({image}) {what}{message}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Turns events into output; one per headless session.
pub struct HeadlessView<W: Write> {
    /// Every line written is sanitized on its way out (see `safe_out`).
    out: SafeLines<W>,
    format: Format,
    /// Whether the stages' own colours are kept; NO_COLOR (no-color.org) removes them.
    colour: bool,
    /// Per run: runs may overlap in watch mode (a superseded one finishing as the next starts).
    stages: HashMap<RunNumber, Vec<PlannedStage>>,
    results: HashMap<RunNumber, Vec<StageResult>>,
    width: usize,
    clock: Clock,
    /// The first operation of the session: its end ends the session (an automatic rollback
    /// inside it is an operation of its own).
    top_op: Option<crate::engine::OpId>,
}

struct StageResult {
    name: String,
    status: StageStatus,
    duration_ms: i64,
    exit_code: Option<i64>,
    message: Option<String>,
}

impl<W: Write> HeadlessView<W> {
    pub fn new(out: W, format: Format) -> Self {
        HeadlessView {
            out: SafeLines::new(out),
            format,
            colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            stages: HashMap::new(),
            results: HashMap::new(),
            width: 8,
            clock: Clock::default(),
            top_op: None,
        }
    }

    /// Writes one event; returns the session's outcome when the event ends it.
    /// Writes the event; returns the session's exit code once its run or operation is over.
    pub fn handle(&mut self, event: &Event) -> io::Result<Option<ExitCode>> {
        // Other processes' runs are for a console that follows the history; a script reads
        // its own run (or watch) alone.
        if matches!(event, Event::RunsElsewhere { .. }) {
            return Ok(None);
        }
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut self.out, event)?;
                self.out.write_all(b"\n")?;
            }
            Format::Text => self.text(event)?,
        }
        Ok(match event {
            Event::RunFinished {
                status: RunStatus::Success,
                ..
            } => Some(ExitCode::Success),
            Event::RunFinished {
                status: RunStatus::Cancelled,
                ..
            } => Some(ExitCode::Cancelled),
            Event::RunFinished { .. } => Some(ExitCode::Failed),
            Event::RunRejected { .. } => Some(ExitCode::Usage),
            Event::OperationStarted { op, .. } => {
                self.top_op.get_or_insert(*op);
                None
            }
            Event::OperationFinished {
                op, outcome, refusal, ..
            } if self.top_op == Some(*op) => Some(ExitCode::of_operation(*outcome, *refusal)),
            _ => None,
        })
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out.into_inner()
    }

    fn text(&mut self, event: &Event) -> io::Result<()> {
        match event.group() {
            EventGroup::Run => self.text_run(event),
            EventGroup::Stage => self.text_stage(event),
            EventGroup::Status => self.text_status(event),
            EventGroup::Operation => {
                let now = self.clock.now();
                ops::text(&mut self.out, now, event)
            }
            // What a long-lived view needs to draw itself; nothing to print for a script.
            EventGroup::Environment => Ok(()),
        }
    }

    /// A run is queued, starts (its stages in order), ends (with the summary) or is refused.
    fn text_run(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::RunQueued {
                run,
                app,
                short_commit,
                subject,
                author,
                branch,
                trigger,
                ..
            } => {
                let branch = branch.as_deref().map(|b| format!(" on {b}")).unwrap_or_default();
                writeln!(
                    self.out,
                    "{} run #{run} of {app}: {short_commit}{branch} {} by {author} ({trigger})",
                    self.clock.now(),
                    crate::text::quoted(subject)
                )
            }
            Event::RunStarted { run, stages, .. } => {
                self.stages.insert(*run, stages.clone());
                self.width = stages.iter().map(|s| s.name.len()).max().unwrap_or(0).max(5);
                // Stages that can run at once are listed together: `test, lint → build`.
                let levels = dag_levels(stages.iter().map(|s| (s.name.as_str(), s.needs.as_slice())));
                let depth = levels.iter().copied().max().map_or(0, |d| d + 1);
                let order: Vec<String> = (0..depth)
                    .map(|l| {
                        let names: Vec<&str> = stages
                            .iter()
                            .zip(&levels)
                            .filter(|(_, x)| **x == l)
                            .map(|(s, _)| s.name.as_str())
                            .collect();
                        names.join(", ")
                    })
                    .collect();
                writeln!(self.out, "{} stages: {}", self.clock.now(), order.join(" → "))
            }
            Event::RunFinished {
                run,
                status,
                duration_ms,
                image_id,
                image_tag,
                ..
            } => {
                self.summary(*run)?;
                let image = match (image_tag, image_id) {
                    (Some(tag), Some(id)) => format!("; release image {tag} ({})", short_id(id)),
                    _ => String::new(),
                };
                writeln!(
                    self.out,
                    "run #{run} {status} in {}{image}",
                    DurationStyle::Table.format_ms(*duration_ms)
                )
            }
            Event::RunRejected { rev, message } => {
                writeln!(self.out, "shipdeck: cannot run `{rev}`: {message}")
            }
            _ => Ok(()),
        }
    }

    /// A stage starts, logs, ends; an image is pulled or built.
    fn text_stage(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::ImagePull {
                image,
                status,
                progress,
                ..
            } => {
                let progress = progress.as_deref().map(|p| format!(" {p}")).unwrap_or_default();
                writeln!(self.out, "{} pull {image}: {status}{progress}", self.clock.now())
            }
            Event::StageStarted { run, stage, .. } => {
                let what = self
                    .stages
                    .get(run)
                    .into_iter()
                    .flatten()
                    .find(|s| &s.name == stage)
                    .map(|s| s.image.clone())
                    .unwrap_or_default();
                let who = self.who(*run, stage);
                writeln!(self.out, "{} {who} ▶ started ({what})", self.clock.now())
            }
            Event::StageLog {
                run,
                stage,
                stream,
                lines,
            } => {
                let who = self.who(*run, stage);
                let mark = match stream {
                    Stream::Stdout => '|',
                    Stream::Stderr => '!',
                    Stream::System => '·',
                };
                let now = self.clock.now();
                for line in lines {
                    // Untrusted output: only colour sequences reach the terminal or file.
                    let line = sanitize_cow(line);
                    let line = if self.colour { line } else { strip_sgr(&line).into() };
                    writeln!(self.out, "{now} {who} {mark} {line}")?;
                }
                Ok(())
            }
            Event::StageFinished {
                run,
                stage,
                status,
                exit_code,
                duration_ms,
                message,
                ..
            } => {
                self.results.entry(*run).or_default().push(StageResult {
                    name: stage.clone(),
                    status: *status,
                    duration_ms: *duration_ms,
                    exit_code: *exit_code,
                    message: message.clone(),
                });
                // "cancelled in 1.2s: cancelled" says nothing twice.
                let message = message
                    .as_deref()
                    .filter(|m| *m != status.as_str())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let glyph = stage_glyph(*status);
                let status = human(*status);
                let who = self.who(*run, stage);
                writeln!(
                    self.out,
                    "{} {who} {glyph} {status} in {}{message}",
                    self.clock.now(),
                    DurationStyle::Table.format_ms(*duration_ms)
                )
            }
            Event::ServiceStatus {
                run,
                stage,
                service,
                image,
                state,
                duration_ms,
                message,
                ..
            } => {
                let who = self.who(*run, stage);
                let glyph = service_glyph(*state);
                let what = service_line(service, image, *state, *duration_ms, message.as_deref());
                writeln!(self.out, "{} {who} {glyph} {what}", self.clock.now())
            }
            // The stage's own log already says where its artifacts went.
            Event::ArtifactsCopied { .. } => Ok(()),
            Event::ImageBuilt {
                stage, image_id, tag, ..
            } => {
                writeln!(
                    self.out,
                    "{} {stage:<w$} · image {tag} ({image_id})",
                    self.clock.now(),
                    w = self.width
                )
            }
            _ => Ok(()),
        }
    }

    /// The engine is down, the watcher watches, the config is reloaded; notices. (The other
    /// statuses, past runs and loaded logs are for a long-lived view: nothing to print.)
    fn text_status(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::EngineStatus {
                connected: false,
                address,
                message,
                ..
            } => writeln!(
                self.out,
                "{} Docker engine at {address} unreachable: {}",
                self.clock.now(),
                message.as_deref().unwrap_or("")
            ),
            Event::WatchStatus {
                watching: true,
                paused,
                saves,
                dirs,
                polling,
                last_trigger: None,
            } => {
                let what = if *saves { "commits and saves" } else { "commits" };
                let how = if *polling { ", polling" } else { "" };
                let paused = if *paused { " (paused)" } else { "" };
                let dirs = if *dirs == 1 {
                    "1 directory".to_string()
                } else {
                    format!("{dirs} directories")
                };
                writeln!(self.out, "{} watching {what} in {dirs}{how}{paused}", self.clock.now())
            }
            Event::ConfigReloaded { error: None, .. } => {
                writeln!(self.out, "{} release.toml changed: reloaded", self.clock.now())
            }
            Event::ConfigReloaded { error: Some(error), .. } => writeln!(
                self.out,
                "{} release.toml changed but is invalid; keeping the last good one:\n{error}",
                self.clock.now()
            ),
            Event::Notice { level, message } => {
                let level = match level {
                    NoticeLevel::Info => "note",
                    NoticeLevel::Warning => "warning",
                    NoticeLevel::Error => "error",
                };
                writeln!(self.out, "{} {level}: {message}", self.clock.now())
            }
            Event::Notification { channel, message, .. } => {
                writeln!(self.out, "{} notify {channel}: {message}", self.clock.now())
            }
            _ => Ok(()),
        }
    }

    /// The stage column: `test   `, or `#4 test   ` while more than one run is going (watch
    /// mode, a superseded run finishing as the next starts), so lines say whose they are.
    fn who(&self, run: RunNumber, stage: &str) -> String {
        let w = self.width;
        if self.stages.len() > 1 {
            format!("#{run} {stage:<w$}")
        } else {
            format!("{stage:<w$}")
        }
    }

    /// The table at the end of a run: every stage, its status, time and exit code.
    fn summary(&mut self, run: RunNumber) -> io::Result<()> {
        let w = self.width;
        let stages = self.stages.remove(&run).unwrap_or_default();
        let results = self.results.remove(&run).unwrap_or_default();
        writeln!(self.out)?;
        writeln!(
            self.out,
            "  {:<w$}  {:<11} {:>9}  {:>4}  note",
            "stage", "status", "time", "exit"
        )?;
        for stage in &stages {
            let Some(r) = results.iter().find(|r| r.name == stage.name) else {
                writeln!(self.out, "  {:<w$}  {:<10}", stage.name, "pending")?;
                continue;
            };
            let exit = r.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "-".into());
            let row = format!(
                "  {:<w$}  {} {:<9} {:>9}  {:>4}  {}",
                r.name,
                stage_glyph(r.status),
                human(r.status),
                DurationStyle::Table.format_ms(r.duration_ms),
                exit,
                r.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("")
            );
            writeln!(self.out, "{}", row.trim_end())?;
        }
        writeln!(self.out)
    }
}

/// A status as words: `timed out`, not `timed_out`.
fn human(status: StageStatus) -> &'static str {
    match status {
        StageStatus::TimedOut => "timed out",
        other => other.as_str(),
    }
}

fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// `HH:MM:SS` of local time, formatted once per second rather than once per log line.
#[derive(Default)]
struct Clock {
    second: Option<(u32, u32, u32)>,
    text: String,
}

impl Clock {
    fn now(&mut self) -> &str {
        let t = Local::now();
        let key = (t.hour(), t.minute(), t.second());
        if self.second != Some(key) {
            self.second = Some(key);
            self.text = format!("{:02}:{:02}:{:02}", key.0, key.1, key.2);
        }
        &self.text
    }
}
