//! Triggers from a git repository: new commits (from the refs and the reflog, via notify + git2), saved files in
//! the app's working tree (debounced, filtered by the ignore rules), edits of `release.toml`, and warnings.
//!
//! One background thread owns the watches and the debounce timers; notify's threads feed it. Triggers arrive on a
//! tokio unbounded channel, so the engine can `select!` on them. No UI, no Docker.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shipdeck::watch::WatchError> {
//! use shipdeck::watch::{Trigger, WatchOptions, Watcher};
//! let (watcher, mut triggers) = Watcher::start(WatchOptions::new("/src/app"))?;
//! while let Some(trigger) = triggers.recv().await {
//!     if let Trigger::Head { commit, .. } = trigger {
//!         println!("new commit {commit} ({} directories watched)", watcher.watched_dirs());
//!     }
//! }
//! # Ok(()) }
//! ```

mod error;
mod events;
mod git;
mod pending;
mod poll;
mod rules;
mod tree;
mod worker;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

pub use error::WatchError;

use events::Msg;
use git::{GitDirs, GitStart, GitWatch, HeadState, Resolved};
use pending::{Debounce, SaveBurst};
use rules::Rules;
use tree::{Limit, Tree};
use worker::Worker;

/// What to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// The repository's working directory.
    pub repo_root: PathBuf,
    /// The directory with release.toml: `repo_root` or a subdirectory of it (an app in a monorepo).
    /// A relative path is taken relative to `repo_root`.
    pub app_dir: PathBuf,
    /// Watch files for saves (else only commits and the config).
    pub save: bool,
    /// `[watch].debounce_ms`: the quiet time that ends a burst of saves.
    pub debounce: Duration,
    /// `[watch].ignore`: gitignore-style globs relative to `app_dir`, on top of the ignore files.
    pub ignore: Vec<String>,
}

impl WatchOptions {
    /// The default debounce, 300 ms.
    pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(300);

    /// Watch the repository at `repo_root`, its root being the app dir, saves on, default debounce, no globs.
    pub fn new(repo_root: impl Into<PathBuf>) -> WatchOptions {
        let repo_root = repo_root.into();
        WatchOptions {
            app_dir: repo_root.clone(),
            repo_root,
            save: true,
            debounce: Self::DEFAULT_DEBOUNCE,
            ignore: Vec::new(),
        }
    }
}

/// Something the engine may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// HEAD now resolves to a different commit than before: a commit, amend, rebase (once, at its end), merge,
    /// cherry-pick, reset, pull, a commit made by another tool, or a branch switch / checkout of a detached commit.
    Head {
        /// The full sha.
        commit: String,
        /// None = detached.
        branch: Option<String>,
        /// The commit delivered before (None before the first commit).
        previous: Option<String>,
        kind: HeadChange,
    },
    /// Files in the app's working tree changed (debounced: a burst of saves is one trigger). Paths relative to
    /// `app_dir`, sorted, deduplicated; a temporary file created and removed within the burst is left out. After
    /// lost kernel events (queue overflow) the list starts with `.`: anything may have changed.
    Saved { paths: Vec<PathBuf> },
    /// `app_dir/release.toml` was written (debounced too).
    ConfigChanged,
    /// Something the user must know, e.g. the watcher fell back to polling, and how to fix it.
    Warning(String),
}

/// How HEAD moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadChange {
    /// The same branch moved.
    NewCommit,
    /// Another branch is checked out.
    BranchSwitched,
    /// HEAD is detached.
    Detached,
}

/// State shared between the handle and the worker thread.
pub(crate) struct Shared {
    watched_dirs: AtomicUsize,
    polling: AtomicBool,
}

/// Internal timings, and a test hook for the inotify limit.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    /// Quiet time of the git debounce (a rebase or a commit touches several refs and logs in a row).
    pub git_quiet: Duration,
    /// The git debounce never waits longer than this after the first change.
    pub git_cap: Duration,
    /// Interval of the polling fallback (stretched for huge trees).
    pub poll_interval: Duration,
    /// Behave as if the kernel allowed only this many working-tree watches.
    pub max_tree_watches: Option<usize>,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            git_quiet: Duration::from_millis(50),
            git_cap: Duration::from_millis(150),
            poll_interval: Duration::from_secs(1),
            max_tree_watches: None,
        }
    }
}

/// Watches a repository; dropping it stops watching (and ends the trigger channel).
pub struct Watcher {
    shared: Arc<Shared>,
    tx: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Resolve HEAD, watch the git dir and (with `save`) every directory of the app that is not ignored, then
    /// return. Blocks while it walks the tree (well under a second for 100,000 files): from an async context,
    /// call it in `spawn_blocking`. Needs no tokio runtime itself.
    pub fn start(options: WatchOptions) -> Result<(Watcher, UnboundedReceiver<Trigger>), WatchError> {
        Self::start_tuned(options, Tuning::default())
    }

