//! Finding the release an operation puts on an environment: from the history (green runs) or,
//! when the history does not know it, from the release images on the engine itself.

use super::{with_store, OperationError};
use crate::deploy::Refusal;
use crate::deploy::{provenance, ReleaseRef, Target};
use crate::docker::{labels, ReleaseImage};
use crate::engine::Engine;
use crate::store::RunNumber;

/// A release an operation picked, and in words which one and why (the operator is told).
pub(super) struct Picked {
    pub release: ReleaseRef,
    pub run: Option<RunNumber>,
    pub said: String,
    /// It was named by its commit (which may have other releases).
    pub by_commit: bool,
}

/// What `--release` / `--to` name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    /// `#12`, `run:12`, or a bare number that is no revision.
    Run(RunNumber),
    /// `sha256:…`, or a hex prefix that is no commit but starts a release's image ID.
    Image(String),
    /// A commit (or branch, tag, `HEAD~1`).
    Rev(String),
}

fn selector(wanted: &str) -> Selector {
    let run = wanted
        .strip_prefix('#')
        .or_else(|| wanted.strip_prefix("run:"))
        .or_else(|| wanted.strip_prefix("run-"));
    if let Some(n) = run.and_then(|n| n.parse::<RunNumber>().ok()) {
        return Selector::Run(n);
    }
    if let Some(id) = wanted.strip_prefix("sha256:") {
        return Selector::Image(id.to_ascii_lowercase());
    }
    Selector::Rev(wanted.to_string())
}

/// A candidate release: from the history (with its run) or from the engine's labels.
pub(super) type Candidate = (ReleaseRef, Option<RunNumber>);

