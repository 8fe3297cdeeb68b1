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
