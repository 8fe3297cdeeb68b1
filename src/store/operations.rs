//! The audit history of operations on environments (deploy, promote, rollback, auto-rollback,
//! smoke) and the smoke-check results they recorded.
//!
//! An operation is recorded `running` when it starts ([`Store::create_operation`]) and closed
//! with its outcome ([`Store::finish_operation`]); one that a dead process left running is
//! closed as `interrupted` by [`Store::mark_interrupted_operations`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::error::{self, StoreError};
use super::runs::write_tx;
use super::time::{self, millis_between, SqlTime};
use super::{RunNumber, RunStatus, Store};
use crate::deploy::model::{OpAction, OpOutcome, Operator, ReleaseRef, SmokeResult};

/// What is known about an operation when it starts.
#[derive(Debug, Clone, Copy)]
pub struct NewOperation<'a> {
    pub app: &'a str,
    pub env: &'a str,
    pub action: OpAction,
    /// The release it replaces, when known.
    pub from: Option<&'a ReleaseRef>,
    /// The release it puts in place; may be set later with [`Store::set_operation_target`].
    pub to: Option<&'a ReleaseRef>,
    /// The run that built the target release.
    pub run: Option<RunNumber>,
    pub operator: &'a Operator,
    /// The process that runs it (e.g. "<pid>@<host>"), checked by
    /// [`Store::mark_interrupted_operations`].
    pub owner: &'a str,
    /// How it was approved: "typed production", "--yes", …
    pub approval: Option<&'a str>,
    pub forced: bool,
}

/// One operation as stored, with the smoke results it recorded (in check order).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OperationRecord {
    pub id: i64,
    pub app: String,
    pub env: String,
    pub action: OpAction,
    pub from: Option<ReleaseRef>,
    pub to: Option<ReleaseRef>,
    pub run: Option<RunNumber>,
    pub operator: Operator,
    pub approval: Option<String>,
    pub forced: bool,
    pub outcome: OpOutcome,
    pub message: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "time::serialize_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub smoke: Vec<SmokeResult>,
}

/// What the latest smoke operation found for one image on one environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SmokeVerdict {
    /// Every check passed.
    pub passed: bool,
    /// When its last check finished.
    #[serde(serialize_with = "time::serialize")]
    pub at: DateTime<Utc>,
    /// The operation that ran the checks.
    pub operation: i64,
    /// The failed checks, in check order: "GET /health: expected status 200, got 503".
    pub failures: Vec<String>,
}

/// Actions that put a release in place on an environment.
const PLACING_ACTIONS: [OpAction; 4] = [
    OpAction::Deploy,
    OpAction::Promote,
    OpAction::Rollback,
    OpAction::AutoRollback,
];

const OP_COLUMNS: &str = "id, app, env, action, \
     from_commit, from_short, from_subject, from_image, from_tag, \
     to_commit, to_short, to_subject, to_image, to_tag, \
     run, by_git, by_os, by_host, approval, forced, outcome, message, \
     started_at, finished_at, duration_ms";

const SMOKE_COLUMNS: &str = "check_name, passed, attempts, latency_ms, status, excerpt, message";

