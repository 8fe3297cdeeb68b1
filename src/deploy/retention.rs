//! Keeping release images: the last N per app stay on the engine so that a rollback never
//! needs a rebuild; an image that any environment's container uses is never removed.

use std::collections::HashSet;

use crate::docker::{labels, Docker, DockerError};

/// Removes the app's release images beyond the newest `keep`, except those a release
/// container (of any environment on this engine, running or stopped) uses. Returns the tags
/// (or IDs) removed.
pub async fn prune_releases(docker: &Docker, app: &str, keep: usize) -> Result<Vec<String>, DockerError> {
    let images = docker
        .images_labelled(&[(labels::APP, app), (labels::ROLE, "release")])
        .await?;
    let in_use: HashSet<String> = docker
        .containers_labelled(&[(labels::APP, app), (labels::ROLE, "deployment")])
        .await?
        .into_iter()
        .filter_map(|c| c.labels.get(labels::IMAGE_ID).cloned())
        .collect();
    let mut removed = Vec::new();
    for image in images.iter().skip(keep) {
        if in_use.contains(&image.id) {
            continue;
        }
        if docker.remove_image_with_tags(&image.id).await? {
            removed.push(image.tags.first().cloned().unwrap_or_else(|| image.id.clone()));
            // Its smoke verdicts go with it.
            let verdicts = docker
                .volumes_labelled(&[
                    (labels::APP, app),
                    (labels::ROLE, "smoke-verdict"),
                    (labels::IMAGE_ID, &image.id),
                ])
                .await?;
            for volume in verdicts {
                docker.remove_volume(&volume).await?;
            }
            super::provenance::forget(docker, app, &image.id).await?;
        }
    }
    Ok(removed)
}
