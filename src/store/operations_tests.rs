//! Tests of the operations history (audit, smoke verdicts, releases for rollback).

use super::super::schema::MIGRATIONS;
use super::super::test_support::{count_rows, finished_run, new_op, new_run, operator, release, smoke, t, OwnerProbe};
use super::super::{NewRun, RunStatus, DB_FILE};
use super::*;
use rusqlite::Connection;
use std::collections::HashMap;
use OpAction::{AutoRollback, Deploy, Promote, Rollback, Smoke};
use OpOutcome::{Failed, Refused, RolledBack, Running, Succeeded, Unchanged};

const A: &str = "aaaa1111aaaa1111";
const B: &str = "bbbb2222bbbb2222";
const C: &str = "cccc3333cccc3333";
const D: &str = "dddd4444dddd4444";

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    (tmp, store)
}

/// Records a finished operation on `env` putting `to` in place, with smoke results.
fn finished_op(
    store: &mut Store,
    env: &str,
    action: OpAction,
    to: &ReleaseRef,
    outcome: OpOutcome,
    checks: &[SmokeResult],
    at: i64,
) -> i64 {
    let who = operator();
    let id = store
        .create_operation(&new_op(env, action, Some(to), &who, "me"), t(at))
        .unwrap();
    for (i, check) in checks.iter().enumerate() {
        store
            .record_smoke(id, "shop", env, to, i as u32, check, t(at + 1))
            .unwrap();
    }
    store.finish_operation(id, outcome, None, t(at + 2)).unwrap();
    id
}

fn images(releases: &[(OperationRecord, Option<SmokeVerdict>)]) -> Vec<String> {
    releases
        .iter()
        .map(|(op, _)| op.to.as_ref().unwrap().image_id.clone())
        .collect()
}

#[test]
fn an_operation_with_smoke_results_round_trips() {
    let (_tmp, mut store) = store();
    let from = release(A);
    let to = ReleaseRef {
        image_tag: None,
        ..release(B)
    };
    let who = operator();
    let new = NewOperation {
        from: Some(&from),
        run: Some(7),
        approval: Some("typed production"),
        forced: true,
        overridden: Some("smoke gate: failed on staging"),
        policy: Some("release.toml at 1a2b3c4"),
        ..new_op("production", Promote, Some(&to), &who, "1@box")
    };
    let start = t(0) + chrono::Duration::nanoseconds(123_456_789);
    let id = store.create_operation(&new, start).unwrap();

    let running = &store.operations("shop", Some("production"), 10).unwrap()[0];
    assert_eq!(running.outcome, Running);
    assert_eq!(running.finished_at, None);
    assert_eq!(running.duration_ms, None);
    assert!(running.smoke.is_empty());

    let health = smoke("GET /health", true);
    let version = SmokeResult {
        latency_ms: u64::MAX,
        status: None,
        ..smoke("GET /version", false)
    };
    // Recorded out of order: read back in check order.
    store
        .record_smoke(id, "shop", "production", &to, 1, &version, t(3))
        .unwrap();
    store
        .record_smoke(id, "shop", "production", &to, 0, &health, t(2))
        .unwrap();
    store
        .finish_operation(id, RolledBack, Some("smoke failed"), t(5))
        .unwrap();

    let ops = store.operations("shop", None, 10).unwrap();
    assert_eq!(ops.len(), 1);
    let expected = OperationRecord {
        id,
        app: "shop".into(),
        env: "production".into(),
        action: Promote,
        from: Some(from.clone()),
        to: Some(to.clone()),
        run: Some(7),
        operator: who.clone(),
        approval: Some("typed production".into()),
        forced: true,
        overridden: Some("smoke gate: failed on staging".into()),
        policy: Some("release.toml at 1a2b3c4".into()),
        outcome: RolledBack,
        message: Some("smoke failed".into()),
        started_at: start,
        finished_at: Some(t(5)),
        duration_ms: Some(4_876),
        smoke: vec![
            health,
            SmokeResult {
                latency_ms: i64::MAX as u64,
                ..version
            },
        ],
        load: Vec::new(),
    };
    assert_eq!(ops[0], expected);
    let json = serde_json::to_value(&ops[0]).unwrap();
    assert_eq!(json["action"], "promote");
    assert_eq!(json["outcome"], "rolled_back");
    assert_eq!(json["started_at"], "2023-11-14T22:13:20.123456789Z");
    assert_eq!(json["smoke"][1]["check"], "GET /version");

    // A target resolved after the row was created; no git identity, no smoke.
    let anon = Operator {
        git_user: None,
        ..operator()
    };
    let later = store
        .create_operation(&new_op("staging", Rollback, None, &anon, "1@box"), t(10))
        .unwrap();
    assert_eq!(store.operations("shop", Some("staging"), 1).unwrap()[0].to, None);
    let target = release(C);
    store.set_operation_target(later, &target).unwrap();
    store.finish_operation(later, Succeeded, None, t(9)).unwrap();
    let ops = store.operations("shop", None, 10).unwrap();
    assert_eq!(
        ops.iter().map(|o| o.id).collect::<Vec<_>>(),
        [later, id],
        "newest first"
    );
    assert_eq!(ops[0].to, Some(target));
    assert_eq!(ops[0].from, None);
    assert_eq!(ops[0].run, None);
    assert_eq!(ops[0].operator, anon);
    assert_eq!(ops[0].approval, None);
    assert!(!ops[0].forced);
    assert_eq!(ops[0].duration_ms, Some(0), "clock went backwards");
    assert_eq!(store.operations("shop", None, 1).unwrap().len(), 1);
    assert!(store.operations("shop", None, 0).unwrap().is_empty());
    assert_eq!(store.operations("shop", None, usize::MAX).unwrap().len(), 2);
}

