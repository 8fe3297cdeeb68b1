//! A commit whose committed release.toml is invalid still gets a run: a failed one, in order
//! with the others, whose one stage (`release.toml`) holds the whole diagnostic — every error
//! with its line, column and hint — so that history, the console and `shipdeck history` say
//! what broke the pipeline, and when.

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event::{Event, PlannedStage, StageKindName, Stream};
use super::recorder::{EventSink, RunRequest};
use super::stage::LogFile;
use super::Engine;
use crate::config::ConfigError;
use crate::model::{RunStatus, StageStatus};
use crate::source::CommitInfo;
use crate::store::RunNumber;

/// The stage that stands for reading the pipeline.
pub const STAGE: &str = "release.toml";

/// Records the failed run of `commit`, whose committed release.toml is `error`.
pub(super) async fn record(
    engine: &Engine,
    sink: &EventSink,
    commit: &CommitInfo,
    trigger: String,
    error: &ConfigError,
    numbered: &mpsc::UnboundedSender<(RunNumber, CancellationToken)>,
) -> Option<RunNumber> {
    let keep_runs = engine
        .config
        .as_ref()
        .map_or(crate::config::AppConfig::DEFAULT_KEEP_RUNS, |c| c.app.keep_runs);
    let request = RunRequest::of_commit(
        engine.app_name(),
        commit,
        trigger.clone(),
        vec![STAGE.to_string()],
        keep_runs,
    );
    let files = match sink.create_run(request).await {
        Ok(files) => files,
        Err(e) => {
            let message = format!("{error}\n(and the run could not be recorded: {e})");
            sink.emit(Event::RunRejected {
                rev: commit.short.clone(),
                message,
            })
            .await;
            return None;
        }
    };
    let run = files.number;
    let _ = numbered.send((run, CancellationToken::new()));
    let at = Utc::now();
    sink.emit(Event::RunQueued {
        run,
        app: engine.app_name(),
        commit: commit.id.clone(),
        short_commit: commit.short.clone(),
        subject: commit.subject.clone(),
        author: commit.author.clone(),
        branch: commit.branch.clone(),
        trigger,
        at,
    })
    .await;
    let stages = vec![PlannedStage {
        name: STAGE.to_string(),
        needs: Vec::new(),
        kind: StageKindName::Run,
        image: String::new(),
    }];
    sink.emit(Event::RunStarted { run, stages, at }).await;
    let log_path = files
        .logs
        .iter()
        .find(|(name, _)| name == STAGE)
        .map(|(_, p)| p.clone());
    sink.emit(Event::StageStarted {
        run,
        stage: STAGE.to_string(),
        at,
        log_path: log_path.as_ref().map(|p| p.display().to_string()),
    })
    .await;
    let lines: Vec<String> = error.to_string().lines().map(str::to_string).collect();
    let log = LogFile::create(log_path.as_deref(), crate::mask::SecretMasker::clone(&sink.masker()));
    for line in &lines {
        log.write_line(line);
    }
    drop(log);
    sink.emit(Event::StageLog {
        run,
        stage: STAGE.to_string(),
        stream: Stream::Stderr,
        lines,
    })
    .await;
    let count = crate::text::count(error.diagnostics.len(), "error");
    sink.emit(Event::StageFinished {
        run,
        stage: STAGE.to_string(),
        status: StageStatus::Failed,
        exit_code: None,
        duration_ms: 0,
        message: Some(format!(
            "{} committed with {} is not valid ({count}): nothing ran",
            crate::config::CONFIG_FILE,
            commit.short
        )),
        at: Utc::now(),
    })
    .await;
    sink.emit(Event::RunFinished {
        run,
        status: RunStatus::Failed,
        duration_ms: 0,
        image_id: None,
        image_tag: None,
        at: Utc::now(),
    })
    .await;
    Some(run)
}
