//! Promotion: the release running in `promote_from`, only past its smoke gate and with an
//! approval where one is wanted; and the preview the console's approval dialog shows.

use super::flows::{approved, context, place, running, Placement};
use super::{environment, target, with_store, OperationError};
use crate::deploy::{provenance, verdict, Deployed, OpAction, OpOutcome, Refusal, Target};
use crate::engine::event::Event;
use crate::engine::recorder::EventSink;
use crate::engine::Engine;

pub async fn promote(engine: &Engine, sink: &EventSink, env: &str, force: bool, approval: Option<String>) {
    let Some(cx) = context(engine, sink, env, OpAction::Promote, force).await else {
        return;
    };
    let from = running(&cx.target).await.ok().flatten().map(|d| d.release);
    let refused = |why: OperationError| cx.refuse(sink, OpAction::Promote, from.clone(), why);
    let Some(source_name) = cx.target.env.promote_from.clone() else {
        let why =
            format!("{env} has no `promote_from`: nothing to promote from; deploy to it with `shipdeck deploy {env}`");
        return refused(OperationError::refused(Refusal::Usage, why)).await;
    };
    let Some(source_config) = cx.config.environment(&source_name).cloned() else {
        let why = format!("{env} promotes from `{source_name}`, which is not defined");
        return refused(OperationError::refused(Refusal::Usage, why)).await;
    };
    let source = match target(engine, &cx.config.app.name, &source_config).await {
        Ok(t) => t,
        Err(why) => return refused(why).await,
    };
    let candidate = match running(&source).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            let why = format!(
                "nothing runs on {source_name} to promote: deploy there first (`shipdeck deploy {source_name}`)"
            );
            return refused(OperationError::refused(Refusal::NoRelease, why)).await;
        }
        Err(why) => return refused(why).await,
    };
    let gate = smoke_gate(engine, &source, &candidate).await;
    let candidate = candidate.release;
    let skipped = match gate {
        Ok(()) => None,
        Err(why) if force => {
            tracing::warn!("promoting without a passed smoke check (--force): {why}");
            Some(format!("the smoke gate: {why}"))
        }
        Err(why) => {
            let why = format!("refusing to promote to {env}: {why}; --force promotes anyway (the audit records it)");
            return refused(OperationError::refused(Refusal::SmokeGate, why)).await;
        }
    };
    let scan_skipped = match super::scan_gate::gate(engine, &cx.config, &candidate, env, "promote", force).await {
        Ok(skipped) => skipped,
        Err(why) => return refused(why).await,
    };
    if let Err(why) = approved(&cx.target, approval.as_deref()) {
        return refused(why).await;
    }
    if let Some(scan) = &scan_skipped {
        tracing::warn!("promoting past {scan} (--force)");
    }
    let both = [skipped.clone(), scan_skipped.clone()]
        .into_iter()
        .flatten()
        .reduce(|a, b| format!("{a}; {b}"));
    let mut start = cx.start(OpAction::Promote, from, &candidate);
    start.approval = approval;
    start.forced = both.is_some();
    start.overridden = cx.overridden(both);
    let op = cx.begin(sink, start);
    if skipped.is_some() {
        op.log(format!(
            "FORCED: {} is promoted without a passed smoke check on {source_name}",
            candidate.describe()
        ));
    }
    if let Some(scan) = &scan_skipped {
        op.log(format!("FORCED: {} is promoted past {scan}", candidate.describe()));
    }
    if source.docker.address != cx.target.docker.address {
        match cx.target.docker.image_exists(&candidate.image_id).await {
            Ok(true) => {}
            Ok(false) => {
                op.log(format!(
                    "copying image {} to {}",
                    candidate.image_id, cx.target.docker.address
                ));
                if let Err(e) = source
                    .docker
                    .copy_image_to(&candidate.image_id, &cx.target.docker)
                    .await
                {
                    return op.finish(OpOutcome::Failed, e.to_string(), Vec::new()).await;
                }
            }
            Err(e) => return op.finish(OpOutcome::Failed, e.to_string(), Vec::new()).await,
        }
        // The record that a run built it goes with it (see deploy::provenance).
        let app = &cx.config.app.name;
        match provenance::read(&source.docker, app, &candidate.image_id).await {
            Ok(Some(p)) => {
                if let Err(e) = provenance::record(&cx.target.docker, app, &candidate.image_id, p.run, &p.commit).await
                {
                    op.log(format!(
                        "could not copy the release's record to {}: {e}",
                        cx.target.docker.address
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => return op.finish(OpOutcome::Failed, e.to_string(), Vec::new()).await,
        }
    }
    place(sink, &cx, op, &candidate, Placement::SettledChecks).await;
}

/// Why a release may not be promoted from its source environment (without --force).
#[derive(Debug, thiserror::Error)]
pub(super) enum SmokeGateClosed {
    #[error("{release} failed its smoke checks on {env} ({summary})")]
    Failed {
        release: String,
        env: String,
        summary: String,
    },
    /// Checked against another container of that image: this one never was (an operation on
    /// the source died before its checks).
    #[error("{release} is not verified on {env}: it was put in place again and its smoke checks have not run since (`shipdeck smoke {env}`)")]
    NotReverified { release: String, env: String },
    #[error("{release} has not passed {env}'s smoke checks (never run there: `shipdeck smoke {env}`)")]
    NeverRun { release: String, env: String },
    #[error("the smoke results of {env} cannot be read ({error})")]
    Unreadable { env: String, error: OperationError },
}

/// The promotion gate: the exact image must be verified on the source: its smoke checks passed
/// there, against the container that runs it now (the verdict kept on the source's engine).
async fn smoke_gate(engine: &Engine, source_target: &Target, running: &Deployed) -> Result<(), SmokeGateClosed> {
    let source = source_target.env.name.as_str();
    let candidate = &running.release;
    let (release, env) = (candidate.describe(), source.to_string());
    match verdict::read(source_target, &candidate.image_id).await {
        Ok(Some(v)) if v.verifies(&running.container_id) => return Ok(()),
        Ok(Some(v)) if !v.passed => {
            return Err(SmokeGateClosed::Failed {
                release,
                env,
                summary: v.summary,
            })
        }
        Ok(Some(v)) if !v.container.is_empty() => return Err(SmokeGateClosed::NotReverified { release, env }),
        _ => {}
    }
    let local = {
        let (app, source, image) = (
            source_target.app.clone(),
            source.to_string(),
            candidate.image_id.clone(),
        );
        with_store(engine, move |s| s.smoke_verdict(&app, &source, &image)).await
    };
    // No verdict on the engine (kept by an older shipdeck, or its volume removed): the
    // history's.
    match local {
        Ok(Some(v)) if v.passed => Ok(()),
        Ok(Some(v)) => Err(SmokeGateClosed::Failed {
            release,
            env,
            summary: v.failures.join("; "),
        }),
        Ok(None) => Err(SmokeGateClosed::NeverRun { release, env }),
        Err(error) => Err(SmokeGateClosed::Unreadable { env, error }),
    }
}

/// What promoting to `env` would change, for the console's approval dialog: a
/// [`Event::PromotionPreview`], or an error notice.
pub async fn preview_promotion(engine: &Engine, env: &str) -> Event {
    let failed = |why: OperationError| Event::Notice {
        level: crate::engine::NoticeLevel::Error,
        message: why.to_string(),
    };
    let Some(config) = engine.config.clone() else {
        return failed(OperationError::InvalidConfig);
    };
    let env_config = match environment(Some(&config), env) {
        // The gates that will hold (HEAD's; an uncommitted edit does not lower them): the
        // dialog asks for the name when the promotion will need it.
        Ok(e) => super::policy::shown_gates(engine, e).await,
        Err(why) => return failed(why),
    };
    let (env_config, unreadable) = env_config;
    let Some(source_name) = env_config.promote_from.clone() else {
        let blocked = format!("{env} has no `promote_from`: nothing to promote from; deploy to it with `d`");
        let current = match target(engine, &config.app.name, &env_config).await {
            Ok(t) => running(&t).await.ok().flatten().map(|d| d.release),
            Err(_) => None,
        };
        let event = Event::PromotionPreview {
            env: env.to_string(),
            source: String::new(),
            current,
            candidate: None,
            commits: Vec::new(),
            approval: env_config.approval,
            blocked: Some(blocked),
        };
        return event;
    };
    let app = config.app.name.clone();
    let read = |t: Result<Target, OperationError>| async move {
        match t {
            Ok(t) => running(&t).await.ok().flatten().map(|d| d.release),
            Err(_) => None,
        }
    };
    let current = read(target(engine, &app, &env_config).await).await;
    let source = match config.environment(&source_name) {
        Some(s) => target(engine, &app, s).await.ok(),
        None => None,
    };
    let candidate = match &source {
        Some(s) => running(s).await.ok().flatten(),
        None => None,
    };
    let blocked = match (&candidate, &source) {
        (Some(c), Some(s)) => smoke_gate(engine, s, c).await.err().map(|closed| closed.to_string()),
        _ => Some(format!("nothing runs on {source_name} to promote")),
    };
    let blocked = unreadable.or(blocked);
    let candidate = candidate.map(|d| d.release);
    let commits = match &candidate {
        Some(c) => {
            let project = engine.project.clone();
            let (from, to) = (current.as_ref().map(|r| r.commit.clone()), c.commit.clone());
            tokio::task::spawn_blocking(move || project.commits_between(from.as_deref(), &to, 50))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    Event::PromotionPreview {
        env: env.to_string(),
        source: source_name,
        current,
        candidate,
        commits,
        approval: env_config.approval,
        blocked,
    }
}
