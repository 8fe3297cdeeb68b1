//! Operations on environments, as engine tasks: deploy, smoke, promote, rollback, and the
//! queries behind `shipdeck status`, `shipdeck unlock` and the console's environments panel
//! (answered with [`answer`]). Each operation
//! reports `OperationStarted` … `OperationFinished` (recorded in the audit history); none is
//! ever cancelled by a watch trigger.

mod accessory;
mod candidates;
mod error;
mod flows;
mod load;
mod policy;
mod promote;
mod release;
mod rollback;
mod scan_gate;
mod status;
mod verify;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::Utc;
use tokio::sync::mpsc;

use super::event::{Event, OpId};
use super::recorder::EventSink;
use super::{Command, Engine};
use crate::config::{Config, EnvironmentConfig};
use crate::deploy::{OpAction, OpOutcome, Operator, ReleaseRef, Target};
use crate::store::{RunNumber, Store};

pub use error::OperationError;

pub(super) use flows::{deploy, smoke};
pub(super) use promote::promote;
pub(super) use rollback::rollback;
pub(super) use status::{list_releases, load_environments, unlock};

static NEXT_OP: AtomicU64 = AtomicU64::new(1);

/// Runs an environment command to its end; called on a task of its own.
pub(super) async fn run(engine: Engine, sink: EventSink, command: Command) {
    match command {
        Command::Deploy {
            env,
            release,
            force,
            approval,
        } => deploy(&engine, &sink, &env, release.as_deref(), force, approval).await,
        Command::Smoke { env, force } => smoke(&engine, &sink, &env, force).await,
        Command::Promote { env, force, approval } => promote(&engine, &sink, &env, force, approval).await,
        Command::Rollback {
            env,
            to,
            force,
            approval,
        } => rollback(&engine, &sink, &env, to.as_deref(), force, approval).await,
        _ => {}
    }
}

/// The answer to an environment query (see [`Command::is_query`]); called on a task of its own.
pub(super) async fn answer(engine: &Engine, command: Command) -> Vec<Event> {
    match command {
        Command::LoadEnvironments => load_environments(engine).await,
        Command::LoadReleases { env } => vec![list_releases(engine, &env).await],
        Command::PreviewPromotion { env } => vec![promote::preview_promotion(engine, &env).await],
        Command::Unlock { env, force } => unlock(engine, &env, force).await.to_vec(),
        Command::Accessory { env, name, action } => accessory::accessory(engine, &env, &name, action).await,
        _ => Vec::new(),
    }
}

/// Whether a command is an environment operation (run by [`run`]).
pub(super) fn handles(command: &Command) -> bool {
    matches!(
        command,
        Command::Deploy { .. } | Command::Smoke { .. } | Command::Promote { .. } | Command::Rollback { .. }
    )
}

/// One operation in flight: numbers it, sends its events in order, times it.
pub(super) struct Op {
    pub id: OpId,
    pub env: String,
    pub action: OpAction,
    /// What the engine keeps of it (see [`crate::deploy::journal`]).
    pub record: crate::deploy::journal::EngineOp,
    started: Instant,
    tx: mpsc::UnboundedSender<Event>,
    /// `None` for an operation nested in another (it shares the outer one's channel, so
    /// their events stay in order).
    forwarder: Option<tokio::task::JoinHandle<()>>,
    /// The secrets read so far: for what the operation stores outside its events.
    pub masker: crate::mask::SharedMasker,
}

/// What an operation starts with.
pub(super) struct OpStart<'a> {
    pub app: &'a str,
    pub env: &'a str,
    pub action: OpAction,
    pub from: Option<ReleaseRef>,
    pub to: Option<ReleaseRef>,
    pub run: Option<RunNumber>,
    pub by: &'a Operator,
    pub approval: Option<String>,
    pub forced: bool,
    /// Which gate was overridden, in words (see [`Event::OperationStarted`]).
    pub overridden: Option<String>,
    /// Where the gates came from.
    pub policy: Option<String>,
}

