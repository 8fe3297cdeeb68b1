//! One pipeline run: resolve the commit, number the run, run its stages as a DAG (independent
//! stages in parallel), skip what needs a failed stage, clean up, report.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::event::{Event, NoticeLevel, PlannedStage, StageKindName};
use super::recorder::{EventSink, RunRequest};
use super::run_error::RunError;
use super::stage::{self, StageOutcome};
use super::workspace::Workspace;
use super::Engine;
use crate::config::StageKind;
use crate::mask::{SecretMasker, MIN_SECRET_LEN};
use crate::model::{RunStatus, StageStatus};
use crate::store::RunNumber;

/// What a run runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSource {
    /// A commit (any revision): its tree and its committed release.toml.
    Commit(String),
    /// The working tree as it is on disk (save mode): the stages marked `on_save` of the
    /// working copy's release.toml. `paths` are what changed, for the trigger's description.
    WorkingTree { paths: Vec<String> },
}

pub struct RunStart {
    pub engine: Engine,
    pub source: RunSource,
    pub trigger: String,
    pub sink: EventSink,
    pub cancel: CancellationToken,
    pub numbered: mpsc::UnboundedSender<(RunNumber, CancellationToken)>,
}

/// Runs one pipeline to its end; returns the run's number once it had one.
pub async fn run(start: RunStart) -> Option<RunNumber> {
    let RunStart {
        engine,
        source,
        trigger,
        sink,
        cancel,
        numbered,
    } = start;
    let rev = match &source {
        RunSource::Commit(rev) => rev.clone(),
        RunSource::WorkingTree { .. } => "the working tree".to_string(),
    };
    let reject = |message: String| Event::RunRejected {
        rev: rev.clone(),
        message,
    };
    let Some(docker) = engine.docker.current() else {
        let message = format!(
            "the Docker engine at {} is not reachable; start the run again once it answers (check `docker version`)",
            crate::docker::default_address()
        );
        sink.emit(reject(message)).await;
        return None;
    };
    let prepared = match &source {
        RunSource::Commit(rev) => prepare_commit(&engine, rev, &sink).await,
        RunSource::WorkingTree { paths } => prepare_working_tree(&engine, paths).await,
    };
    let (commit, tree, config) = match prepared {
        Ok(prepared) => prepared,
        Err(RunError::InvalidCommitted { commit, error }) => {
            return super::invalid_run::record(&engine, &sink, &commit, trigger, &error, &numbered).await;
        }
        Err(why) => {
            sink.emit(reject(why.to_string())).await;
            return None;
        }
    };
    let request = RunRequest::of_commit(
        config.app.name.clone(),
        &commit,
        trigger.clone(),
        config.stages.iter().map(|s| s.name.clone()).collect(),
        config.app.keep_runs,
    );
    let files = match sink.create_run(request).await {
        Ok(files) => files,
        Err(e) => {
            sink.emit(reject(format!("cannot record the run: {e}"))).await;
            return None;
        }
    };
    let number = files.number;
    let _ = numbered.send((number, cancel.clone()));
    let started = Instant::now();
    sink.emit(Event::RunQueued {
        run: number,
        app: config.app.name.clone(),
        commit: commit.id.clone(),
        short_commit: commit.short.clone(),
        subject: commit.subject.clone(),
        author: commit.author.clone(),
        branch: commit.branch.clone(),
        trigger,
        at: Utc::now(),
    })
    .await;
    sink.emit(Event::RunStarted {
        run: number,
        stages: plan(&config),
        at: Utc::now(),
    })
    .await;

    let secrets = read_secrets(&config, &sink).await;
    let workspace = Workspace::new(&config.app.name, docker.clone(), number, &commit, tree);
    let shared = Arc::new(stage::RunShared {
        config: config.clone(),
        docker,
        run: number,
        commit,
        workspace,
        // Every secret this process has read, not only this run's: text is never worse masked
        // than the events (which the recorder masks with the same set).
        masker: SecretMasker::clone(&sink.masker()),
        secrets,
        logs: files.logs.into_iter().collect(),
        artifacts: files.artifacts,
        artifact_budget: Arc::new(super::artifacts::Budget::new(config.app.max_artifacts)),
        sink: sink.clone(),
        built: std::sync::Mutex::new(None),
    });

    let statuses = run_dag(&shared, &cancel).await;
    if let Err(e) = shared.workspace.remove().await {
        sink.notice(NoticeLevel::Warning, e.to_string()).await;
    }

    let status = if cancel.is_cancelled() {
        RunStatus::Cancelled
    } else if statuses.values().all(|s| *s == StageStatus::Success) {
        RunStatus::Success
    } else {
        RunStatus::Failed
    };
    let image = shared.built_image();
    sink.emit(Event::RunFinished {
        run: number,
        status,
        duration_ms: started.elapsed().as_millis() as i64,
        image_id: image.as_ref().map(|(id, _)| id.clone()),
        image_tag: image.map(|(_, tag)| tag),
        at: Utc::now(),
    })
    .await;
    Some(number)
}

