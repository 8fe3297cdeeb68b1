//! The pipeline engine end to end: the real binary, real git repositories, the real Docker
//! engine.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use common::*;

const BASE: &str = "debian:bookworm-slim";

#[test]
fn hello_py_pipeline_goes_green_and_builds_a_labelled_release_image() {
    require_docker(&["python:3.11-slim"]);
    let app = TestApp::from_fixture("hello-py");
    let sha = git(app.path(), &["rev-parse", "HEAD"]);
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "run failed: {stderr}\n{events:#?}");
    for stage in ["test", "build", "package"] {
        assert_eq!(finished(&events, stage)["status"], "success", "{stage}");
    }
    // The unit tests really ran, in the container.
    assert!(
        log_lines(&events, "test").iter().any(|l| l.contains("OK")),
        "{:?}",
        log_lines(&events, "test")
    );

    let built = of_kind(&events, "image_built");
    assert_eq!(built.len(), 1);
    let tag = format!("{}:{}", app.name, &sha[..7]);
    assert_eq!(built[0]["tag"], tag.as_str());
    let inspect =
        run(Command::new("docker").args(["image", "inspect", &tag, "--format", "{{json .Config.Labels}} {{.Id}}"]));
    assert!(inspect.status.success(), "release image {tag} missing");
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains(&format!("\"dev.shipdeck.commit\":\"{sha}\"")), "{text}");
    assert!(
        text.contains(&format!("\"dev.shipdeck.app\":\"{}\"", app.name)),
        "{text}"
    );
    assert!(text.contains("dev.shipdeck.built-at"), "{text}");
    let finished_run = &of_kind(&events, "run_finished")[0];
    assert_eq!(finished_run["status"], "success");
    assert!(
        text.trim_end().ends_with(finished_run["image_id"].as_str().unwrap()),
        "{text}"
    );

    // The image serves /health with the commit baked in at build time.
    let out = run(Command::new("docker").args([
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        &tag,
        "-c",
        "echo $SHIPDECK_COMMIT",
    ]));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sha);

    // Artifacts were copied out, the run and its logs were recorded.
    assert!(
        app.path().join(".shipdeck/runs/1/artifacts/dist/hello.pyz").is_file(),
        "artifact not copied out"
    );
    let log = std::fs::read_to_string(app.path().join(".shipdeck/runs/1/logs/test.log")).unwrap();
    assert!(log.contains("python -m unittest"), "{log}");
    assert_eq!(
        std::fs::read_to_string(app.path().join(".shipdeck/.gitignore"))
            .unwrap()
            .trim(),
        "*"
    );
    let history = run(app.shipdeck().arg("history"));
    let history = String::from_utf8_lossy(&history.stdout);
    assert!(history.contains(&sha[..7]) && history.contains("success"), "{history}");
    app.assert_no_leftovers();
}

#[test]
fn hello_rs_pipeline_goes_green() {
    require_docker(&["rust:1-slim-bookworm", "debian:bookworm-slim"]);
    let app = TestApp::from_fixture("hello-rs");
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "run failed: {stderr}\n{events:#?}");
    assert_eq!(of_kind(&events, "image_built").len(), 1);
    assert!(app.path().join(".shipdeck/runs/1/artifacts/dist/hello-rs").is_file());
    app.assert_no_leftovers();
}

#[test]
fn a_failing_test_stage_fails_the_run_skips_what_needs_it_and_keeps_its_log() {
    require_docker(&["python:3.11-slim"]);
    let app = TestApp::from_fixture("hello-py");
    app.write(
        "tests/test_broken.py",
        "import unittest\n\nclass Broken(unittest.TestCase):\n    def test_broken(self):\n        self.assertEqual(1, 2, 'deliberately broken')\n",
    );
    app.commit_all("break a test");
    let (code, events, _) = app.run_json(&[]);
    assert_eq!(code, 1);
    let test = finished(&events, "test");
    assert_eq!(test["status"], "failed");
    assert_eq!(test["exit_code"], 1);
    assert_eq!(finished(&events, "build")["status"], "skipped");
    assert_eq!(finished(&events, "package")["status"], "skipped");
    assert_eq!(of_kind(&events, "run_finished")[0]["status"], "failed");
    let log = std::fs::read_to_string(app.path().join(".shipdeck/runs/1/logs/test.log")).unwrap();
    assert!(
        log.contains("deliberately broken"),
        "the failed stage's log is kept: {log}"
    );
    app.assert_no_leftovers();
}

