//! Deploy, smoke, promote and rollback: each resolves what it puts where, takes the
//! environment's lock, rolls the release out, runs the smoke checks and, with
//! `auto_rollback`, puts the previous release back when they fail.

use std::sync::Arc;

use super::release::resolve;
pub(super) use super::verify::{place, Placement};
use super::{environment, target, Op, OpStart, OperationError};
use crate::config::Config;
use crate::deploy::verdict;
use crate::deploy::{Deployed, OpAction, OpOutcome, Operator, Refusal, ReleaseRef, Target};
use crate::engine::recorder::EventSink;
use crate::engine::Engine;

/// What every operation starts from: the config, the environment's target, the operator.
pub(super) struct Context {
    pub(super) engine: Engine,
    pub(super) config: Arc<Config>,
    pub(super) target: Target,
    pub(super) operator: Operator,
    /// Where the environment's gates came from (see [`super::policy`]).
    pub(super) policy: Option<String>,
    /// Gates overridden before the operation's own checks (uncommitted gates with --force).
    pub(super) overrides: Vec<String>,
    /// Told to the operator once the operation starts.
    pub(super) notes: Vec<String>,
    /// The environment's smoke checks are uncommitted ones forced in (see [`super::policy::Gated`]).
    pub(super) checks_forced: bool,
}

/// Records and reports an operation refused before it began.
pub(super) async fn refuse(
    sink: &EventSink,
    (app, env): (&str, &str),
    action: OpAction,
    by: &Operator,
    from: Option<ReleaseRef>,
    why: OperationError,
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
            overridden: None,
            policy: None,
        },
    );
    op.refuse(why).await;
}

/// The operation's context; with `force`, uncommitted gate changes apply (see [`super::policy`]).
pub(super) async fn context(
    engine: &Engine,
    sink: &EventSink,
    env: &str,
    action: OpAction,
    force: bool,
) -> Option<Context> {
    let operator = Operator::current(&engine.project.repo_root);
    let env_config = match environment(engine.config.as_deref(), env) {
        Ok(e) => e.clone(),
        Err(why) => {
            refuse(sink, (&engine.app_name(), env), action, &operator, None, why).await;
            return None;
        }
    };
    // `environment` found it, so there is a config.
    let config = engine.config.clone()?;
    // Whatever this operation shows (a smoke answer, a release's logs) is masked, also when
    // it passes no secret itself (smoke).
    crate::engine::pipeline::mask_secrets_of(&config, sink);
    let gated = match super::policy::gates(engine, &env_config, force).await {
        Ok(gated) => gated,
        Err(why) => {
            refuse(sink, (&config.app.name, env), action, &operator, None, why).await;
            return None;
        }
    };
    match target(engine, &config.app.name, &gated.env).await {
        Ok(target) => Some(Context {
            engine: engine.clone(),
            config,
            target,
            operator,
            policy: Some(gated.policy),
            overrides: gated.overridden.into_iter().collect(),
            notes: gated.notes,
            checks_forced: gated.checks_forced,
        }),
        Err(why) => {
            refuse(sink, (&engine.app_name(), env), action, &operator, None, why).await;
            None
        }
    }
}

impl Context {
    pub(super) async fn refuse(
        &self,
        sink: &EventSink,
        action: OpAction,
        from: Option<ReleaseRef>,
        why: OperationError,
    ) {
        let env = &self.target.env.name;
        // What the policy noted (an uncommitted gate change not applied) explains the refusal.
        let why = why.with_notes(&self.notes);
        refuse(sink, (&self.config.app.name, env), action, &self.operator, from, why).await
    }

    /// Starts the operation and tells the operator what the gates' policy noted.
    pub(super) fn begin(&self, sink: &EventSink, start: OpStart<'_>) -> Op {
        let op = Op::start(sink, start);
        for note in &self.notes {
            op.log(note.clone());
        }
        op
    }

    /// What the audit says was overridden: the context's and the operation's own.
    pub(super) fn overridden(&self, own: Option<String>) -> Option<String> {
        let all: Vec<String> = self.overrides.iter().cloned().chain(own).collect();
        (!all.is_empty()).then(|| all.join("; "))
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
            overridden: self.overridden(None),
            policy: self.policy.clone(),
        }
    }
}

