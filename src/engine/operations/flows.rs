//! Deploy, smoke, promote and rollback: each resolves what it puts where, takes the
//! environment's lock, rolls the release out, runs the smoke checks and, with
//! `auto_rollback`, puts the previous release back when they fail.

use std::sync::Arc;

use super::release::{release_images, resolve};
use super::{environment, secrets, target, with_store, Op, OpStart, Why};
use crate::config::Config;
use crate::deploy::checks::run_checks;
use crate::deploy::rollout::{Rollout, RolloutOutcome};
use crate::deploy::{lock, verdict};
use crate::deploy::{Deployed, OpAction, OpOutcome, Operator, Refusal, ReleaseRef, Target};
use crate::engine::event::Event;
use crate::engine::recorder::EventSink;
use crate::engine::Engine;

/// What every operation starts from: the config, the environment's target, the operator.
struct Context {
    engine: Engine,
    config: Arc<Config>,
    target: Target,
    operator: Operator,
}

/// Records and reports an operation refused before it began.
async fn refuse(
    sink: &EventSink,
    (app, env): (&str, &str),
    action: OpAction,
    by: &Operator,
    from: Option<ReleaseRef>,
    why: Why,
) {
    let op = Op::start(
        sink,
        OpStart {
            app,
            env,
            action,
            from,
            to: None,
            run: None,
            by,
            approval: None,
            forced: false,
        },
    );
    op.refuse(why).await;
}

async fn context(engine: &Engine, sink: &EventSink, env: &str, action: OpAction) -> Option<Context> {
    let operator = Operator::current(&engine.project.repo_root);
    let env_config = match environment(engine.config.as_deref(), env) {
        Ok(e) => e.clone(),
        Err(why) => {
            let why = (Refusal::Usage, why);
            refuse(sink, (&engine.app_name(), env), action, &operator, None, why).await;
            return None;
        }
    };
    // `environment` found it, so there is a config.
    let config = engine.config.clone()?;
    match target(engine, &config.app.name, &env_config).await {
        Ok(target) => Some(Context {
            engine: engine.clone(),
            config,
            target,
            operator,
        }),
        Err(why) => {
            let why = (Refusal::Engine, why);
            refuse(sink, (&engine.app_name(), env), action, &operator, None, why).await;
            None
        }
    }
}

impl Context {
    async fn refuse(&self, sink: &EventSink, action: OpAction, from: Option<ReleaseRef>, why: Why) {
        let env = &self.target.env.name;
        refuse(sink, (&self.config.app.name, env), action, &self.operator, from, why).await
    }

    fn start(&self, sink: &EventSink, action: OpAction, from: Option<ReleaseRef>, to: &ReleaseRef) -> OpStart<'_> {
        let _ = sink;
        OpStart {
            app: &self.config.app.name,
            env: &self.target.env.name,
            action,
            from,
            to: Some(to.clone()),
            run: None,
            by: &self.operator,
            approval: None,
            forced: false,
        }
    }
}

async fn running(target: &Target) -> Result<Option<Deployed>, String> {
    Ok(target
        .current()
        .await
        .map_err(|e| e.to_string())?
        .filter(Deployed::running))
}

pub async fn deploy(
    engine: &Engine,
    sink: &EventSink,
    env: &str,
    wanted: Option<&str>,
    force: bool,
    approval: Option<String>,
) {
    let Some(cx) = context(engine, sink, env, OpAction::Deploy).await else {
        return;
    };
    let from = running(&cx.target).await.ok().flatten().map(|d| d.release);
    let gated = match &cx.target.env.promote_from {
        Some(source) if !force => Some((
            Refusal::Gated,
            format!(
                "{env} takes releases by promotion from {source}, so that only releases that passed {source}'s smoke checks reach it: `shipdeck promote {env}`; `shipdeck deploy {env} --force` deploys anyway (the audit records it)"
            ),
        )),
        _ => None,
    };
    if let Some(why) = gated {
        return cx.refuse(sink, OpAction::Deploy, from, why).await;
    }
    if cx.target.env.approval && approval.is_none() {
        let why = format!("{env} needs an approval: add --yes");
        return cx.refuse(sink, OpAction::Deploy, from, (Refusal::Approval, why)).await;
    }
    let (release, run) = match resolve(engine, &cx.target, wanted).await {
        Ok(found) => found,
        Err(why) => return cx.refuse(sink, OpAction::Deploy, from, why).await,
    };
    let mut start = cx.start(sink, OpAction::Deploy, from, &release);
    start.run = run;
    start.approval = approval;
    start.forced = force && cx.target.env.promote_from.is_some();
    let op = Op::start(sink, start);
    if force && cx.target.env.promote_from.is_some() {
        op.log(format!(
            "FORCED: deployed directly, not promoted from {}",
            cx.target.env.promote_from.as_deref().unwrap_or("")
        ));
    }
    place(sink, &cx, op, &release).await;
}

