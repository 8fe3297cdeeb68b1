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

    /// Creates `runs/<n>/logs` and `runs/<n>/artifacts`.
    pub fn ensure_run_dirs(&self, run: RunNumber) -> Result<(), StoreError> {
        for dir in [self.run_dir(run).join("logs"), self.artifacts_dir(run)] {
            fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir { path: dir, source })?;
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
