//! The one task that writes history: it folds events into the store, then hands them on to the
//! view, so that whatever a view has shown is already recorded.

use std::path::PathBuf;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use super::event::{Event, NoticeLevel, PastRun};
use super::query::ReplyTo;
use super::{event_text, log_tail};
use crate::mask::{SecretMasker, SharedMasker};
use crate::store::{NewRun, RunNumber, Store, StoreError};

/// A run to number and record, before any event of it is sent.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub app: String,
    pub commit: String,
    pub short_commit: String,
    pub branch: Option<String>,
    pub subject: String,
    pub author: String,
    pub trigger: String,
    pub stages: Vec<String>,
    pub owner: String,
    /// Retention: how many runs keep their files (`[app] keep_runs`).
    pub keep_runs: usize,
}

impl RunRequest {
    /// The run of `commit`, started by `trigger`, owned by this process.
    pub fn of_commit(
        app: String,
        commit: &crate::source::CommitInfo,
        trigger: String,
        stages: Vec<String>,
        keep_runs: usize,
    ) -> RunRequest {
        RunRequest {
            app,
            commit: commit.id.clone(),
            short_commit: commit.short.clone(),
            branch: commit.branch.clone(),
            subject: commit.subject.clone(),
            author: commit.author.clone(),
            trigger,
            stages,
            owner: crate::owner::Owner::current().label(),
            keep_runs,
        }
    }
}

/// Where a newly numbered run keeps its files.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub number: RunNumber,
    pub logs: Vec<(String, PathBuf)>,
    pub artifacts: PathBuf,
}

// Events are nearly every message: boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
pub enum RecorderMsg {
    Event(Event),
    CreateRun(RunRequest, oneshot::Sender<Result<RunFiles, StoreError>>),
    /// Answer [`Event::HistoryLoaded`] with up to `limit` recent runs.
    LoadHistory {
        limit: usize,
        reply: ReplyTo,
    },
    /// Look whether another process changed the history; if so, send
    /// [`Event::RunsElsewhere`] with the recent runs this process did not start.
    Follow,
    /// Answer [`Event::StageLogLoaded`] with the tail (this many lines) of a stage's log file.
    LoadLog {
        run: RunNumber,
        stage: String,
        lines: usize,
        reply: ReplyTo,
    },
    /// From now on, every recorded event is shown to this tap (notifications).
    Tap(Box<crate::notifications::Tap>),
    /// The engine is stopping: drop the tap, so that the notification outbox finishes what it
    /// has and lets go of its sink (sent after every other message of the engine).
    CloseTap,
}

/// Where the engine's tasks send their events. Every event's text is masked with the secrets
/// added here and sanitized by the recorder before it is stored or reaches a view.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<RecorderMsg>,
    masker: SharedMasker,
    /// For a view that keeps lines in memory (the console): very long log lines travel cut,
    /// with their marker (`term::cut`), so that events in flight stay small; the log file
    /// is written before this and keeps them whole.
    cut_lines: bool,
}

impl EventSink {
    /// Secret values read from the host: from now on they are masked in every event (and in
    /// what the engine's tasks mask themselves with [`EventSink::masker`]).
    pub fn add_secrets(&self, values: impl IntoIterator<Item = String>) {
        self.masker.add(values);
    }

    /// The masker with every secret added so far, for text that is stored outside events
    /// (log files, labels on an engine).
    pub fn masker(&self) -> std::sync::Arc<SecretMasker> {
        self.masker.current()
    }

    /// The growing set itself, for a task that masks later than it starts.
    pub fn shared_masker(&self) -> SharedMasker {
        self.masker.clone()
    }

    pub async fn emit(&self, event: Event) {
        let event = if self.cut_lines { cut_lines(event) } else { event };
        // The recorder only stops when the engine shuts down; an event sent then has no reader.
        let _ = self.tx.send(RecorderMsg::Event(event)).await;
    }

    /// Tells the views something that is not part of one stage.
    pub async fn notice(&self, level: NoticeLevel, message: impl Into<String>) {
        self.emit(Event::Notice {
            level,
            message: message.into(),
        })
        .await;
    }

