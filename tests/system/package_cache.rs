//! The package stage's layer cache across `shipdeck run` processes, against the real engine:
//! build steps are labelled with the app and role only (no per-process owner), so a second
//! process building the same commit reuses every step but the release labels.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use common::*;

/// One `shipdeck run` process: the package stage's log, its duration, the release's parent.
fn package_once(app: &TestApp) -> (Vec<String>, i64, String) {
    // Step images and `Using cache` are the classic builder's (BuildKit's cache: tests/buildkit.rs).
    let (code, events, stderr) = app.run_json_with(&[], &[CLASSIC_BUILDER]);
    assert_eq!(code, 0, "run failed: {stderr}\n{events:#?}");
    let end = finished(&events, "package");
    assert_eq!(end["status"], "success", "{end}");
    let built = of_kind(&events, "image_built");
    assert_eq!(built.len(), 1, "{built:?}");
    let tag = built[0]["tag"].as_str().unwrap();
    let out = run(Command::new("docker").args(["image", "inspect", tag, "--format", "{{.Parent}}"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let parent = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !parent.is_empty(),
        "the classic builder records the last step as the parent"
    );
    (
        log_lines(&events, "package"),
        end["duration_ms"].as_i64().unwrap_or(-1),
        parent,
    )
}

fn cached_steps(log: &[String]) -> usize {
    log.iter().filter(|l| l.contains("Using cache")).count()
}

/// The step image IDs a build log names (` ---> 0123456789ab`), in order.
fn step_images(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|l| l.trim().strip_prefix("---> "))
        .filter(|id| id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()))
        .map(String::from)
        .collect()
}

#[test]
fn a_second_process_building_the_same_commit_reuses_every_step() {
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config(
        "cache",
        "[app]\nname = \"{app}\"\n[stages.package]\ndockerfile = \"Dockerfile\"\n",
    );
    // A step whose output differs each time it runs: equal images prove it did not run again.
    app.write(
        "Dockerfile",
        "FROM debian:bookworm-slim\nRUN sleep 2 && date +%s%N > /built\nCOPY release.toml /release.toml\nCMD [\"cat\", \"/built\"]\n",
    );
    app.commit_all("a slow step");
    let (first, first_ms, first_parent) = package_once(&app);
    // The app's name is new to this engine: nothing to reuse yet.
    assert_eq!(cached_steps(&first), 0, "{first:#?}");
    let (second, second_ms, second_parent) = package_once(&app);
    // The build label, RUN, COPY, CMD come from the cache; only the release labels (run, build
    // time) make a new image.
    assert_eq!(cached_steps(&second), 4, "{second:#?}");
    assert_eq!(
        second_parent, first_parent,
        "the two releases do not share their steps: the second build ran them again"
    );
    let (a, b) = (step_images(&first), step_images(&second));
    assert_eq!(a.len(), b.len(), "{first:#?}\n{second:#?}");
    assert_eq!(
        a[..a.len() - 1],
        b[..b.len() - 1],
        "every step but the release labels is shared"
    );
    assert_ne!(a.last(), b.last(), "two runs are two releases");
    eprintln!("package stage: first {first_ms} ms, second {second_ms} ms (not asserted: timings live in benches)");
}

#[test]
fn the_hello_py_fixture_reuses_its_steps_up_to_the_rebuilt_artifact() {
    require_docker(&["python:3.11-slim"]);
    let app = TestApp::from_fixture("hello-py");
    let (first, _, _) = package_once(&app);
    assert_eq!(cached_steps(&first), 0, "{first:#?}");
    let (second, _, _) = package_once(&app);
    // The build label, ARG and ENV come from the cache. The zipapp the build stage makes
    // differs from run to run (zip entries carry the workspace files' times, and the test stage
    // writes into it first), so the COPY of it and what follows run again: the cache is only as
    // stable as the artifacts.
    assert!(cached_steps(&second) >= 3, "{second:#?}");
    let (a, b) = (step_images(&first), step_images(&second));
    assert_eq!(a[..4], b[..4], "FROM, label, ARG, ENV");
}
