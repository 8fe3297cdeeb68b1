//! Putting a release in place and verifying it: take the environment's lock (its label names
//! the operation, so a crash leaves a lock that says what was interrupted), roll the release
//! out, run the smoke checks and keep their verdict on the engine, and with `auto_rollback`
//! put the previous good release back when they fail. A release that already runs but was
//! never verified there (its operation died) is verified now instead of called "unchanged".

use super::candidates::{previous_good, ran_there};
use super::flows::{running, Context};
use super::{Op, OpStart, OperationError};
use crate::deploy::checks::run_checks_via;
use crate::deploy::rollout::{Rollout, RolloutOutcome};
use crate::deploy::smoke::Via;
use crate::deploy::{journal, lock, verdict};
use crate::deploy::{Deployed, OpAction, OpOutcome, Refusal, ReleaseRef, Target};
use crate::engine::event::Event;
use crate::engine::recorder::EventSink;
use futures_util::future::BoxFuture;

/// Which smoke checks verify the release placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) enum Placement {
    /// The environment's, as settled by [`super::policy`]: committed at HEAD (a deploy or
    /// promotion of a new release).
    SettledChecks,
    /// Those committed with the release (a rollback to an older one).
    OwnChecks,
}

/// Takes the lock, rolls the release out, smoke-checks it, rolls back automatically when
/// configured; finishes `op` and reports the environment's new state.
pub(super) async fn place(sink: &EventSink, cx: &Context, op: Op, release: &ReleaseRef, checks: Placement) {
    let locked = match Locked::take(sink, cx, &op, release).await {
        Ok(locked) => locked,
        Err(why) => return op.refuse(why).await,
    };
    let target = match checks {
        Placement::SettledChecks => cx.target.clone(),
        Placement::OwnChecks => own_checks(cx, &op, release).await,
    };
    let (outcome, message, logs) = place_locked(cx, &target, &op, release, &locked.secrets).await;
    locked.give_back(cx, &op, outcome, &message).await;
    op.finish(outcome, message, logs).await;
    sink.emit(super::status::environment_status(&cx.target).await).await;
}

/// Verifies `current`, which runs on the environment unverified (an interrupted operation),
/// under the lock: its smoke checks, and with `auto_rollback` the previous good release back
/// when they fail. Finishes `op`.
pub(super) async fn verify_unverified(sink: &EventSink, cx: &Context, op: Op, current: &Deployed) {
    let locked = match Locked::take(sink, cx, &op, &current.release).await {
        Ok(locked) => locked,
        Err(why) => return op.refuse(why).await,
    };
    let (outcome, message) = verify(cx, &cx.target, &op, current, None, &locked.secrets, true).await;
    locked.give_back(cx, &op, outcome, &message).await;
    op.finish(outcome, message, Vec::new()).await;
    sink.emit(super::status::environment_status(&cx.target).await).await;
}

/// What an operation holds while it changes an environment: its lock, its record on the
/// engine, and the secrets it passes on.
struct Locked {
    held: lock::EnvLock,
    kept: journal::Kept,
    secrets: Vec<String>,
}

impl Locked {
    /// The lock, then the record (the lock is given back when the record cannot be kept).
    async fn take(sink: &EventSink, cx: &Context, op: &Op, release: &ReleaseRef) -> Result<Locked, OperationError> {
        // Secrets first: one whose host variable is unset refuses before anything is held.
        let secrets = secrets(cx, sink).await?;
        let held = lock(cx, op, release).await?;
        let kept = match keep(cx, op).await {
            Ok(kept) => kept,
            Err(why) => {
                held.release().await;
                return Err(why);
            }
        };
        Ok(Locked { held, kept, secrets })
    }

    /// Records how the operation ended on the engine, then gives the lock back.
    async fn give_back(self, cx: &Context, op: &Op, outcome: OpOutcome, message: &str) {
        finish_kept(cx, op, self.kept, outcome, message).await;
        self.held.release().await;
    }
}

/// The lock, labelled with the operation: `promote a1b2c3d (0123456789ab)`.
async fn lock(cx: &Context, op: &Op, release: &ReleaseRef) -> Result<lock::EnvLock, OperationError> {
    let doing = format!("{} {}", op.action.as_str(), release.describe());
    match lock::acquire(&cx.target, &cx.operator, &doing).await {
        Ok(l) => Ok(l),
        Err(e @ lock::LockError::Held(_)) => Err(OperationError::refused(Refusal::Locked, e.to_string())),
        Err(e) => Err(OperationError::refused(Refusal::Engine, e.to_string())),
    }
}