type Prepared = (crate::source::CommitInfo, Arc<Vec<u8>>, Arc<crate::config::Config>);

/// A commit's tree and pipeline: the release.toml committed with it (the working copy's, with
/// a warning, when it has none).
async fn prepare_commit(engine: &Engine, rev: &str, sink: &EventSink) -> Result<Prepared, RunError> {
    let project = engine.project.clone();
    let rev = rev.to_string();
    // Read the tree before numbering the run, so that a commit without the app is rejected.
    let (commit, tree) = tokio::task::spawn_blocking(move || {
        let commit = project.resolve(&rev)?;
        let tree = project.tree_tar(&commit.id)?;
        Ok::<_, crate::source::SourceError>((commit, tree))
    })
    .await
    .map_err(RunError::CommitTask)??;
    let committed = match committed_config(engine, &commit).await {
        Err(RunError::Config(error)) => {
            return Err(RunError::InvalidCommitted {
                commit: Box::new(commit),
                error,
            })
        }
        other => other?,
    };
    let config = match committed {
        Some(config) => Arc::new(config),
        None => {
            let file = crate::config::CONFIG_FILE;
            let Some(working) = engine.config.clone() else {
                return Err(RunError::NoPipeline { short: commit.short });
            };
            let message = format!(
                "{} has no committed {file}: running with the working copy's (commit it to make runs repeatable)",
                commit.short
            );
            sink.notice(NoticeLevel::Warning, message).await;
            working
        }
    };
    Ok((commit, Arc::new(tree), config))
}

/// The working tree as it is now, and the `on_save` stages of the working copy's pipeline.
async fn prepare_working_tree(engine: &Engine, paths: &[String]) -> Result<Prepared, RunError> {
    let config = engine.config.clone().ok_or(RunError::InvalidWorkingCopy)?;
    let config = Arc::new(save_pipeline(&config).ok_or(RunError::NothingOnSave)?);
    let project = engine.project.clone();
    let (head, tree) = tokio::task::spawn_blocking(move || {
        let head = project.resolve("HEAD")?;
        let tree = project.worktree_tar()?;
        Ok::<_, crate::source::SourceError>((head, tree))
    })
    .await
    .map_err(RunError::WorkingTreeTask)??;
    let mut commit = head;
    commit.short = format!("{}+", commit.short);
    commit.subject = format!("working tree: {}", describe_paths(paths));
    Ok((commit, Arc::new(tree), config))
}

/// The pipeline a save runs: the stages marked `on_save`, with `needs` kept among them.
fn save_pipeline(config: &crate::config::Config) -> Option<crate::config::Config> {
    let mut saved = config.clone();
    saved.stages.retain(|s| s.on_save);
    if saved.stages.is_empty() {
        return None;
    }
    let names: Vec<String> = saved.stages.iter().map(|s| s.name.clone()).collect();
    for stage in &mut saved.stages {
        stage.needs.retain(|n| names.contains(n));
        // The release image is only ever built from a commit.
        if matches!(stage.kind, StageKind::Package(_)) {
            return None;
        }
    }
    Some(saved)
}

