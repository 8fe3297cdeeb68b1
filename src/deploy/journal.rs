//! The operations on an environment, kept on its engine beside what runs there (as smoke
//! verdicts are): a labelled volume per operation, written when it starts to change the
//! environment and rewritten when it ends. The local history under `.shipdeck/` can be
//! deleted, or be on another machine; `shipdeck history ENV` merges these back in, so no
//! deploy, promotion or rollback goes unrecorded. The newest [`KEEP`] per environment stay.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::deploy::model::{OpAction, OpOutcome, ReleaseRef};
use crate::deploy::target::Target;
use crate::docker::{labels, DockerError};
use crate::owner::{label_is_alive, Owner};

/// Operations kept per environment on its engine.
pub const KEEP: usize = 200;

const ACTION: &str = "dev.shipdeck.op-action";
const OUTCOME: &str = "dev.shipdeck.op-outcome";
const MESSAGE: &str = "dev.shipdeck.op-message";
const STARTED: &str = "dev.shipdeck.op-started";
const FINISHED: &str = "dev.shipdeck.op-finished";
const BY: &str = "dev.shipdeck.op-by";
const PROCESS: &str = "dev.shipdeck.op-process";
const APPROVAL: &str = "dev.shipdeck.op-approval";
const OVERRIDDEN: &str = "dev.shipdeck.op-overridden";
const POLICY: &str = "dev.shipdeck.op-policy";
const FROM: &str = "dev.shipdeck.op-from";
const TO: &str = "dev.shipdeck.op-to";

/// One operation as the engine keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOp {
    pub action: OpAction,
    pub from: Option<ReleaseRef>,
    pub to: Option<ReleaseRef>,
    /// `Operator::display()`.
    pub by: String,
    pub approval: Option<String>,
    pub overridden: Option<String>,
    pub policy: Option<String>,
    /// `Running` while under way; `Interrupted` when its process died before it ended.
    pub outcome: OpOutcome,
    pub message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An operation's record on the engine, to finish when it ends.
#[derive(Debug)]
pub struct Kept {
    name: String,
    op: EngineOp,
}

/// `a1b2c3d…|short|sha256:…|subject` (the subject last: it may hold anything).
fn release_label(r: &ReleaseRef) -> String {
    format!(
        "{}|{}|{}|{}",
        r.commit,
        r.short_commit,
        r.image_id,
        cut(&r.subject, 120)
    )
}

fn release_of(label: Option<&String>) -> Option<ReleaseRef> {
    let mut parts = label?.splitn(4, '|');
    let (commit, short, image, subject) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some(ReleaseRef {
        commit: commit.to_string(),
        short_commit: short.to_string(),
        subject: subject.to_string(),
        image_id: image.to_string(),
        image_tag: None,
    })
}

fn cut(text: &str, n: usize) -> String {
    crate::text::head_chars(text, n).to_string()
}

fn labels_of(target: &Target, op: &EngineOp, process: &str) -> HashMap<String, String> {
    let mut pairs: Vec<(&str, String)> = vec![
        (labels::APP, target.app.clone()),
        (labels::ENV, target.env.name.clone()),
        (labels::ROLE, "operation".into()),
        (ACTION, op.action.as_str().into()),
        (OUTCOME, op.outcome.as_str().into()),
        (STARTED, op.started_at.to_rfc3339()),
        (BY, cut(&op.by, 200)),
        (PROCESS, process.to_string()),
    ];
    let optional = [
        (MESSAGE, op.message.as_deref().map(|m| cut(m, 400))),
        (FINISHED, op.finished_at.map(|t| t.to_rfc3339())),
        (APPROVAL, op.approval.clone()),
        (OVERRIDDEN, op.overridden.as_deref().map(|o| cut(o, 400))),
        (POLICY, op.policy.as_deref().map(|p| cut(p, 300))),
        (FROM, op.from.as_ref().map(release_label)),
        (TO, op.to.as_ref().map(release_label)),
    ];
    pairs.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    labels::set(&refs)
}