pub async fn smoke(engine: &Engine, sink: &EventSink, env: &str) {
    let Some(cx) = context(engine, sink, env, OpAction::Smoke).await else {
        return;
    };
    let current = match running(&cx.target).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            let why = format!("nothing runs on {env}: deploy a release first (`shipdeck deploy {env}`)");
            return cx.refuse(sink, OpAction::Smoke, None, (Refusal::NoRelease, why)).await;
        }
        Err(why) => return cx.refuse(sink, OpAction::Smoke, None, (Refusal::Engine, why)).await,
    };
    let op = Op::start(sink, cx.start(sink, OpAction::Smoke, None, &current.release));
    let (passed, summary) = smoke_checks(&op, &cx.target, &current).await;
    let outcome = if passed {
        OpOutcome::Succeeded
    } else {
        OpOutcome::Failed
    };
    let message = format!("{env} ({}): {summary}", current.release.describe());
    op.finish(outcome, message, Vec::new()).await;
}

pub async fn promote(engine: &Engine, sink: &EventSink, env: &str, force: bool, approval: Option<String>) {
    let Some(cx) = context(engine, sink, env, OpAction::Promote).await else {
        return;
    };
    let from = running(&cx.target).await.ok().flatten().map(|d| d.release);
    let refused = |why: Why| cx.refuse(sink, OpAction::Promote, from.clone(), why);
    let Some(source_name) = cx.target.env.promote_from.clone() else {
        let why =
            format!("{env} has no `promote_from`: nothing to promote from; deploy to it with `shipdeck deploy {env}`");
        return refused((Refusal::Usage, why)).await;
    };
    let Some(source_config) = cx.config.environment(&source_name).cloned() else {
        let why = format!("{env} promotes from `{source_name}`, which is not defined");
        return refused((Refusal::Usage, why)).await;
    };
    let source = match target(engine, &cx.config.app.name, &source_config).await {
        Ok(t) => t,
        Err(why) => return refused((Refusal::Engine, why)).await,
    };
    let candidate = match running(&source).await {
        Ok(Some(d)) => d.release,
        Ok(None) => {
            let why = format!(
                "nothing runs on {source_name} to promote: deploy there first (`shipdeck deploy {source_name}`)"
            );
            return refused((Refusal::NoRelease, why)).await;
        }
        Err(why) => return refused((Refusal::Engine, why)).await,
    };
    let gate = smoke_gate(engine, &source, &candidate).await;
    let forced = match gate {
        Ok(()) => false,
        Err(why) if force => {
            tracing::warn!("promoting without a passed smoke check (--force): {why}");
            true
        }
        Err(why) => {
            let why = format!("refusing to promote to {env}: {why}; --force promotes anyway (the audit records it)");
            return refused((Refusal::SmokeGate, why)).await;
        }
    };
    if cx.target.env.approval && approval.is_none() {
        let why = format!("{env} needs an approval: in the console, type its name; headless, add --yes");
        return refused((Refusal::Approval, why)).await;
    }
    let mut start = cx.start(sink, OpAction::Promote, from, &candidate);
    start.approval = approval;
    start.forced = forced;
    let op = Op::start(sink, start);
    if forced {
        op.log(format!(
            "FORCED: {} is promoted without a passed smoke check on {source_name}",
            candidate.describe()
        ));
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
    }
    place(sink, &cx, op, &candidate).await;
}

