//! Schema migrations, versioned with `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes the database from version `i` to `i + 1`. Append new migrations
//! (deployments, smoke results, audit, …) at the end; never edit or reorder a shipped one.
//! Each runs in its own `BEGIN IMMEDIATE` transaction together with the version bump, so
//! two processes opening a fresh store at once cannot both apply it.
//! Foreign keys are ON and cannot be switched inside a transaction: a migration that rebuilds
//! a referenced table must create-copy-drop-rename without breaking references.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::error::{self, StoreError};

pub(super) struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "runs and stages",
        sql: r#"
CREATE TABLE runs (
    number       INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, even after pruning
    app          TEXT NOT NULL,
    commit_sha   TEXT NOT NULL,
    short_commit TEXT NOT NULL,
    branch       TEXT,
    subject      TEXT NOT NULL,
    author       TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    owner        TEXT NOT NULL,
    status       TEXT NOT NULL,
    queued_at    TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    duration_ms  INTEGER,
    image_id     TEXT,
    image_tag    TEXT
) STRICT;
CREATE INDEX runs_active ON runs (status) WHERE status IN ('queued', 'running');
CREATE INDEX runs_commit ON runs (commit_sha);

CREATE TABLE stages (
    run          INTEGER NOT NULL REFERENCES runs (number) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    exit_code    INTEGER,
    started_at   TEXT,
    finished_at  TEXT,
    duration_ms  INTEGER,
    message      TEXT,
    image_id     TEXT,
    PRIMARY KEY (run, position),
    UNIQUE (run, name)
) STRICT;
"#,
    },
    Migration {
        name: "operations and smoke results",
        sql: r#"
CREATE TABLE operations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
    app          TEXT NOT NULL,
    env          TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_commit  TEXT,            -- the release replaced, when known
    from_short   TEXT,
    from_subject TEXT,
    from_image   TEXT,
    from_tag     TEXT,
    to_commit    TEXT,            -- the release put in place, once resolved
    to_short     TEXT,
    to_subject   TEXT,
    to_image     TEXT,
    to_tag       TEXT,
    run          INTEGER,         -- the run that built the release; no foreign key: runs are pruned
    by_git       TEXT,
    by_os        TEXT NOT NULL,
    by_host      TEXT NOT NULL,
    owner        TEXT NOT NULL,
    approval     TEXT,
    forced       INTEGER NOT NULL CHECK (forced IN (0, 1)),
    outcome      TEXT NOT NULL,
    message      TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    duration_ms  INTEGER
) STRICT;
CREATE INDEX operations_env ON operations (app, env, id);
CREATE INDEX operations_running ON operations (outcome) WHERE outcome = 'running';