/// The release `wanted` names (a commit, a run number `#N` or an image ID prefix), or the
/// newest green run's release when `wanted` is `None`; it must be on the target's engine.
/// A commit with several releases picks the first whose image is in `prefer` (the releases
/// that ran on the environment, for a rollback), else the newest; the words say which and
/// name the others.
pub(super) async fn resolve(
    engine: &Engine,
    target: &Target,
    wanted: Option<&str>,
    prefer: &[String],
) -> Result<Picked, OperationError> {
    let images = release_images(engine, target).await?;
    let on_engine = |id: &str| images.iter().any(|i| i.id == id);
    let Some(wanted) = wanted else {
        let app = target.app.clone();
        let newest = with_store(engine, move |s| s.newest_green_release(&app))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("history not readable: {e}");
                None
            });
        if let Some((run, release)) = newest.filter(|(_, r)| on_engine(&r.image_id)) {
            let said = format!(
                "picked run #{run}'s release {} (the newest green run)",
                release.describe()
            );
            return Ok(Picked {
                release,
                run: Some(run),
                said,
                by_commit: false,
            });
        }
        // The history may be gone or from another machine: the engine knows its release images.
        return match images.first() {
            Some(image) => {
                let (release, run) = candidate_of(engine, image).await;
                let said = format!("picked {} (the newest release image on the engine)", release.describe());
                Ok(Picked { release, run, said, by_commit: false })
            }
            None => Err(OperationError::refused(
                Refusal::NoRelease,
                "no green run with a release image yet: run the pipeline first (`shipdeck run`), or name a release with --release SHA".to_string(),
            )),
        };
    };
    let mut sel = selector(wanted);
    let mut commit = None;
    let mut known = true;
    if let Selector::Rev(rev) = &sel {
        match commit_of(engine, rev).await {
            Ok((c, true)) => commit = Some(c),
            // Not a commit this repository knows: an image ID prefix, a run number, or a commit
            // of another clone (matched against the engine's labels).
            Ok((c, false)) if images.iter().any(|i| short_hex(&i.id).starts_with(&c)) => sel = Selector::Image(c),
            Ok((c, false)) => {
                known = false;
                commit = Some(c)
            }
            Err(_) if rev.chars().all(|c| c.is_ascii_digit()) => {
                sel = Selector::Run(
                    rev.parse()
                        .map_err(|_| OperationError::refused(Refusal::Usage, format!("`{rev}` is no run number")))?,
                )
            }
            Err(e) => return Err(e),
        }
    }
    if let Selector::Image(prefix) = &sel {
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(OperationError::refused(
                Refusal::Usage,
                format!("`{wanted}` is no image ID: give at least 4 hex digits after `sha256:`"),
            ));
        }
    }
    let app = target.app.clone();
    let mut candidates: Vec<Candidate> = match &sel {
        Selector::Run(n) => {
            let n = *n;
            let found = with_store(engine, move |s| s.green_release_of_run(&app, n))
                .await
                .ok()
                .flatten();
            let mut out: Vec<Candidate> = found.into_iter().map(|r| (r, Some(n))).collect();
            if out.is_empty() {
                let run = n.to_string();
                for image in images.iter().filter(|i| i.labels.get(labels::RUN) == Some(&run)) {
                    out.push(candidate_of(engine, image).await);
                }
            }
            out
        }
        Selector::Image(prefix) => {
            let mut out = Vec::new();
            for image in images.iter().filter(|i| short_hex(&i.id).starts_with(prefix.as_str())) {
                out.push(candidate_of(engine, image).await);
            }
            out
        }
        Selector::Rev(_) => {
            let c = commit.clone().unwrap_or_default();
            let from_history = {
                let c = c.clone();
                with_store(engine, move |s| s.green_releases_of_commit(&app, &c))
                    .await
                    .unwrap_or_default()
            };
            let mut out: Vec<Candidate> = from_history.into_iter().map(|(n, r)| (r, Some(n))).collect();
            for image in images
                .iter()
                .filter(|i| i.labels.get(labels::COMMIT).is_some_and(|l| l.starts_with(c.as_str())))
            {
                if !out.iter().any(|(r, _)| r.image_id == image.id) {
                    out.push(candidate_of(engine, image).await);
                }
            }
            out
        }
    };
    candidates.retain(|(r, _)| on_engine(&r.image_id));
    let chosen = candidates
        .iter()
        .position(|(r, _)| prefer.contains(&r.image_id))
        .unwrap_or(0);
    if candidates.is_empty() {
        return Err(not_found(wanted, &sel, commit.as_deref(), known, target));
    }
    if matches!(sel, Selector::Image(_)) && candidates.len() > 1 {
        let all: Vec<String> = candidates.iter().map(|(r, n)| name(r, *n)).collect();
        return Err(OperationError::refused(
            Refusal::Usage,
            format!(
                "`{wanted}` starts the image IDs of {} releases ({}): give more of it",
                all.len(),
                all.join(", ")
            ),
        ));
    }
    let (release, run) = candidates[chosen].clone();
    let mut said = format!("picked {} for `{wanted}`", name(&release, run));
    if candidates.len() > 1 {
        let why = if prefer.contains(&release.image_id) {
            "the one that ran here"
        } else {
            "the newest"
        };
        let others: Vec<String> = candidates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != chosen)
            .map(|(_, (r, n))| name(r, *n))
            .collect();
        said.push_str(&format!(
            " ({why} of {} releases of {}; also {}: name one with --release #RUN or an image ID)",
            candidates.len(),
            release.short_commit,
            others.join(", ")
        ));
    }
    let by_commit = matches!(sel, Selector::Rev(_));
    Ok(Picked {
        release,
        run,
        said,
        by_commit,
    })
}

/// `run #11 a1b2c3d (0123456789ab)`, or without the run when the engine alone knew it.
pub(super) fn name(release: &ReleaseRef, run: Option<RunNumber>) -> String {
    match run {
        Some(n) => format!("run #{n} {}", release.describe()),
        None => release.describe(),
    }
}

fn short_hex(image_id: &str) -> &str {
    image_id.trim_start_matches("sha256:")
}

fn not_found(wanted: &str, sel: &Selector, commit: Option<&str>, known: bool, target: &Target) -> OperationError {
    let at = &target.docker.address;
    let (kind, message) = match (sel, commit) {
        (Selector::Run(n), _) => (
            Refusal::NoRelease,
            format!("run #{n} built no release image that is on the engine at {at} (`shipdeck history` lists the runs)"),
        ),
        (Selector::Image(p), _) => (
            Refusal::NoRelease,
            format!("no release image whose ID starts with {p} on the engine at {at}"),
        ),
        (Selector::Rev(_), Some(_)) if !known => (
            Refusal::Usage,
            format!("`{wanted}` is not a commit of this repository, and no release image on the engine at {at} was built from a commit starting with it"),
        ),
        (_, Some(c)) => (
            Refusal::NoRelease,
            format!(
                "no release image of {wanted} ({}) on the engine at {at}: run its pipeline first (`shipdeck run --commit {wanted}`)",
                &c[..c.len().min(7)]
            ),
        ),
        (_, None) => (Refusal::Usage, format!("`{wanted}` names no release")),
    };
    OperationError::refused(kind, message)
}