#[test]
fn a_stage_past_its_timeout_is_killed_and_reported_timed_out() {
    require_docker(&[BASE]);
    let app = TestApp::with_config(
        "timeout",
        "[app]\nname = \"{app}\"\n[stages.slow]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo begin\", \"sleep 60\"]\ntimeout = \"2s\"\n[stages.after]\nneeds = [\"slow\"]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\n",
    );
    let started = std::time::Instant::now();
    let (code, events, _) = app.run_json(&[]);
    assert!(
        started.elapsed().as_secs() < 30,
        "the stage was not stopped at its timeout"
    );
    assert_eq!(code, 1);
    let slow = finished(&events, "slow");
    assert_eq!(slow["status"], "timed_out");
    assert!(slow["message"].as_str().unwrap().contains("timed out after 2s"));
    assert_eq!(finished(&events, "after")["status"], "skipped");
    assert!(log_lines(&events, "slow").contains(&"begin".to_string()));
    app.assert_no_leftovers();
}

#[test]
fn independent_stages_run_in_parallel() {
    require_docker(&[BASE]);
    let app = TestApp::with_config(
        "parallel",
        "[app]\nname = \"{app}\"\n[stages.left]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo began=$(date +%s%N)\", \"sleep 2\", \"echo ended=$(date +%s%N)\"]\n[stages.right]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo began=$(date +%s%N)\", \"sleep 2\", \"echo ended=$(date +%s%N)\"]\n[stages.join]\nneeds = [\"left\", \"right\"]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\n",
    );
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "{stderr}");
    // Both independent stages started before either finished.
    let order: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "stage_started" || e["event"] == "stage_finished")
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["stage"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let first_finish = order.iter().position(|(k, _)| k == "stage_finished").unwrap();
    let started_before: Vec<&str> = order[..first_finish]
        .iter()
        .filter(|(k, _)| k == "stage_started")
        .map(|(_, s)| s.as_str())
        .collect();
    assert!(
        started_before.contains(&"left") && started_before.contains(&"right"),
        "{order:?}"
    );
    let join_start = order
        .iter()
        .position(|(k, s)| k == "stage_started" && s == "join")
        .unwrap();
    let last_dep = order
        .iter()
        .rposition(|(k, s)| k == "stage_finished" && (s == "left" || s == "right"))
        .unwrap();
    assert!(
        join_start > last_dep,
        "join started before what it needs finished: {order:?}"
    );
    // The two stages' commands ran at the same time: each one's interval, as the containers'
    // own clocks saw it, overlaps the other's (no bound on wall time, so a loaded machine
    // cannot make this flake).
    let interval = |stage: &str| -> (u128, u128) {
        let lines = log_lines(&events, stage);
        let stamp = |key: &str| -> u128 {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {key} line in {stage}'s log: {lines:?}"))
        };
        (stamp("began="), stamp("ended="))
    };
    let (left, right) = (interval("left"), interval("right"));
    assert!(
        left.0 < right.1 && right.0 < left.1,
        "left ran {left:?} and right ran {right:?} (ns): not parallel"
    );
    app.assert_no_leftovers();
}

#[test]
fn cache_volumes_are_reused_between_runs() {
    require_docker(&[BASE]);
    let app = TestApp::with_config(
        "cache",
        "[app]\nname = \"{app}\"\n[stages.count]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo x >> /cache/runs\", \"echo runs=$(wc -l < /cache/runs)\"]\ncache = [\"/cache\"]\n",
    );
    let (code, events, _) = app.run_json(&[]);
    assert_eq!(code, 0);
    assert!(
        log_lines(&events, "count").contains(&"runs=1".to_string()),
        "{:?}",
        log_lines(&events, "count")
    );
    let (code, events, _) = app.run_json(&[]);
    assert_eq!(code, 0);
    assert!(
        log_lines(&events, "count").contains(&"runs=2".to_string()),
        "{:?}",
        log_lines(&events, "count")
    );
    assert_eq!(
        app.volumes()
            .iter()
            .filter(|v| v.starts_with("shipdeck-cache-"))
            .count(),
        1
    );
    app.assert_no_leftovers();
}

