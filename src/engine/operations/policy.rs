//! Where an environment's gates come from: the release.toml committed at HEAD, never an
//! uncommitted edit. A working-copy change to `approval`, `promote_from` or `auto_rollback` of
//! a committed environment is reported and not applied (the stricter of the two is kept);
//! with `--force` it is applied and the audit records it, before → after, except that an
//! approval is never dropped by an uncommitted edit (`--force` never replaces an approval:
//! commit the change). A rollback verifies a release with the smoke checks committed with
//! that release.

use super::OperationError;
use crate::config::{Config, EnvironmentConfig, SmokeCheck};
use crate::deploy::{Refusal, ReleaseRef};
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
    /// The smoke checks are uncommitted ones applied by `--force`: what they find verifies
    /// nothing (a release they pass stays unverified, so no promotion gate opens on it).
    pub checks_forced: bool,
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

/// How the smoke checks changed between HEAD and the working copy, in words, if they did:
/// "smoke checks 2 checks → 2 checks (edited GET /health; removed GET /ready; added GET /)".
fn smoke_change(head: &EnvironmentConfig, working: &EnvironmentConfig) -> Option<String> {
    if head.smoke == working.smoke {
        return None;
    }
    let label = |c: &SmokeCheck| match (&c.http, &c.command) {
        (Some(http), _) => http.clone(),
        (None, Some(command)) => format!("command {}", crate::text::truncate(&command.display(), 40)),
        (None, None) => "a check".to_string(),
    };
    let removed: Vec<String> = head
        .smoke
        .iter()
        .filter(|c| !working.smoke.contains(c))
        .map(label)
        .collect();
    let added: Vec<String> = working
        .smoke
        .iter()
        .filter(|c| !head.smoke.contains(c))
        .map(label)
        .collect();
    let edited: Vec<&String> = removed.iter().filter(|l| added.contains(l)).collect();
    let mut what = Vec::new();
    if !edited.is_empty() {
        what.push(format!(
            "edited {}",
            edited.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    let only = |list: &[String], other: &[String], verb: &str| {
        let rest: Vec<&str> = list.iter().filter(|l| !other.contains(l)).map(String::as_str).collect();
        (!rest.is_empty()).then(|| format!("{verb} {}", rest.join(", ")))
    };
    what.extend(only(&removed, &added, "removed"));
    what.extend(only(&added, &removed, "added"));
    let how = if what.is_empty() {
        "reordered".to_string()
    } else {
        what.join("; ")
    };
    Some(format!(
        "smoke checks {} → {} ({how})",
        crate::text::count(head.smoke.len(), "check"),
        crate::text::count(working.smoke.len(), "check")
    ))
}

/// Settles the gates and smoke checks of `working` (from the working copy's release.toml)
/// against `committed` (the same environment in the release.toml at HEAD, `short` its commit).
/// `None` (no policy at HEAD) is only reached with `--force`: see [`gates`].
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
            checks_forced: false,
        };
    };
    let mut changes: Vec<String> = words(head)
        .into_iter()
        .zip(words(working))
        .filter(|((_, before), (_, after))| before != after)
        .map(|((gate, before), (_, after))| format!("{gate} {before} → {after}"))
        .collect();
    changes.extend(smoke_change(head, working));
    if head.load != working.load {
        changes.push(format!(
            "load tests {} → {}",
            crate::text::count(head.load.len(), "test"),
            crate::text::count(working.load.len(), "test")
        ));
    }
    let policy = format!("release.toml at {short}");
    if changes.is_empty() {
        return Gated {
            env: working.clone(),
            policy,
            overridden: None,
            notes: Vec::new(),
            checks_forced: false,
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
                checks_forced: false,
            };
        }
        let applied = applied.join(", ");
        notes.push(format!(
            "FORCED: the working copy's uncommitted gates apply ({applied}); recorded in the audit"
        ));
        let checks_forced = head.smoke != working.smoke || head.load != working.load;
        return Gated {
            env,
            policy: format!("{policy} with uncommitted gates applied by --force ({applied})"),
            overridden: Some(format!("uncommitted gates: {applied}")),
            notes,
            checks_forced,
        };
    }
    // The stricter of the committed and the uncommitted value: an edit may add a gate, never
    // lower one. Smoke checks are HEAD's: which of two lists is stricter cannot be told.
    let mut env = working.clone();
    env.approval = head.approval || working.approval;
    env.auto_rollback = head.auto_rollback || working.auto_rollback;
    env.promote_from = head.promote_from.clone().or_else(|| working.promote_from.clone());
    env.smoke = head.smoke.clone();
    // Load tests likewise: a raised threshold or a removed test is not stricter.
    env.load = head.load.clone();
    Gated {
        env,
        policy,
        overridden: None,
        checks_forced: false,
        notes: vec![format!(
            "release.toml has uncommitted changes to the gates of {} ({changed}): not applied, the committed gates and smoke checks (at {short}) hold; commit them, or add --force to apply them (audited)",
            working.name
        )],
    }
}

