//! Smoke verdicts kept on the environment's engine, beside what runs there: a labelled volume
//! per (app, environment, image). The local history has every result; this copy lets the
//! promotion gate and `status` agree across machines and survive a deleted history.
//!
//! A release is *verified* on an environment when the verdict for its image passed and names
//! the container that runs it now: a release put in place again (a new container) by an
//! operation that died before its smoke checks is not verified, whatever an earlier container
//! of the same image did.

use chrono::{DateTime, Utc};

use crate::deploy::model::short_image_id;
use crate::deploy::target::Target;
use crate::docker::{labels, DockerError};

const PASSED: &str = "dev.shipdeck.smoke-passed";
const AT: &str = "dev.shipdeck.smoke-at";
const SUMMARY: &str = "dev.shipdeck.smoke-summary";
const CONTAINER: &str = "dev.shipdeck.smoke-container";

/// The last smoke verdict recorded on the engine for one image on one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineVerdict {
    /// `sha256:…`.
    pub image_id: String,
    pub passed: bool,
    /// The container the checks ran against (empty for verdicts of older shipdecks).
    pub container: String,
    pub at: Option<DateTime<Utc>>,
    pub summary: String,
}

fn volume(target: &Target, image_id: &str) -> String {
    let scoped = crate::docker::names::scoped("smoke", &target.app, &target.env.name);
    format!("{scoped}-{}", short_image_id(image_id))
}

impl EngineVerdict {
    /// Whether it says the release in `container` is verified.
    pub fn verifies(&self, container: &str) -> bool {
        self.passed && self.container == container
    }
}

/// Replaces the verdict for `image_id` on the target, checked against `container`.
pub async fn record(
    target: &Target,
    image_id: &str,
    container: &str,
    passed: bool,
    summary: &str,
) -> Result<(), DockerError> {
    let name = volume(target, image_id);
    target.docker.remove_volume(&name).await?;
    let summary: String = summary.chars().take(300).collect();
    let labels = labels::set(&[
        (labels::APP, &target.app),
        (labels::ENV, &target.env.name),
        (labels::ROLE, "smoke-verdict"),
        (labels::IMAGE_ID, image_id),
        (PASSED, if passed { "true" } else { "false" }),
        (CONTAINER, container),
        (AT, &Utc::now().to_rfc3339()),
        (SUMMARY, &summary),
    ]);
    target.docker.ensure_volume(&name, labels).await
}

/// The verdict for `image_id` on the target, if one was recorded.
pub async fn read(target: &Target, image_id: &str) -> Result<Option<EngineVerdict>, DockerError> {
    let Some(l) = target.docker.volume_labels(&volume(target, image_id)).await? else {
        return Ok(None);
    };
    // A volume of that name that is not this environment's verdict for this image (made by
    // something else) verifies nothing.
    let is = |key: &str, value: &str| l.get(key).is_some_and(|v| v == value);
    let ours = is(labels::APP, &target.app)
        && is(labels::ENV, &target.env.name)
        && is(labels::ROLE, "smoke-verdict")
        && is(labels::IMAGE_ID, image_id);
    Ok(ours.then(|| from_labels(image_id, &l)))
}

/// Every verdict recorded on the target's environment, the newest first.
pub async fn list(target: &Target) -> Result<Vec<EngineVerdict>, DockerError> {
    let names = target
        .docker
        .volumes_labelled(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, "smoke-verdict"),
        ])
        .await?;
    let mut out = Vec::new();
    for name in names {
        if let Some(l) = target.docker.volume_labels(&name).await? {
            if let Some(image) = l.get(labels::IMAGE_ID).cloned() {
                out.push(from_labels(&image, &l));
            }
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.at));
    Ok(out)
}

/// Whether the release running in `deployed` is verified on the target.
pub async fn verified(target: &Target, deployed: &crate::deploy::Deployed) -> Result<bool, DockerError> {
    Ok(read(target, &deployed.release.image_id)
        .await?
        .is_some_and(|v| v.verifies(&deployed.container_id)))
}

fn from_labels(image_id: &str, l: &std::collections::HashMap<String, String>) -> EngineVerdict {
    EngineVerdict {
        image_id: image_id.to_string(),
        passed: l.get(PASSED).is_some_and(|p| p == "true"),
        container: l.get(CONTAINER).cloned().unwrap_or_default(),
        at: l
            .get(AT)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        summary: crate::term::plain_text(l.get(SUMMARY).map(String::as_str).unwrap_or_default()).into_owned(),
    }
}