#[test]
fn unknown_operations_are_reported() {
    let (_tmp, mut store) = store();
    let err = store.finish_operation(42, Succeeded, None, t(0)).unwrap_err();
    assert!(err.to_string().contains("finished"), "{err}");
    let err = store.set_operation_target(42, &release(A)).unwrap_err();
    assert!(err.to_string().contains("target"), "{err}");
    let err = store
        .record_smoke(42, "shop", "staging", &release(A), 0, &smoke("GET /", true), t(0))
        .unwrap_err();
    assert!(err.to_string().contains("smoke"), "{err}");
    assert_eq!(count_rows(&store, "smoke_results"), 0);
}

#[test]
fn the_latest_smoke_operation_gives_the_verdict() {
    let (_tmp, mut store) = store();
    let (a, b) = (release(A), release(B));
    assert_eq!(store.smoke_verdict("shop", "staging", &a.image_id).unwrap(), None);

    // A: failed, then passed.
    let failed = [smoke("GET /health", true), smoke("GET /version", false)];
    finished_op(&mut store, "staging", Deploy, &a, RolledBack, &failed, 0);
    let verdict = store.smoke_verdict("shop", "staging", &a.image_id).unwrap().unwrap();
    assert!(!verdict.passed);
    assert_eq!(verdict.failures, ["GET /version: expected status 200, got 503"]);
    let passed = [smoke("GET /health", true), smoke("GET /version", true)];
    let later = finished_op(&mut store, "staging", Smoke, &a, Succeeded, &passed, 10);
    let verdict = store.smoke_verdict("shop", "staging", &a.image_id).unwrap().unwrap();
    assert_eq!(
        verdict,
        SmokeVerdict {
            passed: true,
            at: t(11),
            operation: later,
            failures: vec![],
        }
    );

    // B: passed, then failed.
    finished_op(&mut store, "staging", Deploy, &b, Succeeded, &passed, 20);
    let both_failed = [smoke("GET /health", false), smoke("GET /version", false)];
    let later = finished_op(&mut store, "staging", Smoke, &b, Failed, &both_failed, 30);
    let verdict = store.smoke_verdict("shop", "staging", &b.image_id).unwrap().unwrap();
    assert!(!verdict.passed);
    assert_eq!(verdict.operation, later);
    assert_eq!(verdict.failures.len(), 2);
    assert!(
        verdict.failures[0].starts_with("GET /health: "),
        "{:?}",
        verdict.failures
    );

    // An operation without smoke results changes nothing.
    let verdict_of_b = |store: &Store| {
        let verdict = store.smoke_verdict("shop", "staging", &b.image_id).unwrap();
        verdict.unwrap().operation
    };
    finished_op(&mut store, "staging", Deploy, &b, Succeeded, &[], 40);
    assert_eq!(verdict_of_b(&store), later);

    // An interrupted smoke operation may not have run every check: it is no verdict.
    let who = operator();
    let cut = store
        .create_operation(&new_op("staging", Smoke, Some(&b), &who, "dead"), t(50))
        .unwrap();
    store
        .record_smoke(cut, "shop", "staging", &b, 0, &smoke("GET /health", true), t(51))
        .unwrap();
    assert_eq!(verdict_of_b(&store), cut, "a running operation's results count");
    store.mark_interrupted_operations(t(60), |_| false).unwrap();
    assert_eq!(verdict_of_b(&store), later);
}