impl Store {
    /// Records a new operation with outcome `running`, and returns its id.
    pub fn create_operation(&mut self, op: &NewOperation<'_>, at: DateTime<Utc>) -> Result<i64, StoreError> {
        let sql_op = "record a new operation";
        let tx = write_tx(&mut self.conn, &self.db_path, sql_op)?;
        let from = ReleaseColumns::of(op.from);
        let to = ReleaseColumns::of(op.to);
        tx.execute(
            "INSERT INTO operations (app, env, action,
                                     from_commit, from_short, from_subject, from_image, from_tag,
                                     to_commit, to_short, to_subject, to_image, to_tag,
                                     run, by_git, by_os, by_host, owner, approval, forced,
                                     outcome, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20, ?21, ?22)",
            params![
                op.app,
                op.env,
                SqlAction(op.action),
                from.commit,
                from.short,
                from.subject,
                from.image,
                from.tag,
                to.commit,
                to.short,
                to.subject,
                to.image,
                to.tag,
                op.run,
                op.operator.git_user,
                op.operator.os_user,
                op.operator.host,
                op.owner,
                op.approval,
                op.forced,
                SqlOutcome(OpOutcome::Running),
                SqlTime(at),
            ],
        )
        .map_err(error::sql(&self.db_path, sql_op))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(error::sql(&self.db_path, sql_op))?;
        Ok(id)
    }

    /// Records the operation's outcome; the duration is measured from its start. A later call
    /// overwrites an earlier one (as for runs).
    pub fn finish_operation(
        &mut self,
        id: i64,
        outcome: OpOutcome,
        message: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let op = "record that an operation finished";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        let started: Option<SqlTime> = tx
            .query_row("SELECT started_at FROM operations WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .map_err(error::sql(&self.db_path, op))?;
        let Some(started) = started else {
            drop(tx);
            return Err(operation_not_found(&self.db_path, op));
        };
        tx.execute(
            "UPDATE operations SET outcome = ?2, message = ?3, finished_at = ?4, duration_ms = ?5
             WHERE id = ?1",
            params![
                id,
                SqlOutcome(outcome),
                message,
                SqlTime(at),
                millis_between(started.0, at)
            ],
        )
        .map_err(error::sql(&self.db_path, op))?;
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    /// Records the release the operation puts in place, once it is resolved.
    pub fn set_operation_target(&mut self, id: i64, to: &ReleaseRef) -> Result<(), StoreError> {
        let op = "record the target release of an operation";
        let to = ReleaseColumns::of(Some(to));
        let n = self
            .conn
            .execute(
                "UPDATE operations SET to_commit = ?2, to_short = ?3, to_subject = ?4, to_image = ?5,
                                       to_tag = ?6
                 WHERE id = ?1",
                params![id, to.commit, to.short, to.subject, to.image, to.tag],
            )
            .map_err(error::sql(&self.db_path, op))?;
        if n == 0 {
            return Err(operation_not_found(&self.db_path, op));
        }
        Ok(())
    }

    /// Records the result of the smoke check at `position` (0-based, in check order) that
    /// `operation` ran against `release` on `env`.
    #[allow(clippy::too_many_arguments)]
    pub fn record_smoke(
        &mut self,
        operation: i64,
        app: &str,
        env: &str,
        release: &ReleaseRef,
        position: u32,
        result: &SmokeResult,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let op = "record a smoke check result";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        let exists = tx
            .query_row("SELECT count(*) FROM operations WHERE id = ?1", [operation], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(error::sql(&self.db_path, op))?
            > 0;
        if !exists {
            drop(tx);
            return Err(operation_not_found(&self.db_path, op));
        }
        tx.execute(
            "INSERT INTO smoke_results (operation, app, env, commit_sha, image_id, position,
                                        check_name, passed, attempts, latency_ms, status, excerpt,
                                        message, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                operation,
                app,
                env,
                release.commit,
                release.image_id,
                position,
                result.check,
                result.passed,
                result.attempts,
                i64::try_from(result.latency_ms).unwrap_or(i64::MAX),
                result.status,
                result.excerpt,
                result.message,
                SqlTime(at),
            ],
        )
        .map_err(error::sql(&self.db_path, op))?;
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    /// The newest `limit` operations of `app` (on `env`, or on every environment), newest
    /// first, each with its smoke results.
    pub fn operations(&self, app: &str, env: Option<&str>, limit: usize) -> Result<Vec<OperationRecord>, StoreError> {
        let op = "read operations";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // One read transaction: the operations and their smoke results from one snapshot.
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(error::sql(&self.db_path, op))?;
        let mut records: Vec<OperationRecord> = match env {
            Some(env) => query_operations(
                &tx,
                &format!("SELECT {OP_COLUMNS} FROM operations WHERE app = ?1 AND env = ?2 ORDER BY id DESC LIMIT ?3"),
                params![app, env, limit],
            ),
            None => query_operations(
                &tx,
                &format!("SELECT {OP_COLUMNS} FROM operations WHERE app = ?1 ORDER BY id DESC LIMIT ?2"),
                params![app, limit],
            ),
        }
        .map_err(error::sql(&self.db_path, op))?;
        for record in &mut records {
            record.smoke = smoke_of(&tx, record.id).map_err(error::sql(&self.db_path, op))?;
        }
        Ok(records)
    }

    /// The verdict of the latest operation that smoke-checked `image_id` on `env` (by operation
    /// id), or None if none did. Operations that were interrupted are skipped: their checks may
    /// not all have run.
    pub fn smoke_verdict(&self, app: &str, env: &str, image_id: &str) -> Result<Option<SmokeVerdict>, StoreError> {
        let op = "read a smoke verdict";
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(error::sql(&self.db_path, op))?;
        verdict(&tx, app, env, image_id).map_err(error::sql(&self.db_path, op))
    }

    /// The releases put in place on `env` by operations that ended well (deploy, promote,
    /// rollback or auto-rollback that succeeded or found nothing to do), newest first and
    /// distinct by image id: the candidates of a rollback picker. Each comes with the latest
    /// operation that put it in place and its latest smoke verdict on `env`.
    pub fn deployed_releases(
        &self,
        app: &str,
        env: &str,
        limit: usize,
    ) -> Result<Vec<(OperationRecord, Option<SmokeVerdict>)>, StoreError> {
        let op = "read the releases deployed to an environment";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let [a1, a2, a3, a4] = PLACING_ACTIONS.map(SqlAction);
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(error::sql(&self.db_path, op))?;
        let records = query_operations(
            &tx,
            &format!(
                "SELECT {OP_COLUMNS} FROM operations WHERE id IN (
                     SELECT max(id) FROM operations
                     WHERE app = ?1 AND env = ?2 AND to_image IS NOT NULL
                       AND action IN (?3, ?4, ?5, ?6) AND outcome IN (?7, ?8)
                     GROUP BY to_image
                 )
                 ORDER BY id DESC LIMIT ?9"
            ),
            params![
                app,
                env,
                a1,
                a2,
                a3,
                a4,
                SqlOutcome(OpOutcome::Succeeded),
                SqlOutcome(OpOutcome::Unchanged),
                limit
            ],
        )
        .map_err(error::sql(&self.db_path, op))?;
        let mut out = Vec::with_capacity(records.len());
        for mut record in records {
            record.smoke = smoke_of(&tx, record.id).map_err(error::sql(&self.db_path, op))?;
            let verdict = match &record.to {
                Some(to) => verdict(&tx, app, env, &to.image_id).map_err(error::sql(&self.db_path, op))?,
                None => None, // not selected: to_image IS NOT NULL
            };
            out.push((record, verdict));
        }
        Ok(out)
    }

    /// The newest successful run of `app` that built an image, as a release.
    pub fn newest_green_release(&self, app: &str) -> Result<Option<(RunNumber, ReleaseRef)>, StoreError> {
        let op = "find the newest successful release";
        self.conn
            .prepare_cached(
                "SELECT number, commit_sha, short_commit, subject, image_id, image_tag FROM runs
                 WHERE app = ?1 AND status = ?2 AND image_id IS NOT NULL
                 ORDER BY number DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![app, RunStatus::Success], green_from_row)
                    .optional()
            })
            .map_err(error::sql(&self.db_path, op))
    }

    /// The newest successful run of `app` that built an image from a commit starting with
    /// `commit_prefix` (case-insensitive), as a release. None as well when the prefix is not at
    /// least 4 hex digits.
    pub fn green_release_for(
        &self,
        app: &str,
        commit_prefix: &str,
    ) -> Result<Option<(RunNumber, ReleaseRef)>, StoreError> {
        let op = "find a successful release by commit";
        if commit_prefix.len() < 4 || !commit_prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let prefix = commit_prefix.to_ascii_lowercase();
        self.conn
            .prepare_cached(
                "SELECT number, commit_sha, short_commit, subject, image_id, image_tag FROM runs
                 WHERE app = ?1 AND status = ?2 AND image_id IS NOT NULL
                   AND substr(lower(commit_sha), 1, length(?3)) = ?3
                 ORDER BY number DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![app, RunStatus::Success, prefix], green_from_row)
                    .optional()
            })
            .map_err(error::sql(&self.db_path, op))
    }

    /// Marks `interrupted` every running operation whose owner `is_alive` says is gone, and
    /// returns how many it closed. Operations of live owners are left alone. `is_alive` is
    /// called once per owner, outside any database lock.
    pub fn mark_interrupted_operations(
        &mut self,
        at: DateTime<Utc>,
        is_alive: impl Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        let op = "close operations interrupted by a dead process";
        let running: Vec<(i64, String)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id, owner FROM operations WHERE outcome = ?1")
                .map_err(error::sql(&self.db_path, op))?;
            let rows = stmt
                .query_map([SqlOutcome(OpOutcome::Running)], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(error::sql(&self.db_path, op))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(error::sql(&self.db_path, op))?
        };
        let mut alive: HashMap<String, bool> = HashMap::new();
        let dead: Vec<(i64, String)> = running
            .into_iter()
            .filter(|(_, owner)| !*alive.entry(owner.clone()).or_insert_with(|| is_alive(owner)))
            .collect();
        if dead.is_empty() {
            return Ok(0);
        }

        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        let mut closed = 0;
        for (id, owner) in dead {
            // Re-check under the write lock: the operation may have ended meanwhile.
            let started: Option<SqlTime> = tx
                .query_row(
                    "SELECT started_at FROM operations WHERE id = ?1 AND owner = ?2 AND outcome = ?3",
                    params![id, owner, SqlOutcome(OpOutcome::Running)],
                    |row| row.get(0),
                )
                .optional()
                .map_err(error::sql(&self.db_path, op))?;
            let Some(started) = started else {
                continue;
            };
            let message = format!("interrupted: shipdeck process {owner} ended before the operation did");
            tx.execute(
                "UPDATE operations SET outcome = ?2, finished_at = ?3, duration_ms = ?4,
                                       message = coalesce(message, ?5)
                 WHERE id = ?1",
                params![
                    id,
                    SqlOutcome(OpOutcome::Interrupted),
                    SqlTime(at),
                    millis_between(started.0, at),
                    message
                ],
            )
            .map_err(error::sql(&self.db_path, op))?;
            closed += 1;
        }
        tx.commit().map_err(error::sql(&self.db_path, op))?;
        Ok(closed)
    }
}

