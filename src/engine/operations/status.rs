//! Reading environments back from their engines: what runs, who holds the lock, which
//! releases a rollback could choose; and breaking a lock.

use super::release::{release_images, release_of};
use super::{environment, target, with_store};
use crate::deploy::{lock, Target};
use crate::engine::event::{Event, NoticeLevel, ReleaseChoice};
use crate::engine::recorder::EventSink;
use crate::engine::Engine;

/// What runs on the target and who holds its lock, as an event.
pub(super) async fn environment_status(engine: &Engine, target: &Target) -> Event {
    let env = target.env.name.clone();
    match target.current().await {
        Ok(deployed) => {
            let smoke = match &deployed {
                Some(d) => {
                    let (app, env, image) = (target.app.clone(), env.clone(), d.release.image_id.clone());
                    let local = with_store(engine, move |s| s.smoke_verdict(&app, &env, &image))
                        .await
                        .ok()
                        .flatten()
                        .map(|v| v.passed);
                    match local {
                        Some(passed) => Some(passed),
                        None => crate::deploy::verdict::read(target, &d.release.image_id)
                            .await
                            .ok()
                            .flatten()
                            .map(|v| v.passed),
                    }
                }
                None => None,
            };
            Event::EnvironmentStatus {
                env,
                deployed,
                lock: lock::holder(target).await.ok().flatten(),
                error: None,
                smoke,
            }
        }
        Err(e) => Event::EnvironmentStatus {
            env,
            deployed: None,
            lock: None,
            error: Some(e.to_string()),
            smoke: None,
        },
    }
}

/// An [`Event::EnvironmentStatus`] for every environment of release.toml, in its order.
pub async fn load_environments(engine: &Engine, sink: &EventSink) {
    let Some(config) = engine.config.clone() else { return };
    let app = config.app.name.clone();
    let reads = config.environments.iter().map(|env| {
        let app = app.clone();
        async move {
            match target(engine, &app, env).await {
                Ok(t) => environment_status(engine, &t).await,
                Err(why) => Event::EnvironmentStatus {
                    env: env.name.clone(),
                    deployed: None,
                    lock: None,
                    error: Some(why),
                    smoke: None,
                },
            }
        }
    });
    for event in futures_util::future::join_all(reads).await {
        sink.emit(event).await;
    }
}

/// The releases `env` can be rolled back to: those deployed there before (from the history),
/// else the app's release images on its engine; only images still on the engine.
pub async fn list_releases(engine: &Engine, sink: &EventSink, env: &str) {
    let env_config = match environment(engine.config.as_deref(), env) {
        Ok(e) => e.clone(),
        Err(why) => return sink.notice(NoticeLevel::Error, why).await,
    };
    let app = engine.config.as_ref().map(|c| c.app.name.clone()).unwrap_or_default();
    let target = match target(engine, &app, &env_config).await {
        Ok(t) => t,
        Err(why) => return sink.notice(NoticeLevel::Error, why).await,
    };
    let current = target.current().await.ok().flatten().map(|d| d.release.image_id);
    let images = release_images(&target).await.unwrap_or_default();
    let history = {
        let (app, env) = (app.clone(), env.to_string());
        with_store(engine, move |s| s.deployed_releases(&app, &env, 20))
            .await
            .unwrap_or_default()
    };
    let mut releases: Vec<ReleaseChoice> = history
        .into_iter()
        .filter_map(|(record, verdict)| {
            let release = record.to?;
            images.iter().any(|i| i.id == release.image_id).then(|| ReleaseChoice {
                current: current.as_deref() == Some(release.image_id.as_str()),
                deployed_at: Some(record.started_at),
                by: Some(record.operator.display()),
                smoke: verdict.map(|v| v.passed),
                release,
            })
        })
        .collect();
    if releases.is_empty() {
        for image in images.iter().take(20) {
            let release = release_of(engine, image).await;
            releases.push(ReleaseChoice {
                current: current.as_deref() == Some(release.image_id.as_str()),
                deployed_at: None,
                by: None,
                smoke: None,
                release,
            });
        }
    }
    sink.emit(Event::ReleasesListed {
        env: env.to_string(),
        releases,
    })
    .await;
}

/// Breaks `env`'s lock and says whose it was.
/// Says what it did with a notice, then the environment's status (always both: the
/// headless `unlock` waits for the two).
pub async fn unlock(engine: &Engine, sink: &EventSink, env: &str, force: bool) {
    let failed = |why: String| async move {
        sink.notice(NoticeLevel::Error, why.clone()).await;
        sink.emit(Event::EnvironmentStatus {
            env: env.to_string(),
            deployed: None,
            lock: None,
            error: Some(why),
            smoke: None,
        })
        .await;
    };
    let env_config = match environment(engine.config.as_deref(), env) {
        Ok(e) => e.clone(),
        Err(why) => return failed(why).await,
    };
    let app = engine.config.as_ref().map(|c| c.app.name.clone()).unwrap_or_default();
    let target = match target(engine, &app, &env_config).await {
        Ok(t) => t,
        Err(why) => return failed(why).await,
    };
    let held = lock::holder(&target).await;
    let message = match held {
        Ok(Some(held)) if !held.stale && !force => (
            NoticeLevel::Error,
            format!(
                "not breaking the lock: {}\n  its holder may still be at work (a live process, or one on another host); `shipdeck unlock {env} --force` breaks it anyway",
                held.describe().lines().next().unwrap_or_default()
            ),
        ),
        Err(e) => (NoticeLevel::Error, format!("cannot read the lock of {env}: {e}")),
        Ok(_) => match lock::break_lock(&target).await {
            Ok(Some(held)) => (
                NoticeLevel::Warning,
                format!("broke the lock of {env}, held by {} since {} ({})", held.holder, held.since.map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "?".into()), held.doing),
            ),
            Ok(None) => (NoticeLevel::Info, format!("{env} was not locked")),
            Err(e) => (NoticeLevel::Error, format!("cannot break the lock of {env}: {e}")),
        },
    };
    sink.notice(message.0, message.1).await;
    sink.emit(environment_status(engine, &target).await).await;
}
