//! The git side: which files of the git dir can move HEAD, watching them, and resolving HEAD with git2.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use git2::{ErrorCode, Repository, RepositoryState};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use super::events::{change_of, is_limit, Msg};
use super::{HeadChange, Trigger};

/// Where git keeps HEAD and the refs. They differ for a linked worktree: HEAD (and its reflog) live in
/// `.git/worktrees/NAME`, the branches in the main repository's git dir.
#[derive(Debug, Clone)]
pub(crate) struct GitDirs {
    pub git_dir: PathBuf,
    pub common_dir: PathBuf,
}

impl GitDirs {
    /// The directories to watch: the git dirs themselves (not recursively: HEAD, packed-refs, ORIG_HEAD, the
    /// rebase state dirs), the branches and the reflogs (recursively). Never `objects/` or the index.
    fn watch_list(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut list = vec![
            (self.git_dir.clone(), RecursiveMode::NonRecursive),
            (self.git_dir.join("logs"), RecursiveMode::Recursive),
        ];
        if self.common_dir != self.git_dir {
            list.push((self.common_dir.clone(), RecursiveMode::NonRecursive));
            list.push((self.common_dir.join("logs"), RecursiveMode::Recursive));
        }
        list.push((self.common_dir.join("refs").join("heads"), RecursiveMode::Recursive));
        list
    }

    /// Whether a change of `path` can mean that HEAD moved (or that a rebase finished).
    pub fn is_relevant(&self, path: &Path) -> bool {
        [&self.git_dir, &self.common_dir].iter().any(|dir| {
            let Ok(rel) = path.strip_prefix(dir) else { return false };
            let first = rel.components().next().map(|c| c.as_os_str());
            first.is_some_and(|name| RELEVANT.iter().any(|r| name == *r))
        })
    }
}

/// Names in the git dir whose change is worth re-resolving HEAD for.
const RELEVANT: [&str; 6] = ["HEAD", "packed-refs", "refs", "logs", "rebase-merge", "rebase-apply"];

/// What HEAD is: the commit it resolves to (None before the first commit) and the branch (None = detached).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeadState {
    pub commit: Option<String>,
    pub branch: Option<String>,
}

/// The outcome of looking at HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    Head(HeadState),
    /// A rebase or `git am` is in progress: HEAD is moving through intermediate commits; wait for the end.
    Busy,
}

/// Read HEAD afresh (a new `Repository` each time, so no cached packed-refs or refs are involved).
pub(crate) fn resolve(repo_root: &Path) -> Result<Resolved, git2::Error> {
    let repo = Repository::open(repo_root)?;
    if matches!(
        repo.state(),
        RepositoryState::Rebase
            | RepositoryState::RebaseInteractive
            | RepositoryState::RebaseMerge
            | RepositoryState::ApplyMailbox
            | RepositoryState::ApplyMailboxOrRebase
    ) {
        return Ok(Resolved::Busy);
    }
    let head = repo.find_reference("HEAD")?;
    let branch = head
        .symbolic_target()
        .map(|target| target.strip_prefix("refs/heads/").unwrap_or(target).to_string());
    let commit = match repo.refname_to_id("HEAD") {
        Ok(oid) => Some(oid.to_string()),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
        Err(e) => return Err(e),
    };
    Ok(Resolved::Head(HeadState { commit, branch }))
}

/// The trigger for HEAD going from `previous` to `now`, if the commit changed.
pub(crate) fn classify(previous: &HeadState, now: &HeadState) -> Option<Trigger> {
    let commit = now.commit.clone()?;
    if previous.commit.as_deref() == Some(commit.as_str()) {
        return None;
    }
    let kind = match &now.branch {
        None => HeadChange::Detached,
        Some(branch) if previous.branch.as_ref() != Some(branch) => HeadChange::BranchSwitched,
        Some(_) => HeadChange::NewCommit,
    };
    Some(Trigger::Head {
        commit,
        branch: now.branch.clone(),
        previous: previous.commit.clone(),
        kind,
    })
}

/// Watches the git dir with the OS's file watcher. `None` watcher means the limit was hit: poll HEAD instead.
pub(crate) struct GitWatch {
    dirs: GitDirs,
    watcher: Option<RecommendedWatcher>,
    /// Directories that did not exist yet (e.g. `logs/` before the first commit): retried on each git event.
    missing: Vec<(PathBuf, RecursiveMode)>,
}