/// StoreError has no variant for a missing operation: report it as the SQL "no rows" error of
/// the operation that needed it.
fn operation_not_found(path: &std::path::Path, op: &'static str) -> StoreError {
    error::sql(path, op)(rusqlite::Error::QueryReturnedNoRows)
}

/// The columns of one release (`from_*` or `to_*`), all NULL without a release.
struct ReleaseColumns<'a> {
    commit: Option<&'a str>,
    short: Option<&'a str>,
    subject: Option<&'a str>,
    image: Option<&'a str>,
    tag: Option<&'a str>,
}

impl<'a> ReleaseColumns<'a> {
    fn of(release: Option<&'a ReleaseRef>) -> Self {
        ReleaseColumns {
            commit: release.map(|r| r.commit.as_str()),
            short: release.map(|r| r.short_commit.as_str()),
            subject: release.map(|r| r.subject.as_str()),
            image: release.map(|r| r.image_id.as_str()),
            tag: release.and_then(|r| r.image_tag.as_deref()),
        }
    }
}

/// The release stored in the five columns from `first` on (commit, short, subject, image, tag);
/// None when there is no image id.
fn release_at(row: &Row<'_>, first: usize) -> rusqlite::Result<Option<ReleaseRef>> {
    let image: Option<String> = row.get(first + 3)?;
    let Some(image_id) = image else {
        return Ok(None);
    };
    Ok(Some(ReleaseRef {
        commit: row.get::<_, Option<String>>(first)?.unwrap_or_default(),
        short_commit: row.get::<_, Option<String>>(first + 1)?.unwrap_or_default(),
        subject: row.get::<_, Option<String>>(first + 2)?.unwrap_or_default(),
        image_id,
        image_tag: row.get(first + 4)?,
    }))
}

