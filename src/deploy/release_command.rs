//! `release_command` (a migration): run once in the new release's image, on the
//! environment's network, with the release's env and secrets, after the accessories are ready
//! and before the previous release is stopped. Its output is streamed, sanitized and masked,
//! into the operation's log. When it fails the deploy fails and nothing else changed. When it
//! succeeds, a mark is kept on the engine (a labelled volume, like the smoke verdicts) naming
//! the release it ran in: releases older than that one may not fit the schema any more, and
//! the rollback picker says so. A rollback never runs it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::deploy::model::ReleaseRef;
use crate::deploy::{network, Target};
use crate::docker::{labels, names, ContainerSpec, LogChunk};
use crate::mask::{OutStream, SecretMasker, StageOutput};

/// The role label of the release_command's container and of its mark.
pub const ROLE: &str = "release-command";
const MARK_ROLE: &str = "release-command-mark";
/// When the image of the release it ran in was built (RFC 3339).
const MARK_BUILT: &str = "dev.shipdeck.release-command-built";
const MARK_AT: &str = "dev.shipdeck.release-command-at";
/// Lines of its output kept in the operation's log; the rest is drained and counted.
const MAX_LINES: usize = 10_000;
/// A release_command that runs longer is killed and fails the deploy.
const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Runs the environment's release_command in `release`, with `env` (the release's
/// `KEY=value` pairs, secrets included). `Ok(false)` when the environment has none.
pub async fn run(
    target: &Target,
    release: &ReleaseRef,
    env: Vec<String>,
    masker: SecretMasker,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<bool, String> {
    let Some(command) = &target.env.release_command else {
        return Ok(false);
    };
    let docker = &target.docker;
    let net = network::ensure(target).await.map_err(|e| e.to_string())?;
    let name = names::scoped("release", &target.app, &target.env.name);
    // A leftover of an interrupted deploy (we hold the environment's lock).
    docker.remove_container(&name).await.map_err(|e| e.to_string())?;
    let spec = ContainerSpec {
        name: name.clone(),
        image: release.image_id.clone(),
        cmd: command.argv(),
        entrypoint: target.env.entrypoint.clone(),
        env,
        network: Some(net),
        labels: labels::set(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, ROLE),
            (labels::COMMIT, &release.commit),
            (labels::IMAGE_ID, &release.image_id),
        ]),
        ..Default::default()
    };
    let id = docker.create_container(&spec).await.map_err(|e| e.to_string())?;
    log(format!(
        "release_command in {}: {}",
        release.describe(),
        command.argv().join(" ")
    ));
    let result = follow(target, &id, masker, log).await;
    if let Err(e) = docker.remove_container(&id).await {
        log(format!("could not remove the release_command's container {name}: {e}"));
    }
    let code = result?;
    if code != 0 {
        return Err(format!(
            "the release_command failed with exit code {code}: {} was not deployed, the previous release runs untouched",
            release.describe()
        ));
    }
    log("release_command succeeded".to_string());
    if let Err(e) = mark(target, release).await {
        log(format!("could not keep the release_command's mark on the engine: {e}"));
    }
    Ok(true)
}

/// Streams the container's output into `log` until it exits; its exit code.
async fn follow(
    target: &Target,
    id: &str,
    masker: SecretMasker,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<i64, String> {
    let docker = &target.docker;
    let output = docker.attach_output(id).await.map_err(|e| e.to_string())?;
    let mut output = std::pin::pin!(output);
    docker.start_container(id).await.map_err(|e| e.to_string())?;
    let mut lines = StageOutput::new(masker);
    let mut shown = 0usize;
    let mut cut = 0usize;
    let mut emit = |line: String| {
        if shown < MAX_LINES {
            shown += 1;
            log(format!("│ {line}"));
        } else {
            cut += 1;
        }
    };
    let streamed = tokio::time::timeout(TIMEOUT, async {
        while let Some(chunk) = output.next().await {
            match chunk {
                Ok(LogChunk::Stdout(b)) => lines.push(OutStream::Stdout, &b, &mut emit),
                Ok(LogChunk::Stderr(b)) => lines.push(OutStream::Stderr, &b, &mut emit),
                Err(_) => break,
            }
        }
    })
    .await;
    lines.finish(OutStream::Stdout, &mut emit);
    lines.finish(OutStream::Stderr, &mut emit);
    if cut > 0 {
        log(format!(
            "… {} of the release_command's output not shown",
            crate::text::count(cut, "more line")
        ));
    }
    if streamed.is_err() {
        let _ = docker.kill_container(id).await;
        return Err(format!(
            "the release_command did not finish within {} minutes and was killed; the previous release runs untouched",
            TIMEOUT.as_secs() / 60
        ));
    }
    docker
        .wait_container(id)
        .await
        .map(|s| s.code)
        .map_err(|e| e.to_string())
}

fn mark_volume(target: &Target) -> String {
    names::scoped("migrated", &target.app, &target.env.name)
}

/// Keeps on the engine that the release_command ran in `release`, and when its image was built.
async fn mark(target: &Target, release: &ReleaseRef) -> Result<(), crate::docker::DockerError> {
    let docker = &target.docker;
    let built = docker
        .images_labelled(&[(labels::APP, &target.app)])
        .await?
        .into_iter()
        .find(|i| i.id == release.image_id)
        .and_then(|i| DateTime::from_timestamp(i.created, 0))
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let name = mark_volume(target);
    docker.remove_volume(&name).await?;
    let set = labels::set(&[
        (labels::APP, &target.app),
        (labels::ENV, &target.env.name),
        (labels::ROLE, MARK_ROLE),
        (labels::IMAGE_ID, &release.image_id),
        (labels::COMMIT, &release.commit),
        (labels::SHORT_COMMIT, &release.short_commit),
        (MARK_BUILT, &built),
        (MARK_AT, &Utc::now().to_rfc3339()),
    ]);
    docker.ensure_volume(&name, set).await
}

/// The newest release the release_command ran in on this environment, as kept on its engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub image_id: String,
    pub short_commit: String,
    /// When that release's image was built.
    pub built: Option<DateTime<Utc>>,
}

