//! Rollback: a previous good release back on an environment.

use super::flows::{context, place, running, Context};
use super::release::{release_images, resolve};
use super::{with_store, Op, Why};
use crate::deploy::{Deployed, OpAction, Refusal, ReleaseRef};
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
    let mut start = cx.start(OpAction::Rollback, from, &release);
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
