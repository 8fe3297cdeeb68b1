//! `[app] keep_runs`: only the newest runs keep their files under `.shipdeck/runs`; the
//! history keeps every run. Real runs against the real engine.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn only_the_newest_keep_runs_runs_keep_their_files() {
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config(
        "keep-runs",
        "[app]\nname = \"{app}\"\nkeep_runs = 2\n[stages.hello]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo hello\"]\n",
    );
    for _ in 0..3 {
        let (code, _, stderr) = app.run_json(&[]);
        assert_eq!(code, 0, "{stderr}");
    }
    let runs = app.path().join(".shipdeck/runs");
    assert!(!runs.join("1").exists(), "run 1's files outlived keep_runs = 2");
    for run in ["2", "3"] {
        let log = std::fs::read_to_string(runs.join(run).join("logs/hello.log")).unwrap();
        assert!(log.contains("hello"), "run {run}: {log}");
    }
    // The history still lists all three.
    let out = run(app.shipdeck().args(["history"]));
    let history = String::from_utf8_lossy(&out.stdout);
    assert_eq!(history.matches("success").count(), 3, "{history}");
}

#[test]
fn keep_runs_zero_is_refused_with_its_reason() {
    let app = TestApp::with_config(
        "keep-runs-0",
        "[app]\nname = \"{app}\"\nkeep_runs = 0\n[stages.a]\nimage = \"x\"\nrun = [\"true\"]\n",
    );
    let out = run(app.shipdeck().arg("check"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("keep_runs") && stderr.contains("expected 1 or more, found 0"),
        "{stderr}"
    );
}