#[test]
fn deployed_releases_are_distinct_successful_and_newest_first() {
    let (_tmp, mut store) = store();
    let (a, b, c, d) = (release(A), release(B), release(C), release(D));
    let pass = [smoke("GET /health", true)];
    let fail = [smoke("GET /health", false)];
    finished_op(&mut store, "staging", Deploy, &a, Succeeded, &pass, 0);
    finished_op(&mut store, "staging", Deploy, &b, RolledBack, &fail, 10);
    let put_back = finished_op(&mut store, "staging", AutoRollback, &a, Succeeded, &[], 13);
    let c_deploy = finished_op(&mut store, "staging", Deploy, &c, Succeeded, &pass, 20);
    // Smoke operations and failed, refused or unfinished ones put nothing in place.
    finished_op(&mut store, "staging", Smoke, &b, Succeeded, &pass, 25);
    finished_op(&mut store, "staging", Promote, &b, Failed, &[], 26);
    finished_op(&mut store, "staging", Rollback, &b, Refused, &[], 27);
    let who = operator();
    store
        .create_operation(&new_op("staging", Deploy, Some(&b), &who, "me"), t(28))
        .unwrap();
    let rollback = finished_op(&mut store, "staging", Rollback, &a, Succeeded, &[], 30);
    let unchanged = finished_op(&mut store, "staging", Deploy, &d, Unchanged, &[], 40);
    // Elsewhere: other environments and apps.
    finished_op(&mut store, "production", Promote, &b, Succeeded, &pass, 50);

    let releases = store.deployed_releases("shop", "staging", 10).unwrap();
    assert_eq!(
        images(&releases),
        [d.image_id.as_str(), a.image_id.as_str(), c.image_id.as_str()]
    );
    let ids: Vec<i64> = releases.iter().map(|(op, _)| op.id).collect();
    assert_eq!(ids, [unchanged, rollback, c_deploy], "the latest operation of each");
    assert_ne!(ids[1], put_back);
    assert_eq!(releases[0].1, None, "d never smoke-checked");
    let a_verdict = releases[1].1.as_ref().unwrap();
    assert!(a_verdict.passed);
    assert_eq!(releases[2].1.as_ref().unwrap().operation, c_deploy);
    assert_eq!(releases[2].0.smoke, pass, "with its smoke results");

    assert_eq!(
        images(&store.deployed_releases("shop", "staging", 2).unwrap()),
        [d.image_id.as_str(), a.image_id.as_str()]
    );
    assert!(store.deployed_releases("shop", "staging", 0).unwrap().is_empty());
    assert_eq!(
        images(&store.deployed_releases("shop", "production", 10).unwrap()),
        [b.image_id.as_str()]
    );
    assert!(store.deployed_releases("shop", "qa", 10).unwrap().is_empty());
    assert!(store.deployed_releases("other", "staging", 10).unwrap().is_empty());
}