/// Why the git-dir watcher could not use the OS's watcher.
pub(crate) enum GitStart {
    Watching(GitWatch),
    /// The inotify limit was hit: the caller polls HEAD and warns.
    Limit(GitWatch),
}

impl GitWatch {
    pub fn start(dirs: GitDirs, tx: Sender<Msg>) -> Result<GitStart, notify::Error> {
        let filter = dirs.clone();
        let handler = move |result: notify::Result<notify::Event>| match result {
            Ok(event) => {
                let relevant = change_of(&event.kind).is_some() && event.paths.iter().any(|p| filter.is_relevant(p));
                if relevant || event.need_rescan() {
                    let _ = tx.send(Msg::Git);
                }
            }
            Err(e) if is_limit(&e) => {
                let _ = tx.send(Msg::GitLimit);
            }
            Err(e) => tracing::debug!("git dir watcher: {e}"),
        };
        let mut git = GitWatch {
            dirs,
            watcher: None,
            missing: Vec::new(),
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(watcher) => watcher,
            Err(e) if is_limit(&e) || is_instance_limit(&e) => return Ok(GitStart::Limit(git)),
            Err(e) => return Err(e),
        };
        for (path, mode) in git.dirs.watch_list() {
            match watcher.watch(&path, mode) {
                Ok(()) => {}
                Err(e) if is_limit(&e) => return Ok(GitStart::Limit(git)),
                Err(e) if path == git.dirs.git_dir => return Err(e),
                Err(_) => git.missing.push((path, mode)),
            }
        }
        git.watcher = Some(watcher);
        Ok(GitStart::Watching(git))
    }

    /// Stop using the OS's watcher (its limit was hit); HEAD is then polled.
    pub fn stop_watching(&mut self) {
        self.watcher = None;
    }

    /// Watch the directories that appeared since (e.g. `logs/` after the first commit).
    pub fn retry_missing(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else { return };
        self.missing
            .retain(|(path, mode)| !(path.is_dir() && watcher.watch(path, *mode).is_ok()));
    }
}

/// inotify_init failing with EMFILE: too many inotify instances (fs.inotify.max_user_instances).
pub(crate) fn is_instance_limit(error: &notify::Error) -> bool {
    matches!(&error.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::EMFILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(commit: &str, branch: Option<&str>) -> HeadState {
        HeadState {
            commit: Some(commit.into()),
            branch: branch.map(Into::into),
        }
    }

    #[test]
    fn same_commit_is_no_trigger_even_on_another_branch() {
        assert_eq!(classify(&state("a", Some("main")), &state("a", Some("other"))), None);
        assert_eq!(classify(&state("a", Some("main")), &HeadState::default()), None);
    }

    #[test]
    fn the_kind_follows_the_branch() {
        let kind = |t: Option<Trigger>| match t {
            Some(Trigger::Head { kind, .. }) => Some(kind),
            _ => None,
        };
        assert_eq!(
            kind(classify(&state("a", Some("main")), &state("b", Some("main")))),
            Some(HeadChange::NewCommit)
        );
        let switched = classify(&state("a", Some("main")), &state("b", Some("dev")));
        assert_eq!(kind(switched), Some(HeadChange::BranchSwitched));
        assert_eq!(
            kind(classify(&state("a", Some("main")), &state("b", None))),
            Some(HeadChange::Detached)
        );
        let first = classify(
            &HeadState {
                commit: None,
                branch: Some("main".into()),
            },
            &state("b", Some("main")),
        );
        assert_eq!(
            first,
            Some(Trigger::Head {
                commit: "b".into(),
                branch: Some("main".into()),
                previous: None,
                kind: HeadChange::NewCommit
            })
        );
    }

    #[test]
    fn objects_and_the_index_are_not_relevant() {
        let dirs = GitDirs {
            git_dir: "/r/.git".into(),
            common_dir: "/r/.git".into(),
        };
        for yes in [
            "/r/.git/HEAD",
            "/r/.git/refs/heads/main",
            "/r/.git/packed-refs",
            "/r/.git/logs/HEAD",
        ] {
            assert!(dirs.is_relevant(Path::new(yes)), "{yes}");
        }
        for no in [
            "/r/.git/index",
            "/r/.git/objects/ab/cd",
            "/r/.git/COMMIT_EDITMSG",
            "/r/src/HEAD",
            "/r/.git",
        ] {
            assert!(!dirs.is_relevant(Path::new(no)), "{no}");
        }
    }
}
