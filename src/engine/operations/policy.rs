//! Where an environment's gates come from: the release.toml committed at HEAD, never an
//! uncommitted edit. A working-copy change to `approval`, `promote_from` or `auto_rollback` of
//! a committed environment is reported and not applied (the stricter of the two is kept);
//! with `--force` it is applied and the audit records it, before → after, except that an
//! approval is never dropped by an uncommitted edit (`--force` never replaces an approval:
//! commit the change). A rollback verifies a release with the smoke checks committed with
//! that release.

use crate::config::{Config, EnvironmentConfig, SmokeCheck};
use crate::deploy::ReleaseRef;
use crate::engine::Engine;

/// An environment's configuration with its gates settled, and what the audit says of them.
pub(super) struct Gated {
    /// The working copy's environment (addresses, checks, …) with the settled gates.
    pub env: EnvironmentConfig,
    /// "release.toml at a1b2c3d", or the working copy's when no commit has the environment.
    pub policy: String,
    /// The uncommitted gate changes applied with `--force`: "approval true → false".
    pub overridden: Option<String>,
    /// What the operator is told: an uncommitted change that was not applied.
    pub notes: Vec<String>,
}

/// One gate's value as words, for before → after.
fn words(env: &EnvironmentConfig) -> [(&'static str, String); 3] {
    [
        ("approval", env.approval.to_string()),
        (
            "promote_from",
            env.promote_from.clone().unwrap_or_else(|| "none".into()),
        ),
        ("auto_rollback", env.auto_rollback.to_string()),
    ]
}

/// Settles the gates of `working` (from the working copy's release.toml) against `committed`
/// (the same environment in the release.toml at HEAD, `short` its commit).
pub(super) fn settle(working: &EnvironmentConfig, committed: Option<(&EnvironmentConfig, &str)>, force: bool) -> Gated {
    let Some((head, short)) = committed else {
        return Gated {
            env: working.clone(),
            policy: format!(
                "the working copy's release.toml ([environments.{}] is not committed)",
                working.name
            ),
            overridden: None,
            notes: Vec::new(),
        };
    };
    let changes: Vec<String> = words(head)
        .into_iter()
        .zip(words(working))
        .filter(|((_, before), (_, after))| before != after)
        .map(|((gate, before), (_, after))| format!("{gate} {before} → {after}"))
        .collect();
    let policy = format!("release.toml at {short}");
    if changes.is_empty() {
        return Gated {
            env: working.clone(),
            policy,
            overridden: None,
            notes: Vec::new(),
        };
    }
    let changed = changes.join(", ");
    if force {
        let mut env = working.clone();
        let mut notes = Vec::new();
        let mut applied = changes.clone();
        if head.approval && !working.approval {
            env.approval = true;
            applied.retain(|c| !c.starts_with("approval "));
            notes.push(format!(
                "the uncommitted removal of {}'s approval is not applied, not even with --force: commit it to drop the approval",
                working.name
            ));
        }
        if applied.is_empty() {
            return Gated {
                env,
                policy,
                overridden: None,
                notes,
            };
        }
        let applied = applied.join(", ");
        notes.push(format!(
            "FORCED: the working copy's uncommitted gates apply ({applied}); recorded in the audit"
        ));
        return Gated {
            env,
            policy: format!("{policy} with uncommitted gates applied by --force ({applied})"),
            overridden: Some(format!("uncommitted gates: {applied}")),
            notes,
        };
    }
    // The stricter of the committed and the uncommitted value: an edit may add a gate, never
    // lower one.
    let mut env = working.clone();
    env.approval = head.approval || working.approval;
    env.auto_rollback = head.auto_rollback || working.auto_rollback;
    env.promote_from = head.promote_from.clone().or_else(|| working.promote_from.clone());
    Gated {
        env,
        policy,
        overridden: None,
        notes: vec![format!(
            "release.toml has uncommitted changes to the gates of {} ({changed}): not applied, the committed gates (at {short}) hold; commit them, or add --force to apply them (audited)",
            working.name
        )],
    }
}

/// The gates of `working` against HEAD's release.toml.
pub(super) async fn gates(engine: &Engine, working: &EnvironmentConfig, force: bool) -> Gated {
    let head = head_config(engine).await;
    let committed = head
        .as_ref()
        .and_then(|(config, short)| config.environment(&working.name).map(|e| (e, short.as_str())));
    match (committed, &head) {
        (Some(c), _) => settle(working, Some(c), force),
        // HEAD's release.toml cannot be read or parsed: keep the stricter reading of what the
        // working copy says, and say so.
        (None, None) => {
            let mut gated = settle(working, None, force);
            gated.policy = "the working copy's release.toml (none readable at HEAD)".into();
            gated
        }
        (None, Some(_)) => settle(working, None, force),
    }
}

/// HEAD's release.toml, parsed, with HEAD's short id.
async fn head_config(engine: &Engine) -> Option<(Config, String)> {
    let project = engine.project.clone();
    let head = tokio::task::spawn_blocking(move || project.resolve("HEAD").ok())
        .await
        .ok()
        .flatten()?;
    match crate::engine::pipeline::committed_config(engine, &head).await {
        Ok(Some(config)) => Some((config, head.short)),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("release.toml at HEAD does not parse: {e}");
            None
        }
    }
}