/// Keeps the operation's record on the environment's engine before anything changes there:
/// an operation whose record cannot be kept does not start (the local history can be deleted
/// under a running shipdeck; the engine's copy survives that).
async fn keep(cx: &Context, op: &Op) -> Result<journal::Kept, OperationError> {
    journal::begin(&cx.target, op.record.clone()).await.map_err(|e| {
        OperationError::refused(
            Refusal::Engine,
            format!(
                "the record of this operation cannot be kept on the engine of {} ({e}); nothing was changed",
                cx.target.env.name
            ),
        )
    })
}

/// Rewrites the engine's record with how the operation ended (said in its log when it fails).
async fn finish_kept(cx: &Context, op: &Op, kept: journal::Kept, outcome: OpOutcome, message: &str) {
    if let Err(e) = kept.finish(&cx.target, outcome, message).await {
        op.log(format!("could not keep how this operation ended on the engine: {e}"));
    }
}

/// Read once: the top-level secrets and the environment's own, each one needed (see
/// `deploy::secrets`); masked from here on, with a warning for values too short to mask.
async fn secrets(cx: &Context, sink: &EventSink) -> Result<Vec<String>, OperationError> {
    let values = crate::deploy::secrets::for_environment(&cx.config, &cx.target.env, |v| std::env::var(v).ok())
        .map_err(|why| OperationError::refused(Refusal::Usage, why))?;
    crate::engine::pipeline::warn_short_secrets(&values, sink).await;
    sink.add_secrets(values.iter().map(|(_, v)| v.clone()));
    Ok(values
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect())
}

/// The target with the smoke checks committed with `release`.
async fn own_checks(cx: &Context, op: &Op, release: &ReleaseRef) -> Target {
    let settled_from = cx.policy.as_deref().unwrap_or("release.toml");
    let (checks, source) = super::policy::checks_of_release(&cx.engine, release, &cx.target.env, settled_from).await;
    op.log(format!("{} is verified with {source}", release.describe()));
    let mut target = cx.target.clone();
    target.env.smoke = checks;
    target
}

async fn place_locked(
    cx: &Context,
    target: &Target,
    op: &Op,
    release: &ReleaseRef,
    secrets: &[String],
) -> (OpOutcome, String, Vec<String>) {
    let env = cx.target.env.name.clone();
    let steps = op.stepper();
    let rollout = Rollout {
        target,
        release,
        operator: &cx.operator,
        action: op.action,
        secrets: secrets.to_vec(),
        steps: Some(&steps),
    };
    let mut log = op.logger();
    let masker = crate::mask::SecretMasker::clone(&op.masker.current());
    let prepared = crate::deploy::prepare::before_rollout(target, release, op.action, secrets, masker, &mut log).await;
    if let Err(why) = prepared {
        return (OpOutcome::Failed, why, Vec::new());
    }
    let loaded = std::sync::atomic::AtomicBool::new(false);
    let mut gate = pre_switch_gate(cx, op, target, Some(&loaded));
    let previous = match rollout.run(&mut log, Some(&mut gate)).await {
        Err(e) => return (OpOutcome::Failed, e.to_string(), Vec::new()),
        Ok(RolloutOutcome::Rejected { summary }) => {
            let still = match running(target).await {
                Ok(Some(d)) => format!("{env} still runs {}, which kept serving", d.release.describe()),
                _ => format!("nothing ran on {env} before it, and nothing runs now"),
            };
            let why = format!(
                "{} FAILED its smoke checks before the switch ({summary}): it never served a request; {still}",
                release.describe()
            );
            return (OpOutcome::Failed, why, Vec::new());
        }
        Ok(RolloutOutcome::Unchanged) => {
            let current = match running(target).await {
                Ok(Some(d)) => d,
                Ok(None) => return (OpOutcome::Failed, format!("{env} stopped a moment ago"), Vec::new()),
                Err(why) => return (OpOutcome::Failed, why.to_string(), Vec::new()),
            };
            return match verdict::verified(target, &current).await {
                Ok(true) => {
                    let why = format!("{env} already runs {}, verified: nothing to do", release.describe());
                    (OpOutcome::Unchanged, why, Vec::new())
                }
                // Put there by an operation that died before its smoke checks: verify it now.
                _ => {
                    op.log(format!(
                        "{env} already runs {} but it was never verified there (an interrupted operation?): running its smoke checks now",
                        release.describe()
                    ));
                    let (outcome, message) = verify(cx, target, op, &current, None, secrets, true).await;
                    (outcome, message, Vec::new())
                }
            };
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
    let deployed = match running(target).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return (
                OpOutcome::Failed,
                format!("{env} stopped right after the deploy"),
                Vec::new(),
            )
        }
        Err(why) => return (OpOutcome::Failed, why.to_string(), Vec::new()),
    };
    let previous = previous.map(|p| p.release);
    // The load tests ran before the switch when the proxy allowed it; else (strategy
    // `recreate`, no proxy) they run now, after the deploy.
    drop(gate);
    let load = !loaded.load(std::sync::atomic::Ordering::SeqCst);
    let (outcome, message) = verify(cx, target, op, &deployed, previous, secrets, load).await;
    (outcome, message, Vec::new())
}

