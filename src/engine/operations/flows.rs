//! Deploy, smoke, promote and rollback: each resolves what it puts where, takes the
//! environment's lock, rolls the release out, runs the smoke checks and, with
//! `auto_rollback`, puts the previous release back when they fail.

use std::sync::Arc;

use super::release::resolve;
use super::{environment, target, Op, OpStart, Why};
use crate::config::Config;
use crate::deploy::checks::run_checks;
use crate::deploy::rollout::{Rollout, RolloutOutcome};
use crate::deploy::{lock, verdict};
use crate::deploy::{Deployed, OpAction, OpOutcome, Operator, Refusal, ReleaseRef, Target};
use crate::engine::event::Event;
use crate::engine::recorder::EventSink;
use crate::engine::Engine;

/// What every operation starts from: the config, the environment's target, the operator.
pub(super) struct Context {
    pub(super) engine: Engine,
    pub(super) config: Arc<Config>,
    pub(super) target: Target,
    pub(super) operator: Operator,
}

/// Records and reports an operation refused before it began.
pub(super) async fn refuse(
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

pub(super) async fn context(engine: &Engine, sink: &EventSink, env: &str, action: OpAction) -> Option<Context> {
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
    // Whatever this operation shows (a smoke answer, a release's logs) is masked, also when
    // it passes no secret itself (smoke).
    crate::engine::pipeline::mask_secrets_of(&config, sink);
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
    pub(super) async fn refuse(&self, sink: &EventSink, action: OpAction, from: Option<ReleaseRef>, why: Why) {
        let env = &self.target.env.name;
        refuse(sink, (&self.config.app.name, env), action, &self.operator, from, why).await
    }

    pub(super) fn start(&self, action: OpAction, from: Option<ReleaseRef>, to: &ReleaseRef) -> OpStart<'_> {
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

pub(super) async fn running(target: &Target) -> Result<Option<Deployed>, String> {
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
    let mut start = cx.start(OpAction::Deploy, from, &release);
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
    let op = Op::start(sink, cx.start(OpAction::Smoke, None, &current.release));
    let (passed, summary) = smoke_checks(&op, &cx.target, &current).await;
    let outcome = if passed {
        OpOutcome::Succeeded
    } else {
        OpOutcome::Failed
    };
    let message = format!("{env} ({}): {summary}", current.release.describe());
    op.finish(outcome, message, Vec::new()).await;
}

/// Takes the lock, rolls the release out, smoke-checks it, rolls back automatically when
/// configured; finishes `op` and reports the environment's new state.
pub(super) async fn place(sink: &EventSink, cx: &Context, op: Op, release: &ReleaseRef) {
    let doing = format!("{} {}", op.action.as_str(), release.short_commit);
    let held = match lock::acquire(&cx.target, &cx.operator, &doing).await {
        Ok(l) => l,
        Err(e @ lock::LockError::Held(_)) => return op.refuse((Refusal::Locked, e.to_string())).await,
        Err(e) => return op.refuse((Refusal::Engine, e.to_string())).await,
    };
    // Read once, with the pipeline's warnings for unset or unmaskable ones.
    let secrets: Vec<String> = crate::engine::pipeline::read_secrets(&cx.config, sink)
        .await
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let (outcome, message, logs) = place_locked(cx, &op, release, &secrets).await;
    held.release().await;
    op.finish(outcome, message, logs).await;
    sink.emit(super::status::environment_status(&cx.engine, &cx.target).await)
        .await;
}

async fn place_locked(
    cx: &Context,
    op: &Op,
    release: &ReleaseRef,
    secrets: &[String],
) -> (OpOutcome, String, Vec<String>) {
    let env = cx.target.env.name.clone();
    let rollout = Rollout {
        target: &cx.target,
        release,
        operator: &cx.operator,
        action: op.action,
        secrets: secrets.to_vec(),
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
    let restored = auto_rollback(op, cx, release, &previous.release, secrets).await;
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
async fn auto_rollback(
    outer: &Op,
    cx: &Context,
    failed: &ReleaseRef,
    previous: &ReleaseRef,
    secrets: &[String],
) -> Result<(), String> {
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
        secrets: secrets.to_vec(),
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
    // The verdict is kept on the engine as a label: masked and plain like every stored text.
    let summary = op
        .masker
        .current()
        .mask(crate::term::plain_text(&failed.join("; ")).into_owned());
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
