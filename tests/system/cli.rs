//! The command line as a user meets it: finding the app, checking configs, usage errors.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use common::*;

#[test]
fn shipdecks_own_release_toml_is_valid() {
    let out = run(Command::new(BIN).args(["--repo", env!("CARGO_MANIFEST_DIR"), "check"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("is valid"), "{stdout}");
    for stage in ["lint", "test", "build", "package"] {
        assert!(stdout.contains(stage), "stage {stage} missing from:\n{stdout}");
    }
}

#[test]
fn the_fixture_apps_configs_are_valid() {
    for app in ["hello-py", "hello-rs"] {
        let dir = repo_root().join("fixtures/apps").join(app);
        let out = run(Command::new(BIN).arg("-C").arg(&dir).arg("check"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{app}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_bad_config_is_a_usage_error_with_line_and_column_for_check_and_run() {
    let app = TestApp::with_config(
        "badcfg",
        "[app]\nname = \"{app}\"\n\n[stages.test]\nimgae = \"debian:bookworm-slim\"\nrun = [\"true\"]\n",
    );
    for args in [&["check"][..], &["run"][..], &[][..]] {
        let out = run(app.shipdeck().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("release.toml:5:1: unknown key `imgae` in [stages.test]"),
            "{args:?}: {err}"
        );
        assert!(err.contains("did you mean `image`?"), "{err}");
    }
}

#[test]
fn no_release_toml_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    let out = run(Command::new(BIN).current_dir(dir.path()).arg("check"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no release.toml found") && err.contains("--repo"), "{err}");
}

#[test]
fn help_explains_commands_and_exit_codes() {
    let out = run(Command::new(BIN).arg("--help"));
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "run",
        "check",
        "history",
        "--repo",
        "Exit codes",
        "3 Docker engine unreachable",
    ] {
        assert!(text.contains(word), "`{word}` missing from --help:\n{text}");
    }
}

#[test]
fn an_app_in_a_subdirectory_runs_on_its_subtree_of_the_commit() {
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config("mono", "[app]\nname = \"{app}\"\n");
    // Turn the repository into a monorepo: the app lives in services/api.
    let config = format!(
        "[app]\nname = \"{}\"\n[stages.look]\nimage = \"debian:bookworm-slim\"\nrun = [\"ls -a\", \"test -f main.txt\", \"test ! -e services\"]\n",
        app.name
    );
    std::fs::remove_file(app.path().join("release.toml")).unwrap();
    app.write("services/api/release.toml", &config);
    app.write("services/api/main.txt", "api\n");
    app.write("services/web/index.html", "web\n");
    app.commit_all("monorepo");
    // Found from a directory inside the app, and with --repo from the repository root.
    std::fs::create_dir_all(app.path().join("services/api/deep/er")).unwrap();
    let from_inside = run(Command::new(BIN)
        .current_dir(app.path().join("services/api/deep/er"))
        .args(["run", "--json"]));
    assert_eq!(
        from_inside.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_inside.stdout)
    );
    let from_root = run(app.shipdeck().args(["--repo", "services/api", "run", "--json"]));
    let events = parse_events(&String::from_utf8_lossy(&from_root.stdout));
    assert_eq!(from_root.status.code(), Some(0), "{events:#?}");
    let lines = log_lines(&events, "look");
    assert!(
        lines.contains(&"main.txt".to_string()) && lines.contains(&"release.toml".to_string()),
        "{lines:?}"
    );
    assert!(
        app.path().join("services/api/.shipdeck/history.sqlite").is_file(),
        "history lives beside release.toml"
    );
    app.assert_no_leftovers();
}

#[test]
fn an_image_that_cannot_be_pulled_fails_the_stage_naming_the_image_and_the_remedy() {
    require_docker(&[]);
    let app = TestApp::with_config(
        "noimage",
        "[app]\nname = \"{app}\"\n[stages.test]\nimage = \"shipdeck-test/not-here:1\"\nrun = [\"true\"]\n[stages.after]\nneeds = [\"test\"]\nimage = \"shipdeck-test/not-here:1\"\nrun = [\"true\"]\n",
    );
    let (code, events, _) = app.run_json(&[]);
    assert_eq!(code, 1);
    let test = finished(&events, "test");
    assert_eq!(test["status"], "failed");
    let message = test["message"].as_str().unwrap();
    assert!(
        message.contains("image `shipdeck-test/not-here:1` is not on the engine and cannot be pulled"),
        "{message}"
    );
    assert!(
        message.contains("docker build -t shipdeck-test/not-here:1") && message.contains("docker load"),
        "{message}"
    );
    assert_eq!(finished(&events, "after")["status"], "skipped");
    app.assert_no_leftovers();
}

#[test]
fn text_output_has_stage_prefixed_lines_and_a_summary_table() {
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config(
        "text",
        "[app]\nname = \"{app}\"\n[stages.hello]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo out-line\", \"echo err-line >&2\"]\n[stages.bye]\nneeds = [\"hello\"]\nimage = \"debian:bookworm-slim\"\nrun = [\"exit 3\"]\n",
    );
    let out = run(app.shipdeck().arg("run"));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let has = |pattern: &str| text.lines().any(|l| l.contains(pattern));
    assert!(has("hello | out-line"), "{text}");
    assert!(has("hello ! err-line"), "{text}");
    assert!(has("bye   ✗ failed"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("stage") && l.contains("status") && l.contains("exit")),
        "summary header missing:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("bye") && l.contains("exited with code 3")),
        "{text}"
    );
    assert!(has("run #1 failed in"), "{text}");
}