/// Smoke-checks `deployed` (just placed, or found unverified) and, when the checks fail and
/// `auto_rollback` is on, puts back `previous` or else the newest good release that ran there.
async fn verify(
    cx: &Context,
    target: &Target,
    op: &Op,
    deployed: &Deployed,
    previous: Option<ReleaseRef>,
    secrets: &[String],
    load: bool,
) -> (OpOutcome, String) {
    let env = cx.target.env.name.clone();
    let release = &deployed.release;
    let load = if load { Load::Run } else { Load::RanBeforeTheSwitch };
    let (passed, summary) = smoke_checks_via(cx, op, target, deployed, &Via::Published, load).await;
    if passed {
        return (
            OpOutcome::Succeeded,
            format!("{env} runs {}; {summary}", release.describe()),
        );
    }
    // Only a release whose latest verdict there passed goes back: the one just replaced when
    // it is such a release (it may itself have been put there unverified by a crash), else
    // the newest that is.
    let previous = match cx.target.env.auto_rollback {
        true => match ran_there(&cx.engine, &cx.target).await {
            Ok(ran) => {
                let replaced = previous.filter(|p| {
                    p.image_id != release.image_id && ran.iter().any(|r| r.good() && r.release.image_id == p.image_id)
                });
                replaced.or_else(|| previous_good(&ran, &release.image_id).map(|r| r.release.clone()))
            }
            Err(e) => {
                op.log(format!("the releases that ran on {env} cannot be read: {e}"));
                None
            }
        },
        false => None,
    };
    let Some(previous) = previous else {
        let hint = if cx.target.env.auto_rollback {
            "there is no earlier release that passed its smoke checks there to restore".to_string()
        } else {
            format!("auto_rollback is off: roll back with `shipdeck rollback {env}` if needed")
        };
        return (
            OpOutcome::Failed,
            format!(
                "{env} runs {} but its smoke checks FAILED ({summary}); {hint}",
                release.describe()
            ),
        );
    };
    op.log(format!(
        "SMOKE CHECKS FAILED on {env}: rolling back automatically to {}",
        previous.describe()
    ));
    let message = match auto_rollback(op, cx, release, &previous, secrets).await {
        Ok(()) => format!(
            "SMOKE CHECKS FAILED on {env} ({summary}): ROLLED BACK automatically to {}, which answers again",
            previous.describe()
        ),
        Err(why) => format!(
            "SMOKE CHECKS FAILED on {env} ({summary}) and the automatic rollback to {} failed too: {why}",
            previous.describe()
        ),
    };
    (OpOutcome::RolledBack, message)
}

/// Puts `previous` back after `failed` failed its smoke checks: an operation of its own in the
/// audit, under the lock the failed one holds, verified with the checks committed with it.
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
        overridden: None,
        policy: cx.policy.clone(),
    });
    let kept = keep(cx, &op).await;
    let target = own_checks(cx, &op, previous).await;
    let steps = op.stepper();
    let rollout = Rollout {
        target: &target,
        release: previous,
        operator: &cx.operator,
        action: OpAction::AutoRollback,
        secrets: secrets.to_vec(),
        steps: Some(&steps),
    };
    let mut log = op.logger();
    let mut gate = pre_switch_gate(cx, &op, &target, None);
    let result = match rollout.run(&mut log, Some(&mut gate)).await {
        Ok(RolloutOutcome::Rejected { summary }) => Err(format!("its smoke checks fail before the switch ({summary})")),
        Ok(RolloutOutcome::Deployed { .. }) | Ok(RolloutOutcome::Unchanged) => match running(&target).await {
            Ok(Some(d)) => {
                let (passed, summary) = smoke_checks_via(cx, &op, &target, &d, &Via::Published, Load::Skip).await;
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
    drop(gate);
    let (outcome, message) = match &result {
        Ok(summary) => (
            OpOutcome::Succeeded,
            format!("{} restored; {summary}", previous.describe()),
        ),
        Err(why) => (OpOutcome::Failed, why.clone()),
    };
    match kept {
        Ok(kept) => finish_kept(cx, &op, kept, outcome, &message).await,
        Err(why) => op.log(why.to_string()),
    }
    op.finish(outcome, message, Vec::new()).await;
    result.map(|_| ())
}

/// Whether a verification runs the environment's load tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Run,
    /// They ran (and passed) against this release before the switch.
    RanBeforeTheSwitch,
    /// An automatic rollback to a release that passed before: putting it back is not delayed
    /// by a load test (said in its log).
    Skip,
}

/// The smoke checks (then the load tests) a new release passes before the proxy sends it
/// traffic: the target's, carried `via` a tunnel to the new release, reported and kept like
/// any (a failure there is a failed verdict of that release). `loaded` (when given) is set
/// once the load tests ran there; without it they are skipped (an automatic rollback).
fn pre_switch_gate<'a>(
    cx: &'a Context,
    op: &'a Op,
    target: &'a Target,
    loaded: Option<&'a std::sync::atomic::AtomicBool>,
) -> impl FnMut(Deployed, Via) -> BoxFuture<'a, (bool, String)> + Send + 'a {
    move |deployed, via| {
        // The switch has said that these run before any request reaches the release.
        Box::pin(async move {
            let load = match loaded {
                Some(flag) => {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    Load::Run
                }
                None => Load::Skip,
            };
            smoke_checks_via(cx, op, target, &deployed, &via, load).await
        })
    }
}