#[test]
fn secrets_are_masked_in_events_and_logs_also_when_split_across_chunks() {
    require_docker(&[BASE]);
    let secret = "s3cr3t-Value-42";
    let app = TestApp::with_config(
        "secrets",
        "[app]\nname = \"{app}\"\n[secrets]\nAPI_TOKEN = { env = \"SHIPDECK_TEST_TOKEN\" }\n[stages.leak]\nimage = \"debian:bookworm-slim\"\nrun = [\n  \"echo plain=$API_TOKEN\",\n  \"echo b64=$(printf %s \\\"$API_TOKEN\\\" | base64)\",\n  \"printf 'split=s3cr3t-'; sleep 0.5; printf 'Value-42 end\\\\n'\",\n  \"echo to-stderr=$API_TOKEN >&2\",\n]\n",
    );
    let out = run(app
        .shipdeck()
        .args(["run", "--json"])
        .env("SHIPDECK_TEST_TOKEN", secret));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = parse_events(&stdout);
    let lines = log_lines(&events, "leak");
    assert!(lines.contains(&"plain=***".to_string()), "{lines:?}");
    assert!(lines.contains(&"b64=***".to_string()), "{lines:?}");
    assert!(lines.contains(&"split=*** end".to_string()), "{lines:?}");
    assert!(lines.contains(&"to-stderr=***".to_string()), "{lines:?}");
    assert!(!stdout.contains(secret), "the secret reached the output");
    let log = std::fs::read_to_string(app.path().join(".shipdeck/runs/1/logs/leak.log")).unwrap();
    assert!(!log.contains(secret) && log.contains("split=*** end"), "{log}");
    app.assert_no_leftovers();
}

#[test]
fn the_workspace_is_the_commit_not_the_working_tree() {
    require_docker(&[BASE]);
    let app = TestApp::with_config(
        "exact",
        "[app]\nname = \"{app}\"\n[stages.look]\nimage = \"debian:bookworm-slim\"\nrun = [\"cat data.txt\", \"test ! -e untracked.txt\", \"test ! -e ignored.log\", \"test -x tool.sh\", \"echo branch=$SHIPDECK_BRANCH short=$SHIPDECK_SHORT_COMMIT ci=$CI\"]\n",
    );
    app.write("data.txt", "committed\n");
    app.write(".gitignore", "*.log\n");
    app.write("tool.sh", "#!/bin/sh\necho tool\n");
    std::fs::set_permissions(
        app.path().join("tool.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let sha = app.commit_all("add data");
    app.write("data.txt", "uncommitted edit\n");
    app.write("untracked.txt", "new\n");
    app.write("ignored.log", "ignored\n");
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "{stderr}\n{:?}", log_lines(&events, "look"));
    let lines = log_lines(&events, "look");
    assert!(lines.contains(&"committed".to_string()), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("uncommitted")), "{lines:?}");
    assert!(
        lines.contains(&format!("branch=main short={} ci=true", &sha[..7])),
        "{lines:?}"
    );
    app.assert_no_leftovers();
}

#[test]
fn an_older_commit_runs_with_commit_rev() {
    require_docker(&[BASE]);
    let app = TestApp::with_config(
        "rev",
        "[app]\nname = \"{app}\"\n[stages.show]\nimage = \"debian:bookworm-slim\"\nrun = [\"cat version.txt\"]\n",
    );
    app.write("version.txt", "one\n");
    let first = app.commit_all("one");
    app.write("version.txt", "two\n");
    app.commit_all("two");
    let (code, events, _) = app.run_json(&["--commit", "HEAD~1"]);
    assert_eq!(code, 0);
    assert_eq!(of_kind(&events, "run_queued")[0]["commit"], first.as_str());
    assert!(log_lines(&events, "show").contains(&"one".to_string()));
}

#[test]
fn a_bad_revision_is_a_usage_error() {
    let app = TestApp::with_config(
        "badrev",
        "[app]\nname = \"{app}\"\n[stages.a]\nimage = \"x\"\nrun = [\"true\"]\n",
    );
    let out = run(app.shipdeck().args(["run", "--commit", "no-such-branch"]));
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cannot resolve revision `no-such-branch`"), "{text}");
}