/// The smoke checks of `env` as committed with `release` (its commit's release.toml), and
/// where they came from; the working copy's when that commit is not in this repository or
/// has no such environment.
pub(super) async fn checks_of_release(
    engine: &Engine,
    release: &ReleaseRef,
    working: &EnvironmentConfig,
) -> (Vec<SmokeCheck>, String) {
    let project = engine.project.clone();
    let rev = release.commit.clone();
    let info = tokio::task::spawn_blocking(move || project.resolve(&rev).ok())
        .await
        .ok()
        .flatten();
    let Some(info) = info else {
        return (
            working.smoke.clone(),
            format!(
                "the working copy's smoke checks ({} is not in this repository)",
                release.short_commit
            ),
        );
    };
    match crate::engine::pipeline::committed_config(engine, &info).await {
        Ok(Some(config)) => match config.environment(&working.name) {
            Some(env) => (
                env.smoke.clone(),
                format!("the smoke checks committed in {}", info.short),
            ),
            None => (
                working.smoke.clone(),
                format!(
                    "the working copy's smoke checks ({} has no [environments.{}])",
                    info.short, working.name
                ),
            ),
        },
        _ => (
            working.smoke.clone(),
            format!(
                "the working copy's smoke checks (release.toml of {} not readable)",
                info.short
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(approval: bool, promote_from: Option<&str>, auto_rollback: bool) -> EnvironmentConfig {
        EnvironmentConfig {
            name: "production".into(),
            publish: None,
            env: Vec::new(),
            docker_host: None,
            command: None,
            entrypoint: None,
            healthcheck: None,
            promote_from: promote_from.map(String::from),
            approval,
            auto_rollback,
            smoke: Vec::new(),
        }
    }

    #[test]
    fn an_uncommitted_edit_cannot_lower_a_gate() {
        let head = env(true, Some("staging"), true);
        let working = env(false, None, false);
        let gated = settle(&working, Some((&head, "a1b2c3d")), false);
        assert!(gated.env.approval);
        assert_eq!(gated.env.promote_from.as_deref(), Some("staging"));
        assert!(gated.env.auto_rollback);
        assert_eq!(gated.policy, "release.toml at a1b2c3d");
        assert_eq!(gated.overridden, None);
        assert!(gated.notes[0].contains("approval true → false"), "{:?}", gated.notes);
        assert!(
            gated.notes[0].contains("promote_from staging → none"),
            "{:?}",
            gated.notes
        );
    }

    #[test]
    fn an_uncommitted_edit_may_add_a_gate() {
        let head = env(false, None, false);
        let working = env(true, Some("staging"), true);
        let gated = settle(&working, Some((&head, "a1b2c3d")), false);
        assert!(gated.env.approval && gated.env.auto_rollback);
        assert_eq!(gated.env.promote_from.as_deref(), Some("staging"));
    }

    #[test]
    fn force_applies_the_uncommitted_gates_and_says_which() {
        let head = env(true, Some("staging"), true);
        let working = env(true, None, false);
        let gated = settle(&working, Some((&head, "a1b2c3d")), true);
        assert_eq!(gated.env.promote_from, None);
        assert!(!gated.env.auto_rollback);
        assert_eq!(
            gated.overridden.as_deref(),
            Some("uncommitted gates: promote_from staging → none, auto_rollback true → false")
        );
        assert!(gated.policy.starts_with("release.toml at a1b2c3d"), "{}", gated.policy);
    }

    #[test]
    fn force_never_drops_an_approval() {
        let head = env(true, Some("staging"), true);
        let working = env(false, None, true);
        let gated = settle(&working, Some((&head, "a1b2c3d")), true);
        assert!(gated.env.approval, "--force never replaces an approval");
        assert_eq!(gated.env.promote_from, None);
        assert_eq!(
            gated.overridden.as_deref(),
            Some("uncommitted gates: promote_from staging → none")
        );
        assert!(gated.notes[0].contains("not even with --force"), "{:?}", gated.notes);
        let only_approval = env(false, Some("staging"), true);
        let gated = settle(&only_approval, Some((&head, "a1b2c3d")), true);
        assert!(gated.env.approval);
        assert_eq!(gated.overridden, None);
    }

    #[test]
    fn unchanged_gates_come_from_head_without_a_note() {
        let head = env(true, Some("staging"), true);
        let gated = settle(&head.clone(), Some((&head, "a1b2c3d")), true);
        assert_eq!(gated.overridden, None);
        assert!(gated.notes.is_empty());
    }
}
