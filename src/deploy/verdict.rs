//! Smoke verdicts kept on the environment's engine, beside what runs there: a labelled volume
//! per (app, environment, image). The local history has every result; this copy lets the
//! promotion gate and `status` agree across machines and survive a deleted history.

use chrono::{DateTime, Utc};

use crate::deploy::model::short_image_id;
use crate::deploy::target::Target;
use crate::docker::{labels, DockerError};

const PASSED: &str = "dev.shipdeck.smoke-passed";
const AT: &str = "dev.shipdeck.smoke-at";
const SUMMARY: &str = "dev.shipdeck.smoke-summary";

/// The last smoke verdict recorded on the engine for one image on one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineVerdict {
    pub passed: bool,
    pub at: Option<DateTime<Utc>>,
    pub summary: String,
}

fn volume(target: &Target, image_id: &str) -> String {
    format!(
        "shipdeck-smoke-{}-{}-{}",
        target.app,
        target.env.name,
        short_image_id(image_id)
    )
}

/// Replaces the verdict for `image_id` on the target.
pub async fn record(target: &Target, image_id: &str, passed: bool, summary: &str) -> Result<(), DockerError> {
    let name = volume(target, image_id);
    target.docker.remove_volume(&name).await?;
    let summary: String = summary.chars().take(300).collect();
    let labels = labels::set(&[
        (labels::APP, &target.app),
        (labels::ENV, &target.env.name),
        (labels::ROLE, "smoke-verdict"),
        (labels::IMAGE_ID, image_id),
        (PASSED, if passed { "true" } else { "false" }),
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
    Ok(Some(EngineVerdict {
        passed: l.get(PASSED).is_some_and(|p| p == "true"),
        at: l
            .get(AT)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        summary: crate::term::plain_text(l.get(SUMMARY).map(String::as_str).unwrap_or_default()).into_owned(),
    }))
}
