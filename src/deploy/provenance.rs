//! Which images are releases. A release image carries shipdeck's labels (app, role, commit,
//! run), but labels prove nothing: an image built `FROM` a release inherits them, and anyone
//! can write a Dockerfile with those LABEL lines. So the run that builds a release also keeps
//! a record of it on the engine — a labelled volume per image ID, like smoke verdicts — and a
//! promotion that copies the image to another engine copies the record. An image with
//! release labels but no record there (nor a run in the local history) is not a release.

use crate::deploy::short_image_id;
use crate::docker::{labels, names, Docker, DockerError};
use crate::store::RunNumber;

const ROLE: &str = "release-record";

/// What the record says of a release image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub run: RunNumber,
    pub commit: String,
}

fn volume(app: &str, image_id: &str) -> String {
    names::scoped("release", app, &short_image_id(image_id))
}

/// Records that run `run` of `app` built `image_id` from `commit`.
pub async fn record(
    docker: &Docker,
    app: &str,
    image_id: &str,
    run: RunNumber,
    commit: &str,
) -> Result<(), DockerError> {
    let name = volume(app, image_id);
    // A volume of that name made by anything else is replaced, never believed.
    docker.remove_volume(&name).await?;
    let run = run.to_string();
    let labels = labels::set(&[
        (labels::APP, app),
        (labels::ROLE, ROLE),
        (labels::IMAGE_ID, image_id),
        (labels::RUN, &run),
        (labels::COMMIT, commit),
    ]);
    docker.ensure_volume(&name, labels).await
}

/// The record of `image_id` as a release of `app` on this engine, if there is one.
pub async fn read(docker: &Docker, app: &str, image_id: &str) -> Result<Option<Provenance>, DockerError> {
    let Some(l) = docker.volume_labels(&volume(app, image_id)).await? else {
        return Ok(None);
    };
    let is = |key: &str, value: &str| l.get(key).is_some_and(|v| v == value);
    if !(is(labels::APP, app) && is(labels::ROLE, ROLE) && is(labels::IMAGE_ID, image_id)) {
        return Ok(None);
    }
    let run = l.get(labels::RUN).and_then(|r| r.parse().ok());
    let commit = l.get(labels::COMMIT).cloned().unwrap_or_default();
    Ok(run.map(|run| Provenance { run, commit }))
}

/// Forgets the record of an image that is gone.
pub async fn forget(docker: &Docker, app: &str, image_id: &str) -> Result<(), DockerError> {
    docker.remove_volume(&volume(app, image_id)).await.map(|_| ())
}