/// `app.py`, `app.py, tests.py`, `app.py and 12 more`.
pub fn describe_paths(paths: &[String]) -> String {
    match paths {
        [] => "no files".to_string(),
        [one] => one.clone(),
        [a, b] => format!("{a}, {b}"),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

/// The release.toml committed in `commit`, parsed; `Ok(None)` when the commit has none.
pub(crate) async fn committed_config(
    engine: &Engine,
    commit: &crate::source::CommitInfo,
) -> Result<Option<crate::config::Config>, RunError> {
    let project = engine.project.clone();
    let id = commit.id.clone();
    let text = tokio::task::spawn_blocking(move || project.config_at(&id))
        .await
        .map_err(RunError::ConfigTask)??;
    let Some(text) = text else { return Ok(None) };
    let name = format!("{} (as committed in {})", crate::config::CONFIG_FILE, commit.short);
    Ok(Some(crate::config::parse(&text, &name, None)?))
}

/// The stages of a pipeline as views show them before (and while) it runs.
pub fn plan(config: &crate::config::Config) -> Vec<PlannedStage> {
    config
        .stages
        .iter()
        .map(|s| {
            let (kind, image) = match &s.kind {
                StageKind::Run(r) => (StageKindName::Run, r.image.clone()),
                StageKind::Package(p) => (StageKindName::Package, p.dockerfile.clone()),
            };
            PlannedStage {
                name: s.name.clone(),
                needs: s.needs.clone(),
                kind,
                image,
            }
        })
        .collect()
}

/// The secrets' values from the host; a missing variable is a warning, not a failure, so that
/// a pipeline whose stages do not need that secret still runs on a laptop.
/// A warning for each value too short to be masked in logs.
pub(super) async fn warn_short_secrets(values: &[(String, String)], sink: &EventSink) {
    for (name, value) in values {
        if value.chars().count() < MIN_SECRET_LEN {
            let message =
                format!("secret {name} is shorter than {MIN_SECRET_LEN} characters and cannot be masked in logs");
            sink.notice(NoticeLevel::Warning, message).await;
        }
    }
}

pub(super) async fn read_secrets(config: &crate::config::Config, sink: &EventSink) -> Vec<(String, String)> {
    let mut values = Vec::new();
    for secret in &config.secrets {
        match std::env::var(&secret.env) {
            Ok(value) => {
                values.push((secret.name.clone(), value));
            }
            Err(_) => {
                let message = format!(
                    "secret {} is not passed to the stages: the host variable {} is not set",
                    secret.name, secret.env
                );
                sink.notice(NoticeLevel::Warning, message).await;
            }
        }
    }
    warn_short_secrets(&values, sink).await;
    // Masked from here on in every event, log line and stored text.
    sink.add_secrets(values.iter().map(|(_, v)| v.clone()));
    values
}

/// Adds the values of `config`'s secrets (top-level and environments') that the host has to
/// the masker, silently: for operations that do not pass secrets anywhere but may still be
/// shown them (a smoke check's answer, a release's logs).
pub(super) fn mask_secrets_of(config: &crate::config::Config, sink: &EventSink) {
    // Every environment's own secrets too: a smoke answer may carry one.
    let own = config.environments.iter().flat_map(|e| &e.secrets);
    sink.add_secrets(
        config
            .secrets
            .iter()
            .chain(own)
            .filter_map(|s| std::env::var(&s.env).ok()),
    );
}

/// Runs the stages in dependency order, as many at once as their `needs` allow.
async fn run_dag(shared: &Arc<stage::RunShared>, cancel: &CancellationToken) -> HashMap<String, StageStatus> {
    let config = shared.config.clone();
    let mut status: HashMap<String, StageStatus> = config
        .stages
        .iter()
        .map(|s| (s.name.clone(), StageStatus::Pending))
        .collect();
    let mut running: JoinSet<(String, StageOutcome)> = JoinSet::new();
    let mut names: HashMap<tokio::task::Id, String> = HashMap::new();
    loop {
        // Stages are in topological order, so one pass settles every stage whose needs are known.
        for stage in &config.stages {
            if status[&stage.name] != StageStatus::Pending {
                continue;
            }
            let blocked = stage.needs.iter().find(|n| {
                !matches!(
                    status.get(n.as_str()),
                    Some(StageStatus::Pending | StageStatus::Running | StageStatus::Success)
                )
            });
            if let Some(need) = blocked {
                let why = match status[need.as_str()] {
                    StageStatus::Skipped => "was skipped",
                    StageStatus::Cancelled => "was cancelled",
                    StageStatus::TimedOut => "timed out",
                    _ => "failed",
                };
                let (new, message) = if cancel.is_cancelled() {
                    (StageStatus::Cancelled, "cancelled before it started".to_string())
                } else {
                    (StageStatus::Skipped, format!("needs `{need}`, which {why}"))
                };
                status.insert(stage.name.clone(), new);
                shared.finish_unstarted(&stage.name, new, message).await;
                continue;
            }
            let ready = stage
                .needs
                .iter()
                .all(|n| status.get(n.as_str()) == Some(&StageStatus::Success));
            if !ready {
                continue;
            }
            if cancel.is_cancelled() {
                status.insert(stage.name.clone(), StageStatus::Cancelled);
                shared
                    .finish_unstarted(
                        &stage.name,
                        StageStatus::Cancelled,
                        "cancelled before it started".into(),
                    )
                    .await;
                continue;
            }
            status.insert(stage.name.clone(), StageStatus::Running);
            let shared = shared.clone();
            let stage = stage.clone();
            let cancel = cancel.clone();
            let name = stage.name.clone();
            let task = running.spawn(async move {
                let outcome = stage::run(&shared, &stage, &cancel).await;
                (stage.name.clone(), outcome)
            });
            names.insert(task.id(), name);
        }
        match running.join_next_with_id().await {
            Some(Ok((_, (name, outcome)))) => {
                status.insert(name, outcome.status);
            }
            Some(Err(e)) => {
                tracing::error!("a stage task failed: {e}");
                if let Some(name) = names.get(&e.id()) {
                    status.insert(name.clone(), StageStatus::Failed);
                    let message = format!("shipdeck failed while running this stage: {e}");
                    shared.finish_unstarted(name, StageStatus::Failed, message).await;
                }
            }
            None => break,
        }
    }
    status
}
