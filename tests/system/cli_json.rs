//! The command line for scripts and shells: `--json` on check and history, completion
//! scripts and manual pages.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

#[test]
fn check_json_describes_a_valid_config_and_every_error_of_an_invalid_one() {
    let app = TestApp::with_config(
        "checkjson",
        "[app]\nname = \"{app}\"\n[stages.test]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\n\
         [stages.package]\nneeds = [\"test\"]\ndockerfile = \"Dockerfile\"\n\
         [environments.staging]\npublish = \"127.0.0.1:18080:8080\"\n",
    );
    app.write("Dockerfile", "FROM debian:bookworm-slim\n");
    let out = run(app.shipdeck().args(["check", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["app"], app.name.as_str());
    assert_eq!(doc["stages"][0]["image"], "debian:bookworm-slim");
    assert_eq!(doc["stages"][1]["kind"], "package");
    assert_eq!(doc["environments"][0]["name"], "staging");

    app.write(
        "release.toml",
        "[app]\nname = \"x\"\n[stages.test]\nimgae = \"debian:bookworm-slim\"\nrun = [\"true\"]\n\"ne\\u001b[2Jds\" = [\"a\"]\n",
    );
    let out = run(app.shipdeck().args(["check", "--json"]));
    assert_eq!(out.status.code(), Some(2), "invalid is a usage error: {}", text(&out));
    assert!(!out.stdout.contains(&0x1b), "escapes are escaped: {}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["valid"], false);
    let errors = doc["errors"].as_array().unwrap();
    assert!(errors.len() >= 2, "every error: {doc}");
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains('\x1b') || e["line"] == 6),
        "{doc}"
    );
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["col"].as_u64()),
        (Some(4), Some(1))
    );
    assert!(errors[0]["hint"].as_str().unwrap().contains("image"), "{doc}");
}

#[test]
fn check_warns_of_a_scan_ignore_entry_past_its_date_in_plain_text() {
    let app = TestApp::with_config(
        "checkscan",
        "[app]\nname = \"{app}\"\n[stages.scan]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\n\
         scan = { sarif = \"r.sarif\", ignore = [\
         { id = \"B105\", reason = \"old \\u001b]0;pwned\\u0007fixture\", until = 2020-01-31 },\
         { id = \"B602\", reason = \"reviewed\", until = 2999-01-01 }] }\n",
    );
    let out = run(app.shipdeck().arg("check"));
    assert_eq!(out.status.code(), Some(0), "a warning, not an error: {}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("the ignore entry for B105 ran out on 2020-01-31"),
        "{said}"
    );
    assert!(!said.contains("B602"), "a current entry is no warning: {said}");
    assert!(!out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07), "{said}");
    let out = run(app.shipdeck().args(["check", "--json"]));
    let doc = json(&out);
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{doc}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains("B105") && !warning.contains('\x1b') && !warning.contains('\x07'),
        "{doc}"
    );
}

#[test]
fn history_json_is_an_array_of_runs_with_commit_data_escaped() {
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config(
        "historyjson",
        "[app]\nname = \"{app}\"\n[stages.test]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\nnetwork = \"none\"\n",
    );
    let out = run(app.shipdeck().args(["history", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out), Value::Array(vec![]), "no runs: an empty array");

    app.write("notes.txt", "x");
    app.commit_all("Fix \x1b]52;c;ZXZpbA==\x07 \"quoted\" 修复");
    let out = run(app.shipdeck().arg("run"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(app.shipdeck().args(["history", "--json"]));
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "{}",
        text(&out)
    );
    let runs = json(&out);
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["status"], "success");
    assert_eq!(runs[0]["number"], 1);
    assert!(
        runs[0]["subject"].as_str().unwrap().contains("\"quoted\" 修复"),
        "{runs}"
    );

    let out = run(app.shipdeck().args(["history", "staging", "--json"]));
    assert_eq!(out.status.code(), Some(2), "an unknown environment: {}", text(&out));
}

#[test]
fn completions_and_man_pages_need_no_repository() {
    let nowhere = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_shipdeck()"),
        ("zsh", "#compdef shipdeck"),
        ("fish", "complete -c shipdeck"),
    ] {
        let out = run(Command::new(BIN)
            .current_dir(nowhere.path())
            .args(["completions", shell]));
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["deploy", "rollback", "history", "completions"] {
            assert!(script.contains(command), "{shell} completes `{command}`");
        }
    }
    let out = run(Command::new(BIN).current_dir(nowhere.path()).arg("man"));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH shipdeck 1") && page.contains("rollback"), "{page}");
    let out = run(Command::new(BIN).current_dir(nowhere.path()).args(["man", "deploy"]));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains(".TH shipdeck-deploy 1") && page.contains("\\-\\-force"),
        "{page}"
    );
    let out = run(Command::new(BIN).current_dir(nowhere.path()).args(["man", "nope"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no command `nope`"), "{}", text(&out));
}

#[test]
fn a_reader_that_stops_early_is_no_crash() {
    for args in [&["completions", "bash"][..], &["man"][..]] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the pipe before it has written anything (like `| head -0`).
        drop(child.stdout.take());
        let status = child.wait().unwrap();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
    }
}