/// The gates of `working` against HEAD's release.toml. Without a readable policy at HEAD (no
/// release.toml committed there, one that does not parse, or no such environment in it) an
/// operation that changes or verifies the environment is refused: the working copy's gates
/// are anybody's edit. With `--force` the working copy's apply, and the audit says so (an
/// approval the working copy asks for is still needed).
pub(super) async fn gates(engine: &Engine, working: &EnvironmentConfig, force: bool) -> Result<Gated, OperationError> {
    let head = head_config(engine).await;
    let app = engine.config.as_ref().map(|c| c.app.name.clone()).unwrap_or_default();
    // HEAD's gates are another app's when the working copy renames the app: an uncommitted
    // `[app] name` edit would otherwise aim this app's lax gates at that app's environments.
    let renamed = match &head {
        HeadPolicy::Parsed(config, _) => config.app.name != app,
        _ => false,
    };
    let committed = match &head {
        HeadPolicy::Parsed(config, short) if !renamed => config.environment(&working.name).map(|e| (e, short.as_str())),
        _ => None,
    };
    if let Some(c) = committed {
        return Ok(settle(working, Some(c), force));
    }
    let name = &working.name;
    let why = match &head {
        HeadPolicy::Parsed(config, short) if renamed => format!(
            "the working copy renames the app ({} at {short} → {app}, not committed)",
            config.app.name
        ),
        HeadPolicy::Parsed(_, short) => format!("release.toml at {short} has no [environments.{name}]"),
        HeadPolicy::NotCommitted(short) => format!("no release.toml is committed at {short}"),
        HeadPolicy::Unparsable(short, e) => format!("release.toml at {short} does not parse ({e})"),
        HeadPolicy::NoHead(e) => format!("HEAD cannot be read ({e})"),
    };
    if !force {
        return Err(OperationError::refused(
            Refusal::Gated,
            format!(
                "{name}'s gates and smoke checks come from the release.toml committed at HEAD, and {why}: commit release.toml, or add --force to use the working copy's (the audit records it)"
            ),
        ));
    }
    let mut gated = settle(working, None, force);
    // Whether HEAD asks for an approval cannot be told: one is needed (`--force` never
    // replaces an approval).
    gated.env.approval = true;
    gated.checks_forced = true;
    gated.policy = format!("the working copy's release.toml, by --force ({why})");
    gated.overridden = Some(format!(
        "uncommitted policy: the working copy's gates and smoke checks of {name} ({why})"
    ));
    gated.notes = vec![format!(
        "FORCED: {why}; the working copy's gates and smoke checks of {name} apply, and an approval is needed (recorded in the audit)"
    )];
    Ok(gated)
}

/// The gates a dialog shows before the operation is asked for: [`gates`] without `--force`;
/// where those refuse (no readable policy at HEAD) the working copy's, asking for an approval,
/// and why the operation will be refused.
pub(super) async fn shown_gates(engine: &Engine, working: &EnvironmentConfig) -> (EnvironmentConfig, Option<String>) {
    match gates(engine, working, false).await {
        Ok(gated) => (gated.env, None),
        Err(why) => {
            let mut env = working.clone();
            env.approval = true;
            (env, Some(why.to_string()))
        }
    }
}

/// What HEAD says of the policy.
enum HeadPolicy {
    Parsed(Box<Config>, String),
    NotCommitted(String),
    Unparsable(String, String),
    NoHead(String),
}

