//! Load test results in the history: what each operation's load tests measured, and the
//! baseline a regression bound compares with (the latest passing result of the same test,
//! same rate, on the same environment, of another release).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::error;
use super::operations::SqlOutcome;
use super::runs::write_tx;
use super::time::SqlTime;
use super::{Store, StoreError};
use crate::deploy::load::{Baseline, LoadResult};
use crate::deploy::model::{OpOutcome, ReleaseRef};

const COLUMNS: &str = "check_name, rate, duration_ms, sent, errors, achieved_rate, p50_us, p95_us, p99_us, \
                       max_us, baseline_p99_us, baseline_release, passed, message";

impl Store {
    /// Records the result of the load test at `position` that `operation` ran against
    /// `release` on `env`.
    #[allow(clippy::too_many_arguments)]
    pub fn record_load(
        &mut self,
        operation: i64,
        app: &str,
        env: &str,
        release: &ReleaseRef,
        position: u32,
        r: &LoadResult,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let op = "record a load test result";
        let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        tx.execute(
            "INSERT INTO load_results (operation, app, env, commit_sha, image_id, short_commit, position,
                                       check_name, rate, duration_ms, sent, errors, achieved_rate,
                                       p50_us, p95_us, p99_us, max_us, baseline_p99_us, baseline_release,
                                       passed, message, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                     ?20, ?21, ?22)",
            params![
                operation,
                app,
                env,
                release.commit,
                release.image_id,
                release.short_commit,
                position,
                r.check,
                r.rate,
                big(r.duration_ms),
                big(r.sent),
                big(r.errors),
                r.achieved_rate,
                big(r.p50_us),
                big(r.p95_us),
                big(r.p99_us),
                big(r.max_us),
                r.baseline_p99_us.map(big),
                r.baseline_release,
                r.passed,
                r.message,
                SqlTime(at),
            ],
        )
        .map_err(error::sql(&self.db_path, op))?;
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    /// The last release other than `image_id` that passed the load test `check` at `rate` on
    /// `env` (in an operation that was not interrupted): its p99 and short commit.
    pub fn load_baseline(
        &self,
        app: &str,
        env: &str,
        check: &str,
        rate: u32,
        image_id: &str,
    ) -> Result<Option<Baseline>, StoreError> {
        let op = "read the last passing load test";
        self.conn
            .prepare_cached(
                "SELECT l.p99_us, l.short_commit FROM load_results l JOIN operations o ON o.id = l.operation
                 WHERE l.app = ?1 AND l.env = ?2 AND l.check_name = ?3 AND l.rate = ?4 AND l.passed = 1
                   AND l.image_id <> ?5 AND o.outcome <> ?6
                 ORDER BY l.id DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![app, env, check, rate, image_id, SqlOutcome(OpOutcome::Interrupted)],
                    |row| {
                        Ok(Baseline {
                            p99_us: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                            release: row.get(1)?,
                        })
                    },
                )
                .optional()
            })
            .map_err(error::sql(&self.db_path, op))
    }
}

/// The operation's load results in the environment's order.
pub(super) fn load_of(conn: &Connection, operation: i64) -> rusqlite::Result<Vec<LoadResult>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM load_results WHERE operation = ?1 ORDER BY position, id"
    ))?;
    let rows = stmt.query_map([operation], from_row)?;
    rows.collect()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<LoadResult> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(u64::try_from(row.get::<_, i64>(i)?).unwrap_or(0)) };
    Ok(LoadResult {
        check: row.get(0)?,
        rate: row.get(1)?,
        duration_ms: n(2)?,
        sent: n(3)?,
        errors: n(4)?,
        achieved_rate: row.get(5)?,
        p50_us: n(6)?,
        p95_us: n(7)?,
        p99_us: n(8)?,
        max_us: n(9)?,
        baseline_p99_us: row.get::<_, Option<i64>>(10)?.map(|v| u64::try_from(v).unwrap_or(0)),
        baseline_release: row.get(11)?,
        passed: row.get(12)?,
        message: row.get(13)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::model::OpAction;
    use crate::store::test_support::{new_op, operator, release, t};

    const A: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    const B: &str = "b1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    const C: &str = "c1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

    fn result(p99_us: u64, passed: bool) -> LoadResult {
        LoadResult {
            check: "GET /health".into(),
            rate: 200,
            duration_ms: 10_000,
            sent: 2000,
            errors: 0,
            achieved_rate: 199.9,
            p50_us: 900,
            p95_us: 1500,
            p99_us,
            max_us: 9000,
            baseline_p99_us: None,
            baseline_release: None,
            passed,
            message: "m".into(),
        }
    }

    fn op(store: &mut Store, env: &str, commit: &str, r: &LoadResult, outcome: OpOutcome, at: i64) {
        let who = operator();
        let to = release(commit);
        let id = store
            .create_operation(&new_op(env, OpAction::Deploy, Some(&to), &who, "me"), t(at))
            .unwrap();
        store.record_load(id, "shop", env, &to, 0, r, t(at + 1)).unwrap();
        store.finish_operation(id, outcome, None, t(at + 2)).unwrap();
    }

    #[test]
    fn the_baseline_is_the_latest_passing_result_of_another_release_here() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        assert_eq!(
            store.load_baseline("shop", "staging", "GET /health", 200, "x").unwrap(),
            None
        );
        op(&mut store, "staging", A, &result(3000, true), OpOutcome::Succeeded, 0);
        op(&mut store, "staging", B, &result(9000, false), OpOutcome::Failed, 10);
        op(
            &mut store,
            "production",
            C,
            &result(1000, true),
            OpOutcome::Succeeded,
            20,
        );
        op(
            &mut store,
            "staging",
            C,
            &result(2000, true),
            OpOutcome::Interrupted,
            30,
        );
        // B failed, production is elsewhere, the interrupted operation does not count: A.
        let base = store
            .load_baseline("shop", "staging", "GET /health", 200, &release(B).image_id)
            .unwrap();
        assert_eq!(
            base,
            Some(Baseline {
                p99_us: 3000,
                release: "a1b2c3d".into()
            })
        );
        // A release is not its own baseline; another rate or endpoint is another test.
        assert_eq!(
            store
                .load_baseline("shop", "staging", "GET /health", 200, &release(A).image_id)
                .unwrap(),
            None
        );
        assert_eq!(
            store.load_baseline("shop", "staging", "GET /health", 100, "x").unwrap(),
            None
        );
        assert_eq!(store.load_baseline("shop", "staging", "GET /", 200, "x").unwrap(), None);
        // The figures come back with the operation, for `history --json`.
        let ops = store.operations("shop", Some("staging"), 10).unwrap();
        let failed = ops.iter().find(|o| o.to.as_ref().unwrap().commit == B).unwrap();
        assert_eq!(failed.load, vec![result(9000, false)]);
        let json = serde_json::to_value(failed).unwrap();
        assert_eq!(json["load"][0]["p99_us"], 9000);
        assert_eq!(json["load"][0]["achieved_rate"], 199.9);
    }
}
