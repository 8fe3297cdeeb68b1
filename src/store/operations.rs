//! The audit history of operations on environments (deploy, promote, rollback, auto-rollback,
//! smoke) and the smoke-check results they recorded.
//!
//! An operation is recorded `running` when it starts ([`Store::create_operation`]) and closed
//! with its outcome ([`Store::finish_operation`]); one that a dead process left running is
//! closed as `interrupted` by [`Store::mark_interrupted_operations`].

use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, OptionalExtension};

use super::error::{self, StoreError};
use super::runs::write_tx;
use super::time::{self, millis_between, SqlTime};
use super::{RunNumber, Store};
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
    /// Which gate `--force` went past, in words.
    pub overridden: Option<&'a str>,
    /// Where the environment's gates came from ("release.toml at a1b2c3d").
    pub policy: Option<&'a str>,
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
    /// Which gate `--force` went past, in words.
    pub overridden: Option<String>,
    /// Where the environment's gates came from.
    pub policy: Option<String>,
    pub outcome: OpOutcome,
    pub message: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "time::serialize_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub smoke: Vec<SmokeResult>,
    /// The load tests it ran, in the environment's order.
    pub load: Vec<crate::deploy::load::LoadResult>,
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
pub(super) const PLACING_ACTIONS: [OpAction; 4] = [
    OpAction::Deploy,
    OpAction::Promote,
    OpAction::Rollback,
    OpAction::AutoRollback,
];

pub(super) const OP_COLUMNS: &str = "id, app, env, action, \
     from_commit, from_short, from_subject, from_image, from_tag, \
     to_commit, to_short, to_subject, to_image, to_tag, \
     run, by_git, by_os, by_host, approval, forced, outcome, message, \
     started_at, finished_at, duration_ms, overridden, policy";

pub(super) const SMOKE_COLUMNS: &str = "check_name, passed, attempts, latency_ms, status, excerpt, message";

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
                                     outcome, started_at, overridden, policy)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
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
                op.overridden,
                op.policy,
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
        let dead = super::interrupted::of_dead_owners(running, is_alive);
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

/// [`OpAction`] as a database value.
pub(super) struct SqlAction(pub(super) OpAction);

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
pub(super) struct SqlOutcome(pub(super) OpOutcome);

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
#[path = "operations_tests.rs"]
mod tests;
