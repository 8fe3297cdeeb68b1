//! Folding the engine's events into the console's state: what each event changes, and the
//! effects (engine commands) some of them call for.

use super::app::{App, Effect};
use super::log_pane::{LineKind, MAX_LINE_BYTES};
use super::model::{EngineState, LogSource, RepoView, Row, RunView, StageView, WatchView};
use crate::engine::{Command, Event, EventGroup, NoticeLevel, Stream};
use crate::model::{RunStatus, StageStatus};
use crate::term::sanitize;
use crate::text::first_line;

impl App {
    /// Folds one engine event into the state.
    pub fn apply(&mut self, mut event: Event) -> Vec<Effect> {
        // The engine's recorder already cleaned it; a view never trusts that alone.
        crate::engine::event_text::sanitize(&mut event);
        match event.group() {
            EventGroup::Operation | EventGroup::Environment => self.apply_environment(event),
            EventGroup::Run => {
                self.dirty = true;
                self.apply_run(event)
            }
            EventGroup::Stage => {
                self.dirty = true;
                self.apply_stage(event)
            }
            EventGroup::Status => {
                self.dirty = true;
                self.apply_status(event)
            }
        }
    }

    /// A run is queued, starts, ends or is refused; past runs are loaded.
    fn apply_run(&mut self, event: Event) -> Vec<Effect> {
        let finished = matches!(event, Event::RunFinished { .. });
        let mut effects = Vec::new();
        let tail = self.tail_lines;
        match event {
            Event::RunQueued {
                run,
                commit,
                short_commit,
                subject,
                author,
                trigger,
                at,
                ..
            } => {
                let stages = self
                    .plan
                    .iter()
                    .map(|p| StageView::new(&p.name, p.needs.clone(), p.image.clone(), tail))
                    .collect();
                self.runs.insert(
                    0,
                    RunView {
                        number: run,
                        commit,
                        short: short_commit,
                        subject,
                        author,
                        trigger,
                        status: RunStatus::Queued,
                        queued_at: at,
                        duration_ms: None,
                        image_tag: None,
                        stages,
                        selected_stage: 0,
                    },
                );
                // The new run is what the user wants to watch (its stages, in the log pane).
                self.selected = self.rows().iter().position(|r| *r == Row::Run(0)).unwrap_or(0);
                self.env_log = false;
            }
            Event::RunStarted { run, stages, .. } => {
                if let Some(r) = self.run_mut(run) {
                    r.status = RunStatus::Running;
                    r.stages = stages
                        .iter()
                        .map(|p| StageView::new(&p.name, p.needs.clone(), p.image.clone(), tail))
                        .collect();
                }
                self.plan = stages;
            }
            Event::RunFinished {
                run,
                status,
                duration_ms,
                image_tag,
                ..
            } => {
                if let Some(r) = self.run_mut(run) {
                    r.status = status;
                    r.duration_ms = Some(duration_ms);
                    r.image_tag = image_tag.or(r.image_tag.take());
                    effects.push(Effect::Engine(Command::Refresh));
                    // A failed run opens on the stage that failed, at its first failure line.
                    if status == RunStatus::Failed {
                        if let Some(i) = r.failed_stage() {
                            r.selected_stage = i;
                            let stage = &mut r.stages[i];
                            stage.view.show_first_failure(&stage.log);
                        }
                    }
                }
            }
            Event::RunRejected { rev, message } => {
                self.notify(
                    NoticeLevel::Error,
                    format!("cannot run {rev}: {}", first_line(&message),),
                );
            }
            Event::RunsElsewhere { runs } => return self.follow_elsewhere(runs),
            Event::CommitPlanned {
                commit,
                stages,
                source,
                error,
            } => {
                let short = crate::text::short_commit(&commit);
                let plan = super::model::CommitPlan::answered(&short, &stages, source, error);
                self.commit_plans.insert(commit, plan);
            }
            Event::HistoryLoaded { runs } => {
                for past in runs {
                    if !self.runs.iter().any(|r| r.number == past.run.number) {
                        self.runs.push(RunView::from_past(&past, &self.plan, tail));
                    }
                }
                self.runs.sort_by_key(|r| std::cmp::Reverse(r.number));
                return self.request_log();
            }
            _ => {}
        }
        if finished {
            // A finished run's logs may go once it is folded, if memory is short.
            self.enforce_log_budget();
        }
        effects
    }

