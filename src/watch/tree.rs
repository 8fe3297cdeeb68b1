//! The working tree: one non-recursive watch per directory that is not ignored, with inotify, or the poller once
//! the kernel's watch limit is hit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use super::events::{fs_events, is_limit, Msg};
use super::git::is_instance_limit;
use super::poll::Poller;
use super::rules::Rules;
use super::WatchError;

enum Backend {
    Notify(RecommendedWatcher),
    Poll(Poller),
}

/// Which kernel limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Watches,
    Instances,
}

pub(crate) struct Tree {
    app_dir: PathBuf,
    tx: Sender<Msg>,
    backend: Backend,
    /// Every watched directory, absolute.
    dirs: BTreeSet<PathBuf>,
    poll_interval: Duration,
    /// Test hook: behave as if the kernel allowed only this many watches.
    max_watches: Option<usize>,
    /// Messages for the user, drained by the worker.
    pub warnings: Vec<String>,
    /// The limit warning was given (once per watcher, whichever part hit the limit first).
    limit_warned: bool,
}

impl Tree {
    /// Watch `app_dir` itself (not recursively: release.toml and the top-level files).
    pub fn start(
        app_dir: PathBuf,
        tx: Sender<Msg>,
        poll_interval: Duration,
        max_watches: Option<usize>,
    ) -> Result<Tree, WatchError> {
        let handler_tx = tx.clone();
        let handler = move |result: notify::Result<notify::Event>| {
            let msg = match result {
                Ok(event) if event.need_rescan() => Msg::TreeRescan,
                Ok(event) => {
                    let events = fs_events(event);
                    if events.is_empty() {
                        return;
                    }
                    Msg::Tree(events)
                }
                Err(e) if is_limit(&e) => Msg::TreeLimit,
                Err(e) => {
                    tracing::debug!("working tree watcher: {e}");
                    return;
                }
            };
            let _ = handler_tx.send(msg);
        };
        let (backend, limit) = match notify::recommended_watcher(handler) {
            Ok(watcher) => (Backend::Notify(watcher), None),
            Err(e) if is_instance_limit(&e) || is_limit(&e) => {
                let poller = Poller::start(tx.clone(), poll_interval).map_err(WatchError::Thread)?;
                (Backend::Poll(poller), Some(Limit::Instances))
            }
            Err(source) => return Err(WatchError::Notify { path: app_dir, source }),
        };
        let mut tree = Tree {
            app_dir,
            tx,
            backend,
            dirs: BTreeSet::new(),
            poll_interval,
            max_watches,
            warnings: Vec::new(),
            limit_warned: false,
        };
        if let Some(limit) = limit {
            tree.warn_limit(limit);
        }
        let root = tree.app_dir.clone();
        tree.add(&root)?;
        Ok(tree)
    }

    pub fn len(&self) -> usize {
        self.dirs.len()
    }

    pub fn polling(&self) -> bool {
        matches!(self.backend, Backend::Poll(_))
    }

    pub fn contains(&self, dir: &Path) -> bool {
        self.dirs.contains(dir)
    }

    /// Watch one directory. Errors other than the watch limit (which switches to polling) are returned.
    pub fn add(&mut self, dir: &Path) -> Result<(), WatchError> {
        if self.dirs.contains(dir) {
            return Ok(());
        }
        if let Backend::Notify(watcher) = &mut self.backend {
            let simulated_limit = self.max_watches.is_some_and(|max| self.dirs.len() >= max);
            let result = if simulated_limit {
                Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch))
            } else {
                watcher.watch(dir, RecursiveMode::NonRecursive)
            };
            match result {
                Ok(()) => {}
                Err(e) if is_limit(&e) => self.fall_back(Limit::Watches)?,
                Err(source) => {
                    return Err(WatchError::Notify {
                        path: dir.to_path_buf(),
                        source,
                    })
                }
            }
        }
        if let Backend::Poll(poller) = &self.backend {
            poller.add(dir);
        }
        self.dirs.insert(dir.to_path_buf());
        Ok(())
    }

    /// Stop watching `dir` and every watched directory below it (they were removed or renamed away).
    pub fn remove_under(&mut self, dir: &Path) {
        let gone: Vec<PathBuf> = self
            .dirs
            .range(dir.to_path_buf()..)
            .take_while(|d| d.starts_with(dir))
            .cloned()
            .collect();
        for path in gone {
            if path == self.app_dir {
                continue;
            }
            match &mut self.backend {
                // The kernel drops the watch of a deleted directory itself; an error here means just that.
                Backend::Notify(watcher) => drop(watcher.unwatch(&path)),
                Backend::Poll(poller) => poller.remove(&path),
            }
            self.dirs.remove(&path);
        }
    }

    /// Keep only the app dir's own watch (save watching was turned off).
    pub fn clear_below_root(&mut self) {
        let root = self.app_dir.clone();
        let below: Vec<PathBuf> = self.dirs.iter().filter(|d| **d != root).cloned().collect();
        for dir in below {
            self.remove_under(&dir);
        }
    }

    /// Walk `root` with the ignore rules and watch every directory that is not ignored. With `files`, collect
    /// the files found too (a directory that appeared after the start may already hold files: they are changes).
    pub fn walk(&mut self, rules: &Rules, root: &Path, mut files: Option<&mut Vec<PathBuf>>) {
        for entry in rules.walker(root) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    tracing::debug!("walking {}: {e}", root.display());
                    continue;
                }
            };
            if entry.file_type().is_some_and(|t| t.is_dir()) {
                if let Err(e) = self.add(entry.path()) {
                    // Typically a directory removed meanwhile, or one we may not read.
                    tracing::debug!("{e}");
                }
            } else if let Some(files) = files.as_mut() {
                files.push(entry.into_path());
            }
        }
    }

    /// The kernel refused a watch: release every inotify watch of the tree and poll the same directories.
    pub fn fall_back(&mut self, limit: Limit) -> Result<(), WatchError> {
        if self.polling() {
            return Ok(());
        }
        let poller = Poller::start(self.tx.clone(), self.poll_interval).map_err(WatchError::Thread)?;
        for dir in &self.dirs {
            poller.add(dir);
        }
        self.backend = Backend::Poll(poller);
        self.warn_limit(limit);
        Ok(())
    }

    /// Tell the user, once, that a kernel limit forced polling (of the tree or of the git dir).
    pub fn warn_limit(&mut self, limit: Limit) {
        if !std::mem::replace(&mut self.limit_warned, true) {
            self.warnings
                .push(limit_warning(limit, &self.app_dir, self.poll_interval));
        }
    }
}

/// The warning for the user: which limit, what it means, how to raise it.
fn limit_warning(limit: Limit, root: &Path, interval: Duration) -> String {
    let (setting, raise) = match limit {
        Limit::Watches => ("fs.inotify.max_user_watches", 524_288),
        Limit::Instances => ("fs.inotify.max_user_instances", 1024),
    };
    let file = format!("/proc/sys/{}", setting.replace('.', "/"));
    let current = std::fs::read_to_string(file)
        .map(|v| format!(" = {}", v.trim()))
        .unwrap_or_default();
    format!(
        "the inotify limit {setting}{current} was reached while watching {}: falling back to polling \
         (every {} ms or more), which is slower and costs CPU. Raise it with `sudo sysctl {setting}={raise}` \
         (and put `{setting}={raise}` in /etc/sysctl.d/60-inotify.conf to keep it), then restart shipdeck.",
        root.display(),
        interval.as_millis()
    )
}
