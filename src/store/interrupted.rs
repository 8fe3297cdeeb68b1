//! Closing runs that a dead shipdeck process left Queued or Running.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::error;
use super::runs::{close_open_stages, finish_run, write_tx};
use super::{RunNumber, RunStatus, StageStatus, Store, StoreError};

/// The rows whose owner `is_alive` says is gone, asking once per owner.
pub(super) fn of_dead_owners<K>(rows: Vec<(K, String)>, is_alive: impl Fn(&str) -> bool) -> Vec<(K, String)> {
    let mut alive: HashMap<String, bool> = HashMap::new();
    rows.into_iter()
        .filter(|(_, owner)| !*alive.entry(owner.clone()).or_insert_with(|| is_alive(owner)))
        .collect()
}

impl Store {
    /// Marks Cancelled every Queued or Running run whose owner `is_alive` says is gone, with
    /// its Pending and Running stages; returns how many runs it closed. Runs of live owners
    /// (this process, another shipdeck) are left alone. `is_alive` is called once per owner,
    /// outside any database lock.
    pub fn mark_interrupted(
        &mut self,
        at: DateTime<Utc>,
        is_alive: impl Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        let op = "close runs interrupted by a dead process";
        let active: Vec<(RunNumber, String)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT number, owner FROM runs WHERE status IN (?1, ?2)")
                .map_err(error::sql(&self.db_path, op))?;
            let rows = stmt
                .query_map(params![RunStatus::Queued, RunStatus::Running], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .map_err(error::sql(&self.db_path, op))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(error::sql(&self.db_path, op))?
        };
        let dead = of_dead_owners(active, is_alive);
        if dead.is_empty() {
            return Ok(0);
        }

        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        let mut closed = 0;
        for (run, owner) in dead {
            // Re-check under the write lock: the run may have ended meanwhile.
            let still_open = tx
                .query_row(
                    "SELECT count(*) FROM runs WHERE number = ?1 AND owner = ?2
                                                   AND status IN (?3, ?4)",
                    params![run, owner, RunStatus::Queued, RunStatus::Running],
                    |row| row.get::<_, i64>(0),
                )
                .map_err(error::sql(&self.db_path, op))?
                > 0;
            if !still_open {
                continue;
            }
            let message = format!("interrupted: shipdeck process {owner} ended before the run did");
            finish_run(&tx, run, RunStatus::Cancelled, at)
                .and_then(|_| {
                    close_open_stages(
                        &tx,
                        run,
                        at,
                        StageStatus::Cancelled,
                        StageStatus::Cancelled,
                        Some(&message),
                    )
                })
                .map_err(error::sql(&self.db_path, op))?;
            closed += 1;
        }
        tx.commit().map_err(error::sql(&self.db_path, op))?;
        Ok(closed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{new_run, t, OwnerProbe};
    use super::*;

    #[test]
    fn only_runs_of_dead_owners_are_closed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        // dead owner: one running run (a stage mid-way), one queued run
        let dead_running = store.create_run(&new_run("dead"), t(0)).unwrap();
        store.run_started(dead_running, t(1)).unwrap();
        store.stage_started(dead_running, "test", t(1)).unwrap();
        store
            .stage_finished(dead_running, "test", StageStatus::Success, Some(0), t(5), None)
            .unwrap();
        store.stage_started(dead_running, "build", t(5)).unwrap();
        let dead_queued = store.create_run(&new_run("dead"), t(2)).unwrap();
        // dead owner, but the run already ended: untouched
        let dead_done = store.create_run(&new_run("dead"), t(3)).unwrap();
        store.run_started(dead_done, t(3)).unwrap();
        store.run_finished(dead_done, RunStatus::Success, t(4)).unwrap();
        // live owner: untouched
        let live = store.create_run(&new_run("live"), t(3)).unwrap();
        store.run_started(live, t(3)).unwrap();
        store.stage_started(live, "test", t(3)).unwrap();

        let probe = OwnerProbe::alive("live");
        let closed = store.mark_interrupted(t(20), |owner| probe.is_alive(owner)).unwrap();
        assert_eq!(closed, 2);
        assert_eq!(probe.asked(), ["dead", "live"], "once per owner");

        let run = store.run(dead_running).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Cancelled);
        assert_eq!(run.finished_at, Some(t(20)));
        assert_eq!(run.duration_ms, Some(19_000));
        let stages = store.stages(dead_running).unwrap();
        assert_eq!(stages[0].status, StageStatus::Success, "finished stage kept");
        assert_eq!(stages[0].message, None);
        assert_eq!(stages[1].status, StageStatus::Cancelled);
        assert_eq!(stages[1].duration_ms, Some(15_000));
        assert!(stages[1].message.as_deref().unwrap().contains("dead"));
        assert_eq!(stages[2].status, StageStatus::Cancelled);
        assert_eq!(stages[2].duration_ms, None);

        let run = store.run(dead_queued).unwrap().unwrap();
        assert_eq!(run.status, RunStatus::Cancelled);
        assert_eq!(run.duration_ms, None, "never started");
        assert!(store
            .stages(dead_queued)
            .unwrap()
            .iter()
            .all(|s| s.status == StageStatus::Cancelled));

        let done = store.run(dead_done).unwrap().unwrap();
        assert_eq!(done.status, RunStatus::Success);
        assert_eq!(done.finished_at, Some(t(4)));

        let live_run = store.run(live).unwrap().unwrap();
        assert_eq!(live_run.status, RunStatus::Running);
        assert_eq!(live_run.finished_at, None);
        let live_stages = store.stages(live).unwrap();
        assert_eq!(live_stages[0].status, StageStatus::Running);
        assert_eq!(live_stages[1].status, StageStatus::Pending);

        assert_eq!(store.mark_interrupted(t(30), |_| false).unwrap(), 1, "live's turn");
        assert_eq!(store.mark_interrupted(t(40), |_| false).unwrap(), 0);
    }
}
