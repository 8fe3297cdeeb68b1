//! The one task that writes history: it folds events into the store, then hands them on to the
//! view, so that whatever a view has shown is already recorded.

use std::path::PathBuf;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use super::event::{Event, NoticeLevel, PastRun};
use super::log_tail;
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
    /// Emit [`Event::HistoryLoaded`] with up to this many recent runs.
    LoadHistory(usize),
    /// Emit [`Event::StageLogLoaded`] with the tail (this many lines) of a stage's log file.
    LoadLog {
        run: RunNumber,
        stage: String,
        lines: usize,
    },
}

/// Where the engine's tasks send their events.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<RecorderMsg>,
}

impl EventSink {
    pub async fn emit(&self, event: Event) {
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

    /// Asks the recorder for something it reads from the history; the answer is an event.
    pub async fn request(&self, msg: RecorderMsg) {
        let _ = self.tx.send(msg).await;
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
pub fn spawn(store: Store, capacity: usize) -> (EventSink, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel(capacity);
    let (out_tx, out_rx) = mpsc::channel(capacity);
    // SQLite calls block (and may wait for another process's lock): a thread of their own.
    tokio::task::spawn_blocking(move || run(store, rx, out_tx));
    (EventSink { tx }, out_rx)
}

fn run(mut store: Store, mut rx: mpsc::Receiver<RecorderMsg>, out: mpsc::Sender<Event>) {
    let mut audit = Audit::default();
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            RecorderMsg::CreateRun(request, reply) => {
                let _ = reply.send(create_run(&mut store, &request));
            }
            RecorderMsg::LoadHistory(limit) => {
                let event = match load_history(&store, limit) {
                    Ok(runs) => Event::HistoryLoaded { runs },
                    Err(e) => Event::Notice {
                        level: NoticeLevel::Error,
                        message: format!("cannot read the history: {e}"),
                    },
                };
                let _ = out.blocking_send(event);
            }
            RecorderMsg::LoadLog { run, stage, lines } => {
                let path = store.log_path(run, &stage);
                let event = match log_tail::read(&path, lines) {
                    Ok((lines, skipped)) => Event::StageLogLoaded {
                        run,
                        stage,
                        path: path.display().to_string(),
                        lines,
                        skipped,
                    },
                    Err(e) => Event::Notice {
                        level: NoticeLevel::Warning,
                        message: format!("cannot read the log of run #{run} {stage} ({}): {e}", path.display()),
                    },
                };
                let _ = out.blocking_send(event);
            }
            RecorderMsg::Event(event) => {
                if let Err(e) = record(&mut store, &event).and_then(|()| audit.record(&mut store, &event)) {
                    tracing::error!("recording {event:?} failed: {e}");
                    let notice = Event::Notice {
                        level: NoticeLevel::Error,
                        message: format!("history not recorded: {e}"),
                    };
                    let _ = out.blocking_send(notice);
                }
                // When the view has gone, keep recording what is still arriving.
                let _ = out.blocking_send(event);
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
        Event::RunFinished { run, status, at, .. } => store.run_finished(*run, *status, *at),
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