fn operation_from_row(row: &Row<'_>) -> rusqlite::Result<OperationRecord> {
    Ok(OperationRecord {
        id: row.get(0)?,
        app: row.get(1)?,
        env: row.get(2)?,
        action: row.get::<_, SqlAction>(3)?.0,
        from: release_at(row, 4)?,
        to: release_at(row, 9)?,
        run: row.get(14)?,
        operator: Operator {
            git_user: row.get(15)?,
            os_user: row.get(16)?,
            host: row.get(17)?,
        },
        approval: row.get(18)?,
        forced: row.get(19)?,
        outcome: row.get::<_, SqlOutcome>(20)?.0,
        message: row.get(21)?,
        started_at: row.get::<_, SqlTime>(22)?.0,
        finished_at: time::opt(row.get(23)?),
        duration_ms: row.get(24)?,
        smoke: Vec::new(),
    })
}

fn smoke_from_row(row: &Row<'_>) -> rusqlite::Result<SmokeResult> {
    Ok(SmokeResult {
        check: row.get(0)?,
        passed: row.get(1)?,
        attempts: row.get(2)?,
        latency_ms: row.get(3)?,
        status: row.get(4)?,
        excerpt: row.get(5)?,
        message: row.get(6)?,
    })
}

fn green_from_row(row: &Row<'_>) -> rusqlite::Result<(RunNumber, ReleaseRef)> {
    Ok((
        row.get(0)?,
        ReleaseRef {
            commit: row.get(1)?,
            short_commit: row.get(2)?,
            subject: row.get(3)?,
            image_id: row.get(4)?,
            image_tag: row.get(5)?,
        },
    ))
}

fn query_operations(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<Vec<OperationRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, operation_from_row)?;
    rows.collect()
}

/// The operation's smoke results in check order.
fn smoke_of(conn: &Connection, operation: i64) -> rusqlite::Result<Vec<SmokeResult>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SMOKE_COLUMNS} FROM smoke_results WHERE operation = ?1 ORDER BY position, id"
    ))?;
    let rows = stmt.query_map([operation], smoke_from_row)?;
    rows.collect()
}

fn verdict(conn: &Connection, app: &str, env: &str, image_id: &str) -> rusqlite::Result<Option<SmokeVerdict>> {
    let latest: Option<i64> = conn
        .prepare_cached(
            "SELECT max(s.operation) FROM smoke_results s JOIN operations o ON o.id = s.operation
             WHERE s.app = ?1 AND s.env = ?2 AND s.image_id = ?3 AND o.outcome <> ?4",
        )?
        .query_row(params![app, env, image_id, SqlOutcome(OpOutcome::Interrupted)], |row| {
            row.get(0)
        })?;
    let Some(operation) = latest else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SMOKE_COLUMNS}, at FROM smoke_results
         WHERE operation = ?1 AND app = ?2 AND env = ?3 AND image_id = ?4
         ORDER BY position, id"
    ))?;
    let rows = stmt.query_map(params![operation, app, env, image_id], |row| {
        Ok((smoke_from_row(row)?, row.get::<_, SqlTime>(7)?.0))
    })?;
    let checks: Vec<(SmokeResult, DateTime<Utc>)> = rows.collect::<rusqlite::Result<_>>()?;
    let Some(at) = checks.iter().map(|(_, at)| *at).max() else {
        return Ok(None);
    };
    Ok(Some(SmokeVerdict {
        passed: checks.iter().all(|(c, _)| c.passed),
        at,
        operation,
        failures: checks
            .iter()
            .filter(|(c, _)| !c.passed)
            .map(|(c, _)| format!("{}: {}", c.check, c.message))
            .collect(),
    }))
}

/// [`OpAction`] as a database value.
struct SqlAction(OpAction);

impl ToSql for SqlAction {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.as_str()))
    }
}

impl FromSql for SqlAction {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        OpAction::parse(text)
            .map(SqlAction)
            .ok_or_else(|| unknown("operation action", text))
    }
}

/// [`OpOutcome`] as a database value.
struct SqlOutcome(OpOutcome);

impl ToSql for SqlOutcome {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.as_str()))
    }
}

impl FromSql for SqlOutcome {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        OpOutcome::parse(text)
            .map(SqlOutcome)
            .ok_or_else(|| unknown("operation outcome", text))
    }
}

/// A stored word this build does not know (written by a newer shipdeck?).
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
struct UnknownWord {
    kind: &'static str,
    value: String,
}