    /// Sends without waiting; dropped when the channel is full. Only for lines whose loss is
    /// harmless (pull progress), from places that cannot await.
    pub fn try_emit(&self, event: Event) {
        let _ = self.tx.try_send(RecorderMsg::Event(event));
    }

    /// Asks the recorder for something it reads from the history; it answers as `reply` says.
    pub async fn request(&self, msg: RecorderMsg) {
        let _ = self.tx.send(msg).await;
    }

    /// Sends without waiting (while starting, when the channel is known to have room).
    pub(crate) fn try_request(&self, msg: RecorderMsg) -> bool {
        self.tx.try_send(msg).is_ok()
    }

    pub async fn create_run(&self, request: RunRequest) -> Result<RunFiles, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(RecorderMsg::CreateRun(request, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// Starts the recorder; events come out of the returned receiver after they are recorded.
/// With `cut_lines`, very long log lines are cut on the way (see [`EventSink`]).
pub fn spawn(store: Store, capacity: usize, cut_lines: bool) -> (EventSink, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel(capacity);
    let (out_tx, out_rx) = mpsc::channel(capacity);
    let masker = SharedMasker::default();
    let shared = masker.clone();
    // SQLite calls block (and may wait for another process's lock): a thread of their own.
    tokio::task::spawn_blocking(move || {
        run(
            store,
            rx,
            Output {
                tx: out_tx,
                masker: shared,
            },
        )
    });
    (EventSink { tx, masker, cut_lines }, out_rx)
}

fn cut_lines(event: Event) -> Event {
    match event {
        Event::StageLog {
            run,
            stage,
            stream,
            lines,
        } => Event::StageLog {
            run,
            stage,
            stream,
            lines: lines.into_iter().map(crate::term::cut::cut).collect(),
        },
        other => other,
    }
}

/// The recorder's way out to the view: every event is cleaned on the way (history read back
/// included, which may predate a secret or a fix).
struct Output {
    tx: mpsc::Sender<Event>,
    masker: SharedMasker,
}

impl Output {
    /// Cleans and sends; an event sent after the view has gone has no reader, and is dropped.
    fn send(&self, mut event: Event) {
        event_text::clean(&mut event, &self.masker.current());
        let _ = self.tx.blocking_send(event);
    }

    /// A query's answer: onto the stream, or cleaned the same way, to its asker alone.
    fn answer(&self, reply: ReplyTo, event: Event) {
        reply.send_blocking(&self.masker.current(), vec![event], |e| self.send(e));
    }
}

fn run(mut store: Store, mut rx: mpsc::Receiver<RecorderMsg>, out: Output) {
    let mut audit = Audit::default();
    let mut elsewhere = Elsewhere::default();
    let mut tap: Option<Box<crate::notifications::Tap>> = None;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            RecorderMsg::Tap(new) => tap = Some(new),
            RecorderMsg::CloseTap => tap = None,
            RecorderMsg::Follow => {
                if let Some(runs) = elsewhere.look(&store) {
                    out.send(Event::RunsElsewhere { runs });
                }
            }
            RecorderMsg::CreateRun(mut request, reply) => {
                let masker = out.masker.current();
                for text in [&mut request.subject, &mut request.author, &mut request.trigger] {
                    *text = masker.mask(crate::term::plain_text(text).into_owned());
                }
                let created = create_run(&mut store, &request);
                if let Ok(files) = &created {
                    elsewhere.own.insert(files.number);
                }
                let _ = reply.send(created);
            }
            RecorderMsg::LoadHistory { limit, reply } => {
                let event = match load_history(&store, limit) {
                    Ok(runs) => Event::HistoryLoaded { runs },
                    Err(e) => Event::Notice {
                        level: NoticeLevel::Error,
                        message: format!("cannot read the history: {e}"),
                    },
                };
                out.answer(reply, event);
            }
            RecorderMsg::LoadLog {
                run,
                stage,
                lines,
                reply,
            } => {
                let path = store.log_path(run, &stage);
                let event = match log_tail::read(&path, lines) {
                    Ok((lines, skipped)) => Event::StageLogLoaded {
                        run,
                        stage,
                        path: path.display().to_string(),
                        lines,
                        skipped,
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Event::Notice {
                        level: NoticeLevel::Warning,
                        message: format!(
                            "the log of run #{run} {stage} is gone ({}): older runs' files are removed as `[app] keep_runs` says",
                            path.display()
                        ),
                    },
                    Err(e) => Event::Notice {
                        level: NoticeLevel::Warning,
                        message: format!("cannot read the log of run #{run} {stage} ({}): {e}", path.display()),
                    },
                };
                out.answer(reply, event);
            }
            RecorderMsg::Event(mut event) => {
                // Cleaned before it is recorded: the history holds what views show.
                event_text::clean(&mut event, &out.masker.current());
                if let Err(e) = record(&mut store, &event).and_then(|()| audit.record(&mut store, &event)) {
                    tracing::error!("recording {event:?} failed: {e}");
                    let notice = Event::Notice {
                        level: NoticeLevel::Error,
                        message: format!("history not recorded: {e}"),
                    };
                    out.send(notice);
                }
                let behind = tap.as_mut().and_then(|t| t.observe(&store, &event));
                // When the view has gone, keep recording what is still arriving. (Already clean.)
                let _ = out.tx.blocking_send(event);
                if let Some(message) = behind {
                    out.send(Event::Notice {
                        level: NoticeLevel::Warning,
                        message,
                    });
                }
            }
        }
    }
}

fn create_run(store: &mut Store, r: &RunRequest) -> Result<RunFiles, StoreError> {
    let stages: Vec<&str> = r.stages.iter().map(String::as_str).collect();
    let number = store.create_run(
        &NewRun {
            app: &r.app,
            commit: &r.commit,
            short_commit: &r.short_commit,
            branch: r.branch.as_deref(),
            subject: &r.subject,
            author: &r.author,
            trigger: &r.trigger,
            stages: &stages,
            owner: &r.owner,
        },
        Utc::now(),
    )?;
    store.ensure_run_dirs(number)?;
    match store.prune_run_files(r.keep_runs) {
        Ok(gone) if !gone.is_empty() => {
            tracing::info!(runs = ?gone, keep = r.keep_runs, "removed the files of old runs")
        }
        Ok(_) => {}
        // Disk hygiene must not stop a run.
        Err(e) => tracing::warn!("{e}"),
    }
    Ok(RunFiles {
        number,
        logs: r
            .stages
            .iter()
            .map(|s| (s.clone(), store.log_path(number, s)))
            .collect(),
        artifacts: store.artifacts_dir(number),
    })
}

/// What other processes did to the history, as this one last saw it.
#[derive(Default)]
struct Elsewhere {
    /// The database's `data_version` at the last look; `None` before the first.
    version: Option<i64>,
    /// Runs this process numbered: its own events tell about them.
    own: std::collections::HashSet<RunNumber>,
}

impl Elsewhere {
    /// How many recent runs a look reads: enough for every run another process can have
    /// going at once, and the ones it finished since.
    const RECENT: usize = 20;

    /// The recent runs that are not this process's, when another process changed the
    /// history since the last look (never on the first look: the view loaded the history).
    fn look(&mut self, store: &Store) -> Option<Vec<PastRun>> {
        let version = store.data_version().ok()?;
        let changed = self.version.is_some_and(|v| v != version);
        self.version = Some(version);
        if !changed {
            return None;
        }
        let runs: Vec<PastRun> = load_history(store, Self::RECENT)
            .ok()?
            .into_iter()
            .filter(|r| !self.own.contains(&r.run.number))
            .collect();
        (!runs.is_empty()).then_some(runs)
    }
}

fn load_history(store: &Store, limit: usize) -> Result<Vec<PastRun>, StoreError> {
    let mut runs = Vec::new();
    for run in store.recent_runs(limit)? {
        let stages = store.stages(run.number)?;
        let log_paths = stages
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    store.log_path(run.number, &s.name).display().to_string(),
                )
            })
            .collect();
        runs.push(PastRun { run, stages, log_paths });
    }
    Ok(runs)
}