    /// A stage of a run starts, logs, ends; its image is pulled or built; its log is loaded.
    fn apply_stage(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::ImagePull {
                run,
                image,
                status,
                progress,
            } => {
                let line = format!(
                    "pull {image}: {status}{}",
                    progress.map(|p| format!(" {p}")).unwrap_or_default()
                );
                if let Some(stage) = self
                    .run_mut(run)
                    .and_then(|r| r.stages.iter_mut().find(|s| s.status == StageStatus::Running))
                {
                    stage.push_system(line);
                }
            }
            Event::StageStarted {
                run,
                stage,
                at,
                log_path,
            } => {
                if let Some(r) = self.run_mut(run) {
                    if let Some(s) = r.stage_mut(&stage) {
                        s.status = StageStatus::Running;
                        s.started_at = Some(at);
                        s.log_path = log_path;
                    }
                    // Follow the action: the selection moves to the stage that just started,
                    // unless the user is looking at one that is still running.
                    let keep = r
                        .selected()
                        .is_some_and(|s| s.status == StageStatus::Running && s.name != stage);
                    if !keep {
                        if let Some(i) = r.stages.iter().position(|s| s.name == stage) {
                            r.selected_stage = i;
                        }
                    }
                }
            }
            Event::StageLog {
                run,
                stage,
                stream,
                lines,
            } => {
                if let Some(s) = self.run_mut(run).and_then(|r| r.stage_mut(&stage)) {
                    let kind = match stream {
                        Stream::Stdout => LineKind::Stdout,
                        Stream::Stderr => LineKind::Stderr,
                        Stream::System => LineKind::System,
                    };
                    s.log.push_lines(kind, lines.iter().map(|l| sanitize(l)));
                    s.view.sync(&s.log);
                    // Long lines are cut in the buffer: count at most what it keeps.
                    let bytes = lines.iter().map(|l| l.len().min(MAX_LINE_BYTES) + 5).sum();
                    self.logged(bytes);
                }
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
                if let Some(s) = self.run_mut(run).and_then(|r| r.stage_mut(&stage)) {
                    s.status = status;
                    s.exit_code = exit_code;
                    s.duration_ms = Some(duration_ms);
                    if let Some(m) = &message {
                        if status != StageStatus::Success {
                            s.push_system(format!("shipdeck: {m}"));
                        }
                    }
                    s.message = message;
                }
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
                if let Some(s) = self.run_mut(run).and_then(|r| r.stage_mut(&stage)) {
                    s.set_service(&service, state);
                    let message = message.as_deref().map(first_line);
                    let line = crate::headless::service_line(&service, &image, state, duration_ms, message);
                    s.push_system(line);
                }
            }
            Event::ArtifactsCopied { .. } => {}
            Event::ImageBuilt { run, tag, .. } => {
                if let Some(r) = self.run_mut(run) {
                    r.image_tag = Some(tag);
                }
            }
            Event::StageLogLoaded {
                run,
                stage,
                lines,
                skipped,
                ..
            } => {
                if let Some(s) = self.run_mut(run).and_then(|r| r.stage_mut(&stage)) {
                    if skipped > 0 {
                        s.push_system(format!("… {skipped} earlier lines: press o to open the full log"));
                    }
                    s.log.push_lines(LineKind::Stdout, lines.iter().map(|l| sanitize(l)));
                    s.view.sync(&s.log);
                    s.source = LogSource::Loaded;
                    if s.status.is_failure() {
                        s.view.show_first_failure(&s.log);
                    }
                }
                self.enforce_log_budget();
            }
            _ => {}
        }
        Vec::new()
    }

    /// The engine, the repository, the watcher and the config say where they are; notices.
    fn apply_status(&mut self, event: Event) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::Notice { level, message } => self.notify(level, first_line(&message).to_string()),
            Event::Notification {
                channel,
                status,
                message,
                ..
            } => {
                use crate::notifications::DeliveryStatus;
                let level = match status {
                    DeliveryStatus::Sent => NoticeLevel::Info,
                    DeliveryStatus::Retrying => NoticeLevel::Warning,
                    DeliveryStatus::Failed => NoticeLevel::Error,
                };
                self.notify(level, format!("notify {channel}: {}", first_line(&message)));
            }
            Event::EngineStatus {
                connected,
                address,
                version,
                api_version,
                message,
            } => {
                // Connected (again): read what runs on the environments.
                if connected && !matches!(self.engine, EngineState::Up { .. }) && !self.envs.list.is_empty() {
                    effects.push(Effect::Engine(Command::LoadEnvironments));
                }
                self.engine = if connected {
                    EngineState::Up {
                        address,
                        version: version.unwrap_or_default(),
                        api: api_version.unwrap_or_default(),
                    }
                } else {
                    EngineState::Down {
                        address,
                        message: message.unwrap_or_default(),
                    }
                };
            }
            Event::RepoState {
                app,
                repo,
                app_dir,
                branch,
                head,
                commits,
            } => {
                self.repo = RepoView {
                    app,
                    repo,
                    app_dir,
                    branch,
                    head,
                    commits,
                };
                // A fresh console opens on HEAD: it may have no run yet.
                return self.request_log();
            }
            Event::WatchStatus {
                watching,
                paused,
                saves,
                dirs,
                polling,
                last_trigger,
            } => {
                self.watch = WatchView {
                    watching,
                    paused,
                    saves,
                    dirs,
                    polling,
                    last_trigger,
                };
            }
            Event::ConfigReloaded { error, config } => {
                // A commit without a committed release.toml is planned from the working copy's.
                self.commit_plans
                    .retain(|_, plan| plan.source == Some(crate::engine::PlanSource::Committed));
                if let Some(config) = config.filter(|_| error.is_none()) {
                    effects.extend(self.reload_environments(&config));
                }
                match &error {
                    Some(_) => self.notify(
                        NoticeLevel::Error,
                        "release.toml is invalid: the last good one stays (e shows why)",
                    ),
                    None => self.notify(NoticeLevel::Info, "release.toml reloaded"),
                }
                // The whole diagnostic opens on the error (unless a dialog is up: `e` opens it),
                // and closes once the file is fixed.
                match (&error, &self.modal) {
                    (Some(_), None) => self.modal = Some(super::app::Modal::ConfigError { scroll: 0 }),
                    (None, Some(super::app::Modal::ConfigError { .. })) => self.modal = None,
                    _ => {}
                }
                self.config_error = error;
            }
            _ => {}
        }
        effects
    }
}
