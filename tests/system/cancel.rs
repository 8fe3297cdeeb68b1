//! Cancellation and crash recovery against the real engine: a signal stops and removes a run's
//! containers within two seconds; what a `kill -9` leaves behind is reaped by the next start.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::BufReader;
use std::process::{Child, ChildStdout};
use std::time::{Duration, Instant};

use common::*;

const SLEEPY: &str = "[app]\nname = \"{app}\"\n[stages.sleepy]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo sleeping\", \"sleep 300\"]\n[stages.other]\nimage = \"debian:bookworm-slim\"\nrun = [\"sleep 300\"]\n[stages.later]\nneeds = [\"sleepy\"]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\n";

/// Starts `shipdeck run --json` and returns once the stage `sleepy` printed its first line.
fn start_sleepy(app: &TestApp) -> (Child, Vec<serde_json::Value>, BufReader<ChildStdout>) {
    let (child, mut reader) = app.follow_run_json();
    let events = read_events_until(&mut reader, "sleeping", Duration::from_secs(60));
    // Both stages' containers exist by now (they start together).
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.containers().len() < 2 {
        assert!(Instant::now() < deadline, "expected two running stage containers");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, events, reader)
}

fn signal(child: &Child, sig: libc::c_int) {
    // kill(1) rather than libc::kill, so the tests need no unsafe.
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn cancels_within_two_seconds(sig: libc::c_int) {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config("cancel", SLEEPY);
    let (mut child, mut events, reader) = start_sleepy(&app);
    let sent = Instant::now();
    signal(&child, sig);
    let deadline = sent + Duration::from_secs(2);
    while !(app.containers().is_empty() && app.volumes().is_empty()) {
        assert!(
            Instant::now() < deadline,
            "containers still there 2 s after the signal: {:?}",
            app.containers()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let gone_after = sent.elapsed();
    let status = child.wait().unwrap();
    assert!(!status.success(), "a cancelled run must exit non-zero");
    assert_eq!(status.code(), Some(130));
    read_rest(reader, &mut events);
    assert_eq!(finished(&events, "sleepy")["status"], "cancelled");
    assert_eq!(finished(&events, "other")["status"], "cancelled");
    assert_eq!(finished(&events, "later")["status"], "cancelled");
    assert_eq!(of_kind(&events, "run_finished")[0]["status"], "cancelled");
    eprintln!("containers and volume gone {gone_after:?} after the signal");
}

#[test]
fn sigint_stops_and_removes_the_runs_containers_within_two_seconds() {
    cancels_within_two_seconds(libc::SIGINT);
}

#[test]
fn sigterm_stops_and_removes_the_runs_containers_within_two_seconds() {
    cancels_within_two_seconds(libc::SIGTERM);
}

#[test]
fn leftovers_of_a_killed_run_are_removed_by_the_next_start() {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config("kill9", SLEEPY);
    let (mut child, _, _) = start_sleepy(&app);
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    let left = app.containers();
    assert_eq!(left.len(), 2, "kill -9 leaves the stage containers behind");
    assert_eq!(app.volumes().len(), 1, "and the workspace volume");

    // The next start (any run) removes them and says so.
    app.write(
        "release.toml",
        &SLEEPY.replace("{app}", &app.name).replace("sleep 300", "true"),
    );
    app.commit_all("quick");
    let out = run(app.shipdeck().args(["run"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("removed leftovers of interrupted runs"), "{stderr}");
    assert!(stderr.contains("volume shipdeck-"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    app.assert_no_leftovers();

    // The killed run is marked in the history, not left "running" forever.
    let history = run(app.shipdeck().arg("history"));
    let history = String::from_utf8_lossy(&history.stdout);
    assert!(history.contains("cancelled"), "{history}");
}
