//! Finding the release an operation puts on an environment: from the history (green runs) or,
//! when the history does not know it, from the release images on the engine itself.

use super::{with_store, Why};
use crate::deploy::Refusal;
use crate::deploy::{ReleaseRef, Target};
use crate::docker::{labels, ReleaseImage};
use crate::engine::Engine;
use crate::store::RunNumber;

/// The release for `wanted` (a commit or its prefix, a branch, `HEAD~1`…), or the newest green
/// run's release when `wanted` is `None`; it must be on the target's engine.
pub(super) async fn resolve(
    engine: &Engine,
    target: &Target,
    wanted: Option<&str>,
) -> Result<(ReleaseRef, Option<RunNumber>), Why> {
    let app = target.app.clone();
    let (commit, known) = match wanted {
        Some(rev) => {
            let (commit, known) = commit_of(engine, rev).await.map_err(|e| (Refusal::Usage, e))?;
            (Some(commit), known)
        }
        None => (None, true),
    };
    let from_history = {
        let (app, commit) = (app.clone(), commit.clone());
        with_store(engine, move |store| match &commit {
            Some(c) => store.green_release_for(&app, c),
            None => store.newest_green_release(&app),
        })
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("history not readable: {e}");
            None
        })
    };
    if let Some((run, release)) = from_history {
        if target
            .docker
            .image_exists(&release.image_id)
            .await
            .map_err(|e| (Refusal::Engine, e.to_string()))?
        {
            return Ok((release, Some(run)));
        }
    }
    // The history may be gone or from another machine: the engine knows its release images.
    let images = release_images(target).await.map_err(|e| (Refusal::Engine, e))?;
    let found = match &commit {
        Some(c) => images
            .iter()
            .find(|i| i.labels.get(labels::COMMIT).is_some_and(|l| l.starts_with(c.as_str()))),
        None => images.first(),
    };
    match found {
        Some(image) => Ok((release_of(engine, image).await, None)),
        None => Err(match (wanted, commit) {
            (Some(rev), Some(_)) if !known => (
                Refusal::Usage,
                format!("`{rev}` is not a commit of this repository, and no release image on the engine at {} was built from a commit starting with it", target.docker.address),
            ),
            (Some(rev), Some(c)) => (Refusal::NoRelease, format!(
                "no release image of {rev} ({}) on the engine at {}: run its pipeline first (`shipdeck run --commit {rev}`)",
                &c[..c.len().min(7)],
                target.docker.address
            )),
            _ => (
                Refusal::NoRelease,
                "no green run with a release image yet: run the pipeline first (`shipdeck run`), or name a release with --release SHA".to_string(),
            ),
        }),
    }
}

/// The app's release images on the target's engine, newest first.
pub(super) async fn release_images(target: &Target) -> Result<Vec<ReleaseImage>, String> {
    target
        .docker
        .images_labelled(&[(labels::APP, &target.app), (labels::ROLE, "release")])
        .await
        .map_err(|e| e.to_string())
}

/// A release image as a [`ReleaseRef`], with the subject from git when the commit is known.
pub(super) async fn release_of(engine: &Engine, image: &ReleaseImage) -> ReleaseRef {
    let commit = image.labels.get(labels::COMMIT).cloned().unwrap_or_default();
    let info = commit_info(engine, &commit).await;
    let tag = image.tags.first().cloned();
    ReleaseRef {
        short_commit: info
            .as_ref()
            .map(|i| i.short.clone())
            .unwrap_or_else(|| commit.chars().take(7).collect()),
        subject: info.map(|i| i.subject).unwrap_or_default(),
        commit,
        image_id: image.id.clone(),
        image_tag: tag,
    }
}

async fn commit_info(engine: &Engine, rev: &str) -> Option<crate::source::CommitInfo> {
    let project = engine.project.clone();
    let rev = rev.to_string();
    tokio::task::spawn_blocking(move || project.resolve(&rev).ok())
        .await
        .ok()
        .flatten()
}

/// The full commit id `rev` names in the repository, and whether the repository knows it; a
/// hex prefix the repository does not know is kept as is (the release may come from another
/// clone).
async fn commit_of(engine: &Engine, rev: &str) -> Result<(String, bool), String> {
    match commit_info(engine, rev).await {
        Some(info) => Ok((info.id, true)),
        None if rev.len() >= 4 && rev.chars().all(|c| c.is_ascii_hexdigit()) => Ok((rev.to_lowercase(), false)),
        None => Err(format!("`{rev}` is not a commit of this repository (nor a commit id)")),
    }
}
