//! `shipdeck doctor` against the real engine and real repositories: each finding, and the fix
//! when it is not fine.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[test]
fn a_ready_machine_passes_every_check() {
    require_docker(&["python:3.11-slim"]);
    let app = TestApp::from_fixture("hello-py");
    let out = run(app.shipdeck().arg("doctor"));
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    for line in [
        "✓ release.toml: valid",
        "✓ engine: Docker ",
        "✓ image python:3.11-slim: present",
        "(staging)",
        "(production)",
        "inotify max_user_watches",
    ] {
        assert!(report.contains(line), "`{line}` in:\n{report}");
    }
}

#[test]
fn a_broken_config_and_an_unreachable_engine_are_problems_with_their_fix() {
    let app = TestApp::with_config("doctor", "[app]\nname = \"{app}\"\n[stages.test]\nimgae = \"x\"\n");
    let out = run(app
        .shipdeck()
        .arg("doctor")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("✗ release.toml:") && report.contains("imgae"),
        "{report}"
    );
    assert!(report.contains("✗ engine:"), "{report}");
    assert!(report.contains("fix: start Docker"), "{report}");
    assert!(report.contains("inotify"), "the other checks still run:\n{report}");
}