/// The promotion gate: the exact image must have passed the source's smoke checks.
async fn smoke_gate(engine: &Engine, source_target: &Target, candidate: &ReleaseRef) -> Result<(), String> {
    let source = source_target.env.name.as_str();
    let local = {
        let (app, source, image) = (
            source_target.app.clone(),
            source.to_string(),
            candidate.image_id.clone(),
        );
        with_store(engine, move |s| s.smoke_verdict(&app, &source, &image)).await
    };
    // Checked from another machine, or before the history was deleted: the engine knows.
    if let Ok(None) = local {
        if let Ok(Some(v)) = verdict::read(source_target, &candidate.image_id).await {
            return match v.passed {
                true => Ok(()),
                false => Err(format!(
                    "{} failed its smoke checks on {source} ({})",
                    candidate.describe(),
                    v.summary
                )),
            };
        }
    }
    match local {
        Ok(Some(v)) if v.passed => Ok(()),
        Ok(Some(v)) => Err(format!(
            "{} failed its smoke checks on {source} ({})",
            candidate.describe(),
            v.failures.join("; ")
        )),
        Ok(None) => Err(format!(
            "{} has not passed {source}'s smoke checks (never run there: `shipdeck smoke {source}`)",
            candidate.describe()
        )),
        Err(e) => Err(format!("the smoke results of {source} cannot be read ({e})")),
    }
}

/// What promoting to `env` would change, for the console's approval dialog.
pub async fn preview_promotion(engine: &Engine, sink: &EventSink, env: &str) {
    let config = engine.config.clone();
    let env_config = match environment(config.as_deref(), env) {
        Ok(e) => e.clone(),
        Err(why) => return sink.notice(crate::engine::NoticeLevel::Error, why).await,
    };
    let Some(config) = config else { return };
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
        return sink.emit(event).await;
    };
    let app = config.app.name.clone();
    let read = |t: Result<Target, String>| async move {
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
        Some(s) => running(s).await.ok().flatten().map(|d| d.release),
        None => None,
    };
    let blocked = match (&candidate, &source) {
        (Some(c), Some(s)) => smoke_gate(engine, s, c).await.err(),
        _ => Some(format!("nothing runs on {source_name} to promote")),
    };
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
    sink.emit(Event::PromotionPreview {
        env: env.to_string(),
        source: source_name,
        current,
        candidate,
        commits,
        approval: env_config.approval,
        blocked,
    })
    .await;
}

pub async fn rollback(
    engine: &Engine,
    sink: &EventSink,
    env: &str,
    to: Option<&str>,
    force: bool,
    approval: Option<String>,
) {
    let Some(cx) = context(engine, sink, env, OpAction::Rollback).await else {
        return;
    };
    let current = running(&cx.target).await.ok().flatten();
    let from = current.as_ref().map(|d| d.release.clone());
    let history = {
        let (app, env) = (cx.config.app.name.clone(), env.to_string());
        with_store(engine, move |s| s.deployed_releases(&app, &env, 50))
            .await
            .unwrap_or_default()
    };
    let chosen = match to {
        Some(rev) => resolve(engine, &cx.target, Some(rev)).await.map(|(r, _)| r),
        None => previous_good(engine, &cx, current.as_ref(), &history).await,
    };
    let release = match chosen {
        Ok(r) => r,
        Err(why) => return cx.refuse(sink, OpAction::Rollback, from, why).await,
    };
    // An environment fed by promotion only goes back to what it ran.
    let ran_there = history
        .iter()
        .any(|(r, _)| r.to.as_ref().is_some_and(|t| t.image_id == release.image_id));
    if cx.target.env.promote_from.is_some() && !ran_there && !force {
        let why = format!(
            "{} never ran on {env} (as far as this history knows: `shipdeck history {env}`), which takes releases by promotion; `--force` rolls back to it anyway",
            release.describe()
        );
        return cx.refuse(sink, OpAction::Rollback, from, (Refusal::Gated, why)).await;
    }
    let mut start = cx.start(sink, OpAction::Rollback, from, &release);
    start.approval = approval;
    start.forced = cx.target.env.promote_from.is_some() && !ran_there;
    let op = Op::start(sink, start);
    place(sink, &cx, op, &release).await;
}

