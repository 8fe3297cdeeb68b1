//! The engine's command loop: runs started by commands and by the watcher, cancellation,
//! the busy policy, config reloads.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::event::{Event, NoticeLevel};
use super::operations;
use super::pipeline::{self, describe_paths, RunSource};
use super::query::{Ask, ReplyTo};
use super::recorder::{self, EventSink};
use super::runner_lease::{Lease, RunnerLease};
use super::{Command, Engine};
use crate::config::OnBusy;
use crate::store::RunNumber;
use crate::text::short_commit;
use crate::watch::{HeadChange, Trigger, WatchOptions, Watcher};

pub(super) struct Control {
    engine: Engine,
    sink: EventSink,
    /// Every run's token is a child of this one, so shutting down cancels them all, also a
    /// run that has not told its number yet.
    root: CancellationToken,
    runs: JoinSet<Option<RunNumber>>,
    tokens: HashMap<RunNumber, CancellationToken>,
    numbered: mpsc::UnboundedSender<(RunNumber, CancellationToken)>,
    numbered_rx: mpsc::UnboundedReceiver<(RunNumber, CancellationToken)>,
    /// Triggered runs waiting for the active one (`on_busy = "queue"`).
    queue: VecDeque<(RunSource, String)>,
    /// What each running task was started by, to apply the busy policy.
    lanes: HashMap<tokio::task::Id, (Lane, CancellationToken)>,
    watch: Option<ActiveWatch>,
    /// Operations on environments: never cancelled by a trigger or a cancel of runs.
    ops: JoinSet<()>,
    /// Held once this process runs the app's triggered runs (see [`super::runner_lease`]).
    runner: Option<RunnerLease>,
}

/// How often the history is looked at for runs of other processes.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Who started a run. A new commit supersedes commit and save runs; a save supersedes only
/// save runs (a commit run is never cancelled by an editor); manual runs are left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Manual,
    Commit,
    Save,
}

impl Lane {
    fn of(source: &RunSource) -> Lane {
        match source {
            RunSource::Commit(_) => Lane::Commit,
            RunSource::WorkingTree { .. } => Lane::Save,
        }
    }
}

struct ActiveWatch {
    watcher: Watcher,
    triggers: mpsc::UnboundedReceiver<Trigger>,
    saves: bool,
    paused: bool,
    last: Option<String>,
}

impl Control {
    pub fn new(engine: Engine, sink: EventSink) -> Control {
        let (numbered, numbered_rx) = mpsc::unbounded_channel();
        Control {
            engine,
            sink,
            root: CancellationToken::new(),
            runs: JoinSet::new(),
            tokens: HashMap::new(),
            numbered,
            numbered_rx,
            queue: VecDeque::new(),
            lanes: HashMap::new(),
            watch: None,
            ops: JoinSet::new(),
            runner: None,
        }
    }