fn record(store: &mut Store, event: &Event) -> Result<(), StoreError> {
    match event {
        Event::RunStarted { run, at, .. } => store.run_started(*run, *at),
        Event::StageStarted { run, stage, at, .. } => store.stage_started(*run, stage, *at),
        Event::StageFinished {
            run,
            stage,
            status,
            exit_code,
            at,
            message,
            ..
        } => store.stage_finished(*run, stage, *status, *exit_code, *at, message.as_deref()),
        Event::ImageBuilt {
            run,
            stage,
            image_id,
            tag,
        } => store.set_image(*run, stage, image_id, tag),
        Event::ScanFinished { run, stage, verdict } => store.record_scan(*run, stage, verdict),
        Event::RunFinished { run, status, at, .. } => store.run_finished(*run, *status, *at),
        Event::Notification {
            channel,
            kind,
            about,
            env,
            status,
            attempt,
            message,
            at,
        } => store.record_notification(
            &crate::store::NewNotification {
                channel,
                kind,
                event: about.as_str(),
                env: env.as_deref(),
                status: status.as_str(),
                attempt: *attempt,
                message,
            },
            *at,
        ),
        _ => Ok(()),
    }
}

/// Operations on environments in the audit history: the engine numbers them per process, the
/// history per store; this maps one to the other while they run.
#[derive(Default)]
struct Audit {
    rows: std::collections::HashMap<super::event::OpId, (i64, String)>,
}

