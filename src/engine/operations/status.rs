//! Reading environments back from their engines: what runs, who holds the lock, which
//! releases a rollback could choose; and breaking a lock.

use super::candidates::ran_there;
use super::release::{candidate_of, release_images};
use super::{target, target_named, OperationError};
use crate::deploy::{accessories, lock, processes, Target};
use crate::engine::event::{Event, NoticeLevel, ReleaseChoice};
use crate::engine::Engine;

/// What runs on the target and who holds its lock, as an event.
pub(super) async fn environment_status(target: &Target) -> Event {
    let env = target.env.name.clone();
    match target.current().await {
        Ok(deployed) => {
            // The verdict kept on the engine for the container that runs now: a release put
            // there by an operation that died before its checks has none (unverified).
            let smoke = match &deployed {
                Some(d) => crate::deploy::verdict::read(target, &d.release.image_id)
                    .await
                    .ok()
                    .flatten()
                    .filter(|v| v.container == d.container_id)
                    .map(|v| v.passed),
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

/// What runs beside the release on an environment that has accessories, processes or a proxy:
/// an [`Event::EnvironmentParts`]; `None` for one that has none of them.
pub(super) async fn environment_parts(target: &Target) -> Option<Event> {
    let proxied = crate::deploy::proxy::wanted(target);
    if target.env.accessories.is_empty() && target.env.processes.is_empty() && !proxied {
        return None;
    }
    let web = target.current().await.ok().flatten().map(|d| d.container);
    let accessories = accessories::states(target).await.unwrap_or_else(|e| {
        tracing::warn!("the accessories of {} cannot be read: {e}", target.env.name);
        Vec::new()
    });
    let processes = processes::states(target, web.as_deref()).await.unwrap_or_else(|e| {
        tracing::warn!("the processes of {} cannot be read: {e}", target.env.name);
        Vec::new()
    });
    let proxy = match proxied {
        true => crate::deploy::proxy::state(target).await.map(Some).unwrap_or_else(|e| {
            tracing::warn!("the proxy of {} cannot be read: {e}", target.env.name);
            None
        }),
        false => None,
    };
    Some(Event::EnvironmentParts {
        env: target.env.name.clone(),
        accessories,
        processes,
        proxy,
    })
}

/// An [`Event::EnvironmentStatus`] for every environment of release.toml, in its order, each
/// followed by its [`Event::EnvironmentParts`] when it has accessories or processes (none
/// while release.toml is invalid).
pub async fn load_environments(engine: &Engine) -> Vec<Event> {
    let Some(config) = engine.config.clone() else {
        return Vec::new();
    };
    let app = config.app.name.clone();
    let reads = config.environments.iter().map(|env| {
        let app = app.clone();
        async move {
            match target(engine, &app, env).await {
                Ok(t) => {
                    let status = environment_status(&t).await;
                    std::iter::once(status).chain(environment_parts(&t).await).collect()
                }
                Err(why) => vec![Event::EnvironmentStatus {
                    env: env.name.clone(),
                    deployed: None,
                    lock: None,
                    error: Some(why.to_string()),
                    smoke: None,
                }],
            }
        }
    });
    futures_util::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The releases `env` can be rolled back to: those that ran there, the ones whose latest smoke
/// verdict there passed first (newest first), then the others (marked failed or unknown);
/// without any, the app's release images on its engine. Only images still on the engine.
/// A [`Event::ReleasesListed`], or an error notice.
pub async fn list_releases(engine: &Engine, env: &str) -> Event {
    let failed = |why: OperationError| Event::Notice {
        level: NoticeLevel::Error,
        message: why.to_string(),
    };
    let target = match target_named(engine, env).await {
        Ok(t) => t,
        Err(why) => return failed(why),
    };
    let current = target.current().await.ok().flatten().map(|d| d.release.image_id);
    let ran = ran_there(engine, &target).await.unwrap_or_else(|e| {
        tracing::warn!("the releases that ran on {env} cannot be read: {e}");
        Vec::new()
    });
    let choice = |r: &super::candidates::RanThere| ReleaseChoice {
        current: current.as_deref() == Some(r.release.image_id.as_str()),
        deployed_at: Some(r.at),
        by: r.by.clone(),
        smoke: r.passed,
        run: r.run,
        release: r.release.clone(),
        schema_behind: false,
    };
    let (good, other): (Vec<_>, Vec<_>) = ran.iter().filter(|r| r.on_engine).partition(|r| r.good());
    let mut releases: Vec<ReleaseChoice> = good.into_iter().chain(other).take(20).map(choice).collect();
    if releases.is_empty() {
        let images = release_images(engine, &target).await.unwrap_or_default();
        for image in images.iter().take(20) {
            let (release, run) = candidate_of(engine, image).await;
            releases.push(ReleaseChoice {
                current: current.as_deref() == Some(release.image_id.as_str()),
                deployed_at: None,
                by: None,
                smoke: None,
                run,
                release,
                schema_behind: false,
            });
        }
    }
    // Releases built before the newest one whose release_command ran there: marked.
    if let Ok(behind) = crate::deploy::release_command::behind_mark(&target).await {
        for choice in &mut releases {
            choice.schema_behind = behind.contains(&choice.release.image_id);
        }
    }
    // The approval the rollback will want: HEAD's gates (an uncommitted edit does not drop it).
    let (gated, _) = super::policy::shown_gates(engine, &target.env).await;
    Event::ReleasesListed {
        env: env.to_string(),
        releases,
        approval: gated.approval,
    }
}

/// Breaks `env`'s lock and says whose it was: a notice of what it did (level `Error` when it
/// did not break it), then the environment's status.
pub async fn unlock(engine: &Engine, env: &str, force: bool) -> [Event; 2] {
    let failed = |why: OperationError| {
        let message = why.to_string();
        [
            Event::Notice {
                level: NoticeLevel::Error,
                message: message.clone(),
            },
            Event::EnvironmentStatus {
                env: env.to_string(),
                deployed: None,
                lock: None,
                error: Some(message),
                smoke: None,
            },
        ]
    };
    let target = match target_named(engine, env).await {
        Ok(t) => t,
        Err(why) => return failed(why),
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
    let (level, message) = message;
    [Event::Notice { level, message }, environment_status(&target).await]
}