/// A release image as a candidate, with the run its label names.
pub(super) async fn candidate_of(engine: &Engine, image: &ReleaseImage) -> Candidate {
    let run = image.labels.get(labels::RUN).and_then(|r| r.parse().ok());
    (release_of(engine, image).await, run)
}

/// The app's release images on the target's engine, newest first: only those a run is known
/// to have built — by the record the run kept on the engine, else by the local history —
/// with that run and commit in place of what the image's own labels claim. Labels alone
/// prove nothing: an image built `FROM` a release inherits them (see deploy::provenance).
pub(super) async fn release_images(engine: &Engine, target: &Target) -> Result<Vec<ReleaseImage>, OperationError> {
    let labelled = target
        .docker
        .images_labelled(&[(labels::APP, &target.app), (labels::ROLE, "release")])
        .await?;
    let ids: Vec<String> = labelled.iter().map(|i| i.id.clone()).collect();
    let app = target.app.clone();
    let in_history = with_store(engine, move |s| {
        let mut known = std::collections::HashMap::new();
        for id in ids {
            if let Some((run, release)) = s.green_releases_of_image(&app, &id)?.into_iter().next() {
                known.insert(id, (run, release.commit));
            }
        }
        Ok(known)
    })
    .await
    .unwrap_or_else(|e| {
        tracing::warn!("history not readable: {e}");
        Default::default()
    });
    let mut releases = Vec::new();
    for mut image in labelled {
        let record = provenance::read(&target.docker, &target.app, &image.id).await?;
        let built_by = match (record, in_history.get(&image.id)) {
            (Some(p), _) => (p.run, p.commit),
            (None, Some((run, commit))) => (*run, commit.clone()),
            (None, None) => {
                tracing::warn!(
                    "{} carries release labels of {} but no run built it: not a release",
                    image.id,
                    target.app
                );
                continue;
            }
        };
        image.labels.insert(labels::RUN.to_string(), built_by.0.to_string());
        image.labels.insert(labels::COMMIT.to_string(), built_by.1);
        releases.push(image);
    }
    Ok(releases)
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
            .unwrap_or_else(|| crate::text::short_commit(&commit)),
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
async fn commit_of(engine: &Engine, rev: &str) -> Result<(String, bool), OperationError> {
    match commit_info(engine, rev).await {
        Some(info) => Ok((info.id, true)),
        None if rev.len() >= 4 && rev.chars().all(|c| c.is_ascii_hexdigit()) => Ok((rev.to_lowercase(), false)),
        None => Err(OperationError::UnknownRevision(rev.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_name_runs_images_and_revisions() {
        assert_eq!(selector("#12"), Selector::Run(12));
        assert_eq!(selector("run:7"), Selector::Run(7));
        assert_eq!(selector("run-7"), Selector::Run(7));
        assert_eq!(selector("sha256:ABCDEF01"), Selector::Image("abcdef01".into()));
        assert_eq!(selector("sha256:"), Selector::Image(String::new()));
        assert_eq!(selector("#x"), Selector::Rev("#x".into()));
        assert_eq!(selector("HEAD~1"), Selector::Rev("HEAD~1".into()));
        assert_eq!(selector("a1b2c3d"), Selector::Rev("a1b2c3d".into()));
    }

    #[test]
    fn a_release_is_named_with_its_run_and_image() {
        let r = ReleaseRef {
            commit: "a".repeat(40),
            short_commit: "aaaaaaa".into(),
            subject: "s".into(),
            image_id: format!("sha256:{}", "0123456789ab".repeat(5)),
            image_tag: None,
        };
        assert_eq!(name(&r, Some(11)), "run #11 aaaaaaa (0123456789ab)");
        assert_eq!(name(&r, None), "aaaaaaa (0123456789ab)");
    }
}
