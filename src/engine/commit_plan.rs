//! The planned stages of a commit that has not run: the DAG of the release.toml committed
//! with it (read from git, as a run of it would read it), or why there is none.

use super::event::{Event, PlanSource};
use super::pipeline::{committed_config, plan};
use super::run_error::RunError;
use super::Engine;

/// Answers [`super::Command::PlanCommit`]: what a run of `rev` would run, without running it.
pub(super) async fn answer(engine: &Engine, rev: &str) -> Event {
    let project = engine.project.clone();
    let wanted = rev.to_string();
    let resolved = tokio::task::spawn_blocking(move || project.resolve(&wanted))
        .await
        .map_err(RunError::CommitTask)
        .and_then(|r| r.map_err(RunError::from));
    let commit = match resolved {
        Ok(commit) => commit,
        Err(e) => return planned(rev, Vec::new(), PlanSource::Unreadable, Some(e.to_string())),
    };
    match committed_config(engine, &commit).await {
        Ok(Some(config)) => planned(&commit.id, plan(&config), PlanSource::Committed, None),
        // A run would take the working copy's pipeline (with a warning): so does the plan.
        Ok(None) => match &engine.config {
            Some(config) => planned(&commit.id, plan(config), PlanSource::WorkingCopy, None),
            None => {
                let error = RunError::NoPipeline { short: commit.short };
                planned(&commit.id, Vec::new(), PlanSource::Unreadable, Some(error.to_string()))
            }
        },
        Err(RunError::Config(error)) => planned(&commit.id, Vec::new(), PlanSource::Committed, Some(error.to_string())),
        Err(e) => planned(&commit.id, Vec::new(), PlanSource::Unreadable, Some(e.to_string())),
    }
}

fn planned(commit: &str, stages: Vec<super::PlannedStage>, source: PlanSource, error: Option<String>) -> Event {
    Event::CommitPlanned {
        commit: commit.to_string(),
        stages,
        source,
        error,
    }
}
