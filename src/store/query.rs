//! Reading runs and stages back.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::error;
use super::time::{self, SqlTime};
use super::{RunNumber, RunStatus, StageStatus, Store, StoreError};

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    pub number: RunNumber,
    pub app: String,
    pub commit: String,
    pub short_commit: String,
    pub branch: Option<String>,
    pub subject: String,
    pub author: String,
    pub trigger: String,
    pub status: RunStatus,
    #[serde(serialize_with = "time::serialize")]
    pub queued_at: DateTime<Utc>,
    #[serde(serialize_with = "time::serialize_opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time::serialize_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub image_id: Option<String>,
    pub image_tag: Option<String>,
    pub owner: String,
    /// The verdicts of the run's scan stages (without their findings), in no set order.
    pub scans: Vec<StageScan>,
}

/// A scan stage's verdict in a run's record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StageScan {
    pub stage: String,
    pub verdict: crate::scan::ScanVerdict,
}

/// One stage of a run as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageRecord {
    pub run: RunNumber,
    pub name: String,
    /// 0-based place in the pipeline.
    pub position: usize,
    pub status: StageStatus,
    pub exit_code: Option<i64>,
    #[serde(serialize_with = "time::serialize_opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time::serialize_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
    pub image_id: Option<String>,
}

const RUN_COLUMNS: &str = "number, app, commit_sha, short_commit, branch, subject, author, \
     trigger_kind, status, queued_at, started_at, finished_at, duration_ms, image_id, image_tag, \
     owner, \
     (SELECT json_group_array(json_object('stage', s.name, 'verdict', json_remove(json(s.scan), '$.findings'))) \
      FROM stages s WHERE s.run = runs.number AND s.scan IS NOT NULL)";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        number: row.get(0)?,
        app: row.get(1)?,
        commit: row.get(2)?,
        short_commit: row.get(3)?,
        branch: row.get(4)?,
        subject: row.get(5)?,
        author: row.get(6)?,
        trigger: row.get(7)?,
        status: row.get(8)?,
        queued_at: row.get::<_, SqlTime>(9)?.0,
        started_at: time::opt(row.get(10)?),
        finished_at: time::opt(row.get(11)?),
        duration_ms: row.get(12)?,
        image_id: row.get(13)?,
        image_tag: row.get(14)?,
        owner: row.get(15)?,
        // Written by this store from a ScanVerdict: unreadable JSON is an old or foreign
        // row, shown as no scans rather than failing the history.
        scans: row
            .get::<_, Option<String>>(16)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
    })
}

fn stage_from_row(row: &Row<'_>) -> rusqlite::Result<StageRecord> {
    Ok(StageRecord {
        run: row.get(0)?,
        name: row.get(1)?,
        position: row.get(2)?,
        status: row.get(3)?,
        exit_code: row.get(4)?,
        started_at: time::opt(row.get(5)?),
        finished_at: time::opt(row.get(6)?),
        duration_ms: row.get(7)?,
        message: row.get(8)?,
        image_id: row.get(9)?,
    })
}

impl Store {
    /// SQLite's `data_version`: it changes when another connection (another shipdeck
    /// process) commits to the database, never for this one's own writes.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .map_err(error::sql(&self.db_path, "read the database's data_version"))
    }

    /// The newest `limit` runs, newest first.
    pub fn recent_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let op = "read recent runs";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY number DESC LIMIT ?1"))
            .map_err(error::sql(&self.db_path, op))?;
        let rows = stmt
            .query_map([limit], run_from_row)
            .map_err(error::sql(&self.db_path, op))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(error::sql(&self.db_path, op))
    }

    /// One run, if it exists.
    pub fn run(&self, run: RunNumber) -> Result<Option<RunRecord>, StoreError> {
        let op = "read a run";
        self.conn
            .prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE number = ?1"))
            .and_then(|mut stmt| stmt.query_row([run], run_from_row).optional())
            .map_err(error::sql(&self.db_path, op))
    }

    /// The run's stages in pipeline order (empty for an unknown run).
    pub fn stages(&self, run: RunNumber) -> Result<Vec<StageRecord>, StoreError> {
        let op = "read the stages of a run";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT run, name, position, status, exit_code, started_at, finished_at,
                        duration_ms, message, image_id
                 FROM stages WHERE run = ?1 ORDER BY position",
            )
            .map_err(error::sql(&self.db_path, op))?;
        let rows = stmt
            .query_map(params![run], stage_from_row)
            .map_err(error::sql(&self.db_path, op))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(error::sql(&self.db_path, op))
    }
}