fn unknown(kind: &'static str, value: &str) -> FromSqlError {
    FromSqlError::Other(Box::new(UnknownWord {
        kind,
        value: value.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::schema::MIGRATIONS;
    use super::super::test_support::{finished_run, new_op, new_run, operator, release, smoke, t};
    use super::super::{NewRun, DB_FILE};
    use super::*;
    use std::cell::RefCell;
    use OpAction::{AutoRollback, Deploy, Promote, Rollback, Smoke};
    use OpOutcome::{Failed, Refused, RolledBack, Running, Succeeded, Unchanged};

    const A: &str = "aaaa1111aaaa1111";
    const B: &str = "bbbb2222bbbb2222";
    const C: &str = "cccc3333cccc3333";
    const D: &str = "dddd4444dddd4444";

    fn store() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        (tmp, store)
    }

    /// Records a finished operation on `env` putting `to` in place, with smoke results.
    fn finished_op(
        store: &mut Store,
        env: &str,
        action: OpAction,
        to: &ReleaseRef,
        outcome: OpOutcome,
        checks: &[SmokeResult],
        at: i64,
    ) -> i64 {
        let who = operator();
        let id = store
            .create_operation(&new_op(env, action, Some(to), &who, "me"), t(at))
            .unwrap();
        for (i, check) in checks.iter().enumerate() {
            store
                .record_smoke(id, "shop", env, to, i as u32, check, t(at + 1))
                .unwrap();
        }
        store.finish_operation(id, outcome, None, t(at + 2)).unwrap();
        id
    }

    fn images(releases: &[(OperationRecord, Option<SmokeVerdict>)]) -> Vec<String> {
        releases
            .iter()
            .map(|(op, _)| op.to.as_ref().unwrap().image_id.clone())
            .collect()
    }

    #[test]
    fn an_operation_with_smoke_results_round_trips() {
        let (_tmp, mut store) = store();
        let from = release(A);
        let to = ReleaseRef {
            image_tag: None,
            ..release(B)
        };
        let who = operator();
        let new = NewOperation {
            from: Some(&from),
            run: Some(7),
            approval: Some("typed production"),
            forced: true,
            ..new_op("production", Promote, Some(&to), &who, "1@box")
        };
        let start = t(0) + chrono::Duration::nanoseconds(123_456_789);
        let id = store.create_operation(&new, start).unwrap();

        let running = &store.operations("shop", Some("production"), 10).unwrap()[0];
        assert_eq!(running.outcome, Running);
        assert_eq!(running.finished_at, None);
        assert_eq!(running.duration_ms, None);
        assert!(running.smoke.is_empty());

        let health = smoke("GET /health", true);
        let version = SmokeResult {
            latency_ms: u64::MAX,
            status: None,
            ..smoke("GET /version", false)
        };
        // Recorded out of order: read back in check order.
        store
            .record_smoke(id, "shop", "production", &to, 1, &version, t(3))
            .unwrap();
        store
            .record_smoke(id, "shop", "production", &to, 0, &health, t(2))
            .unwrap();
        store
            .finish_operation(id, RolledBack, Some("smoke failed"), t(5))
            .unwrap();

        let ops = store.operations("shop", None, 10).unwrap();
        assert_eq!(ops.len(), 1);
        let expected = OperationRecord {
            id,
            app: "shop".into(),
            env: "production".into(),
            action: Promote,
            from: Some(from.clone()),
            to: Some(to.clone()),
            run: Some(7),
            operator: who.clone(),
            approval: Some("typed production".into()),
            forced: true,
            outcome: RolledBack,
            message: Some("smoke failed".into()),
            started_at: start,
            finished_at: Some(t(5)),
            duration_ms: Some(4_876),
            smoke: vec![
                health,
                SmokeResult {
                    latency_ms: i64::MAX as u64,
                    ..version
                },
            ],
        };
        assert_eq!(ops[0], expected);
        let json = serde_json::to_value(&ops[0]).unwrap();
        assert_eq!(json["action"], "promote");
        assert_eq!(json["outcome"], "rolled_back");
        assert_eq!(json["started_at"], "2023-11-14T22:13:20.123456789Z");
        assert_eq!(json["smoke"][1]["check"], "GET /version");

        // A target resolved after the row was created; no git identity, no smoke.
        let anon = Operator {
            git_user: None,
            ..operator()
        };
        let later = store
            .create_operation(&new_op("staging", Rollback, None, &anon, "1@box"), t(10))
            .unwrap();
        assert_eq!(store.operations("shop", Some("staging"), 1).unwrap()[0].to, None);
        let target = release(C);
        store.set_operation_target(later, &target).unwrap();
        store.finish_operation(later, Succeeded, None, t(9)).unwrap();
        let ops = store.operations("shop", None, 10).unwrap();
        assert_eq!(
            ops.iter().map(|o| o.id).collect::<Vec<_>>(),
            [later, id],
            "newest first"
        );
        assert_eq!(ops[0].to, Some(target));
        assert_eq!(ops[0].from, None);
        assert_eq!(ops[0].run, None);
        assert_eq!(ops[0].operator, anon);
        assert_eq!(ops[0].approval, None);
        assert!(!ops[0].forced);
        assert_eq!(ops[0].duration_ms, Some(0), "clock went backwards");
        assert_eq!(store.operations("shop", None, 1).unwrap().len(), 1);
        assert!(store.operations("shop", None, 0).unwrap().is_empty());
        assert_eq!(store.operations("shop", None, usize::MAX).unwrap().len(), 2);
    }

    #[test]
    fn unknown_operations_are_reported() {
        let (_tmp, mut store) = store();
        let err = store.finish_operation(42, Succeeded, None, t(0)).unwrap_err();
        assert!(err.to_string().contains("finished"), "{err}");
        let err = store.set_operation_target(42, &release(A)).unwrap_err();
        assert!(err.to_string().contains("target"), "{err}");
        let err = store
            .record_smoke(42, "shop", "staging", &release(A), 0, &smoke("GET /", true), t(0))
            .unwrap_err();
        assert!(err.to_string().contains("smoke"), "{err}");
        let count: i64 = store
            .conn
            .query_row("SELECT count(*) FROM smoke_results", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn the_latest_smoke_operation_gives_the_verdict() {
        let (_tmp, mut store) = store();
        let (a, b) = (release(A), release(B));
        assert_eq!(store.smoke_verdict("shop", "staging", &a.image_id).unwrap(), None);

        // A: failed, then passed.
        let failed = [smoke("GET /health", true), smoke("GET /version", false)];
        finished_op(&mut store, "staging", Deploy, &a, RolledBack, &failed, 0);
        let verdict = store.smoke_verdict("shop", "staging", &a.image_id).unwrap().unwrap();
        assert!(!verdict.passed);
        assert_eq!(verdict.failures, ["GET /version: expected status 200, got 503"]);
        let passed = [smoke("GET /health", true), smoke("GET /version", true)];
        let later = finished_op(&mut store, "staging", Smoke, &a, Succeeded, &passed, 10);
        let verdict = store.smoke_verdict("shop", "staging", &a.image_id).unwrap().unwrap();
        assert_eq!(
            verdict,
            SmokeVerdict {
                passed: true,
                at: t(11),
                operation: later,
                failures: vec![],
            }
        );

        // B: passed, then failed.
        finished_op(&mut store, "staging", Deploy, &b, Succeeded, &passed, 20);
        let both_failed = [smoke("GET /health", false), smoke("GET /version", false)];
        let later = finished_op(&mut store, "staging", Smoke, &b, Failed, &both_failed, 30);
        let verdict = store.smoke_verdict("shop", "staging", &b.image_id).unwrap().unwrap();
        assert!(!verdict.passed);
        assert_eq!(verdict.operation, later);
        assert_eq!(verdict.failures.len(), 2);
        assert!(
            verdict.failures[0].starts_with("GET /health: "),
            "{:?}",
            verdict.failures
        );

        // An operation without smoke results changes nothing.
        finished_op(&mut store, "staging", Deploy, &b, Succeeded, &[], 40);
        assert_eq!(
            store
                .smoke_verdict("shop", "staging", &b.image_id)
                .unwrap()
                .unwrap()
                .operation,
            later
        );

        // An interrupted smoke operation may not have run every check: it is no verdict.
        let who = operator();
        let cut = store
            .create_operation(&new_op("staging", Smoke, Some(&b), &who, "dead"), t(50))
            .unwrap();
        store
            .record_smoke(cut, "shop", "staging", &b, 0, &smoke("GET /health", true), t(51))
            .unwrap();
        assert_eq!(
            store
                .smoke_verdict("shop", "staging", &b.image_id)
                .unwrap()
                .unwrap()
                .operation,
            cut,
            "a running operation's results count"
        );
        store.mark_interrupted_operations(t(60), |_| false).unwrap();
        assert_eq!(
            store
                .smoke_verdict("shop", "staging", &b.image_id)
                .unwrap()
                .unwrap()
                .operation,
            later
        );
    }

    #[test]
    fn deployed_releases_are_distinct_successful_and_newest_first() {
        let (_tmp, mut store) = store();
        let (a, b, c, d) = (release(A), release(B), release(C), release(D));
        let pass = [smoke("GET /health", true)];
        let fail = [smoke("GET /health", false)];
        finished_op(&mut store, "staging", Deploy, &a, Succeeded, &pass, 0);
        finished_op(&mut store, "staging", Deploy, &b, RolledBack, &fail, 10);
        let put_back = finished_op(&mut store, "staging", AutoRollback, &a, Succeeded, &[], 13);
        let c_deploy = finished_op(&mut store, "staging", Deploy, &c, Succeeded, &pass, 20);
        // Smoke operations and failed, refused or unfinished ones put nothing in place.
        finished_op(&mut store, "staging", Smoke, &b, Succeeded, &pass, 25);
        finished_op(&mut store, "staging", Promote, &b, Failed, &[], 26);
        finished_op(&mut store, "staging", Rollback, &b, Refused, &[], 27);
        let who = operator();
        store
            .create_operation(&new_op("staging", Deploy, Some(&b), &who, "me"), t(28))
            .unwrap();
        let rollback = finished_op(&mut store, "staging", Rollback, &a, Succeeded, &[], 30);
        let unchanged = finished_op(&mut store, "staging", Deploy, &d, Unchanged, &[], 40);
        // Elsewhere: other environments and apps.
        finished_op(&mut store, "production", Promote, &b, Succeeded, &pass, 50);

        let releases = store.deployed_releases("shop", "staging", 10).unwrap();
        assert_eq!(
            images(&releases),
            [d.image_id.as_str(), a.image_id.as_str(), c.image_id.as_str()]
        );
        let ids: Vec<i64> = releases.iter().map(|(op, _)| op.id).collect();
        assert_eq!(ids, [unchanged, rollback, c_deploy], "the latest operation of each");
        assert_ne!(ids[1], put_back);
        assert_eq!(releases[0].1, None, "d never smoke-checked");
        let a_verdict = releases[1].1.as_ref().unwrap();
        assert!(a_verdict.passed);
        assert_eq!(releases[2].1.as_ref().unwrap().operation, c_deploy);
        assert_eq!(releases[2].0.smoke, pass, "with its smoke results");

        assert_eq!(
            images(&store.deployed_releases("shop", "staging", 2).unwrap()),
            [d.image_id.as_str(), a.image_id.as_str()]
        );
        assert!(store.deployed_releases("shop", "staging", 0).unwrap().is_empty());
        assert_eq!(
            images(&store.deployed_releases("shop", "production", 10).unwrap()),
            [b.image_id.as_str()]
        );
        assert!(store.deployed_releases("shop", "qa", 10).unwrap().is_empty());
        assert!(store.deployed_releases("other", "staging", 10).unwrap().is_empty());
    }

    #[test]
    fn green_releases_come_from_successful_runs_with_an_image() {
        let (_tmp, mut store) = store();
        assert_eq!(store.newest_green_release("shop").unwrap(), None);
        let a = finished_run(&mut store, A, RunStatus::Success, Some("sha256:aaa"), t(0));
        finished_run(&mut store, B, RunStatus::Failed, Some("sha256:bbb"), t(10));
        finished_run(&mut store, C, RunStatus::Success, None, t(20));
        let other = NewRun {
            app: "other",
            commit: D,
            ..new_run("me")
        };
        let n = store.create_run(&other, t(30)).unwrap();
        store.set_image(n, "package", "sha256:other", "other:dddd444").unwrap();
        store.run_finished(n, RunStatus::Success, t(31)).unwrap();

        let expected = (
            a,
            ReleaseRef {
                commit: A.into(),
                short_commit: "aaaa111".into(),
                subject: "Add checkout".into(),
                image_id: "sha256:aaa".into(),
                image_tag: Some("shop:aaaa111".into()),
            },
        );
        assert_eq!(store.newest_green_release("shop").unwrap(), Some(expected.clone()));
        let a2 = finished_run(&mut store, A, RunStatus::Success, Some("sha256:aaa2"), t(40));
        let newest = store.newest_green_release("shop").unwrap().unwrap();
        assert_eq!((newest.0, newest.1.image_id.as_str()), (a2, "sha256:aaa2"));
        assert_eq!(store.newest_green_release("other").unwrap().unwrap().1.commit, D);
        assert_eq!(store.newest_green_release("nobody").unwrap(), None);

        assert_eq!(
            store.green_release_for("shop", "aaaa").unwrap().unwrap().0,
            a2,
            "newest"
        );
        assert_eq!(store.green_release_for("shop", "AAAA1111").unwrap().unwrap().0, a2);
        assert_eq!(store.green_release_for("shop", A).unwrap().unwrap().0, a2);
        assert_eq!(store.green_release_for("shop", "aaa").unwrap(), None, "too short");
        assert_eq!(store.green_release_for("shop", "aaa%").unwrap(), None, "not hex");
        assert_eq!(store.green_release_for("shop", "aaab").unwrap(), None);
        assert_eq!(store.green_release_for("shop", "bbbb").unwrap(), None, "failed");
        assert_eq!(store.green_release_for("shop", "cccc").unwrap(), None, "no image");
        assert_eq!(store.green_release_for("shop", "dddd").unwrap(), None, "other app");
        assert_eq!(store.green_release_for("other", "dddd").unwrap().unwrap().0, n);
    }

    #[test]
    fn only_operations_of_dead_owners_are_interrupted() {
        let (_tmp, mut store) = store();
        let (a, who) = (release(A), operator());
        let dead = store
            .create_operation(&new_op("staging", Deploy, Some(&a), &who, "dead"), t(0))
            .unwrap();
        let dead_done = store
            .create_operation(&new_op("staging", Deploy, Some(&a), &who, "dead"), t(1))
            .unwrap();
        store.finish_operation(dead_done, Failed, Some("boom"), t(2)).unwrap();
        let live = store
            .create_operation(&new_op("production", Promote, Some(&a), &who, "live"), t(3))
            .unwrap();
        let dead_too = store
            .create_operation(&new_op("production", Smoke, Some(&a), &who, "dead"), t(4))
            .unwrap();

        let asked = RefCell::new(Vec::new());
        let closed = store
            .mark_interrupted_operations(t(20), |owner| {
                asked.borrow_mut().push(owner.to_string());
                owner == "live"
            })
            .unwrap();
        assert_eq!(closed, 2);
        let mut asked = asked.into_inner();
        asked.sort();
        assert_eq!(asked, ["dead", "live"], "once per owner");

        let ops: HashMap<i64, OperationRecord> = store
            .operations("shop", None, 10)
            .unwrap()
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        for id in [dead, dead_too] {
            assert_eq!(ops[&id].outcome, OpOutcome::Interrupted);
            assert_eq!(ops[&id].finished_at, Some(t(20)));
            assert!(ops[&id].message.as_deref().unwrap().contains("dead"));
        }
        assert_eq!(ops[&dead].duration_ms, Some(20_000));
        assert_eq!(ops[&dead_done].outcome, Failed);
        assert_eq!(ops[&dead_done].message.as_deref(), Some("boom"));
        assert_eq!(ops[&dead_done].finished_at, Some(t(2)));
        assert_eq!(ops[&live].outcome, Running);

        assert_eq!(
            store.mark_interrupted_operations(t(30), |_| false).unwrap(),
            1,
            "live's turn"
        );
        assert_eq!(store.mark_interrupted_operations(t(40), |_| false).unwrap(), 0);
    }

    #[test]
    fn a_version_1_database_migrates_and_keeps_its_runs() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(tmp.path().join(DB_FILE)).unwrap();
            conn.execute_batch(MIGRATIONS[0].sql).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO runs (app, commit_sha, short_commit, subject, author, trigger_kind, owner,
                                   status, queued_at, image_id, image_tag)
                 VALUES ('shop', ?1, 'aaaa111', 'Old work', 'Ada', 'cli', 'me', 'success', ?2,
                         'sha256:old', 'shop:aaaa111')",
                params![A, SqlTime(t(0))],
            )
            .unwrap();
        }
        let mut store = Store::open(tmp.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), 2);
        let run = store.run(1).unwrap().unwrap();
        assert_eq!(run.subject, "Old work");
        assert_eq!(run.status, RunStatus::Success);
        let (n, green) = store.newest_green_release("shop").unwrap().unwrap();
        assert_eq!((n, green.image_id.as_str()), (1, "sha256:old"));
        // The new tables work, and new runs continue the numbering.
        let id = finished_op(
            &mut store,
            "staging",
            Deploy,
            &green,
            Succeeded,
            &[smoke("GET /", true)],
            10,
        );
        assert_eq!(store.operations("shop", None, 10).unwrap()[0].id, id);
        assert_eq!(store.create_run(&new_run("me"), t(20)).unwrap(), 2);
        drop(store);
        let store = Store::open(tmp.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), 2);
        assert_eq!(store.operations("shop", None, 10).unwrap().len(), 1);
    }

    #[test]
    fn deleting_an_operation_deletes_its_smoke_results() {
        let (_tmp, mut store) = store();
        let id = finished_op(
            &mut store,
            "staging",
            Smoke,
            &release(A),
            Succeeded,
            &[smoke("GET /", true), smoke("GET /health", true)],
            0,
        );
        store
            .conn
            .execute("DELETE FROM operations WHERE id = ?1", [id])
            .unwrap();
        let count: i64 = store
            .conn
            .query_row("SELECT count(*) FROM smoke_results", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn environments_and_apps_do_not_leak_into_each_other() {
        let (_tmp, mut store) = store();
        let a = release(A);
        let pass = [smoke("GET /health", true)];
        let fail = [smoke("GET /health", false)];
        let staging = finished_op(&mut store, "staging", Deploy, &a, Succeeded, &pass, 0);
        let production = finished_op(&mut store, "production", Promote, &a, RolledBack, &fail, 10);
        let who = operator();
        let other_app = NewOperation {
            app: "other",
            ..new_op("staging", Deploy, Some(&a), &who, "me")
        };
        let other = store.create_operation(&other_app, t(20)).unwrap();
        store
            .record_smoke(other, "other", "staging", &a, 0, &fail[0], t(21))
            .unwrap();
        store.finish_operation(other, Succeeded, None, t(22)).unwrap();

        let ids = |env| -> Vec<i64> {
            store
                .operations("shop", env, 10)
                .unwrap()
                .iter()
                .map(|o| o.id)
                .collect()
        };
        assert_eq!(ids(Some("staging")), [staging]);
        assert_eq!(ids(Some("production")), [production]);
        assert_eq!(ids(None), [production, staging]);
        assert!(ids(Some("qa")).is_empty());
        assert_eq!(store.operations("other", None, 10).unwrap()[0].id, other);

        // The same image: passed on staging, failed on production and in the other app.
        let on = |app, env| store.smoke_verdict(app, env, &a.image_id).unwrap().map(|v| v.passed);
        assert_eq!(on("shop", "staging"), Some(true));
        assert_eq!(on("shop", "production"), Some(false));
        assert_eq!(on("other", "staging"), Some(false));
        assert_eq!(on("shop", "qa"), None);
        let staging_releases = store.deployed_releases("shop", "staging", 10).unwrap();
        assert_eq!(staging_releases.len(), 1);
        assert_eq!(staging_releases[0].0.id, staging);
        assert_eq!(staging_releases[0].1.as_ref().map(|v| v.passed), Some(true));
        assert!(store.deployed_releases("shop", "production", 10).unwrap().is_empty());
    }
}