/// Every way into an environment that wants an approval needs one: `--force` never replaces it.
pub(super) fn approved(target: &Target, approval: Option<&str>) -> Result<(), OperationError> {
    if !target.env.approval || approval.is_some() {
        return Ok(());
    }
    let env = &target.env.name;
    Err(OperationError::refused(
        Refusal::Approval,
        format!("{env} needs an approval: in the console, type its name; headless, add --yes (--force does not replace an approval)"),
    ))
}

pub(super) async fn running(target: &Target) -> Result<Option<Deployed>, OperationError> {
    Ok(target.current().await?.filter(Deployed::running))
}

pub async fn deploy(
    engine: &Engine,
    sink: &EventSink,
    env: &str,
    wanted: Option<&str>,
    force: bool,
    approval: Option<String>,
) {
    let Some(cx) = context(engine, sink, env, OpAction::Deploy, force).await else {
        return;
    };
    let from = running(&cx.target).await.ok().flatten().map(|d| d.release);
    let gated = match &cx.target.env.promote_from {
        Some(source) if !force => Some(OperationError::refused(
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
    if let Err(why) = approved(&cx.target, approval.as_deref()) {
        return cx.refuse(sink, OpAction::Deploy, from, why).await;
    }
    let picked = match resolve(engine, &cx.target, wanted, &[]).await {
        Ok(found) => found,
        Err(why) => return cx.refuse(sink, OpAction::Deploy, from, why).await,
    };
    let release = picked.release.clone();
    let scan_skipped = match super::scan_gate::gate(engine, &cx.config, &release, env, "deploy", force).await {
        Ok(skipped) => skipped,
        Err(why) => return cx.refuse(sink, OpAction::Deploy, from, why).await,
    };
    let mut start = cx.start(OpAction::Deploy, from, &release);
    start.run = picked.run;
    start.approval = approval;
    let skipped = (force && cx.target.env.promote_from.is_some()).then(|| {
        format!(
            "promote_from: deployed directly, not promoted from {}",
            cx.target.env.promote_from.as_deref().unwrap_or("")
        )
    });
    let skipped = [skipped, scan_skipped]
        .into_iter()
        .flatten()
        .reduce(|a, b| format!("{a}; {b}"));
    start.forced = skipped.is_some();
    start.overridden = cx.overridden(skipped.clone());
    let op = cx.begin(sink, start);
    op.log(picked.said);
    if let Some(skipped) = skipped {
        op.log(format!("FORCED past {skipped}"));
    }
    place(sink, &cx, op, &release, Placement::SettledChecks).await;
}

pub async fn smoke(engine: &Engine, sink: &EventSink, env: &str, force: bool) {
    let Some(cx) = context(engine, sink, env, OpAction::Smoke, force).await else {
        return;
    };
    let current = match running(&cx.target).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            let why = format!("nothing runs on {env}: deploy a release first (`shipdeck deploy {env}`)");
            return cx
                .refuse(
                    sink,
                    OpAction::Smoke,
                    None,
                    OperationError::refused(Refusal::NoRelease, why),
                )
                .await;
        }
        Err(why) => return cx.refuse(sink, OpAction::Smoke, None, why).await,
    };
    let op = cx.begin(sink, cx.start(OpAction::Smoke, None, &current.release));
    // A release an interrupted operation left unverified: this check completes that
    // operation, under the lock, with auto_rollback when it fails.
    if !verdict::verified(&cx.target, &current).await.unwrap_or(false) {
        return super::verify::verify_unverified(sink, &cx, op, &current).await;
    }
    let (passed, summary) = super::verify::smoke_checks(&cx, &op, &cx.target, &current).await;
    let outcome = if passed {
        OpOutcome::Succeeded
    } else {
        OpOutcome::Failed
    };
    let message = format!("{env} ({}): {summary}", current.release.describe());
    op.finish(outcome, message, Vec::new()).await;
}