impl Mark {
    /// Whether a release built at `built` (its image ID `image_id`) predates the schema the
    /// release_command left: built before the marked release, and not that release.
    pub fn ahead_of(&self, image_id: &str, built: Option<DateTime<Utc>>) -> bool {
        match (self.built, built) {
            (Some(mark), Some(built)) => image_id != self.image_id && built < mark,
            _ => false,
        }
    }
}

/// The mark, when a release_command ran on this environment (and the volume is its own).
pub async fn read_mark(target: &Target) -> Result<Option<Mark>, crate::docker::DockerError> {
    let Some(l) = target.docker.volume_labels(&mark_volume(target)).await? else {
        return Ok(None);
    };
    let is = |key: &str, value: &str| l.get(key).is_some_and(|v| v == value);
    if !(is(labels::APP, &target.app) && is(labels::ENV, &target.env.name) && is(labels::ROLE, MARK_ROLE)) {
        return Ok(None);
    }
    let get = |key: &str| crate::term::plain_text(l.get(key).map(String::as_str).unwrap_or_default()).into_owned();
    Ok(Some(Mark {
        image_id: get(labels::IMAGE_ID),
        short_commit: get(labels::SHORT_COMMIT),
        built: DateTime::parse_from_rfc3339(&get(MARK_BUILT))
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    }))
}

/// The app's release images built before the newest release the release_command ran in on
/// this environment (their image IDs); empty when none ran there.
pub async fn behind_mark(target: &Target) -> Result<Vec<String>, crate::docker::DockerError> {
    let Some(mark) = read_mark(target).await? else {
        return Ok(Vec::new());
    };
    let images = target.docker.images_labelled(&[(labels::APP, &target.app)]).await?;
    Ok(images
        .into_iter()
        .filter(|i| mark.ahead_of(&i.id, DateTime::from_timestamp(i.created, 0)))
        .map(|i| i.id)
        .collect())
}

/// Said before a rollback to a release built before the newest one the release_command ran
/// in: it is put back all the same (a rollback never runs the release_command).
pub async fn warn_if_behind(target: &Target, release: &ReleaseRef, log: &mut (dyn FnMut(String) + Send)) {
    let behind = behind_mark(target).await.unwrap_or_default();
    if !behind.contains(&release.image_id) {
        return;
    }
    let newer = read_mark(target)
        .await
        .ok()
        .flatten()
        .map(|m| m.short_commit)
        .unwrap_or_default();
    log(format!(
        "NOTE: the release_command last ran in {newer}, built after {}: the schema may be ahead of this release (a rollback never runs the release_command)",
        release.describe()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_releases_built_before_the_marked_one_are_behind_its_schema() {
        let t = |s: i64| DateTime::from_timestamp(s, 0);
        let mark = Mark {
            image_id: "sha256:b".into(),
            short_commit: "b".into(),
            built: t(200),
        };
        assert!(mark.ahead_of("sha256:a", t(100)));
        assert!(!mark.ahead_of("sha256:b", t(200)));
        assert!(!mark.ahead_of("sha256:c", t(300)));
        assert!(!mark.ahead_of("sha256:a", None), "unknown build time: no claim");
    }
}