/// The release to roll back to: the newest one deployed there before that ended well, is not
/// running now, did not fail its smoke checks there, and whose image is still on the engine;
/// without a history (and only where releases are not gated by promotion), the newest release
/// image built before the current one.
async fn previous_good(
    engine: &Engine,
    cx: &Context,
    current: Option<&Deployed>,
    history: &[(crate::store::OperationRecord, Option<crate::store::SmokeVerdict>)],
) -> Result<ReleaseRef, Why> {
    let now = current.map(|d| d.release.image_id.clone()).unwrap_or_default();
    let env = cx.target.env.name.clone();
    let images = release_images(&cx.target).await.map_err(|e| (Refusal::Engine, e))?;
    let on_engine = |id: &str| images.iter().any(|i| i.id == id);
    for (record, verdict) in history {
        let Some(release) = &record.to else { continue };
        if release.image_id == now || verdict.as_ref().is_some_and(|v| !v.passed) || !on_engine(&release.image_id) {
            continue;
        }
        return Ok(release.clone());
    }
    let none = || {
        (
            Refusal::NoRelease,
            format!("no earlier good release to roll back {env} to (name one with --to SHA; `shipdeck history {env}` lists them)"),
        )
    };
    if !history.is_empty() || cx.target.env.promote_from.is_some() {
        return Err(none());
    }
    let built_now = images.iter().find(|i| i.id == now).map(|i| i.created);
    let older = images
        .iter()
        .find(|i| i.id != now && built_now.is_none_or(|t| i.created < t));
    match older {
        Some(image) => Ok(super::release::release_of(engine, image).await),
        None => Err(none()),
    }
}

/// Takes the lock, rolls the release out, smoke-checks it, rolls back automatically when
/// configured; finishes `op` and reports the environment's new state.
async fn place(sink: &EventSink, cx: &Context, op: Op, release: &ReleaseRef) {
    let doing = format!("{} {}", op.action.as_str(), release.short_commit);
    let held = match lock::acquire(&cx.target, &cx.operator, &doing).await {
        Ok(l) => l,
        Err(e @ lock::LockError::Held(_)) => return op.refuse((Refusal::Locked, e.to_string())).await,
        Err(e) => return op.refuse((Refusal::Engine, e.to_string())).await,
    };
    let (outcome, message, logs) = place_locked(cx, &op, release).await;
    held.release().await;
    op.finish(outcome, message, logs).await;
    sink.emit(super::status::environment_status(&cx.engine, &cx.target).await)
        .await;
}

async fn place_locked(cx: &Context, op: &Op, release: &ReleaseRef) -> (OpOutcome, String, Vec<String>) {
    let env = cx.target.env.name.clone();
    let rollout = Rollout {
        target: &cx.target,
        release,
        operator: &cx.operator,
        action: op.action,
        secrets: secrets(&cx.config),
    };
    let mut log = op.logger();
    let previous = match rollout.run(&mut log).await {
        Err(e) => return (OpOutcome::Failed, e.to_string(), Vec::new()),
        Ok(RolloutOutcome::Unchanged) => {
            let why = format!("{env} already runs {}: nothing to do", release.describe());
            return (OpOutcome::Unchanged, why, Vec::new());
        }
        Ok(RolloutOutcome::Failed { reason, logs, restored }) => {
            let after = if restored {
                "the previous release runs again"
            } else {
                "nothing runs there now"
            };
            let why = format!("{} did not start on {env}: {reason}; {after}", release.describe());
            return (OpOutcome::Failed, why, logs);
        }
        Ok(RolloutOutcome::Deployed { previous }) => previous,
    };
    let deployed = match running(&cx.target).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return (
                OpOutcome::Failed,
                format!("{env} stopped right after the deploy"),
                Vec::new(),
            )
        }
        Err(why) => return (OpOutcome::Failed, why, Vec::new()),
    };
    let (passed, summary) = smoke_checks(op, &cx.target, &deployed).await;
    if passed {
        return (
            OpOutcome::Succeeded,
            format!("{env} runs {}; {summary}", release.describe()),
            Vec::new(),
        );
    }
    let Some(previous) = previous.filter(|_| cx.target.env.auto_rollback) else {
        let hint = if cx.target.env.auto_rollback {
            "there is no previous release to restore"
        } else {
            &format!("auto_rollback is off: roll back with `shipdeck rollback {env}` if needed")
        };
        return (
            OpOutcome::Failed,
            format!(
                "{env} runs {} but its smoke checks FAILED ({summary}); {hint}",
                release.describe()
            ),
            Vec::new(),
        );
    };
    op.log(format!(
        "SMOKE CHECKS FAILED on {env}: rolling back automatically to {}",
        previous.release.describe()
    ));
    let restored = auto_rollback(op, cx, release, &previous.release).await;
    let message = match restored {
        Ok(()) => format!(
            "SMOKE CHECKS FAILED on {env} ({summary}): ROLLED BACK automatically to {}, which answers again",
            previous.release.describe()
        ),
        Err(why) => format!(
            "SMOKE CHECKS FAILED on {env} ({summary}) and the automatic rollback to {} failed too: {why}",
            previous.release.describe()
        ),
    };
    (OpOutcome::RolledBack, message, Vec::new())
}

