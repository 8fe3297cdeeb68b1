//! The watcher's thread: it owns the watches, filters and debounces what they report, and sends [`Trigger`]s.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::events::{Change, FsEvent, Msg};
use super::git::{classify, resolve, GitWatch, HeadState, Resolved};
use super::pending::{Debounce, SaveBurst};
use super::rules::{is_ignore_file, Rules};
use super::tree::{Limit, Tree};
use super::{Shared, Trigger, Tuning};

pub(crate) struct Worker {
    pub rx: Receiver<Msg>,
    pub out: UnboundedSender<Trigger>,
    pub shared: Arc<Shared>,
    pub tuning: Tuning,
    pub repo_root: PathBuf,
    pub app_dir: PathBuf,
    pub save: bool,
    pub paused: bool,
    pub git: GitWatch,
    /// Resolve HEAD on a timer: the git dir could not be watched (watch limit).
    pub git_polling: bool,
    /// The last HEAD delivered (or seen at the start).
    pub head: HeadState,
    pub git_timer: Debounce,
    pub next_git_poll: Instant,
    pub tree: Tree,
    pub rules: Rules,
    pub burst: SaveBurst,
    pub config_timer: Debounce,
    /// release.toml was written while paused: say so on resume.
    pub config_while_paused: bool,
    /// Warnings raised while paused.
    pub held: Vec<Trigger>,
}