#[test]
fn green_releases_come_from_successful_runs_with_an_image() {
    let (_tmp, mut store) = store();
    assert_eq!(store.newest_green_release("shop").unwrap(), None);
    let a = finished_run(&mut store, A, RunStatus::Success, Some("sha256:aaa"), t(0));
    finished_run(&mut store, B, RunStatus::Failed, Some("sha256:bbb"), t(10));
    finished_run(&mut store, C, RunStatus::Success, None, t(20));
    let other = NewRun {
        app: "other",
        commit: D,
        ..new_run("me")
    };
    let n = store.create_run(&other, t(30)).unwrap();
    store.set_image(n, "package", "sha256:other", "other:dddd444").unwrap();
    store.run_finished(n, RunStatus::Success, t(31)).unwrap();

    let expected = (
        a,
        ReleaseRef {
            commit: A.into(),
            short_commit: "aaaa111".into(),
            subject: "Add checkout".into(),
            image_id: "sha256:aaa".into(),
            image_tag: Some("shop:aaaa111".into()),
        },
    );
    assert_eq!(store.newest_green_release("shop").unwrap(), Some(expected.clone()));
    let a2 = finished_run(&mut store, A, RunStatus::Success, Some("sha256:aaa2"), t(40));
    let newest = store.newest_green_release("shop").unwrap().unwrap();
    assert_eq!((newest.0, newest.1.image_id.as_str()), (a2, "sha256:aaa2"));
    assert_eq!(store.newest_green_release("other").unwrap().unwrap().1.commit, D);
    assert_eq!(store.newest_green_release("nobody").unwrap(), None);

    assert_eq!(
        store.green_release_for("shop", "aaaa").unwrap().unwrap().0,
        a2,
        "newest"
    );
    assert_eq!(store.green_release_for("shop", "AAAA1111").unwrap().unwrap().0, a2);
    assert_eq!(store.green_release_for("shop", A).unwrap().unwrap().0, a2);
    assert_eq!(store.green_release_for("shop", "aaa").unwrap(), None, "too short");
    assert_eq!(store.green_release_for("shop", "aaa%").unwrap(), None, "not hex");
    assert_eq!(store.green_release_for("shop", "aaab").unwrap(), None);
    assert_eq!(store.green_release_for("shop", "bbbb").unwrap(), None, "failed");
    assert_eq!(store.green_release_for("shop", "cccc").unwrap(), None, "no image");
    assert_eq!(store.green_release_for("shop", "dddd").unwrap(), None, "other app");
    assert_eq!(store.green_release_for("other", "dddd").unwrap().unwrap().0, n);
}

#[test]
fn only_operations_of_dead_owners_are_interrupted() {
    let (_tmp, mut store) = store();
    let (a, who) = (release(A), operator());
    let dead = store
        .create_operation(&new_op("staging", Deploy, Some(&a), &who, "dead"), t(0))
        .unwrap();
    let dead_done = store
        .create_operation(&new_op("staging", Deploy, Some(&a), &who, "dead"), t(1))
        .unwrap();
    store.finish_operation(dead_done, Failed, Some("boom"), t(2)).unwrap();
    let live = store
        .create_operation(&new_op("production", Promote, Some(&a), &who, "live"), t(3))
        .unwrap();
    let dead_too = store
        .create_operation(&new_op("production", Smoke, Some(&a), &who, "dead"), t(4))
        .unwrap();

    let probe = OwnerProbe::alive("live");
    let closed = store
        .mark_interrupted_operations(t(20), |owner| probe.is_alive(owner))
        .unwrap();
    assert_eq!(closed, 2);
    assert_eq!(probe.asked(), ["dead", "live"], "once per owner");

    let ops: HashMap<i64, OperationRecord> = store
        .operations("shop", None, 10)
        .unwrap()
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    for id in [dead, dead_too] {
        assert_eq!(ops[&id].outcome, OpOutcome::Interrupted);
        assert_eq!(ops[&id].finished_at, Some(t(20)));
        assert!(ops[&id].message.as_deref().unwrap().contains("dead"));
    }
    assert_eq!(ops[&dead].duration_ms, Some(20_000));
    assert_eq!(ops[&dead_done].outcome, Failed);
    assert_eq!(ops[&dead_done].message.as_deref(), Some("boom"));
    assert_eq!(ops[&dead_done].finished_at, Some(t(2)));
    assert_eq!(ops[&live].outcome, Running);

    assert_eq!(
        store.mark_interrupted_operations(t(30), |_| false).unwrap(),
        1,
        "live's turn"
    );
    assert_eq!(store.mark_interrupted_operations(t(40), |_| false).unwrap(), 0);
}

