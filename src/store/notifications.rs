//! Notifications in the history: every delivery attempt's outcome, and the run history
//! question notifications ask ("did this branch's previous run fail?").

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::error;
use super::runs::write_tx;
use super::time::SqlTime;
use super::{RunNumber, RunStatus, Store, StoreError};

/// One delivery attempt's outcome, cleaned by the recorder.
#[derive(Debug, Clone, Copy)]
pub struct NewNotification<'a> {
    pub channel: &'a str,
    pub kind: &'a str,
    pub event: &'a str,
    pub env: Option<&'a str>,
    /// "sent", "retrying", "failed".
    pub status: &'a str,
    pub attempt: u32,
    pub message: &'a str,
}

/// A notification's outcome as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub channel: String,
    pub kind: String,
    pub event: String,
    pub env: Option<String>,
    pub status: String,
    pub attempt: u32,
    pub message: String,
    pub at: DateTime<Utc>,
}

impl Store {
    pub fn record_notification(&mut self, n: &NewNotification<'_>, at: DateTime<Utc>) -> Result<(), StoreError> {
        let op = "record a notification";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        tx.execute(
            "INSERT INTO notifications (channel, kind, event, env, status, attempt, message, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                n.channel,
                n.kind,
                n.event,
                n.env,
                n.status,
                n.attempt,
                n.message,
                SqlTime(at)
            ],
        )
        .map_err(error::sql(&self.db_path, op))?;
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    /// The newest `limit` notification outcomes, newest first.
    pub fn notifications(&self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        let op = "read notifications";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT channel, kind, event, env, status, attempt, message, at
                 FROM notifications ORDER BY id DESC LIMIT ?1",
            )
            .map_err(error::sql(&self.db_path, op))?;
        let rows = stmt
            .query_map([limit], |r| {
                let at: SqlTime = r.get(7)?;
                Ok(NotificationRecord {
                    channel: r.get(0)?,
                    kind: r.get(1)?,
                    event: r.get(2)?,
                    env: r.get(3)?,
                    status: r.get(4)?,
                    attempt: r.get(5)?,
                    message: r.get(6)?,
                    at: at.0,
                })
            })
            .map_err(error::sql(&self.db_path, op))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(error::sql(&self.db_path, op))
    }

    /// The status of the newest run of `app` on `branch` before run `before` that ended in
    /// success or failure (cancelled and interrupted runs say nothing about the code).
    pub fn previous_finished_run(
        &self,
        app: &str,
        branch: Option<&str>,
        before: RunNumber,
    ) -> Result<Option<RunStatus>, StoreError> {
        let op = "read the previous run of a branch";
        self.conn
            .query_row(
                "SELECT status FROM runs
                 WHERE app = ?1 AND branch IS ?2 AND number < ?3 AND status IN ('success', 'failed')
                 ORDER BY number DESC LIMIT 1",
                params![app, branch, before],
                |r| r.get::<_, RunStatus>(0),
            )
            .optional()
            .map_err(error::sql(&self.db_path, op))
    }
}