impl Worker {
    pub fn run(mut self) {
        loop {
            if !self.deliver_warnings() {
                return;
            }
            self.publish();
            let msg = match self.next_deadline() {
                Some(deadline) => match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(msg) => Some(msg),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
                None => match self.rx.recv() {
                    Ok(msg) => Some(msg),
                    Err(_) => return,
                },
            };
            if let Some(msg) = msg {
                if !self.handle(msg) {
                    return;
                }
            }
            if !self.fire_due(Instant::now()) {
                return;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let poll = self.git_polling.then_some(self.next_git_poll);
        [
            self.git_timer.deadline(),
            self.burst.timer.deadline(),
            self.config_timer.deadline(),
            poll,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn publish(&self) {
        self.shared.watched_dirs.store(self.tree.len(), Ordering::Relaxed);
        self.shared
            .polling
            .store(self.tree.polling() || self.git_polling, Ordering::Relaxed);
    }

    /// Handle one message; false to stop.
    fn handle(&mut self, msg: Msg) -> bool {
        let now = Instant::now();
        match msg {
            Msg::Git => {
                self.git.retry_missing();
                self.git_timer.touch(now);
            }
            Msg::GitLimit => self.poll_git(),
            Msg::Tree(events) => {
                for event in events {
                    self.on_fs_event(event, now);
                }
            }
            Msg::TreeRescan => self.resync(true, now),
            Msg::TreeLimit => {
                if let Err(e) = self.tree.fall_back(Limit::Watches) {
                    self.tree.warnings.push(e.to_string());
                }
                self.resync(false, now);
            }
            Msg::Save(on) => self.set_save(on),
            Msg::Paused(paused) => return self.set_paused(paused),
            Msg::Stop => return false,
        }
        true
    }

    fn poll_git(&mut self) {
        if !self.git_polling {
            self.git.stop_watching();
            self.git_polling = true;
            self.next_git_poll = Instant::now() + self.tuning.poll_interval;
            self.tree.warn_limit(Limit::Watches);
        }
    }

    fn on_fs_event(&mut self, event: FsEvent, now: Instant) {
        let FsEvent { path, change } = event;
        if path.parent() == Some(self.app_dir.as_path()) && path.file_name().is_some_and(|n| n == "release.toml") {
            self.config_timer.touch(now);
            return;
        }
        if !self.save {
            return;
        }
        let was_watched_dir = self.tree.contains(&path);
        let gone = matches!(change, Change::Removed | Change::Deleted);
        if gone && was_watched_dir {
            self.tree.remove_under(&path);
            if change == Change::Deleted {
                // Its files' deletions came through its own watch; reporting the directory too would only split
                // one removal into two saves when the last events arrive after the debounce.
                return;
            }
        }
        let is_dir = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta.is_dir(),
            Err(_) => was_watched_dir,
        };
        if self.rules.is_ignored(&path, is_dir) {
            return;
        }
        if is_ignore_file(&path) && !gone {
            if let Some(dir) = path.parent() {
                self.rules.invalidate(dir);
                let dir = dir.to_path_buf();
                self.tree.walk(&self.rules, &dir, None);
            }
        }
        if is_dir && !gone {
            if !was_watched_dir {
                // A new directory (or one renamed in): watch it and its subdirectories; files already in it
                // were written before the watch existed, so they count as changes.
                let mut files = Vec::new();
                self.tree.walk(&self.rules, &path, Some(&mut files));
                for file in files {
                    self.record(&file, Change::Created, now);
                }
            }
            return;
        }
        self.record(&path, change, now);
    }

    fn record(&mut self, path: &Path, change: Change, now: Instant) {
        if self.paused {
            return;
        }
        if let Ok(rel) = path.strip_prefix(&self.app_dir) {
            self.burst.record(rel.to_path_buf(), change, now);
        }
    }

    /// Events were lost, or watches were moved to the poller: make sure every directory is watched again.
    fn resync(&mut self, lost_events: bool, now: Instant) {
        if self.save {
            let root = self.app_dir.clone();
            self.tree.walk(&self.rules, &root, None);
            if lost_events && !self.paused {
                self.burst.overflow(now);
            }
        }
        if lost_events {
            self.config_timer.touch(now);
        }
    }

    fn set_save(&mut self, on: bool) {
        if on == self.save {
            return;
        }
        self.save = on;
        if on {
            let root = self.app_dir.clone();
            self.tree.walk(&self.rules, &root, None);
        } else {
            self.tree.clear_below_root();
            self.burst.clear();
        }
    }

    fn set_paused(&mut self, paused: bool) -> bool {
        if paused == self.paused {
            return true;
        }
        self.paused = paused;
        if paused {
            self.burst.clear();
            return true;
        }
        for trigger in std::mem::take(&mut self.held) {
            if !self.send(trigger) {
                return false;
            }
        }
        if std::mem::take(&mut self.config_while_paused) && !self.send(Trigger::ConfigChanged) {
            return false;
        }
        self.check_head()
    }

    /// Fire the timers that are due; false when the receiver is gone.
    fn fire_due(&mut self, now: Instant) -> bool {
        if self.git_timer.fire(now) && !self.check_head() {
            return false;
        }
        if self.git_polling && self.next_git_poll <= now {
            self.next_git_poll = now + self.tuning.poll_interval;
            if !self.check_head() {
                return false;
            }
        }
        if self.burst.timer.fire(now) {
            let paths = self.burst.take(&self.app_dir);
            if !paths.is_empty() && !self.paused && !self.send(Trigger::Saved { paths }) {
                return false;
            }
        }
        if self.config_timer.fire(now) {
            if self.paused {
                self.config_while_paused = true;
            } else if !self.send(Trigger::ConfigChanged) {
                return false;
            }
        }
        true
    }

    /// Resolve HEAD and deliver it if it moved since the last delivery (not while paused).
    fn check_head(&mut self) -> bool {
        if self.paused {
            return true;
        }
        let state = match resolve(&self.repo_root) {
            Ok(Resolved::Head(state)) => state,
            // The end of the rebase (its state directory vanishing) is another event.
            Ok(Resolved::Busy) => return true,
            Err(e) => {
                tracing::debug!("resolving HEAD: {e}");
                return true;
            }
        };
        let trigger = classify(&self.head, &state);
        self.head = state;
        match trigger {
            Some(trigger) => self.send(trigger),
            None => true,
        }
    }

    fn deliver_warnings(&mut self) -> bool {
        for warning in std::mem::take(&mut self.tree.warnings) {
            tracing::warn!("{warning}");
            let trigger = Trigger::Warning(warning);
            if self.paused {
                self.held.push(trigger);
            } else if !self.send(trigger) {
                return false;
            }
        }
        true
    }

    fn send(&self, trigger: Trigger) -> bool {
        self.out.send(trigger).is_ok()
    }
}
