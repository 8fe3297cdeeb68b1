//! The source of a run: the git repository, the app inside it, one commit's exact tree.
//!
//! Views never call git themselves; they get what they need from here through the engine.

use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Tree, TreeWalkMode, TreeWalkResult};

use crate::config::CONFIG_FILE;
use crate::text::short_commit;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("no {CONFIG_FILE} found in {start} or any parent directory inside its git repository\n  hint: run shipdeck in an app directory, or pass --repo PATH to one")]
    NoConfig { start: String },
    #[error("{path} is not inside a git repository ({message})\n  hint: shipdeck runs pipelines on commits; run `git init` and commit the app first")]
    NotARepository { path: String, message: String },
    #[error("{0} does not exist\n  hint: --repo (-C) takes the app's directory, or any directory inside it")]
    NoSuchDirectory(String),
    #[error(
        "the repository has no commits yet\n  hint: commit the app first: git add . && git commit -m \"first commit\""
    )]
    NoCommits,
    #[error("the repository at {0} has no working directory (bare repositories are not supported)")]
    Bare(String),
    #[error("cannot resolve revision `{rev}`: {message}\n  hint: give a commit, branch or tag, e.g. --commit HEAD~1")]
    BadRevision { rev: String, message: String },
    #[error("the app directory `{prefix}` does not exist in commit {short}\n  hint: commit the app (git add {prefix} && git commit) before running it")]
    AppNotInCommit { prefix: String, short: String },
    #[error("git error: {0}")]
    Git(#[from] git2::Error),
    #[error("cannot build the workspace archive: {0}")]
    Archive(#[from] std::io::Error),
}

/// Where an app lives: the repository, and the app's directory inside it.
#[derive(Debug, Clone)]
pub struct Project {
    /// The repository's working directory.
    pub repo_root: PathBuf,
    /// The directory holding `release.toml`.
    pub app_dir: PathBuf,
    /// The app directory relative to the repository root, with `/` separators; empty at the root.
    pub prefix: String,
}

/// What the views show of a commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub short: String,
    pub subject: String,
    pub author: String,
    pub email: String,
    /// Seconds since the epoch, as git records them.
    pub time: i64,
    /// The branch HEAD is on, when the commit is HEAD's and HEAD is not detached.
    pub branch: Option<String>,
}

/// Commit metadata is written by whoever made the commit: only what a terminal would show of
/// it, as plain text, goes further (no title, clipboard or screen sequences, no colour).
fn untrusted(text: &str) -> String {
    crate::term::plain_text(text).into_owned()
}

impl CommitInfo {
    /// What the views show of `commit`; `branch` when HEAD is on one and this is its commit.
    fn of(commit: &git2::Commit<'_>, branch: Option<String>) -> CommitInfo {
        let id = commit.id().to_string();
        let author = commit.author();
        CommitInfo {
            short: short_commit(&id),
            subject: untrusted(commit.summary().unwrap_or("")),
            author: untrusted(author.name().unwrap_or("")),
            email: untrusted(author.email().unwrap_or("")),
            time: commit.time().seconds(),
            branch,
            id,
        }
    }
}

impl Project {
    /// Finds the app from `start`: the nearest directory at or above `start`, inside its git
    /// repository, that holds a `release.toml`.
    pub fn discover(start: &Path) -> Result<Project, SourceError> {
        let start = start
            .canonicalize()
            .map_err(|_| SourceError::NoSuchDirectory(start.display().to_string()))?;
        let repo = Repository::discover(&start).map_err(|e| SourceError::NotARepository {
            path: start.display().to_string(),
            message: e.message().to_string(),
        })?;
        let repo_root = repo
            .workdir()
            .ok_or_else(|| SourceError::Bare(repo.path().display().to_string()))?
            .canonicalize()?;
        let mut dir = start.clone();
        loop {
            if dir.join(CONFIG_FILE).is_file() {
                break;
            }
            if dir == repo_root || !dir.pop() || !dir.starts_with(&repo_root) {
                return Err(SourceError::NoConfig {
                    start: start.display().to_string(),
                });
            }
        }
        let prefix = dir
            .strip_prefix(&repo_root)
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default();
        Ok(Project {
            repo_root,
            app_dir: dir,
            prefix,
        })
    }

    pub fn config_path(&self) -> PathBuf {
        self.app_dir.join(CONFIG_FILE)
    }

    /// The `.shipdeck/` directory of this app: history, logs, artifacts.
    pub fn state_dir(&self) -> PathBuf {
        self.app_dir.join(".shipdeck")
    }

    pub fn open(&self) -> Result<Repository, SourceError> {
        Ok(Repository::open(&self.repo_root)?)
    }

