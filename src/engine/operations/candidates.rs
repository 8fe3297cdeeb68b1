//! The releases that ran on an environment and how their latest smoke checks there went: the
//! rollback candidates (those that passed), what an automatic rollback may restore, and what
//! `rollback --to COMMIT` prefers among a commit's several releases. The verdicts on the
//! environment's engine come first (every machine's latest); the local history adds who and
//! when, and releases checked before verdicts were kept on engines.

use chrono::{DateTime, Utc};

use super::release::{candidate_of, release_images};
use super::{with_store, OperationError};
use crate::deploy::{verdict, ReleaseRef, Target};
use crate::engine::Engine;
use crate::store::RunNumber;

/// A release that ran on the environment.
#[derive(Debug, Clone)]
pub(super) struct RanThere {
    pub release: ReleaseRef,
    pub run: Option<RunNumber>,
    /// Its latest smoke verdict there: passed, failed, or never checked (an old history).
    pub passed: Option<bool>,
    /// When it was last put in place or checked there.
    pub at: DateTime<Utc>,
    /// Who last put it there (from the history).
    pub by: Option<String>,
    /// Its image is still on the environment's engine.
    pub on_engine: bool,
}

impl RanThere {
    /// Whether a rollback may choose it: its latest verdict there passed (or, from a history
    /// older than verdicts, its deploy ended well without one).
    pub fn good(&self) -> bool {
        self.passed != Some(false) && self.on_engine
    }
}

/// Every release that ran on the target's environment, newest first.
pub(super) async fn ran_there(engine: &Engine, target: &Target) -> Result<Vec<RanThere>, OperationError> {
    let images = release_images(engine, target).await?;
    let engine_verdicts = verdict::list(target).await?;
    let history = {
        let (app, env) = (target.app.clone(), target.env.name.clone());
        with_store(engine, move |s| s.releases_that_ran(&app, &env, 50))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("history not readable: {e}");
                Vec::new()
            })
    };
    let mut out: Vec<RanThere> = Vec::new();
    for (record, local) in history {
        let Some(release) = record.to.clone() else { continue };
        let on_engine = images.iter().any(|i| i.id == release.image_id);
        let kept = engine_verdicts.iter().find(|v| v.image_id == release.image_id);
        // The newer of the engine's verdict and the local one.
        let passed = match (kept, &local) {
            (Some(k), Some(l)) if l.at > k.at.unwrap_or(l.at) => Some(l.passed),
            (Some(k), _) => Some(k.passed),
            (None, Some(l)) => Some(l.passed),
            (None, None) => None,
        };
        // A release that was put in place but never checked, by an operation that did not
        // end well, did not run there in any sense a rollback should trust.
        if passed.is_none() && !record.outcome.is_ok() {
            continue;
        }
        let at = [Some(record.started_at), kept.and_then(|k| k.at), local.map(|l| l.at)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(record.started_at);
        out.push(RanThere {
            release,
            run: record.run,
            passed,
            at,
            by: Some(record.operator.display()),
            on_engine,
        });
    }
    // Checked there from another machine, or before the history was deleted.
    for kept in &engine_verdicts {
        if out.iter().any(|r| r.release.image_id == kept.image_id) {
            continue;
        }
        let Some(image) = images.iter().find(|i| i.id == kept.image_id) else {
            continue;
        };
        let (release, run) = candidate_of(engine, image).await;
        out.push(RanThere {
            release,
            run,
            passed: Some(kept.passed),
            at: kept.at.unwrap_or_default(),
            by: None,
            on_engine: true,
        });
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.at));
    Ok(out)
}

/// The newest good release that is not `current_image`.
pub(super) fn previous_good<'a>(ran: &'a [RanThere], current_image: &str) -> Option<&'a RanThere> {
    ran.iter().find(|r| r.good() && r.release.image_id != current_image)
}
