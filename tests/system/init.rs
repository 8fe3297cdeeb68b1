//! `shipdeck init` in real repositories: it tells the stack from the files, writes a
//! release.toml that `shipdeck check` accepts, and never overwrites or writes through a link.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Files to write into a fresh repository: name and contents.
type Files<'a> = &'a [(&'a str, &'a str)];

fn repo(files: Files) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("My App_").tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn shipdeck(dir: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new(BIN).current_dir(dir).args(args))
}

#[test]
fn each_stack_gets_a_release_toml_that_check_accepts() {
    let cases: [(Files, &str, &str); 5] = [
        (
            &[("requirements.txt", "flask\n"), ("app.py", "")],
            "Python",
            "pip install -r requirements.txt",
        ),
        (&[("Cargo.toml", "[package]\nname = \"x\"\n")], "Rust", "cargo test"),
        (
            &[("package.json", "{}"), ("package-lock.json", "{}")],
            "Node.js",
            "npm ci",
        ),
        (&[("go.mod", "module x\n")], "Go", "go test ./..."),
        (
            &[("Dockerfile", "FROM debian:bookworm-slim\n")],
            "a Dockerfile",
            "[stages.package]",
        ),
    ];
    for (files, stack, command) in cases {
        let dir = repo(files);
        let out = shipdeck(dir.path(), &["init"]);
        assert_eq!(out.status.code(), Some(0), "{stack}: {}", text(&out));
        assert!(text(&out).contains(&format!("Found {stack}")), "{}", text(&out));
        let toml = std::fs::read_to_string(dir.path().join("release.toml")).unwrap();
        assert!(toml.contains(command), "{stack}:\n{toml}");
        assert!(toml.contains("name = \"my-app_"), "named after the directory:\n{toml}");
        assert!(
            dir.path().join("Dockerfile").is_file(),
            "{stack}: a Dockerfile to package"
        );
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "shipdeck init"]);
        let out = shipdeck(dir.path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{stack}: {}\n{toml}", text(&out));
        let check = text(&out);
        assert!(check.contains("staging") && check.contains("production"), "{check}");
    }
}

#[test]
fn an_existing_dockerfile_is_kept_and_nothing_is_overwritten() {
    let dir = repo(&[("go.mod", "module x\n"), ("Dockerfile", "FROM scratch # mine\n")]);
    assert_eq!(shipdeck(dir.path(), &["init"]).status.code(), Some(0));
    let dockerfile = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    assert_eq!(dockerfile, "FROM scratch # mine\n");
    let before = std::fs::read_to_string(dir.path().join("release.toml")).unwrap();
    let out = shipdeck(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("release.toml")).unwrap(),
        before
    );
}

#[test]
fn an_empty_repository_says_what_it_looked_for() {
    let dir = repo(&[("README", "hi")]);
    let out = shipdeck(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out);
    assert!(err.contains("no app found") && err.contains("Cargo.toml"), "{err}");
    assert!(!dir.path().join("release.toml").exists());
}

#[test]
fn planted_links_are_never_written_through() {
    let outside = tempfile::tempdir().unwrap();
    // A Dockerfile link to a file outside: not taken for the app's own, not written through.
    let dir = repo(&[("Cargo.toml", "[package]\nname = \"x\"\n")]);
    std::os::unix::fs::symlink(outside.path().join("victim"), dir.path().join("Dockerfile")).unwrap();
    let out = shipdeck(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!outside.path().join("victim").exists(), "nothing written outside");
    assert!(!dir.path().join("release.toml").exists(), "{}", text(&out));
    // A release.toml link (even dangling) counts as existing.
    let dir = repo(&[("go.mod", "module x\n")]);
    std::os::unix::fs::symlink(outside.path().join("config"), dir.path().join("release.toml")).unwrap();
    let out = shipdeck(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!outside.path().join("config").exists());
}
