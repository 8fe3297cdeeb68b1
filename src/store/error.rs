//! Errors of the history store; each says what failed, where, and what to do next.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use super::{RunNumber, BUSY_TIMEOUT};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the history recorder has stopped (shipdeck is shutting down)")]
    Closed,

    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot remove the files of an old run, {}: {source}", path.display())]
    RemoveDir { path: PathBuf, source: io::Error },

    #[error("cannot write {}: {source}", path.display())]
    WriteFile { path: PathBuf, source: io::Error },

    #[error("cannot open history database {}: {source}", path.display())]
    Open { path: PathBuf, source: rusqlite::Error },

    #[error(
        "history database {} is not a SQLite database or is damaged; move it aside and shipdeck will start a new history",
        path.display()
    )]
    NotADatabase { path: PathBuf },

    #[error(
        "cannot switch history database {} to WAL mode (journal mode stays {mode:?}); keep .shipdeck on a local filesystem",
        path.display()
    )]
    NoWal { path: PathBuf, mode: String },

    #[error(
        "history database {} has schema version {found}, but this shipdeck knows versions up to {supported}; upgrade shipdeck",
        path.display()
    )]
    SchemaTooNew { path: PathBuf, found: i64, supported: i64 },

    #[error("cannot migrate history database {} to schema version {version} ({name}): {source}", path.display())]
    Migrate {
        path: PathBuf,
        version: i64,
        name: &'static str,
        source: rusqlite::Error,
    },

    #[error(
        "history database {} stayed locked by another process for {}s, so shipdeck could not {op}; retry, or stop the other shipdeck process",
        path.display(),
        BUSY_TIMEOUT.as_secs()
    )]
    Busy {
        path: PathBuf,
        op: &'static str,
        source: rusqlite::Error,
    },

    #[error("history database {}: cannot {op}: {source}", path.display())]
    Sql {
        path: PathBuf,
        op: &'static str,
        source: rusqlite::Error,
    },

    #[error("run #{run} is not in history database {}", path.display())]
    RunNotFound { path: PathBuf, run: RunNumber },

    #[error("run #{run} has no stage {stage:?} in history database {}", path.display())]
    StageNotFound {
        path: PathBuf,
        run: RunNumber,
        stage: String,
    },

    #[error("cannot record a run whose stage list names {stage:?} twice; stage names must be unique")]
    DuplicateStage { stage: String },
}

/// Maps a rusqlite error of operation `op` ("record a new run") to a [`StoreError`].
pub(super) fn sql(path: &Path, op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { path, op, source },
        _ => StoreError::Sql { path, op, source },
    }
}
