//! Shared test fixtures.

use chrono::{DateTime, Utc};

use super::NewRun;

/// 2023-11-14T22:13:20Z plus `secs`.
pub(super) fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

pub(super) fn new_run(owner: &str) -> NewRun<'_> {
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