    /// Resolves a revision (`HEAD`, a sha, a branch, `HEAD~2`, …) to a commit.
    pub fn resolve(&self, rev: &str) -> Result<CommitInfo, SourceError> {
        let repo = self.open()?;
        if repo.head().is_err_and(|e| e.code() == git2::ErrorCode::UnbornBranch) {
            return Err(SourceError::NoCommits);
        }
        let object = repo.revparse_single(rev).map_err(|e| SourceError::BadRevision {
            rev: rev.to_string(),
            message: e.message().to_string(),
        })?;
        let commit = object.peel_to_commit().map_err(|e| SourceError::BadRevision {
            rev: rev.to_string(),
            message: e.message().to_string(),
        })?;
        let id = commit.id().to_string();
        let branch = head_branch(&repo)
            .filter(|(_, head)| *head == commit.id())
            .map(|(b, _)| b);
        let author = commit.author();
        Ok(CommitInfo {
            short: short_commit(&id),
            id,
            subject: untrusted(commit.summary().unwrap_or("")),
            author: untrusted(author.name().unwrap_or("")),
            email: untrusted(author.email().unwrap_or("")),
            time: commit.time().seconds(),
            branch,
        })
    }

    /// The newest commits reachable from HEAD, newest first (first parents only, so a merge
    /// shows as one entry).
    pub fn recent_commits(&self, limit: usize) -> Result<Vec<CommitInfo>, SourceError> {
        let repo = self.open()?;
        let mut walk = repo.revwalk()?;
        walk.push_head()?;
        walk.simplify_first_parent()?;
        let branch = head_branch(&repo);
        let mut commits = Vec::new();
        for oid in walk.take(limit) {
            let commit = repo.find_commit(oid?)?;
            let on = branch
                .as_ref()
                .filter(|(_, head)| *head == commit.id())
                .map(|(b, _)| b.clone());
            commits.push(CommitInfo::of(&commit, on));
        }
        Ok(commits)
    }

    /// The commits reachable from `to` but not from `from` (what a release from `from` to
    /// `to` brings), newest first, at most `limit`; every commit of `to` when `from` is `None`
    /// or unknown here.
    pub fn commits_between(&self, from: Option<&str>, to: &str, limit: usize) -> Result<Vec<CommitInfo>, SourceError> {
        let repo = self.open()?;
        let mut walk = repo.revwalk()?;
        walk.push(git2::Oid::from_str(to)?)?;
        if let Some(oid) = from.and_then(|f| git2::Oid::from_str(f).ok()) {
            if repo.find_commit(oid).is_ok() {
                walk.hide(oid)?;
            }
        }
        let mut commits = Vec::new();
        for oid in walk.take(limit) {
            commits.push(CommitInfo::of(&repo.find_commit(oid?)?, None));
        }
        Ok(commits)
    }

    /// The app's `release.toml` as committed in `commit`, or `None` when that commit has none.
    pub fn config_at(&self, commit: &str) -> Result<Option<String>, SourceError> {
        let repo = self.open()?;
        let tree = repo.find_commit(Oid::from_str(commit)?)?.tree()?;
        let path = if self.prefix.is_empty() {
            CONFIG_FILE.to_string()
        } else {
            format!("{}/{CONFIG_FILE}", self.prefix)
        };
        // A committed symlink (release.toml -> conf/release.toml) is followed inside the
        // commit's tree, as the working copy's would be; never out of it, and a few hops at most.
        let mut path = path;
        for _ in 0..8 {
            let Ok(entry) = tree.get_path(Path::new(&path)) else {
                return Ok(None);
            };
            let blob = repo.find_blob(entry.id())?;
            if entry.filemode() != 0o120000 {
                return Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()));
            }
            let target = String::from_utf8_lossy(blob.content()).into_owned();
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            match link_target_in_tree(dir, &target) {
                Some(next) => path = next,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The app's subtree of `commit` as a tar archive: exactly what was committed, never the
    /// working directory (uncommitted edits and ignored files stay out).
    pub fn tree_tar(&self, commit: &str) -> Result<Vec<u8>, SourceError> {
        let repo = self.open()?;
        let oid = Oid::from_str(commit)?;
        let commit_object = repo.find_commit(oid)?;
        // Files are dated at the commit: the same commit always gives the same archive, and
        // tools that refuse ancient dates (zip before 1980) are happy.
        let mtime = commit_object.time().seconds().max(0) as u64;
        let tree = commit_object.tree()?;
        let short = short_commit(commit);
        let tree = if self.prefix.is_empty() {
            tree
        } else {
            let entry = tree
                .get_path(Path::new(&self.prefix))
                .map_err(|_| SourceError::AppNotInCommit {
                    prefix: self.prefix.clone(),
                    short: short.clone(),
                })?;
            if entry.kind() != Some(ObjectType::Tree) {
                return Err(SourceError::AppNotInCommit {
                    prefix: self.prefix.clone(),
                    short,
                });
            }
            repo.find_tree(entry.id())?
        };
        write_tree_tar(&repo, &tree, mtime)
    }
}

impl Project {
    /// Whether the app's working tree is exactly HEAD: nothing modified, nothing untracked that
    /// git does not ignore. Saves that leave it so (a commit, a checkout, a reset, a stash, a
    /// `touch`) have nothing of their own to test.
    pub fn worktree_is_clean(&self) -> Result<bool, SourceError> {
        let repo = self.open()?;
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .exclude_submodules(true);
        if !self.prefix.is_empty() {
            options.pathspec(format!("{}/", self.prefix));
        }
        let clean = repo.statuses(Some(&mut options))?.is_empty();
        Ok(clean)
    }