#[test]
fn a_version_1_database_migrates_and_keeps_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(tmp.path().join(DB_FILE)).unwrap();
        conn.execute_batch(MIGRATIONS[0].sql).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO runs (app, commit_sha, short_commit, subject, author, trigger_kind, owner,
                               status, queued_at, image_id, image_tag)
             VALUES ('shop', ?1, 'aaaa111', 'Old work', 'Ada', 'cli', 'me', 'success', ?2,
                     'sha256:old', 'shop:aaaa111')",
            params![A, SqlTime(t(0))],
        )
        .unwrap();
    }
    let mut store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), crate::store::schema::latest_version());
    let run = store.run(1).unwrap().unwrap();
    assert_eq!(run.subject, "Old work");
    assert_eq!(run.status, RunStatus::Success);
    let (n, green) = store.newest_green_release("shop").unwrap().unwrap();
    assert_eq!((n, green.image_id.as_str()), (1, "sha256:old"));
    // The new tables work, and new runs continue the numbering.
    let id = finished_op(
        &mut store,
        "staging",
        Deploy,
        &green,
        Succeeded,
        &[smoke("GET /", true)],
        10,
    );
    assert_eq!(store.operations("shop", None, 10).unwrap()[0].id, id);
    assert_eq!(store.create_run(&new_run("me"), t(20)).unwrap(), 2);
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), crate::store::schema::latest_version());
    assert_eq!(store.operations("shop", None, 10).unwrap().len(), 1);
}

#[test]
fn deleting_an_operation_deletes_its_smoke_results() {
    let (_tmp, mut store) = store();
    let id = finished_op(
        &mut store,
        "staging",
        Smoke,
        &release(A),
        Succeeded,
        &[smoke("GET /", true), smoke("GET /health", true)],
        0,
    );
    store
        .conn
        .execute("DELETE FROM operations WHERE id = ?1", [id])
        .unwrap();
    assert_eq!(count_rows(&store, "smoke_results"), 0);
}

#[test]
fn environments_and_apps_do_not_leak_into_each_other() {
    let (_tmp, mut store) = store();
    let a = release(A);
    let pass = [smoke("GET /health", true)];
    let fail = [smoke("GET /health", false)];
    let staging = finished_op(&mut store, "staging", Deploy, &a, Succeeded, &pass, 0);
    let production = finished_op(&mut store, "production", Promote, &a, RolledBack, &fail, 10);
    let who = operator();
    let other_app = NewOperation {
        app: "other",
        ..new_op("staging", Deploy, Some(&a), &who, "me")
    };
    let other = store.create_operation(&other_app, t(20)).unwrap();
    store
        .record_smoke(other, "other", "staging", &a, 0, &fail[0], t(21))
        .unwrap();
    store.finish_operation(other, Succeeded, None, t(22)).unwrap();

    let ids = |env| -> Vec<i64> {
        store
            .operations("shop", env, 10)
            .unwrap()
            .iter()
            .map(|o| o.id)
            .collect()
    };
    assert_eq!(ids(Some("staging")), [staging]);
    assert_eq!(ids(Some("production")), [production]);
    assert_eq!(ids(None), [production, staging]);
    assert!(ids(Some("qa")).is_empty());
    assert_eq!(store.operations("other", None, 10).unwrap()[0].id, other);

    // The same image: passed on staging, failed on production and in the other app.
    let on = |app, env| store.smoke_verdict(app, env, &a.image_id).unwrap().map(|v| v.passed);
    assert_eq!(on("shop", "staging"), Some(true));
    assert_eq!(on("shop", "production"), Some(false));
    assert_eq!(on("other", "staging"), Some(false));
    assert_eq!(on("shop", "qa"), None);
    let staging_releases = store.deployed_releases("shop", "staging", 10).unwrap();
    assert_eq!(staging_releases.len(), 1);
    assert_eq!(staging_releases[0].0.id, staging);
    assert_eq!(staging_releases[0].1.as_ref().map(|v| v.passed), Some(true));
    assert!(store.deployed_releases("shop", "production", 10).unwrap().is_empty());
}
