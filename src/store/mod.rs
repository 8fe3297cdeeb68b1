//! History store of one app: the `.shipdeck/` directory beside its `release.toml`.
//!
//! ```text
//! .shipdeck/
//!   .gitignore                      "*" so the directory is never committed
//!   history.sqlite                  runs, stages, operations on environments (the audit:
//!                                   who, approval, force), smoke results
//!   runs/<n>/logs/<stage>.log       full stage logs, written by the engine
//!   runs/<n>/artifacts/
//! ```
//!
//! The database runs in WAL mode with a busy timeout, so several shipdeck processes can share
//! it; every write is one transaction, so a crash loses nothing that a method acknowledged.
//! All calls block: async callers should run them on a blocking thread.

mod error;
mod interrupted;
mod load_results;
mod notifications;
mod operation_logs;
mod operation_reads;
mod operations;
mod paths;
mod query;
mod releases;
mod runs;
mod schema;
mod status_sql;
mod time;

#[cfg(test)]
pub(crate) mod test_support;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use crate::model::{RunStatus, StageStatus};
pub use error::StoreError;
pub use notifications::{NewNotification, NotificationRecord};
pub use operations::{NewOperation, OperationRecord, SmokeVerdict};
pub use query::{RunRecord, StageRecord, StageScan};
pub use runs::NewRun;

/// Run numbers: 1, 2, 3, … per store, never reused.
pub type RunNumber = i64;

/// The database file inside the store directory.
pub const DB_FILE: &str = "history.sqlite";
/// How long a write waits for another process holding the database lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open history store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    root: PathBuf,
    db_path: PathBuf,
}

impl Store {
    /// Opens the store in `dir` (the `.shipdeck` directory), creating the directory, its
    /// `.gitignore` and the database as needed, and applying pending schema migrations.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        // A repository can commit `.shipdeck` as a symlink: history and run files would then
        // be written wherever it points.
        if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(StoreError::CreateDir {
                path: dir.to_path_buf(),
                source: std::io::Error::other("it is a symlink: shipdeck never writes its state through one"),
            });
        }
        fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        write_gitignore(dir)?;
        let db_path = dir.join(DB_FILE);
        // Never through a symlink planted at the database's name.
        let flags = rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let mut conn = Connection::open_with_flags(&db_path, flags).map_err(|source| StoreError::Open {
            path: db_path.clone(),
            source,
        })?;
        configure(&conn, &db_path)?;
        schema::migrate(&mut conn, &db_path)?;
        Ok(Store {
            conn,
            root: dir.to_path_buf(),
            db_path,
        })
    }

    /// The store directory (`.shipdeck`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database file (`.shipdeck/history.sqlite`).
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(error::sql(&self.db_path, "read the schema version"))
    }
}

/// Creates `.gitignore` with `*` unless one exists (a user's own one is left alone).
fn write_gitignore(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(".gitignore");
    match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut file) => file
            .write_all(b"*\n")
            .map_err(|source| StoreError::WriteFile { path, source }),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::WriteFile { path, source }),
    }
}

fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let open_err = |source: rusqlite::Error| {
        if source.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
            StoreError::NotADatabase {
                path: path.to_path_buf(),
            }
        } else {
            StoreError::Open {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // Switching a new database to WAL needs an exclusive lock, and SQLite reports a busy
    // database here at once rather than through the busy handler: retry for the timeout, so
    // two shipdeck processes opening a fresh store at once both succeed.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mode: String = loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => break result.map_err(open_err)?,
        }
    };
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NoWal {
            path: path.to_path_buf(),
            mode,
        });
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_dir_gitignore_and_wal_db() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("app/.shipdeck");
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.root(), dir);
        assert_eq!(fs::read_to_string(dir.join(".gitignore")).unwrap(), "*\n");
        assert!(dir.join(DB_FILE).is_file());
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let sync: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "NORMAL");
        assert_eq!(store.schema_version().unwrap(), schema::latest_version());
    }

    #[test]
    fn open_keeps_an_existing_gitignore() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(".gitignore"), "custom\n").unwrap();
        Store::open(tmp.path()).unwrap();
        assert_eq!(fs::read_to_string(tmp.path().join(".gitignore")).unwrap(), "custom\n");
    }

    #[test]
    fn open_a_garbage_file_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(DB_FILE), vec![b'x'; 4096]).unwrap();
        let err = Store::open(tmp.path()).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("history.sqlite"), "{msg}");
        assert!(msg.contains("move it aside"), "{msg}");
    }

    #[test]
    fn a_symlinked_state_dir_is_refused_and_nothing_written_where_it_points() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), tmp.path().join(".shipdeck")).unwrap();
        let err = Store::open(&tmp.path().join(".shipdeck")).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn open_error_names_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        fs::write(&file, "").unwrap();
        let err = Store::open(&file.join(".shipdeck")).unwrap_err();
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }
}