impl Audit {
    fn record(&mut self, store: &mut Store, event: &Event) -> Result<(), StoreError> {
        match event {
            Event::OperationStarted {
                op,
                app,
                env,
                action,
                from,
                to,
                run,
                by,
                approval,
                forced,
                overridden,
                policy,
                at,
            } => {
                let owner = crate::owner::Owner::current().label();
                let id = store.create_operation(
                    &crate::store::NewOperation {
                        app,
                        env,
                        action: *action,
                        from: from.as_ref(),
                        to: to.as_ref(),
                        run: *run,
                        operator: by,
                        owner: &owner,
                        approval: approval.as_deref(),
                        forced: *forced,
                        overridden: overridden.as_deref(),
                        policy: policy.as_deref(),
                    },
                    *at,
                )?;
                self.rows.insert(*op, (id, app.clone()));
                Ok(())
            }
            Event::OperationLog { op, lines, .. } => match self.rows.get(op) {
                Some((id, _)) => store.append_operation_log(*id, lines),
                None => Ok(()),
            },
            Event::SmokeChecked {
                op,
                env,
                release,
                position,
                result,
            } => match self.rows.get(op) {
                Some((id, app)) => store.record_smoke(*id, app, env, release, *position, result, Utc::now()),
                None => Ok(()),
            },
            Event::LoadTested {
                op,
                env,
                release,
                position,
                result,
            } => match self.rows.get(op) {
                Some((id, app)) => store.record_load(*id, app, env, release, *position, result, Utc::now()),
                None => Ok(()),
            },
            Event::OperationFinished {
                op,
                outcome,
                message,
                at,
                ..
            } => match self.rows.remove(op) {
                Some((id, _)) => store.finish_operation(id, *outcome, Some(message), *at),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{new_run, t};

    #[test]
    fn another_process_runs_are_seen_and_this_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let mine = Store::open(dir.path()).unwrap();
        let mut theirs = Store::open(dir.path()).unwrap();
        let mut elsewhere = Elsewhere::default();
        assert!(elsewhere.look(&mine).is_none(), "the first look only takes the version");
        assert!(elsewhere.look(&mine).is_none(), "nothing changed");
        let number = theirs.create_run(&new_run("other"), t(0)).unwrap();
        let seen = elsewhere.look(&mine).expect("the other connection's run");
        assert_eq!(seen.iter().map(|r| r.run.number).collect::<Vec<_>>(), vec![number]);
        assert!(elsewhere.look(&mine).is_none(), "told once");
        // A run this process numbered is its own events' business.
        elsewhere
            .own
            .insert(theirs.create_run(&new_run("other"), t(1)).unwrap());
        let seen = elsewhere.look(&mine).expect("a change");
        assert_eq!(seen.iter().map(|r| r.run.number).collect::<Vec<_>>(), vec![number]);
    }
}
