//! Releases by what names them: a run number, a commit (several runs of one commit are
//! several releases, one image each) or an image ID prefix. Only green runs that built an image
//! are releases.

use rusqlite::params;

use super::error::{self, StoreError};
use super::operation_reads::green_from_row;
#[cfg(test)]
use super::NewRun;
use super::{RunNumber, RunStatus, Store};
use crate::deploy::model::ReleaseRef;

/// The columns [`green_from_row`] reads.
const GREEN: &str = "SELECT number, commit_sha, short_commit, subject, image_id, image_tag FROM runs
                     WHERE app = ?1 AND status = ?2 AND image_id IS NOT NULL";

impl Store {
    /// The releases of `app` built from a commit starting with `commit_prefix` (4+ hex digits,
    /// case-insensitive), newest run first; empty for a prefix that is too short or not hex.
    pub fn green_releases_of_commit(
        &self,
        app: &str,
        commit_prefix: &str,
    ) -> Result<Vec<(RunNumber, ReleaseRef)>, StoreError> {
        if commit_prefix.len() < 4 || !commit_prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        self.green_where(
            "find the releases of a commit",
            app,
            "AND substr(lower(commit_sha), 1, length(?3)) = ?3",
            &commit_prefix.to_ascii_lowercase(),
        )
    }

    /// The release run `number` of `app` built, if it is green and built one.
    pub fn green_release_of_run(&self, app: &str, number: RunNumber) -> Result<Option<ReleaseRef>, StoreError> {
        Ok(self
            .green_where(
                "find the release of a run",
                app,
                "AND number = CAST(?3 AS INTEGER)",
                &number.to_string(),
            )?
            .into_iter()
            .next()
            .map(|(_, r)| r))
    }

    /// The releases of `app` whose image ID (without `sha256:`) starts with `prefix`, newest
    /// run first.
    pub fn green_releases_of_image(&self, app: &str, prefix: &str) -> Result<Vec<(RunNumber, ReleaseRef)>, StoreError> {
        let prefix = prefix.trim_start_matches("sha256:").to_ascii_lowercase();
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        self.green_where(
            "find a release by image ID",
            app,
            "AND substr(image_id, 1, length(?3)) = ?3",
            &format!("sha256:{prefix}"),
        )
    }

    fn green_where(
        &self,
        op: &'static str,
        app: &str,
        condition: &str,
        value: &str,
    ) -> Result<Vec<(RunNumber, ReleaseRef)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{GREEN} {condition} ORDER BY number DESC LIMIT 50"))
            .map_err(error::sql(&self.db_path, op))?;
        let rows = stmt
            .query_map(params![app, RunStatus::Success, value], green_from_row)
            .map_err(error::sql(&self.db_path, op))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(error::sql(&self.db_path, op))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::new_run;
    use super::*;

    fn green(store: &mut Store, commit: &str, image: &str) -> RunNumber {
        let run = NewRun {
            commit,
            ..new_run("me")
        };
        let n = store.create_run(&run, super::super::test_support::t(0)).unwrap();
        store.set_image(n, "package", image, "shop:x").unwrap();
        store
            .run_finished(n, RunStatus::Success, super::super::test_support::t(1))
            .unwrap();
        n
    }

    #[test]
    fn two_runs_of_one_commit_are_two_releases_told_apart_by_run_and_image() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = Store::open(tmp.path()).unwrap();
        let first = green(&mut store, "aaaa1111bbbb", "sha256:1111");
        let second = green(&mut store, "aaaa1111bbbb", "sha256:2222");
        let of_commit = store.green_releases_of_commit("shop", "AAAA1111").unwrap();
        let runs: Vec<RunNumber> = of_commit.iter().map(|(n, _)| *n).collect();
        assert_eq!(runs, vec![second, first], "newest first");
        assert_eq!(of_commit[1].1.image_id, "sha256:1111");
        assert_eq!(
            store.green_release_of_run("shop", first).unwrap().unwrap().image_id,
            "sha256:1111"
        );
        assert_eq!(store.green_release_of_run("other", first).unwrap(), None);
        let by_image = store.green_releases_of_image("shop", "sha256:222").unwrap();
        assert_eq!(by_image.len(), 1);
        assert_eq!(by_image[0].0, second);
        assert_eq!(store.green_releases_of_image("shop", "22").unwrap()[0].0, second);
        assert!(store.green_releases_of_image("shop", "x%").unwrap().is_empty());
        assert!(store.green_releases_of_commit("shop", "aaa").unwrap().is_empty());
    }
}