    pub(crate) fn start_tuned(
        options: WatchOptions,
        tuning: Tuning,
    ) -> Result<(Watcher, UnboundedReceiver<Trigger>), WatchError> {
        let repo = git2::Repository::open(&options.repo_root).map_err(|source| WatchError::OpenRepo {
            repo_root: options.repo_root.clone(),
            source,
        })?;
        let workdir = repo.workdir().ok_or_else(|| WatchError::Bare {
            repo_root: options.repo_root.clone(),
        })?;
        let repo_root = canonical(workdir)?;
        let app_dir = canonical(&options.repo_root.join(&options.app_dir))?;
        if !app_dir.starts_with(&repo_root) {
            return Err(WatchError::AppDirOutsideRepo {
                app_dir,
                workdir: repo_root,
            });
        }
        let dirs = GitDirs {
            git_dir: canonical(repo.path())?,
            common_dir: canonical(repo.commondir())?,
        };
        drop(repo);
        let head = match git::resolve(&repo_root) {
            Ok(Resolved::Head(head)) => head,
            // Mid-rebase: compare the final HEAD with the one the rebase started from.
            Ok(Resolved::Busy) => HeadState::default(),
            Err(source) => {
                return Err(WatchError::Head {
                    git_dir: dirs.git_dir.clone(),
                    source,
                })
            }
        };
        let rules = Rules::new(&repo_root, &app_dir, &dirs.common_dir, &options.ignore)?;

        let (tx, rx) = mpsc::channel();
        let git_dir = dirs.git_dir.clone();
        let (git, git_polling) = match GitWatch::start(dirs, tx.clone()) {
            Ok(GitStart::Watching(git)) => (git, false),
            Ok(GitStart::Limit(git)) => (git, true),
            Err(source) => return Err(WatchError::Notify { path: git_dir, source }),
        };
        let mut tree = Tree::start(
            app_dir.clone(),
            tx.clone(),
            tuning.poll_interval,
            tuning.max_tree_watches,
        )?;
        if git_polling {
            tree.warn_limit(Limit::Watches);
        }
        if options.save {
            tree.walk(&rules, &app_dir, None);
        }

        let shared = Arc::new(Shared {
            watched_dirs: AtomicUsize::new(tree.len()),
            polling: AtomicBool::new(tree.polling() || git_polling),
        });
        let (out, triggers) = unbounded_channel();
        let worker = Worker {
            rx,
            out,
            shared: Arc::clone(&shared),
            repo_root,
            app_dir,
            save: options.save,
            paused: false,
            git,
            git_polling,
            head,
            git_timer: Debounce::new(tuning.git_quiet, tuning.git_cap),
            next_git_poll: Instant::now() + tuning.poll_interval,
            tree,
            rules,
            burst: SaveBurst::new(options.debounce),
            config_timer: Debounce::new(options.debounce, options.debounce * 10),
            config_while_paused: false,
            held: Vec::new(),
            tuning,
        };
        let thread = std::thread::Builder::new()
            .name("shipdeck-watch".into())
            .spawn(move || worker.run())
            .map_err(WatchError::Thread)?;
        Ok((
            Watcher {
                shared,
                tx,
                thread: Some(thread),
            },
            triggers,
        ))
    }

    /// Turn save watching on or off (commits and release.toml are watched either way). Returns at once: the
    /// watcher thread walks the tree and adds the watches, and saves count from then on ([`Self::watched_dirs`]
    /// shows the new count when it is done).
    pub fn set_save(&self, on: bool) {
        let _ = self.tx.send(Msg::Save(on));
    }

    /// While paused nothing is delivered and saves are dropped; on resume, a HEAD that moved meanwhile is
    /// delivered once, and so are a release.toml edit and warnings from the pause.
    pub fn set_paused(&self, paused: bool) {
        let _ = self.tx.send(Msg::Paused(paused));
    }

    /// How many directories of the working tree are watched (or polled).
    pub fn watched_dirs(&self) -> usize {
        self.shared.watched_dirs.load(Ordering::Relaxed)
    }

    /// Whether any part is polled because the kernel's inotify limit was reached.
    pub fn polling(&self) -> bool {
        self.shared.polling.load(Ordering::Relaxed)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn canonical(path: &Path) -> Result<PathBuf, WatchError> {
    std::fs::canonicalize(path).map_err(|source| WatchError::Dir {
        path: path.to_path_buf(),
        source,
    })
}
