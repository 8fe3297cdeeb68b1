//! The fallback when the kernel refuses more inotify watches: poll the same directories.
//!
//! notify's `PollWatcher` compares modification times in whole seconds, so a second save within the same second
//! as the first would be missed; this poller compares nanosecond mtime, ctime, size and inode of every entry of
//! each watched directory (not recursively: the same filtered directory set as the inotify watches). Its interval
//! stretches to 10× the time a scan takes, so a huge tree costs at most ~10 % of a core (100,000 files: a scan
//! takes ~0.25 s, so changes are seen within ~2.5 s).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::events::{Change, FsEvent, Msg};

/// What identifies one version of a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: (i64, i64),
    ctime: (i64, i64),
    len: u64,
    ino: u64,
}

type Snapshot = HashMap<OsString, Stamp>;
type Dirs = BTreeMap<PathBuf, Snapshot>;

pub(crate) struct Poller {
    dirs: Arc<Mutex<Dirs>>,
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Poller {
    pub fn start(tx: Sender<Msg>, interval: Duration) -> std::io::Result<Poller> {
        let dirs = Arc::new(Mutex::new(Dirs::new()));
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = Arc::clone(&dirs);
        let thread = std::thread::Builder::new()
            .name("shipdeck-watch-poll".into())
            .spawn(move || {
                let mut wait = interval;
                loop {
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let started = Instant::now();
                    let events = rescan(&mut lock(&shared));
                    wait = interval.max(started.elapsed() * 10);
                    if !events.is_empty() && tx.send(Msg::Tree(events)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Poller {
            dirs,
            stop,
            thread: Some(thread),
        })
    }

    /// Poll `dir` from now on (its current entries are the baseline).
    pub fn add(&self, dir: &Path) {
        let snapshot = scan(dir).unwrap_or_default();
        lock(&self.dirs).insert(dir.to_path_buf(), snapshot);
    }

    pub fn remove(&self, dir: &Path) {
        lock(&self.dirs).remove(dir);
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(dirs: &Mutex<Dirs>) -> MutexGuard<'_, Dirs> {
    dirs.lock().unwrap_or_else(PoisonError::into_inner)
}

fn scan(dir: &Path) -> Option<Snapshot> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut snapshot = Snapshot::new();
    for entry in entries.flatten() {
        // DirEntry::metadata does not follow symlinks, like inotify.
        if let Ok(meta) = entry.metadata() {
            let stamp = Stamp {
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
                len: meta.len(),
                ino: meta.ino(),
            };
            snapshot.insert(entry.file_name(), stamp);
        }
    }
    Some(snapshot)
}

/// Scan every directory and return what changed since the previous scan.
fn rescan(dirs: &mut Dirs) -> Vec<FsEvent> {
    let mut events = Vec::new();
    for (dir, old) in dirs.iter_mut() {
        let Some(new) = scan(dir) else { continue };
        for (name, stamp) in &new {
            let change = match old.get(name) {
                None => Change::Created,
                Some(before) if before != stamp => Change::Modified,
                Some(_) => continue,
            };
            events.push(FsEvent {
                path: dir.join(name),
                change,
            });
        }
        for name in old.keys().filter(|name| !new.contains_key(*name)) {
            events.push(FsEvent {
                path: dir.join(name),
                change: Change::Removed,
            });
        }
        *old = new;
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_creations_changes_within_one_second_and_removals() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        std::fs::write(root.join("a"), "1")?;
        std::fs::write(root.join("gone"), "1")?;
        let mut dirs = Dirs::new();
        dirs.insert(root.clone(), scan(&root).unwrap_or_default());
        assert!(rescan(&mut dirs).is_empty());
        std::fs::write(root.join("a"), "2")?;
        std::fs::write(root.join("b"), "1")?;
        std::fs::remove_file(root.join("gone"))?;
        let mut events = rescan(&mut dirs);
        events.sort_by(|x, y| x.path.cmp(&y.path));
        let expected = vec![
            FsEvent {
                path: root.join("a"),
                change: Change::Modified,
            },
            FsEvent {
                path: root.join("b"),
                change: Change::Created,
            },
            FsEvent {
                path: root.join("gone"),
                change: Change::Removed,
            },
        ];
        assert_eq!(events, expected);
        std::fs::write(root.join("a"), "three")?; // a new size: mtime may not have ticked yet
        assert_eq!(
            rescan(&mut dirs),
            vec![FsEvent {
                path: root.join("a"),
                change: Change::Modified
            }]
        );
        Ok(())
    }
}
