//! Reading the operations history back: the audit of an environment, smoke verdicts, the
//! releases a rollback can choose, green releases to deploy.

use chrono::{DateTime, Utc};
use rusqlite::types::ToSql;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::error::{self, StoreError};
use super::operations::{
    OperationRecord, SmokeVerdict, SqlAction, SqlOutcome, OP_COLUMNS, PLACING_ACTIONS, SMOKE_COLUMNS,
};
use super::time::{self, SqlTime};
use super::{RunNumber, RunStatus, Store};
use crate::deploy::model::{OpAction, OpOutcome, Operator, ReleaseRef, SmokeResult};

impl Store {
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
            record.load = super::load_results::load_of(&tx, record.id).map_err(error::sql(&self.db_path, op))?;
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
        let outcomes = [
            OpOutcome::Succeeded,
            OpOutcome::Unchanged,
            OpOutcome::Succeeded,
            OpOutcome::Unchanged,
        ];
        self.releases_on(app, env, limit, PLACING_ACTIONS, outcomes)
    }

    /// The releases that ran on `env`: put in place there (also by an operation whose smoke
    /// checks failed, or that was rolled back), or smoke-checked there; newest first, distinct
    /// by image id, each with its latest operation and its latest smoke verdict on `env`.
    pub fn releases_that_ran(
        &self,
        app: &str,
        env: &str,
        limit: usize,
    ) -> Result<Vec<(OperationRecord, Option<SmokeVerdict>)>, StoreError> {
        use OpOutcome::{Failed, RolledBack, Succeeded, Unchanged};
        self.releases_on(
            app,
            env,
            limit,
            PLACING_ACTIONS,
            [Succeeded, Unchanged, Failed, RolledBack],
        )
        .and_then(|mut placed| {
            let checked = self.releases_on(
                app,
                env,
                limit,
                [OpAction::Smoke; 4],
                [Succeeded, Failed, Failed, Failed],
            )?;
            for (record, verdict) in checked {
                let image = record.to.as_ref().map(|r| r.image_id.clone());
                if !placed
                    .iter()
                    .any(|(r, _)| r.to.as_ref().map(|t| &t.image_id) == image.as_ref())
                {
                    placed.push((record, verdict));
                }
            }
            placed.sort_by_key(|p| std::cmp::Reverse(p.0.id));
            placed.truncate(limit);
            Ok(placed)
        })
    }

    fn releases_on(
        &self,
        app: &str,
        env: &str,
        limit: usize,
        actions: [OpAction; 4],
        outcomes: [OpOutcome; 4],
    ) -> Result<Vec<(OperationRecord, Option<SmokeVerdict>)>, StoreError> {
        let op = "read the releases deployed to an environment";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let [a1, a2, a3, a4] = actions.map(SqlAction);
        let [o1, o2, o3, o4] = outcomes.map(SqlOutcome);
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
                       AND action IN (?3, ?4, ?5, ?6) AND outcome IN (?7, ?8, ?9, ?10)
                     GROUP BY to_image
                 )
                 ORDER BY id DESC LIMIT ?11"
            ),
            params![app, env, a1, a2, a3, a4, o1, o2, o3, o4, limit],
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
        overridden: row.get(25)?,
        policy: row.get(26)?,
        smoke: Vec::new(),
        load: Vec::new(),
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

pub(super) fn green_from_row(row: &Row<'_>) -> rusqlite::Result<(RunNumber, ReleaseRef)> {
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
