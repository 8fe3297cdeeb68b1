//! Shared test fixtures.

use chrono::{DateTime, Utc};

use super::{NewOperation, NewRun, RunNumber, RunStatus, Store};
use crate::deploy::model::{OpAction, Operator, ReleaseRef, SmokeResult};
use crate::text::short_commit;

/// 2023-11-14T22:13:20Z plus `secs`.
pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

pub(crate) fn new_run(owner: &str) -> NewRun<'_> {
    NewRun {
        app: "shop",
        commit: "1a2b3c4d5e6f",
        short_commit: "1a2b3c4",
        branch: Some("main"),
        subject: "Add checkout",
        author: "Ada",
        trigger: "watch",
        owner,
        stages: &["test", "build", "package", "lint"],
    }
}

/// A release of app "shop" built from `commit` (12+ hex digits).
pub(crate) fn release(commit: &str) -> ReleaseRef {
    let short = short_commit(commit);
    ReleaseRef {
        commit: commit.to_string(),
        short_commit: short.clone(),
        subject: format!("Release {short}"),
        image_id: format!("sha256:{commit}"),
        image_tag: Some(format!("shop:{short}")),
    }
}

pub(crate) fn operator() -> Operator {
    Operator {
        git_user: Some("Ada Lovelace <ada@example.com>".to_string()),
        os_user: "ada".to_string(),
        host: "box".to_string(),
    }
}

/// An operation of app "shop" on `env` putting `to` in place, run by process `owner`.
pub(crate) fn new_op<'a>(
    env: &'a str,
    action: OpAction,
    to: Option<&'a ReleaseRef>,
    operator: &'a Operator,
    owner: &'a str,
) -> NewOperation<'a> {
    NewOperation {
        app: "shop",
        env,
        action,
        from: None,
        to,
        run: None,
        operator,
        owner,
        approval: None,
        forced: false,
        overridden: None,
        policy: None,
    }
}

/// A smoke result of `check`; a failed one says why.
pub(crate) fn smoke(check: &str, passed: bool) -> SmokeResult {
    SmokeResult {
        check: check.to_string(),
        passed,
        attempts: if passed { 1 } else { 5 },
        latency_ms: 12,
        status: Some(if passed { 200 } else { 503 }),
        excerpt: (!passed).then(|| "Service Unavailable".to_string()),
        message: if passed {
            "200".to_string()
        } else {
            "expected status 200, got 503".to_string()
        },
    }
}

/// Records a finished run of "shop" from `commit` with status `status`, built into `image`
/// when given.
pub(crate) fn finished_run(
    store: &mut Store,
    commit: &str,
    status: RunStatus,
    image: Option<&str>,
    at: DateTime<Utc>,
) -> RunNumber {
    let short = short_commit(commit);
    let run = NewRun {
        commit,
        short_commit: &short,
        subject: "Add checkout",
        ..new_run("me")
    };
    let n = store.create_run(&run, at).unwrap();
    store.run_started(n, at).unwrap();
    if let Some(image) = image {
        store.set_image(n, "package", image, &format!("shop:{short}")).unwrap();
    }
    store.run_finished(n, status, at).unwrap();
    n
}

/// Stands in for the owner check of `mark_interrupted*`: only `alive` is alive; it remembers
/// whom it was asked about, so that a test can see each owner is asked once.
pub(crate) struct OwnerProbe {
    alive: &'static str,
    asked: std::cell::RefCell<Vec<String>>,
}

impl OwnerProbe {
    pub(crate) fn alive(alive: &'static str) -> OwnerProbe {
        OwnerProbe {
            alive,
            asked: std::cell::RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn is_alive(&self, owner: &str) -> bool {
        self.asked.borrow_mut().push(owner.to_string());
        owner == self.alive
    }

    /// The owners it was asked about, sorted.
    pub(crate) fn asked(self) -> Vec<String> {
        let mut asked = self.asked.into_inner();
        asked.sort();
        asked
    }
}

/// How many rows a table holds.
pub(crate) fn count_rows(store: &Store, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}