/// Records `op` (outcome running) on the target's engine; an error means the operation
/// must not go ahead unrecorded.
pub async fn begin(target: &Target, op: EngineOp) -> Result<Kept, DockerError> {
    let nanos = op.started_at.timestamp_nanos_opt().unwrap_or_default();
    let scoped = crate::docker::names::scoped("op", &target.app, &target.env.name);
    let name = format!("{scoped}-{nanos}");
    target
        .docker
        .ensure_volume(&name, labels_of(target, &op, &Owner::current().label()))
        .await?;
    prune(target).await;
    Ok(Kept { name, op })
}

impl Kept {
    /// Rewrites the record with how the operation ended.
    pub async fn finish(mut self, target: &Target, outcome: OpOutcome, message: &str) -> Result<(), DockerError> {
        self.op.outcome = outcome;
        self.op.message = Some(message.to_string());
        self.op.finished_at = Some(Utc::now());
        // Volumes cannot be relabelled: the new record goes in first, under a name of its own.
        let finished = format!("{}-done", self.name);
        target
            .docker
            .ensure_volume(&finished, labels_of(target, &self.op, &Owner::current().label()))
            .await?;
        target.docker.remove_volume(&self.name).await?;
        Ok(())
    }
}

/// The operations kept on the target's engine, newest first; one whose process died before it
/// ended reads as interrupted.
pub async fn list(target: &Target) -> Result<Vec<EngineOp>, DockerError> {
    let names = target
        .docker
        .volumes_labelled(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, "operation"),
        ])
        .await?;
    let mut out: Vec<(String, EngineOp)> = Vec::new();
    for name in names {
        if let Some(l) = target.docker.volume_labels(&name).await? {
            if let Some(op) = from_labels(&l) {
                out.push((name, op));
            }
        }
    }
    // A finished record and its running one, both present after a crash between the two
    // writes: the finished one tells.
    let done: Vec<String> = out
        .iter()
        .filter_map(|(n, _)| n.strip_suffix("-done").map(str::to_string))
        .collect();
    let mut ops: Vec<EngineOp> = out
        .into_iter()
        .filter(|(n, _)| !done.contains(n))
        .map(|(_, op)| op)
        .collect();
    ops.sort_by_key(|o| std::cmp::Reverse(o.started_at));
    Ok(ops)
}

fn from_labels(l: &HashMap<String, String>) -> Option<EngineOp> {
    let get = |k: &str| l.get(k).cloned().filter(|v| !v.is_empty());
    let time = |k: &str| {
        get(k)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let mut outcome = OpOutcome::parse(&get(OUTCOME)?)?;
    if outcome == OpOutcome::Running && !label_is_alive(&get(PROCESS).unwrap_or_default()) {
        outcome = OpOutcome::Interrupted;
    }
    Some(EngineOp {
        action: OpAction::parse(&get(ACTION)?)?,
        from: release_of(l.get(FROM)),
        to: release_of(l.get(TO)),
        by: get(BY).unwrap_or_default(),
        approval: get(APPROVAL),
        overridden: get(OVERRIDDEN),
        policy: get(POLICY),
        outcome,
        message: get(MESSAGE),
        started_at: time(STARTED)?,
        finished_at: time(FINISHED),
    })
}

/// Keeps the newest [`KEEP`] records of the environment.
async fn prune(target: &Target) {
    let Ok(names) = target
        .docker
        .volumes_labelled(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, "operation"),
        ])
        .await
    else {
        return;
    };
    if names.len() <= KEEP {
        return;
    }
    // Names end with the start in nanoseconds (then maybe `-done`): oldest first by that.
    let mut by_start: Vec<(i64, String)> = names
        .into_iter()
        .map(|n| {
            let start = n
                .trim_end_matches("-done")
                .rsplit('-')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (start, n)
        })
        .collect();
    by_start.sort();
    let excess = by_start.len() - KEEP;
    for (_, name) in by_start.into_iter().take(excess) {
        if let Err(e) = target.docker.remove_volume(&name).await {
            tracing::warn!("pruning the operation record {name} failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_survives_its_label_even_with_bars_in_its_subject() {
        let r = ReleaseRef {
            commit: "a".repeat(40),
            short_commit: "aaaaaaa".into(),
            subject: "fix | pipe | chars".into(),
            image_id: format!("sha256:{}", "b".repeat(64)),
            image_tag: None,
        };
        assert_eq!(release_of(Some(&release_label(&r))), Some(r));
        assert_eq!(release_of(None), None);
        assert_eq!(release_of(Some(&"broken".to_string())), None);
    }
}