    /// The app's files as they are on disk now: tracked files (as edited) plus untracked files
    /// git does not ignore, as a tar archive — what a save-triggered run tests.
    pub fn worktree_tar(&self) -> Result<Vec<u8>, SourceError> {
        let repo = self.open()?;
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_unmodified(true)
            .include_ignored(false)
            .exclude_submodules(true);
        if !self.prefix.is_empty() {
            options.pathspec(format!("{}/", self.prefix));
        }
        let statuses = repo.statuses(Some(&mut options))?;
        let mut paths: Vec<String> = statuses
            .iter()
            .filter(|e| {
                !e.status()
                    .intersects(git2::Status::WT_DELETED | git2::Status::INDEX_DELETED)
            })
            .filter_map(|e| e.path().map(str::to_string))
            .collect();
        paths.sort();
        let mut builder = tar::Builder::new(Vec::new());
        builder.follow_symlinks(false);
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        for path in paths {
            let Some(relative) = path.strip_prefix(&strip) else {
                continue;
            };
            let on_disk = self.repo_root.join(&path);
            match builder.append_path_with_name(&on_disk, relative) {
                Ok(()) => {}
                // Deleted between the status and now: the snapshot simply does not have it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(builder.into_inner()?)
    }
}

fn head_branch(repo: &Repository) -> Option<(String, Oid)> {
    let head = repo.head().ok()?;
    if !head.is_branch() {
        return None;
    }
    Some((head.shorthand()?.to_string(), head.target()?))
}

/// Writes every blob and symlink of `tree` into a tar, with git's modes, owned by root, dated
/// `mtime`.
fn write_tree_tar(repo: &Repository, tree: &Tree, mtime: u64) -> Result<Vec<u8>, SourceError> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut failure: Option<SourceError> = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let Some(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        let path = format!("{dir}{name}");
        let result = match entry.kind() {
            Some(ObjectType::Tree) => append_dir(&mut builder, &path, mtime),
            Some(ObjectType::Blob) => repo
                .find_blob(entry.id())
                .map_err(SourceError::from)
                .and_then(|blob| append_blob(&mut builder, &path, entry.filemode(), blob.content(), mtime)),
            // Submodules (commits) have no content in this tree; they are left out.
            _ => Ok(()),
        };
        match result {
            Ok(()) => TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(builder.into_inner()?)
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header
}

fn append_dir(builder: &mut tar::Builder<Vec<u8>>, path: &str, mtime: u64) -> Result<(), SourceError> {
    let mut h = header(tar::EntryType::Directory, 0o755, 0, mtime);
    builder.append_data(&mut h, format!("{path}/"), std::io::empty())?;
    Ok(())
}

fn append_blob(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    filemode: i32,
    content: &[u8],
    mtime: u64,
) -> Result<(), SourceError> {
    const SYMLINK: i32 = 0o120000;
    const EXECUTABLE: i32 = 0o100755;
    if filemode == SYMLINK {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0, mtime);
        let target = String::from_utf8_lossy(content).into_owned();
        builder.append_link(&mut h, path, target)?;
    } else {
        let mode = if filemode == EXECUTABLE { 0o755 } else { 0o644 };
        let mut h = header(tar::EntryType::Regular, mode, content.len() as u64, mtime);
        builder.append_data(&mut h, path, content)?;
    }
    Ok(())
}

/// Where a committed symlink in `dir` pointing at `target` leads, as a path from the root of
/// the tree; `None` when it is absolute or climbs out of the tree.
fn link_target_in_tree(dir: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod link_tests {
    #[test]
    fn committed_links_lead_inside_the_tree_only() {
        use super::link_target_in_tree as at;
        assert_eq!(at("", "conf/release.toml").as_deref(), Some("conf/release.toml"));
        assert_eq!(at("apps/a", "../shared/r.toml").as_deref(), Some("apps/shared/r.toml"));
        assert_eq!(at("apps/a", "./r.toml").as_deref(), Some("apps/a/r.toml"));
        assert_eq!(at("", "../outside.toml"), None);
        assert_eq!(at("a", "../../x"), None);
        assert_eq!(at("", "/etc/passwd"), None);
    }
}