    /// Serves `rx` (commands) and `asks` (queries answered to their asker) until `rx` closes.
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>, mut asks: mpsc::UnboundedReceiver<Ask>) {
        let mut follow = tokio::time::interval(FOLLOW_EVERY);
        follow.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = follow.tick() => self.sink.request(recorder::RecorderMsg::Follow).await,
                command = rx.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => break,
                },
                Some(Ask { command, reply }) = asks.recv() => {
                    self.query(command, ReplyTo::Asker(reply)).await;
                }
                Some((run, token)) = self.numbered_rx.recv() => {
                    self.tokens.insert(run, token);
                }
                Some(done) = self.runs.join_next_with_id(), if !self.runs.is_empty() => {
                    match done {
                        Ok((id, number)) => {
                            self.lanes.remove(&id);
                            if let Some(run) = number {
                                self.tokens.remove(&run);
                            }
                        }
                        Err(e) => {
                            self.lanes.remove(&e.id());
                            tracing::error!("a run task failed: {e}");
                        }
                    }
                    if self.runs.is_empty() {
                        if let Some((source, trigger)) = self.queue.pop_front() {
                            self.spawn(Lane::of(&source), source, trigger);
                        }
                    }
                }
                Some(trigger) = next_trigger(&mut self.watch) => self.triggered(trigger).await,
                Some(done) = self.ops.join_next(), if !self.ops.is_empty() => {
                    if let Err(e) = done {
                        tracing::error!("an environment operation failed: {e}");
                    }
                }
            }
        }
        // The view hung up: stop everything and wait for the clean-up before closing events.
        self.watch = None;
        self.root.cancel();
        while let Some(done) = self.runs.join_next().await {
            if let Err(e) = done {
                tracing::error!("a run task failed: {e}");
            }
        }
        // A deploy is not cut half-way (it holds a lock and may be restoring a release).
        while let Some(done) = self.ops.join_next().await {
            if let Err(e) = done {
                tracing::error!("an environment operation failed: {e}");
            }
        }
    }

    async fn command(&mut self, command: Command) {
        if command.is_query() {
            return self.query(command, ReplyTo::Stream).await;
        }
        if operations::handles(&command) {
            self.ops
                .spawn(operations::run(self.engine.clone(), self.sink.clone(), command));
            return;
        }
        match command {
            Command::Run { rev, trigger } => self.spawn(Lane::Manual, RunSource::Commit(rev), trigger),
            Command::Cancel { run } => match self.tokens.get(&run) {
                Some(token) => token.cancel(),
                None => {
                    let message = format!(
                        "run #{run} is not running in this shipdeck (if its process died, the next start removes what it left)"
                    );
                    self.sink.notice(NoticeLevel::Warning, message).await;
                }
            },
            Command::CancelAll => {
                self.queue.clear();
                self.tokens.values().for_each(CancellationToken::cancel);
            }
            Command::Watch { saves } => self.start_watch(saves).await,
            Command::Unwatch => {
                self.watch = None;
                self.watch_status().await;
            }
            Command::WatchSaves(on) => {
                if let Some(watch) = &mut self.watch {
                    watch.watcher.set_save(on);
                    watch.saves = on;
                }
                self.watch_status().await;
            }
            Command::PauseWatch(paused) => {
                if let Some(watch) = &mut self.watch {
                    watch.watcher.set_paused(paused);
                    watch.paused = paused;
                }
                self.watch_status().await;
            }
            _ => {}
        }
    }

    /// Answers a query ([`Command::is_query`]): the history's from the recorder, the
    /// environments' on a task of their own (an engine may be slow to answer).
    async fn query(&mut self, command: Command, reply: ReplyTo) {
        match command {
            Command::Refresh => reply.send(&self.sink, vec![self.engine.repo_state().await]).await,
            Command::LoadHistory { limit } => {
                self.sink
                    .request(recorder::RecorderMsg::LoadHistory { limit, reply })
                    .await
            }
            Command::LoadLog { run, stage, lines } => {
                self.sink
                    .request(recorder::RecorderMsg::LoadLog {
                        run,
                        stage,
                        lines,
                        reply,
                    })
                    .await
            }
            Command::PlanCommit { commit } => {
                let (engine, sink) = (self.engine.clone(), self.sink.clone());
                self.ops.spawn(async move {
                    let answer = super::commit_plan::answer(&engine, &commit).await;
                    reply.send(&sink, vec![answer]).await;
                });
            }
            command => {
                let (engine, sink) = (self.engine.clone(), self.sink.clone());
                self.ops.spawn(async move {
                    let answer = operations::answer(&engine, command).await;
                    reply.send(&sink, answer).await;
                });
            }
        }
    }

    fn spawn(&mut self, lane: Lane, source: RunSource, trigger: String) {
        let cancel = self.root.child_token();
        let run = pipeline::RunStart {
            engine: self.engine.clone(),
            source,
            trigger,
            sink: self.sink.clone(),
            cancel: cancel.clone(),
            numbered: self.numbered.clone(),
        };
        let task = self.runs.spawn(pipeline::run(run));
        self.lanes.insert(task.id(), (lane, cancel));
    }

    /// A run the watcher asked for, under the busy policy: a newer trigger supersedes (cancels)
    /// what runs, or waits its turn.
    fn spawn_triggered(&mut self, source: RunSource, trigger: String) {
        let lane = Lane::of(&source);
        let policy = self
            .engine
            .config
            .as_ref()
            .map(|c| c.watch.on_busy)
            .unwrap_or(OnBusy::Supersede);
        if self.runs.is_empty() {
            return self.spawn(lane, source, trigger);
        }
        match policy {
            OnBusy::Supersede => {
                let superseded: &[Lane] = match lane {
                    Lane::Commit => &[Lane::Commit, Lane::Save],
                    _ => &[Lane::Save],
                };
                self.queue.retain(|(queued, _)| !superseded.contains(&Lane::of(queued)));
                for (running, token) in self.lanes.values() {
                    if superseded.contains(running) {
                        token.cancel();
                    }
                }
                self.spawn(lane, source, trigger);
            }
            OnBusy::Queue => self.queue.push_back((source, trigger)),
        }
    }

    async fn triggered(&mut self, trigger: Trigger) {
        match trigger {
            Trigger::Head {
                commit, branch, kind, ..
            } => {
                let short = short_commit(&commit);
                let why = match kind {
                    HeadChange::NewCommit => format!("commit {short}"),
                    HeadChange::BranchSwitched => {
                        format!("switched to {} at {short}", branch.as_deref().unwrap_or("a branch"))
                    }
                    HeadChange::Detached => format!("checked out {short} (detached)"),
                };
                self.note_trigger(&why);
                self.sink.emit(self.engine.repo_state().await).await;
                if self.may_run_triggered(&why).await {
                    self.spawn_triggered(RunSource::Commit(commit), why);
                }
                self.watch_status().await;
            }
            Trigger::Saved { paths } => {
                // Git's own writes (commit, checkout, reset, stash) and content-less touches
                // leave the tree equal to HEAD: the commit's run, if any, covers it.
                let project = self.engine.project.clone();
                if let Ok(Ok(true)) = tokio::task::spawn_blocking(move || project.worktree_is_clean()).await {
                    tracing::debug!("saves leave the working tree equal to HEAD: no save run");
                    return;
                }
                let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                let why = format!("save: {}", describe_paths(&paths));
                self.note_trigger(&why);
                if self.may_run_triggered(&why).await {
                    self.spawn_triggered(RunSource::WorkingTree { paths }, why);
                }
                self.watch_status().await;
            }
            Trigger::ConfigChanged => self.reload_config().await,
            Trigger::Warning(message) => self.sink.notice(NoticeLevel::Warning, message).await,
        }
    }

    /// Whether this process runs the triggered run `why`: it does once it holds the app's
    /// runner lease; while another process holds it, that one runs it and this one says so
    /// (and shows the run as it goes, from the history).
    async fn may_run_triggered(&mut self, why: &str) -> bool {
        if self.runner.is_some() {
            return true;
        }
        match RunnerLease::try_take(&self.engine.project.state_dir(), "shipdeck") {
            Ok(Lease::Held(lease)) => {
                self.runner = Some(lease);
                true
            }
            Ok(Lease::Elsewhere(who)) => {
                let message = format!(
                    "{why}: left to the shipdeck that runs this app's triggered runs ({who}); its run shows here as it goes"
                );
                self.sink.notice(NoticeLevel::Info, message).await;
                false
            }
            Err(e) => {
                // Without the lock file (a read-only .shipdeck), run as before rather than never.
                tracing::warn!("cannot take the runner lease: {e}");
                true
            }
        }
    }

    fn note_trigger(&mut self, why: &str) {
        if let Some(watch) = &mut self.watch {
            watch.last = Some(format!("{} {why}", chrono::Local::now().format("%H:%M:%S")));
        }
    }

    /// Reads the working copy's release.toml again: a valid one replaces the last good one;
    /// an invalid one is reported and the last good one stays.
    async fn reload_config(&mut self) {
        let path = self.engine.project.config_path();
        let loaded = tokio::task::spawn_blocking(move || crate::config::load(&path)).await;
        let error = match loaded {
            Ok(Ok(config)) => {
                // `[watch].on` takes effect at once.
                let saves = !matches!(config.watch.on, crate::config::WatchOn::Commit);
                super::pipeline::mask_secrets_of(&config, &self.sink);
                self.engine.config = Some(Arc::new(config));
                if let Some(watch) = &mut self.watch {
                    if watch.saves != saves {
                        watch.watcher.set_save(saves);
                        watch.saves = saves;
                    }
                }
                self.watch_status().await;
                None
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("reading release.toml failed: {e}")),
        };
        let config = if error.is_none() {
            self.engine.config.clone()
        } else {
            None
        };
        self.sink.emit(Event::ConfigReloaded { error, config }).await;
    }

    async fn start_watch(&mut self, saves: bool) {
        if let Some(watch) = &mut self.watch {
            watch.watcher.set_save(saves);
            watch.saves = saves;
            return self.watch_status().await;
        }
        let project = &self.engine.project;
        let settings = self.engine.config.as_ref().map(|c| c.watch.clone());
        let options = WatchOptions {
            repo_root: project.repo_root.clone(),
            app_dir: project.app_dir.clone(),
            save: saves,
            debounce: settings
                .as_ref()
                .map(|w| std::time::Duration::from_millis(w.debounce_ms))
                .unwrap_or(WatchOptions::DEFAULT_DEBOUNCE),
            ignore: settings.map(|w| w.ignore).unwrap_or_default(),
        };
        let started = tokio::task::spawn_blocking(move || Watcher::start(options)).await;
        match started {
            Ok(Ok((watcher, triggers))) => {
                self.watch = Some(ActiveWatch {
                    watcher,
                    triggers,
                    saves,
                    paused: false,
                    last: None,
                });
            }
            Ok(Err(e)) => {
                let message = format!("cannot watch the repository: {e}");
                self.sink.notice(NoticeLevel::Error, message).await;
            }
            Err(e) => tracing::error!("starting the watcher failed: {e}"),
        }
        self.watch_status().await;
    }

    async fn watch_status(&self) {
        let event = match &self.watch {
            Some(w) => Event::WatchStatus {
                watching: true,
                paused: w.paused,
                saves: w.saves,
                dirs: w.watcher.watched_dirs(),
                polling: w.watcher.polling(),
                last_trigger: w.last.clone(),
            },
            None => Event::WatchStatus {
                watching: false,
                paused: false,
                saves: false,
                dirs: 0,
                polling: false,
                last_trigger: None,
            },
        };
        self.sink.emit(event).await;
    }
}

/// The watcher's next trigger, or never while nothing is watched.
async fn next_trigger(watch: &mut Option<ActiveWatch>) -> Option<Trigger> {
    match watch {
        Some(w) => w.triggers.recv().await,
        None => std::future::pending().await,
    }
}