/// Runs the target's smoke checks, then its load tests, against `deployed`, reporting each
/// result and keeping the verdict on the engine (also "no checks configured": the release is
/// verified all the same); returns whether all passed and a summary.
pub(super) async fn smoke_checks(cx: &Context, op: &Op, target: &Target, deployed: &Deployed) -> (bool, String) {
    smoke_checks_via(cx, op, target, deployed, &Via::Published, Load::Run).await
}

/// [`smoke_checks`], with HTTP checks carried `via` a tunnel.
async fn smoke_checks_via(
    cx: &Context,
    op: &Op,
    target: &Target,
    deployed: &Deployed,
    via: &Via,
    load: Load,
) -> (bool, String) {
    // Checks forced in from the working copy verify nothing: their verdict is kept as not
    // passed, saying why, so the promotion gate and rollback candidates never trust it.
    let forced = cx.checks_forced && target.env.smoke == cx.target.env.smoke;
    let keep = |passed: bool, summary: String| async move {
        let (passed, summary) = match (forced, passed) {
            (true, true) => (
                false,
                "passed only with uncommitted smoke checks applied by --force: not a verification".to_string(),
            ),
            _ => (passed, summary),
        };
        if forced {
            op.log("these smoke checks are uncommitted (applied by --force): whatever they find, the release is not verified by them");
        }
        let kept = verdict::record(
            target,
            &deployed.release.image_id,
            &deployed.container_id,
            passed,
            &summary,
        )
        .await;
        if let Err(e) = kept {
            op.log(format!("could not keep the smoke verdict on the engine: {e}"));
        }
    };
    let (smoke_passed, smoke_summary, failed) = run_smoke(op, target, deployed, via).await;
    let tests = &target.env.load;
    let (passed, summary, failed) = match load {
        _ if !smoke_passed || tests.is_empty() => (smoke_passed, smoke_summary, failed),
        Load::RanBeforeTheSwitch => (
            true,
            format!("{smoke_summary}; load tests passed before the switch"),
            failed,
        ),
        Load::Skip => {
            op.log(format!(
                "load tests skipped: {} is put back without waiting for them",
                deployed.release.describe()
            ));
            (true, smoke_summary, failed)
        }
        Load::Run => match super::load::run(cx, op, target, deployed, via).await {
            Ok(load_summary) => (true, format!("{smoke_summary}; {load_summary}"), failed),
            Err(load_failures) => (
                false,
                format!("load tests FAILED: {}", load_failures.join("; ")),
                load_failures,
            ),
        },
    };
    // The verdict is kept on the engine as a label: masked and plain like every stored text.
    let kept_summary = match (failed.is_empty(), target.env.smoke.is_empty()) {
        (true, true) => "no smoke checks configured".to_string(),
        _ => op
            .masker
            .current()
            .mask(crate::term::plain_text(&failed.join("; ")).into_owned()),
    };
    keep(passed, kept_summary).await;
    (passed, summary)
}

/// The smoke checks alone: whether all passed, a summary, and the failures in words.
async fn run_smoke(op: &Op, target: &Target, deployed: &Deployed, via: &Via) -> (bool, String, Vec<String>) {
    if target.env.smoke.is_empty() {
        op.log("no smoke checks configured");
        return (true, "no smoke checks configured".into(), Vec::new());
    }
    op.log(format!(
        "running {}",
        crate::text::count(target.env.smoke.len(), "smoke check")
    ));
    let mut log = op.logger();
    let results = run_checks_via(target, deployed, via, &mut log).await;
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
    if failed.is_empty() {
        let summary = format!("smoke passed ({})", crate::text::count(results.len(), "check"));
        (true, summary, failed)
    } else {
        let summary = format!("{} of {} failed: {}", failed.len(), results.len(), failed.join("; "));
        (false, summary, failed)
    }
}
