//! Rollback: a release that ran on an environment and passed its smoke checks there, back in
//! place, verified with the smoke checks committed with that release. Gated like every way in:
//! an approval where one is wanted (`--force` never replaces it), and on an environment fed by
//! promotion only a release that passed there, unless `--force` (the audit says so).

use super::candidates::{previous_good, ran_there, RanThere};
use super::flows::{approved, context, place, running, Context, Placement};
use super::release::{name, release_images, resolve, Picked};
use super::OperationError;
use crate::deploy::{Deployed, OpAction, Refusal};
use crate::engine::recorder::EventSink;
use crate::engine::Engine;

pub async fn rollback(
    engine: &Engine,
    sink: &EventSink,
    env: &str,
    to: Option<&str>,
    force: bool,
    approval: Option<String>,
) {
    let Some(cx) = context(engine, sink, env, OpAction::Rollback, force).await else {
        return;
    };
    let current = running(&cx.target).await.ok().flatten();
    let from = current.as_ref().map(|d| d.release.clone());
    if let Err(why) = approved(&cx.target, approval.as_deref()) {
        return cx.refuse(sink, OpAction::Rollback, from, why).await;
    }
    let ran = match ran_there(engine, &cx.target).await {
        Ok(r) => r,
        Err(why) => return cx.refuse(sink, OpAction::Rollback, from, why).await,
    };
    let good: Vec<String> = ran
        .iter()
        .filter(|r| r.good())
        .map(|r| r.release.image_id.clone())
        .collect();
    let chosen = match to {
        Some(rev) => resolve(engine, &cx.target, Some(rev), &good).await,
        None => previous(engine, &cx, current.as_ref(), &ran).await,
    };
    let picked = match chosen {
        Ok(r) => r,
        Err(why) => return cx.refuse(sink, OpAction::Rollback, from, why).await,
    };
    let release = picked.release.clone();
    // `--to COMMIT` means the release of it that ran there: when that one is gone from the
    // engine, another build of the commit is not it.
    let gone = ran
        .iter()
        .find(|r| r.release.commit == release.commit && r.passed != Some(false) && !r.on_engine);
    if let (true, false, Some(gone), false) = (picked.by_commit, good.contains(&release.image_id), gone, force) {
        let why = format!(
            "the release of {} that ran on {env} ({}) is no longer on the engine; {} is another build of that commit, which never ran there: name it (`--to {}`) with --force to roll back to it anyway",
            release.short_commit,
            name(&gone.release, gone.run),
            name(&release, picked.run),
            release.image_id
        );
        return cx
            .refuse(
                sink,
                OpAction::Rollback,
                from,
                OperationError::refused(Refusal::NoRelease, why),
            )
            .await;
    }
    // An environment fed by promotion only goes back to what ran and passed there.
    let passed_there = good.contains(&release.image_id);
    let skipped = if cx.target.env.promote_from.is_some() && !passed_there {
        let how = match ran.iter().find(|r| r.release.image_id == release.image_id) {
            Some(r) if r.passed == Some(false) => " with its smoke checks passing (its latest ones there failed)",
            _ => "",
        };
        if !force {
            let why = format!(
                "{} never ran on {env}{how}, which takes releases by promotion (`shipdeck history {env}`); `--force` rolls back to it anyway (the audit records it)",
                release.describe()
            );
            return cx
                .refuse(
                    sink,
                    OpAction::Rollback,
                    from,
                    OperationError::refused(Refusal::Gated, why),
                )
                .await;
        }
        Some(format!(
            "promote_from: rolled back to {}, which never ran on {env}{how}",
            release.describe()
        ))
    } else {
        None
    };
    // A release forced past the scan gate once is not a way around it later.
    let scan_skipped = match super::scan_gate::gate(engine, &cx.config, &release, env, "roll back", force).await {
        Ok(skipped) => skipped,
        Err(why) => return cx.refuse(sink, OpAction::Rollback, from, why).await,
    };
    let skipped = [skipped, scan_skipped]
        .into_iter()
        .flatten()
        .reduce(|a, b| format!("{a}; {b}"));
    let mut start = cx.start(OpAction::Rollback, from, &release);
    start.run = picked.run;
    start.approval = approval;
    start.forced = skipped.is_some();
    start.overridden = cx.overridden(skipped.clone());
    let op = cx.begin(sink, start);
    op.log(picked.said);
    if let Some(skipped) = skipped {
        op.log(format!("FORCED past {skipped}"));
    }
    place(sink, &cx, op, &release, Placement::OwnChecks).await;
}

/// The release to roll back to: the newest that ran there and whose latest smoke verdict
/// there passed, other than the current one, image still on the engine; without any such
/// record (and only where releases are not gated by promotion), the newest release image
/// built before the current one.
async fn previous(
    engine: &Engine,
    cx: &Context,
    current: Option<&Deployed>,
    ran: &[RanThere],
) -> Result<Picked, OperationError> {
    let now = current.map(|d| d.release.image_id.clone()).unwrap_or_default();
    let env = cx.target.env.name.clone();
    if let Some(found) = previous_good(ran, &now) {
        let said = format!(
            "picked {}: the newest release that ran on {env} and passed its smoke checks there",
            name(&found.release, found.run)
        );
        return Ok(Picked {
            release: found.release.clone(),
            run: found.run,
            said,
            by_commit: false,
        });
    }
    let none = || {
        OperationError::refused(
            Refusal::NoRelease,
            format!("no earlier good release to roll back {env} to: none that ran there passed its smoke checks there (name one with --to SHA, #RUN or an image ID; `shipdeck history {env}` lists them)"),
        )
    };
    if !ran.is_empty() || cx.target.env.promote_from.is_some() {
        return Err(none());
    }
    let images = release_images(engine, &cx.target).await?;
    let built_now = images.iter().find(|i| i.id == now).map(|i| i.created);
    let older = images
        .iter()
        .find(|i| i.id != now && built_now.is_none_or(|t| i.created < t));
    match older {
        Some(image) => {
            let (release, run) = super::release::candidate_of(engine, image).await;
            let said = format!(
                "picked {}: nothing is known to have run on {env} before, so the newest release image built before the current one",
                name(&release, run)
            );
            Ok(Picked {
                release,
                run,
                said,
                by_commit: false,
            })
        }
        None => Err(none()),
    }
}