impl Op {
    pub fn start(sink: &EventSink, start: OpStart<'_>) -> Op {
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let out = sink.clone();
        let id = NEXT_OP.fetch_add(1, Ordering::Relaxed);
        // Log lines come from synchronous callbacks; one forwarder keeps every event of the
        // operation (and of operations nested in it) in order on the way to the recorder.
        let forwarder = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                // Its own finish is the last word, even while a logger clone is still alive.
                let last = matches!(event, Event::OperationFinished { op, .. } if op == id);
                out.emit(event).await;
                if last {
                    break;
                }
            }
        });
        Op::begin(id, tx, Some(forwarder), sink.shared_masker(), start)
    }

    /// An operation started by this one (an automatic rollback), reported in order with it.
    pub fn nested(&self, start: OpStart<'_>) -> Op {
        let id = NEXT_OP.fetch_add(1, Ordering::Relaxed);
        Op::begin(id, self.tx.clone(), None, self.masker.clone(), start)
    }

    fn begin(
        id: OpId,
        tx: mpsc::UnboundedSender<Event>,
        forwarder: Option<tokio::task::JoinHandle<()>>,
        masker: crate::mask::SharedMasker,
        start: OpStart<'_>,
    ) -> Op {
        let at = Utc::now();
        let record = crate::deploy::journal::EngineOp {
            action: start.action,
            from: start.from.clone(),
            to: start.to.clone(),
            by: start.by.display(),
            approval: start.approval.clone(),
            overridden: start.overridden.clone(),
            policy: start.policy.clone(),
            outcome: OpOutcome::Running,
            message: None,
            started_at: at,
            finished_at: None,
        };
        let op = Op {
            id,
            env: start.env.to_string(),
            action: start.action,
            record,
            started: Instant::now(),
            tx,
            forwarder,
            masker,
        };
        op.send(Event::OperationStarted {
            op: op.id,
            app: start.app.to_string(),
            env: op.env.clone(),
            action: start.action,
            from: start.from,
            to: start.to,
            run: start.run,
            by: start.by.clone(),
            approval: start.approval,
            forced: start.forced || start.overridden.is_some(),
            overridden: start.overridden,
            policy: start.policy,
            at,
        });
        op
    }

    pub fn send(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub fn log(&self, line: impl Into<String>) {
        self.send(Event::OperationLog {
            op: self.id,
            env: self.env.clone(),
            lines: vec![line.into()],
        });
    }

    /// Where a switch tells its steps: each becomes an [`Event::SwitchProgress`].
    pub fn stepper(&self) -> impl Fn(crate::deploy::switch_step::SwitchStep) + Send + Sync + 'static {
        let tx = self.tx.clone();
        let (op, env) = (self.id, self.env.clone());
        move |step| {
            let _ = tx.send(Event::SwitchProgress {
                op,
                env: env.clone(),
                step,
            });
        }
    }

    /// A callback for code that reports progress synchronously.
    pub fn logger(&self) -> impl FnMut(String) + Send + 'static {
        let tx = self.tx.clone();
        let (op, env) = (self.id, self.env.clone());
        move |line| {
            let _ = tx.send(Event::OperationLog {
                op,
                env: env.clone(),
                lines: vec![line],
            });
        }
    }

    pub async fn finish(self, outcome: OpOutcome, message: impl Into<String>, logs: Vec<String>) {
        self.end(outcome, message.into(), logs, None).await
    }

    /// Ends the operation as refused, and why.
    pub async fn refuse(self, why: OperationError) {
        let kind = why.kind();
        self.end(OpOutcome::Refused, why.to_string(), Vec::new(), Some(kind))
            .await
    }

    async fn end(
        self,
        outcome: OpOutcome,
        message: String,
        logs: Vec<String>,
        refusal: Option<crate::deploy::Refusal>,
    ) {
        self.send(Event::OperationFinished {
            op: self.id,
            env: self.env.clone(),
            action: self.action,
            outcome,
            message,
            logs,
            refusal,
            duration_ms: self.started.elapsed().as_millis() as i64,
            at: Utc::now(),
        });
        let Op { tx, forwarder, .. } = self;
        drop(tx);
        if let Some(forwarder) = forwarder {
            let _ = forwarder.await;
        }
    }
}

/// The environment named `env` in the app's release.toml, or why not.
pub(super) fn environment<'a>(config: Option<&'a Config>, env: &str) -> Result<&'a EnvironmentConfig, OperationError> {
    let config = config.ok_or(OperationError::InvalidConfig)?;
    Ok(config.find_environment(env)?)
}

/// The environment named `env` in the working copy's release.toml, connected (for queries:
/// operations settle its gates first, see [`flows::context`]).
pub(super) async fn target_named(engine: &Engine, env: &str) -> Result<Target, OperationError> {
    let env_config = environment(engine.config.as_deref(), env)?;
    let app = engine.config.as_ref().map(|c| c.app.name.clone()).unwrap_or_default();
    target(engine, &app, env_config).await
}

/// Connects to an environment's engine, reusing the engine link when it has no `docker_host`.
pub(super) async fn target(engine: &Engine, app: &str, env: &EnvironmentConfig) -> Result<Target, OperationError> {
    Target::connect(app, env, engine.docker.current())
        .await
        .map_err(|e| OperationError::Unreachable(match (&env.docker_host, e) {
            (Some(host), crate::docker::DockerError::Unreachable { message, .. }) => format!(
                "cannot reach the engine of {} at {host}: {message}\n  hint: check `docker_host` of [environments.{}] in release.toml, and that `DOCKER_HOST={host} docker version` answers",
                env.name, env.name
            ),
            (_, e) => format!("cannot reach the engine of {}: {e}", env.name),
        }))
}

/// A store connection of the operation's own (SQLite in WAL mode takes several), opened and
/// used on a blocking thread.
pub(super) async fn with_store<T: Send + 'static>(
    engine: &Engine,
    read: impl FnOnce(&mut Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, OperationError> {
    let dir = engine.project.state_dir();
    let read = tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&dir)?;
        read(&mut store)
    });
    Ok(read.await??)
}
