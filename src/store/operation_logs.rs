//! The log lines of operations on environments (what a deploy said as it went, a
//! release_command's output), kept with the operation in the audit history. Lines arrive
//! cleaned (sanitized and masked) by the recorder.

use rusqlite::params;

use super::error;
use super::runs::write_tx;
use super::{Store, StoreError};

/// At most this many lines are kept per operation; the rest are counted in one last line.
pub const MAX_OPERATION_LOG_LINES: i64 = 20_000;

impl Store {
    /// Appends `lines` to the log of operation `id`.
    pub fn append_operation_log(&mut self, id: i64, lines: &[String]) -> Result<(), StoreError> {
        let op = "keep an operation's log lines";
        let tx = write_tx(&mut self.conn, &self.db_path, op)?;
        let kept: i64 = tx
            .query_row("SELECT count(*) FROM operation_logs WHERE operation = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(error::sql(&self.db_path, op))?;
        for (i, line) in lines.iter().enumerate() {
            let n = kept + i as i64;
            if n > MAX_OPERATION_LOG_LINES {
                break;
            }
            let line = if n == MAX_OPERATION_LOG_LINES {
                "… (the rest of this operation's log was not kept)"
            } else {
                line.as_str()
            };
            tx.execute(
                "INSERT INTO operation_logs (operation, line) VALUES (?1, ?2)",
                params![id, line],
            )
            .map_err(error::sql(&self.db_path, op))?;
        }
        tx.commit().map_err(error::sql(&self.db_path, op))
    }

    /// The log of operation `id`, in order.
    pub fn operation_log(&self, id: i64) -> Result<Vec<String>, StoreError> {
        let op = "read an operation's log";
        let mut stmt = self
            .conn
            .prepare("SELECT line FROM operation_logs WHERE operation = ?1 ORDER BY id")
            .map_err(error::sql(&self.db_path, op))?;
        let lines = stmt
            .query_map([id], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(error::sql(&self.db_path, op))?;
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use crate::deploy::model::{OpAction, Operator};
    use crate::store::{NewOperation, Store};

    #[test]
    fn an_operations_log_is_kept_in_order_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let operator = Operator {
            git_user: None,
            os_user: "ada".into(),
            host: "box".into(),
        };
        let new = NewOperation {
            app: "a",
            env: "staging",
            action: OpAction::Deploy,
            from: None,
            to: None,
            run: None,
            operator: &operator,
            owner: "1@box",
            approval: None,
            forced: false,
            overridden: None,
            policy: None,
        };
        let id = store.create_operation(&new, chrono::Utc::now()).unwrap();
        store.append_operation_log(id, &["one".into(), "two".into()]).unwrap();
        store.append_operation_log(id, &["three".into()]).unwrap();
        assert_eq!(store.operation_log(id).unwrap(), ["one", "two", "three"]);
        let many: Vec<String> = (0..super::MAX_OPERATION_LOG_LINES).map(|i| i.to_string()).collect();
        store.append_operation_log(id, &many).unwrap();
        let kept = store.operation_log(id).unwrap();
        assert_eq!(kept.len() as i64, super::MAX_OPERATION_LOG_LINES + 1);
        assert!(kept.last().unwrap().contains("not kept"), "{:?}", kept.last());
    }
}