#[test]
fn an_unreachable_engine_exits_3_and_names_the_address() {
    let app = TestApp::with_config(
        "noengine",
        "[app]\nname = \"{app}\"\n[stages.a]\nimage = \"x\"\nrun = [\"true\"]\n",
    );
    let out = run(app
        .shipdeck()
        .arg("run")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn the_release_image_context_honours_dockerignore_and_carries_artifacts() {
    require_docker(&[BASE]);
    let app = TestApp::with_config(
        "ctx",
        "[app]\nname = \"{app}\"\n[stages.build]\nimage = \"debian:bookworm-slim\"\nrun = [\"mkdir -p dist\", \"echo out > dist/out.txt\", \"echo skip > dist/skip.txt\"]\nartifacts = [\"dist/\"]\n[stages.package]\nneeds = [\"build\"]\ndockerfile = \"Dockerfile\"\n",
    );
    app.write(".env", "SECRET=1\n");
    app.write("keep.txt", "keep\n");
    app.write(".dockerignore", "# keep secrets out\n.env\ndist/skip.txt\n");
    app.write(
        "Dockerfile",
        "FROM debian:bookworm-slim\nCOPY . /ctx/\nRUN test ! -e /ctx/.env && test -f /ctx/keep.txt && test -f /ctx/dist/out.txt && test ! -e /ctx/dist/skip.txt && echo context-ok\n",
    );
    app.commit_all("package it");
    let (code, events, stderr) = app.run_json(&[]);
    let lines = log_lines(&events, "package");
    assert_eq!(code, 0, "{stderr}\n{lines:#?}");
    // The RUN's own output line; BuildKit prefixes it with its step and time ("#5 0.301 …").
    let said = |l: &str| l == "context-ok" || (l.starts_with('#') && l.ends_with(" context-ok"));
    assert!(lines.iter().any(|l| said(l)), "{lines:#?}");
    // What the log file says of the build, the live log says too (the console's pane).
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("shipdeck: built ") && l.contains("sha256:")),
        "{lines:#?}"
    );
    app.assert_no_leftovers();
}

#[test]
fn a_run_uses_the_release_toml_committed_with_its_commit() {
    require_docker(&[BASE]);
    let config = "[app]\nname = \"{app}\"\n[stages.say]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo WORD\"]\n";
    let app = TestApp::with_config("cfg", &config.replace("WORD", "committed-one"));
    app.write(
        "release.toml",
        &config.replace("{app}", &app.name).replace("WORD", "committed-two"),
    );
    app.commit_all("second pipeline");
    // An uncommitted edit of the pipeline does not run.
    app.write(
        "release.toml",
        &config.replace("{app}", &app.name).replace("WORD", "uncommitted"),
    );
    let (code, events, _) = app.run_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(log_lines(&events, "say"), ["$ echo committed-two", "committed-two"]);
    // An older commit runs its own pipeline.
    let (code, events, _) = app.run_json(&["--commit", "HEAD~1"]);
    assert_eq!(code, 0);
    assert_eq!(log_lines(&events, "say"), ["$ echo committed-one", "committed-one"]);

    // A commit whose committed release.toml is invalid is a failed run, in order, whose
    // `release.toml` stage holds the whole diagnostic; nothing runs.
    let broken = config
        .replace("{app}", &app.name)
        .replace("run = ", "neds = [\"x\"]\nrun = ");
    app.write("release.toml", &broken.replace("WORD", "broken"));
    app.commit_all("break the pipeline \u{1b}]0;title\u{7}");
    // (The working copy is fixed but not committed: what runs is what was committed.)
    app.write(
        "release.toml",
        &config.replace("{app}", &app.name).replace("WORD", "fixed"),
    );
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 1, "{stderr}");
    let diagnostic = log_lines(&events, "release.toml").join("\n");
    assert!(
        diagnostic.contains("unknown key `neds` in [stages.say]") && diagnostic.contains("did you mean `needs`?"),
        "{diagnostic}"
    );
    assert!(diagnostic.contains("release.toml (as committed in"), "{diagnostic}");
    assert!(log_lines(&events, "say").is_empty(), "a stage ran");
    let finished: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "run_finished").collect();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["status"], "failed");
    let history = run(app.shipdeck().args(["history"]));
    let listed = String::from_utf8_lossy(&history.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("3  failed") && l.contains("break the pipeline")),
        "{listed}"
    );
    assert!(!listed.contains('\u{1b}'), "{listed}");
    app.assert_no_leftovers();
}