/// HEAD's release.toml, parsed, with HEAD's short id.
async fn head_config(engine: &Engine) -> HeadPolicy {
    let project = engine.project.clone();
    let head = match tokio::task::spawn_blocking(move || project.resolve("HEAD")).await {
        Ok(Ok(head)) => head,
        Ok(Err(e)) => return HeadPolicy::NoHead(crate::text::first_line(&e.to_string()).to_string()),
        Err(e) => return HeadPolicy::NoHead(e.to_string()),
    };
    match crate::engine::pipeline::committed_config(engine, &head).await {
        Ok(Some(config)) => HeadPolicy::Parsed(Box::new(config), head.short),
        Ok(None) => HeadPolicy::NotCommitted(head.short),
        Err(e) => HeadPolicy::Unparsable(head.short, crate::text::first_line(&e.to_string()).to_string()),
    }
}

/// The smoke checks of `env` as committed with `release` (its commit's release.toml), and
/// where they came from; `settled` (the environment's checks as [`gates`] settled them, from
/// `settled_from`) when that commit is not in this repository or has no such environment.
pub(super) async fn checks_of_release(
    engine: &Engine,
    release: &ReleaseRef,
    settled: &EnvironmentConfig,
    settled_from: &str,
) -> (Vec<SmokeCheck>, String) {
    let project = engine.project.clone();
    let rev = release.commit.clone();
    let info = tokio::task::spawn_blocking(move || project.resolve(&rev).ok())
        .await
        .ok()
        .flatten();
    let fallback = |why: String| {
        let source = format!("the smoke checks of {settled_from} ({why})");
        (settled.smoke.clone(), source)
    };
    let Some(info) = info else {
        return fallback(format!("{} is not in this repository", release.short_commit));
    };
    match crate::engine::pipeline::committed_config(engine, &info).await {
        Ok(Some(config)) => match config.environment(&settled.name) {
            Some(env) => (
                env.smoke.clone(),
                format!("the smoke checks committed in {}", info.short),
            ),
            None => fallback(format!("{} has no [environments.{}]", info.short, settled.name)),
        },
        _ => fallback(format!("release.toml of {} not readable", info.short)),
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
            load: Vec::new(),
            release_command: None,
            accessories: Vec::new(),
            processes: Vec::new(),
            secrets: Vec::new(),
            strategy: Default::default(),
            proxy_image: EnvironmentConfig::DEFAULT_PROXY_IMAGE.into(),
            ready_timeout: None,
            drain: EnvironmentConfig::DEFAULT_DRAIN,
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

    fn check(path: &str) -> SmokeCheck {
        SmokeCheck {
            http: Some(format!("GET {path}")),
            command: None,
            expect_status: Some(200),
            expect_body: None,
            expect_body_regex: None,
            expect_json: None,
            within: None,
        }
    }

    #[test]
    fn uncommitted_smoke_checks_apply_only_with_force() {
        let mut head = env(true, Some("staging"), true);
        head.smoke = vec![check("/health"), check("/ready")];
        let mut working = head.clone();
        working.smoke = vec![check("/")];
        let gated = settle(&working, Some((&head, "a1b2c3d")), false);
        assert_eq!(gated.env.smoke, head.smoke, "HEAD's checks verify the release");
        assert!(
            gated.notes[0].contains("smoke checks 2 checks → 1 check"),
            "{:?}",
            gated.notes
        );
        assert_eq!(gated.overridden, None);
        let forced = settle(&working, Some((&head, "a1b2c3d")), true);
        assert_eq!(forced.env.smoke, working.smoke);
        assert_eq!(
            forced.overridden.as_deref(),
            Some("uncommitted gates: smoke checks 2 checks → 1 check (removed GET /health, GET /ready; added GET /)")
        );
        // The same number of checks, one changed, is a change too, and says which.
        working.smoke = vec![check("/health"), check("/")];
        let gated = settle(&working, Some((&head, "a1b2c3d")), false);
        assert_eq!(gated.env.smoke, head.smoke);
        assert!(
            gated.notes[0].contains("2 checks → 2 checks (removed GET /ready; added GET /)"),
            "{:?}",
            gated.notes
        );
        let mut edited = head.clone();
        edited.smoke[0].expect_status = Some(204);
        let gated = settle(&edited, Some((&head, "a1b2c3d")), true);
        assert!(gated.checks_forced);
        assert!(
            gated
                .overridden
                .as_deref()
                .unwrap_or_default()
                .contains("(edited GET /health)"),
            "{:?}",
            gated.overridden
        );
    }

    #[test]
    fn unchanged_gates_come_from_head_without_a_note() {
        let head = env(true, Some("staging"), true);
        let gated = settle(&head.clone(), Some((&head, "a1b2c3d")), true);
        assert_eq!(gated.overridden, None);
        assert!(gated.notes.is_empty());
    }
}