CREATE TABLE smoke_results (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    operation    INTEGER NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    app          TEXT NOT NULL,
    env          TEXT NOT NULL,
    commit_sha   TEXT NOT NULL,
    image_id     TEXT NOT NULL,
    position     INTEGER NOT NULL,
    check_name   TEXT NOT NULL,
    passed       INTEGER NOT NULL CHECK (passed IN (0, 1)),
    attempts     INTEGER NOT NULL,
    latency_ms   INTEGER NOT NULL,
    status       INTEGER,
    excerpt      TEXT,
    message      TEXT NOT NULL,
    at           TEXT NOT NULL
) STRICT;
CREATE INDEX smoke_results_image ON smoke_results (app, env, image_id);
CREATE INDEX smoke_results_operation ON smoke_results (operation, position);
"#,
    },
    Migration {
        name: "which gate an operation overrode, and where its gates came from",
        sql: r#"
ALTER TABLE operations ADD COLUMN overridden TEXT; -- in words: "smoke gate: …"
ALTER TABLE operations ADD COLUMN policy TEXT;     -- "release.toml at a1b2c3d"
"#,
    },
    Migration {
        name: "operations' log lines",
        sql: r#"
CREATE TABLE operation_logs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    operation    INTEGER NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    line         TEXT NOT NULL
) STRICT;
CREATE INDEX operation_logs_operation ON operation_logs (operation, id);
"#,
    },
    Migration {
        name: "notifications' delivery outcomes",
        sql: r#"
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    event        TEXT NOT NULL,
    env          TEXT,
    status       TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    message      TEXT NOT NULL,
    at           TEXT NOT NULL
) STRICT;
CREATE INDEX runs_branch ON runs (app, branch, number);
"#,
    },
    Migration {
        name: "load test results",
        sql: r#"
CREATE TABLE load_results (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    operation        INTEGER NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    app              TEXT NOT NULL,
    env              TEXT NOT NULL,
    commit_sha       TEXT NOT NULL,
    image_id         TEXT NOT NULL,
    short_commit     TEXT NOT NULL,
    position         INTEGER NOT NULL,
    check_name       TEXT NOT NULL,  -- "GET /health"
    rate             INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    sent             INTEGER NOT NULL,
    errors           INTEGER NOT NULL,
    achieved_rate    REAL NOT NULL,
    p50_us           INTEGER NOT NULL,
    p95_us           INTEGER NOT NULL,
    p99_us           INTEGER NOT NULL,
    max_us           INTEGER NOT NULL,
    baseline_p99_us  INTEGER,
    baseline_release TEXT,
    passed           INTEGER NOT NULL CHECK (passed IN (0, 1)),
    message          TEXT NOT NULL,
    at               TEXT NOT NULL
) STRICT;
CREATE INDEX load_results_entry ON load_results (app, env, check_name, rate, passed);
CREATE INDEX load_results_operation ON load_results (operation, position);
"#,
    },
    Migration {
        name: "scan stages' verdicts",
        sql: r#"
ALTER TABLE stages ADD COLUMN scan TEXT; -- JSON of scan::ScanVerdict: counts per severity, passed
"#,
    },
];

/// The schema version this build writes.
pub(super) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the database up to [`latest_version`].
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let latest = latest_version();
    let current = user_version(conn).map_err(error::sql(path, "read the schema version"))?;
    check_not_newer(path, current)?;
    if current == latest {
        return Ok(());
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(error::sql(path, "lock the database to migrate it"))?;
        // Re-read under the write lock: another process may have migrated meanwhile.
        let current = user_version(&tx).map_err(error::sql(path, "read the schema version"))?;
        check_not_newer(path, current)?;
        let Some(migration) = usize::try_from(current).ok().and_then(|i| MIGRATIONS.get(i)) else {
            return Ok(());
        };
        let version = current + 1;
        let fail = |source| StoreError::Migrate {
            path: path.to_path_buf(),
            version,
            name: migration.name,
            source,
        };
        tx.execute_batch(migration.sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version).map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
}

fn check_not_newer(path: &Path, current: i64) -> Result<(), StoreError> {
    if current > latest_version() {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: current,
            supported: latest_version(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn migrations_are_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let n = store
            .create_run(
                &crate::store::test_support::new_run("me"),
                crate::store::test_support::t(0),
            )
            .unwrap();
        drop(store);
        let store = Store::open(tmp.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), latest_version());
        assert!(store.run(n).unwrap().is_some());
        drop(store);
        let store = Store::open(tmp.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), latest_version());
        let tables: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'stages')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 2);
    }

    #[test]
    fn every_migration_applies_from_scratch() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(user_version(&conn).unwrap(), latest_version());
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(user_version(&conn).unwrap(), latest_version());
    }

    #[test]
    fn a_newer_schema_is_refused_with_advice() {
        let tmp = tempfile::tempdir().unwrap();
        drop(Store::open(tmp.path()).unwrap());
        let conn = Connection::open(tmp.path().join(super::super::DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1).unwrap();
        drop(conn);
        let err = Store::open(tmp.path()).unwrap_err();
        assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");
        assert!(err.to_string().contains("upgrade shipdeck"), "{err}");
    }

    #[test]
    fn concurrent_first_opens_migrate_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".shipdeck");
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    barrier.wait();
                    let store = Store::open(&dir).unwrap();
                    assert_eq!(store.schema_version().unwrap(), latest_version());
                });
            }
        });
    }
}
