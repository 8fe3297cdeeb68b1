//! Recording a run and its stages as the engine reports them.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::error::{self, StoreError};
use super::time::{millis_between, SqlTime};
use super::{RunNumber, RunStatus, StageStatus, Store};

/// What is known about a run when it is queued.
#[derive(Debug, Clone, Copy)]
pub struct NewRun<'a> {
    pub app: &'a str,
    pub commit: &'a str,
    pub short_commit: &'a str,
    pub branch: Option<&'a str>,
    pub subject: &'a str,
    pub author: &'a str,
    /// What started it: "watch", "save", "cli", "ci", …
    pub trigger: &'a str,
    /// The process that runs it (e.g. "<pid>@<host>"), checked by [`Store::mark_interrupted`].
    pub owner: &'a str,
    /// Stage names in pipeline order; unique.
    pub stages: &'a [&'a str],
}

impl Store {
    /// Records a new Queued run with every stage Pending, and returns its number.
    ///
    /// The number is allocated inside the write transaction, so concurrent processes never
    /// get the same one; numbers are never reused.
    pub fn create_run(&mut self, run: &NewRun<'_>, queued_at: DateTime<Utc>) -> Result<RunNumber, StoreError> {
        let mut seen = HashSet::new();
        if let Some(dup) = run.stages.iter().find(|s| !seen.insert(**s)) {
            return Err(StoreError::DuplicateStage {
                stage: (*dup).to_string(),
            });
        }
        let op = "record a new run";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        tx.execute(
            "INSERT INTO runs (app, commit_sha, short_commit, branch, subject, author,
                               trigger_kind, owner, status, queued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                run.app,
                run.commit,
                run.short_commit,
                run.branch,
                run.subject,
                run.author,
                run.trigger,
                run.owner,
                RunStatus::Queued,
                SqlTime(queued_at),
            ],
        )
        .map_err(error::sql(&self.db_path, op))?;
        let number = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO stages (run, position, name, status) VALUES (?1, ?2, ?3, ?4)")
                .map_err(error::sql(&self.db_path, op))?;
            for (position, name) in run.stages.iter().enumerate() {
                insert
                    .execute(params![number, position, name, StageStatus::Pending])
                    .map_err(error::sql(&self.db_path, op))?;
            }
        }
        tx.commit().map_err(error::sql(&self.db_path, op))?;
        Ok(number)
    }

    /// Marks the run Running.
    pub fn run_started(&mut self, run: RunNumber, at: DateTime<Utc>) -> Result<(), StoreError> {
        let op = "record that a run started";
        let n = self
            .conn
            .execute(
                "UPDATE runs SET status = ?2, started_at = ?3 WHERE number = ?1",
                params![run, RunStatus::Running, SqlTime(at)],
            )
            .map_err(error::sql(&self.db_path, op))?;
        if n == 0 {
            return Err(self.run_not_found(run));
        }
        Ok(())
    }

    /// Marks a stage Running.
    pub fn stage_started(&mut self, run: RunNumber, stage: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let op = "record that a stage started";
        let n = self
            .conn
            .execute(
                "UPDATE stages SET status = ?3, started_at = ?4 WHERE run = ?1 AND name = ?2",
                params![run, stage, StageStatus::Running, SqlTime(at)],
            )
            .map_err(error::sql(&self.db_path, op))?;
        if n == 0 {
            return Err(self.stage_not_found(run, stage));
        }
        Ok(())
    }

    /// Records a stage's outcome; the duration is measured from its start (none if it never
    /// started, e.g. Skipped).
    /// Keeps a scan stage's verdict with the stage.
    pub fn record_scan(
        &mut self,
        run: RunNumber,
        stage: &str,
        verdict: &crate::scan::ScanVerdict,
    ) -> Result<(), StoreError> {
        let op = "record a scan verdict";
        // Plain data: serializing cannot fail; if it ever did, `null` reads back as no verdict,
        // which the scan gate refuses (never as a pass).
        let json = serde_json::to_string(verdict).unwrap_or_else(|_| "null".into());
        let changed = self
            .conn
            .execute(
                "UPDATE stages SET scan = ?3 WHERE run = ?1 AND name = ?2",
                params![run, stage, json],
            )
            .map_err(error::sql(&self.db_path, op))?;
        if changed == 0 {
            return Err(self.stage_not_found(run, stage));
        }
        Ok(())
    }

    /// The scan verdicts of the runs of `app` that built `image_id`, per run (newest first):
    /// `(run, stage, verdict)`, `verdict` `None` for a stage named in `stages` that has none
    /// (it failed before its report, was skipped or cancelled).
    pub fn scans_of_image(
        &self,
        app: &str,
        image_id: &str,
        stages: &[String],
    ) -> Result<Vec<(RunNumber, String, Option<crate::scan::ScanVerdict>)>, StoreError> {
        let op = "read the scan verdicts of a release";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.run, s.name, s.scan FROM stages s JOIN runs r ON r.number = s.run
                 WHERE r.app = ?1 AND r.image_id = ?2 ORDER BY s.run DESC",
            )
            .map_err(error::sql(&self.db_path, op))?;
        let rows = stmt
            .query_map(params![app, image_id], |row| {
                Ok((
                    row.get::<_, RunNumber>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(error::sql(&self.db_path, op))?;
        let mut out = Vec::new();
        for row in rows {
            let (run, stage, json) = row.map_err(error::sql(&self.db_path, op))?;
            if json.is_none() && !stages.contains(&stage) {
                continue;
            }
            let verdict = json.and_then(|j| serde_json::from_str(&j).ok());
            out.push((run, stage, verdict));
        }
        Ok(out)
    }

    pub fn stage_finished(
        &mut self,
        run: RunNumber,
        stage: &str,
        status: StageStatus,
        exit_code: Option<i64>,
        at: DateTime<Utc>,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let op = "record that a stage finished";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        let started: Option<Option<SqlTime>> = tx
            .query_row(
                "SELECT started_at FROM stages WHERE run = ?1 AND name = ?2",
                params![run, stage],
                |row| row.get(0),
            )
            .optional()
            .map_err(error::sql(&self.db_path, op))?;
        let Some(started) = started else {
            drop(tx);
            return Err(self.stage_not_found(run, stage));
        };
        let duration = started.map(|s| millis_between(s.0, at));
        tx.execute(
            "UPDATE stages SET status = ?3, exit_code = ?4, finished_at = ?5, duration_ms = ?6,
                               message = ?7
             WHERE run = ?1 AND name = ?2",
            params![run, stage, status, exit_code, SqlTime(at), duration, message],
        )
        .map_err(error::sql(&self.db_path, op))?;
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    /// Records the release image a (package) stage built, on the stage and on the run.
    pub fn set_image(&mut self, run: RunNumber, stage: &str, image_id: &str, tag: &str) -> Result<(), StoreError> {
        let op = "record a release image";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        let n = tx
            .execute(
                "UPDATE stages SET image_id = ?3 WHERE run = ?1 AND name = ?2",
                params![run, stage, image_id],
            )
            .map_err(error::sql(&self.db_path, op))?;
        if n == 0 {
            drop(tx);
            return Err(self.stage_not_found(run, stage));
        }
        tx.execute(
            "UPDATE runs SET image_id = ?2, image_tag = ?3 WHERE number = ?1",
            params![run, image_id, tag],
        )
        .map_err(error::sql(&self.db_path, op))?;
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    /// Records the run's outcome; the duration is measured from its start (none if it never
    /// started). Stages still open are closed: Pending ones become Skipped, Running ones
    /// Cancelled, so a finished run never shows a stage as still going.
    pub fn run_finished(&mut self, run: RunNumber, status: RunStatus, at: DateTime<Utc>) -> Result<(), StoreError> {
        let op = "record that a run finished";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        if !finish_run(&tx, run, status, at).map_err(error::sql(&self.db_path, op))? {
            drop(tx);
            return Err(self.run_not_found(run));
        }
        close_open_stages(&tx, run, at, StageStatus::Skipped, StageStatus::Cancelled, None)
            .map_err(error::sql(&self.db_path, op))?;
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    pub(super) fn run_not_found(&self, run: RunNumber) -> StoreError {
        StoreError::RunNotFound {
            path: self.db_path.clone(),
            run,
        }
    }

    fn stage_not_found(&self, run: RunNumber, stage: &str) -> StoreError {
        match self.run(run) {
            Ok(Some(_)) => StoreError::StageNotFound {
                path: self.db_path.clone(),
                run,
                stage: stage.to_string(),
            },
            Ok(None) => self.run_not_found(run),
            Err(e) => e,
        }
    }
}

/// Starts a `BEGIN IMMEDIATE` transaction: takes the write lock up front (waiting up to the
/// busy timeout), so a read-then-write never fails on a stale snapshot.
pub(super) fn write_tx<'c>(
    conn: &'c mut Connection,
    path: &Path,
    op: &'static str,
) -> Result<Transaction<'c>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(error::sql(path, op))
}

/// Sets the run's final status, finish time and duration; false if there is no such run.
pub(super) fn finish_run(
    tx: &Transaction<'_>,
    run: RunNumber,
    status: RunStatus,
    at: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let started: Option<Option<SqlTime>> = tx
        .query_row("SELECT started_at FROM runs WHERE number = ?1", [run], |row| row.get(0))
        .optional()?;
    let Some(started) = started else {
        return Ok(false);
    };
    let duration = started.map(|s| millis_between(s.0, at));
    tx.execute(
        "UPDATE runs SET status = ?2, finished_at = ?3, duration_ms = ?4 WHERE number = ?1",
        params![run, status, SqlTime(at), duration],
    )?;
    Ok(true)
}

/// Ends the run's Pending and Running stages with the given statuses at `at`. `message` is
/// set on stages that have none.
pub(super) fn close_open_stages(
    tx: &Transaction<'_>,
    run: RunNumber,
    at: DateTime<Utc>,
    pending_to: StageStatus,
    running_to: StageStatus,
    message: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE stages SET status = ?2, finished_at = ?3, message = coalesce(message, ?4)
         WHERE run = ?1 AND status = ?5",
        params![run, pending_to, SqlTime(at), message, StageStatus::Pending],
    )?;
    let running: Vec<(i64, Option<SqlTime>)> = {
        let mut stmt = tx.prepare_cached("SELECT position, started_at FROM stages WHERE run = ?1 AND status = ?2")?;
        let rows = stmt.query_map(params![run, StageStatus::Running], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (position, started) in running {
        let duration = started.map(|s| millis_between(s.0, at));
        tx.execute(
            "UPDATE stages SET status = ?3, finished_at = ?4, duration_ms = ?5,
                               message = coalesce(message, ?6)
             WHERE run = ?1 AND position = ?2",
            params![run, position, running_to, SqlTime(at), duration, message],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{new_run, t};
    use super::*;

    #[test]
    fn a_run_with_stages_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let new = new_run("pid1@host");
        let n = store.create_run(&new, t(0)).unwrap();

        let run = store.run(n).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(run.queued_at, t(0));
        assert_eq!(run.started_at, None);
        let stages = store.stages(n).unwrap();
        let names: Vec<_> = stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["test", "build", "package", "lint"]);
        assert!(stages.iter().all(|s| s.status == StageStatus::Pending));
        assert_eq!(stages.iter().map(|s| s.position).collect::<Vec<_>>(), [0, 1, 2, 3]);

        let nanos = t(1) + chrono::Duration::nanoseconds(123_456_789);
        store.run_started(n, nanos).unwrap();
        store.stage_started(n, "test", t(1)).unwrap();
        store
            .stage_finished(n, "test", StageStatus::Success, Some(0), t(13), None)
            .unwrap();
        store.stage_started(n, "build", t(13)).unwrap();
        store
            .stage_finished(n, "build", StageStatus::Success, Some(0), t(50), None)
            .unwrap();
        store.stage_started(n, "package", t(50)).unwrap();
        store.set_image(n, "package", "sha256:abc", "shop:1a2b3c4").unwrap();
        store
            .stage_finished(n, "package", StageStatus::Failed, Some(2), t(64), Some("exit 2"))
            .unwrap();
        store.run_finished(n, RunStatus::Failed, t(65)).unwrap();

        let run = store.run(n).unwrap().unwrap();
        assert_eq!(run.number, n);
        assert_eq!(run.app, "shop");
        assert_eq!(run.commit, "1a2b3c4d5e6f");
        assert_eq!(run.short_commit, "1a2b3c4");
        assert_eq!(run.branch.as_deref(), Some("main"));
        assert_eq!(run.subject, "Add checkout");
        assert_eq!(run.author, "Ada");
        assert_eq!(run.trigger, "watch");
        assert_eq!(run.owner, "pid1@host");
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.started_at, Some(nanos), "nanoseconds survive");
        assert_eq!(run.finished_at, Some(t(65)));
        assert_eq!(run.duration_ms, Some(63_876));
        assert_eq!(run.image_id.as_deref(), Some("sha256:abc"));
        assert_eq!(run.image_tag.as_deref(), Some("shop:1a2b3c4"));

        let stages = store.stages(n).unwrap();
        let test = &stages[0];
        assert_eq!(test.run, n);
        assert_eq!(test.status, StageStatus::Success);
        assert_eq!(test.exit_code, Some(0));
        assert_eq!(test.started_at, Some(t(1)));
        assert_eq!(test.finished_at, Some(t(13)));
        assert_eq!(test.duration_ms, Some(12_000));
        let package = &stages[2];
        assert_eq!(package.status, StageStatus::Failed);
        assert_eq!(package.exit_code, Some(2));
        assert_eq!(package.message.as_deref(), Some("exit 2"));
        assert_eq!(package.image_id.as_deref(), Some("sha256:abc"));
        assert_eq!(package.duration_ms, Some(14_000));
        // Never started: closed as Skipped by run_finished, without a duration.
        let lint = &stages[3];
        assert_eq!(lint.status, StageStatus::Skipped);
        assert_eq!(lint.started_at, None);
        assert_eq!(lint.finished_at, Some(t(65)));
        assert_eq!(lint.duration_ms, None);
    }

    #[test]
    fn run_numbers_increase() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let numbers: Vec<_> = (0..5)
            .map(|i| store.create_run(&new_run("me"), t(i)).unwrap())
            .collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
        let recent: Vec<_> = store.recent_runs(3).unwrap().iter().map(|r| r.number).collect();
        assert_eq!(recent, [5, 4, 3]);
        assert_eq!(store.recent_runs(0).unwrap().len(), 0);
        assert_eq!(store.recent_runs(usize::MAX).unwrap().len(), 5);
    }

    #[test]
    fn concurrent_stores_never_share_a_number() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".shipdeck");
        let per_thread = 100;
        let mut all: Vec<RunNumber> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|i| {
                    // No barrier: a thread that panicked before reaching one would leave the
                    // other waiting forever.
                    let dir = &dir;
                    s.spawn(move || {
                        let mut store = Store::open(dir).unwrap();
                        let owner = format!("thread{i}");
                        (0..per_thread)
                            .map(|k| store.create_run(&new_run(&owner), t(k)).unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        all.sort_unstable();
        let expected: Vec<RunNumber> = (1..=2 * per_thread).collect();
        assert_eq!(all, expected);
        let store = Store::open(&dir).unwrap();
        for n in [1, 2 * per_thread] {
            assert_eq!(store.stages(n).unwrap().len(), 4, "run {n} has its stages");
        }
    }

    #[test]
    fn a_crash_loses_nothing_acknowledged() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let n = store.create_run(&new_run("me"), t(0)).unwrap();
        store.run_started(n, t(1)).unwrap();
        store.stage_started(n, "test", t(1)).unwrap();
        store
            .stage_finished(n, "test", StageStatus::Success, Some(0), t(2), None)
            .unwrap();
        // No close, no checkpoint: the connection is leaked as a crash would leave it.
        std::mem::forget(store);
        let store = Store::open(tmp.path()).unwrap();
        let run = store.run(n).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Running);
        assert_eq!(store.stages(n).unwrap()[0].status, StageStatus::Success);
    }

    /// Child half of `a_killed_process_loses_nothing_acknowledged`: does nothing unless the
    /// parent set the variable.
    #[test]
    fn crash_child() {
        let Some(dir) = std::env::var_os("SHIPDECK_STORE_CRASH_DIR") else {
            return;
        };
        let mut store = Store::open(std::path::Path::new(&dir)).unwrap();
        let n = store.create_run(&new_run("child"), t(0)).unwrap();
        store.run_started(n, t(1)).unwrap();
        store.stage_started(n, "test", t(1)).unwrap();
        store
            .stage_finished(n, "test", StageStatus::Failed, Some(1), t(2), Some("boom"))
            .unwrap();
        std::process::abort();
    }

    #[test]
    fn a_killed_process_loses_nothing_acknowledged() {
        let tmp = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "store::runs::tests::crash_child", "--nocapture"])
            .env("SHIPDECK_STORE_CRASH_DIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child aborts");
        assert!(tmp.path().join("history.sqlite-wal").exists());
        let store = Store::open(tmp.path()).unwrap();
        let run = store.run(1).unwrap().expect("run survived the crash");
        assert_eq!(run.owner, "child");
        assert_eq!(run.status, RunStatus::Running);
        let test = &store.stages(1).unwrap()[0];
        assert_eq!(test.status, StageStatus::Failed);
        assert_eq!(test.message.as_deref(), Some("boom"));
    }

    #[test]
    fn unknown_runs_and_stages_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let err = store.run_started(7, t(0)).unwrap_err();
        assert!(matches!(err, StoreError::RunNotFound { run: 7, .. }), "{err:?}");
        let err = store.stage_started(7, "test", t(0)).unwrap_err();
        assert!(matches!(err, StoreError::RunNotFound { run: 7, .. }), "{err:?}");
        let n = store.create_run(&new_run("me"), t(0)).unwrap();
        let err = store
            .stage_finished(n, "deploy", StageStatus::Success, None, t(1), None)
            .unwrap_err();
        assert!(matches!(err, StoreError::StageNotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("\"deploy\""), "{err}");
        let err = store.set_image(n, "deploy", "id", "tag").unwrap_err();
        assert!(matches!(err, StoreError::StageNotFound { .. }), "{err:?}");
        let err = store.run_finished(99, RunStatus::Success, t(1)).unwrap_err();
        assert!(matches!(err, StoreError::RunNotFound { run: 99, .. }), "{err:?}");
        assert!(store.run(99).unwrap().is_none());
        assert!(store.stages(99).unwrap().is_empty());
    }

    #[test]
    fn duplicate_stage_names_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let stages = ["test", "build", "test"];
        let run = NewRun {
            stages: &stages,
            ..new_run("me")
        };
        let err = store.create_run(&run, t(0)).unwrap_err();
        assert!(matches!(err, StoreError::DuplicateStage { .. }), "{err:?}");
        assert!(store.recent_runs(10).unwrap().is_empty(), "nothing half-written");
    }
}