/// Puts `previous` back after `failed` failed its smoke checks: an operation of its own in the
/// audit, under the lock the failed one holds.
async fn auto_rollback(outer: &Op, cx: &Context, failed: &ReleaseRef, previous: &ReleaseRef) -> Result<(), String> {
    let op = outer.nested(OpStart {
        app: &cx.config.app.name,
        env: &cx.target.env.name,
        action: OpAction::AutoRollback,
        from: Some(failed.clone()),
        to: Some(previous.clone()),
        run: None,
        by: &cx.operator,
        approval: None,
        forced: false,
    });
    let rollout = Rollout {
        target: &cx.target,
        release: previous,
        operator: &cx.operator,
        action: OpAction::AutoRollback,
        secrets: secrets(&cx.config),
    };
    let mut log = op.logger();
    let result = match rollout.run(&mut log).await {
        Ok(RolloutOutcome::Deployed { .. }) | Ok(RolloutOutcome::Unchanged) => match running(&cx.target).await {
            Ok(Some(d)) => {
                let (passed, summary) = smoke_checks(&op, &cx.target, &d).await;
                if passed {
                    Ok(summary)
                } else {
                    Err(format!("its smoke checks fail too ({summary})"))
                }
            }
            _ => Err("it is not running".to_string()),
        },
        Ok(RolloutOutcome::Failed { reason, .. }) => Err(reason),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(summary) => {
            let message = format!("{} restored; {summary}", previous.describe());
            op.finish(OpOutcome::Succeeded, message, Vec::new()).await;
            Ok(())
        }
        Err(why) => {
            op.finish(OpOutcome::Failed, why.clone(), Vec::new()).await;
            Err(why)
        }
    }
}

/// Runs the target's smoke checks against `deployed`, reporting each result; returns whether
/// all passed and a summary.
async fn smoke_checks(op: &Op, target: &Target, deployed: &Deployed) -> (bool, String) {
    if target.env.smoke.is_empty() {
        op.log("no smoke checks configured");
        return (true, "no smoke checks configured".into());
    }
    op.log(format!("running {} smoke check(s)", target.env.smoke.len()));
    let mut log = op.logger();
    let results = run_checks(target, deployed, &mut log).await;
    for (position, result) in results.iter().enumerate() {
        op.send(Event::SmokeChecked {
            op: op.id,
            env: op.env.clone(),
            release: deployed.release.clone(),
            position: position as u32,
            result: result.clone(),
        });
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {}", r.check, r.message))
        .collect();
    let summary = failed.join("; ");
    if let Err(e) = verdict::record(target, &deployed.release.image_id, failed.is_empty(), &summary).await {
        op.log(format!("could not keep the smoke verdict on the engine: {e}"));
    }
    if failed.is_empty() {
        (true, format!("smoke passed ({} check(s))", results.len()))
    } else {
        (
            false,
            format!("{} of {} failed: {}", failed.len(), results.len(), failed.join("; ")),
        )
    }
}
