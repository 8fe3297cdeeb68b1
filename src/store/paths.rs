//! Where a run's files live: `runs/<n>/logs/<stage>.log` and `runs/<n>/artifacts/`.

use std::fs;
use std::path::PathBuf;

use super::{RunNumber, Store, StoreError};

/// The directory of per-run files inside the store.
pub const RUNS_DIR: &str = "runs";

impl Store {
    /// `runs/<n>`.
    pub fn run_dir(&self, run: RunNumber) -> PathBuf {
        self.root.join(RUNS_DIR).join(run.to_string())
    }

    /// `runs/<n>/logs/<stage>.log`; characters outside `[A-Za-z0-9_-]` become `_`.
    pub fn log_path(&self, run: RunNumber, stage: &str) -> PathBuf {
        self.run_dir(run).join("logs").join(format!("{}.log", file_stem(stage)))
    }

    /// `runs/<n>/artifacts`.
    pub fn artifacts_dir(&self, run: RunNumber) -> PathBuf {
        self.run_dir(run).join("artifacts")
    }

    /// Creates `runs/<n>/logs` and `runs/<n>/artifacts`, refusing a symlink in any component
    /// from the store directory down: logs and artifacts are written there, and a repository
    /// must not redirect those writes to elsewhere on the host.
    pub fn ensure_run_dirs(&self, run: RunNumber) -> Result<(), StoreError> {
        let run_dir = self.run_dir(run);
        let steps = [
            self.root.clone(),
            self.root.join(RUNS_DIR),
            run_dir.clone(),
            run_dir.join("logs"),
            self.artifacts_dir(run),
        ];
        for dir in steps {
            let linked = fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink());
            if linked {
                let source = std::io::Error::other("it is a symlink: shipdeck never writes run files through one");
                return Err(StoreError::CreateDir { path: dir, source });
            }
            if let Err(source) = fs::create_dir(&dir) {
                if source.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(StoreError::CreateDir { path: dir, source });
                }
            }
        }
        Ok(())
    }
}

impl Store {
    /// Retention (`[app] keep_runs`): removes `runs/<n>` of every run but the newest `keep`,
    /// except runs that have not ended. The history keeps the runs themselves. Returns the
    /// runs whose files went.
    pub fn prune_run_files(&self, keep: usize) -> Result<Vec<RunNumber>, StoreError> {
        let dir = self.root.join(RUNS_DIR);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut runs: Vec<RunNumber> = entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        runs.sort_unstable_by(|a, b| b.cmp(a));
        let mut removed = Vec::new();
        for run in runs.into_iter().skip(keep) {
            if self.run(run)?.is_some_and(|r| r.status.is_active()) {
                continue;
            }
            let path = self.run_dir(run);
            // A link is removed, never followed.
            let result = match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path),
                Ok(_) => fs::remove_file(&path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            };
            result.map_err(|source| StoreError::RemoveDir { path, source })?;
            removed.push(run);
        }
        Ok(removed)
    }
}

fn file_stem(stage: &str) -> String {
    let stem: String = stage
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "_".to_string()
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::super::{test_support, RunStatus};
    use super::*;

    #[test]
    fn paths_and_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        assert_eq!(
            store.log_path(3, "build-x_1"),
            tmp.path().join("runs/3/logs/build-x_1.log")
        );
        assert_eq!(store.artifacts_dir(3), tmp.path().join("runs/3/artifacts"));
        store.ensure_run_dirs(3).unwrap();
        store.ensure_run_dirs(3).unwrap();
        assert!(tmp.path().join("runs/3/logs").is_dir());
        assert!(tmp.path().join("runs/3/artifacts").is_dir());
    }

    #[test]
    fn run_dirs_are_never_made_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), tmp.path().join("runs")).unwrap();
        let err = store.ensure_run_dirs(4).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn retention_keeps_the_newest_runs_files_and_every_active_run() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let now = chrono::Utc::now();
        // The oldest is still running (a long run, or a crashed one not yet closed): kept.
        let mut runs = vec![store.create_run(&test_support::new_run("me"), now).unwrap()];
        store.run_started(runs[0], now).unwrap();
        for _ in 0..4 {
            runs.push(test_support::finished_run(
                &mut store,
                "1a2b3c4",
                RunStatus::Success,
                None,
                now,
            ));
        }
        for &run in &runs {
            store.ensure_run_dirs(run).unwrap();
            fs::write(store.log_path(run, "test"), "line\n").unwrap();
        }
        // A link planted in place of a run's directory is removed, never followed.
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("keep.txt"), "x").unwrap();
        fs::remove_dir_all(store.run_dir(runs[1])).unwrap();
        std::os::unix::fs::symlink(outside.path(), store.run_dir(runs[1])).unwrap();

        let removed = store.prune_run_files(2).unwrap();
        assert_eq!(removed, vec![runs[2], runs[1]]);
        assert!(store.run_dir(runs[0]).is_dir(), "an active run keeps its files");
        assert!(!store.run_dir(runs[1]).exists() && !store.run_dir(runs[2]).exists());
        assert!(store.run_dir(runs[3]).is_dir() && store.run_dir(runs[4]).is_dir());
        assert!(outside.path().join("keep.txt").exists());
        // The history still has every run.
        assert!(store.run(runs[1]).unwrap().is_some());
        assert_eq!(store.prune_run_files(2).unwrap(), Vec::<RunNumber>::new());
    }

    #[test]
    fn stage_names_cannot_escape_the_logs_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let logs = tmp.path().join("runs/1/logs");
        for (stage, file) in [
            ("../../x", "______x.log"),
            ("/etc/passwd", "_etc_passwd.log"),
            ("a b.c", "a_b_c.log"),
            ("", "_.log"),
            ("é", "_.log"),
        ] {
            assert_eq!(store.log_path(1, stage), logs.join(file), "{stage:?}");
        }
    }
}
