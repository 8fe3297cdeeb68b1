//! Reaping across PID namespaces, against the real engine: a shipdeck really started in another
//! PID namespace (`unshare --pid --fork --mount-proc`, as a CI container sharing the engine's
//! socket would be) keeps its live run when a shipdeck here starts; what it leaves when killed
//! cannot be proven dead from here, so it is kept, listed by `status` and removed by `clean`;
//! a dead owner's leftovers here are reaped by the next start; an interrupted build's images,
//! which name no owner, are listed as orphans and removed by `clean`.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::BufReader;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::*;

/// How long a test waits for a stage to print what it waits for.
const LOG_WAIT: Duration = Duration::from_secs(90);

const SLEEPY: &str = "[app]\nname = \"{app}\"\n[stages.sleepy]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo sleeping\", \"sleep 300\"]\n";
const QUICK: &str = "[app]\nname = \"{app}\"\n[stages.quick]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\n";

/// Fails loudly when this machine cannot make a PID namespace (needs root and util-linux).
fn require_unshare() {
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "these tests start shipdeck in a new PID namespace and `unshare --pid --fork --mount-proc` fails: {} (run them as root)",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("these tests need unshare (util-linux): {e}"),
    }
}

/// `shipdeck -C DIR run --json` in a new PID namespace (where shipdeck is pid 1, as in a
/// container); returns once its stage printed `until`.
fn start_in_new_namespace(app: &TestApp, until: &str) -> (Child, BufReader<ChildStdout>, Vec<serde_json::Value>) {
    let mut child = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", BIN, "-C"])
        .arg(app.path())
        .args(["run", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let events = read_events_until_seen(&mut reader, until, LOG_WAIT);
    (child, reader, events)
}

/// The host pid of the shipdeck process working on `app` (the path is unique to a test).
fn shipdeck_pid(app: &TestApp) -> String {
    let out = run(Command::new("pgrep").args(["-f", &format!("^{BIN} -C {}", app.path().display())]));
    let pids: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
    assert_eq!(pids.len(), 1, "expected one shipdeck for {}: {pids:?}", app.name);
    pids[0].clone()
}

fn kill(sig: &str, pid: &str) {
    assert!(
        run(Command::new("kill").args([sig, pid])).status.success(),
        "kill {sig} {pid}"
    );
}

fn running(container: &str) -> bool {
    let out = run(Command::new("docker").args(["inspect", "-f", "{{.State.Running}}", container]));
    String::from_utf8_lossy(&out.stdout).trim() == "true"
}

/// A run here, in this PID namespace, of another app: its start reaps the whole engine.
fn start_here() -> (TestApp, String) {
    let other = TestApp::with_config("here", QUICK);
    let out = run(other.shipdeck().arg("run"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (other, stderr)
}

#[test]
fn a_live_run_in_another_pid_namespace_survives_a_start_here() {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    require_unshare();
    let app = TestApp::with_config("otherns", SLEEPY);
    let (mut child, reader, mut events) = start_in_new_namespace(&app, "sleeping");
    let containers = app.containers();
    assert_eq!(containers.len(), 1, "the stage runs");

    // Same host name, same engine, another PID namespace: before, this start removed the run.
    let (_other, stderr) = start_here();
    assert!(running(&containers[0]), "the live run's stage was stopped: {stderr}");
    assert_eq!(app.volumes().len(), 1, "its workspace volume was removed: {stderr}");
    assert!(
        stderr.contains("orphaned leftover"),
        "the start says what it kept: {stderr}"
    );
    assert!(stderr.contains("another PID namespace"), "{stderr}");

    // `status` lists them as orphaned, and why.
    let out = run(app.shipdeck().arg("status"));
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("2 orphaned"), "{status}");
    assert!(status.contains("another PID namespace"), "{status}");
    assert!(status.contains("shipdeck clean"), "{status}");

    // The run goes on, and its owner still cleans up after itself.
    kill("-TERM", &shipdeck_pid(&app));
    read_rest(reader, &mut events);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let end = finished(&events, "sleepy");
    assert_eq!(
        end["status"], "cancelled",
        "the stage was not killed from outside: {end}"
    );
    app.assert_no_leftovers();
}

#[test]
fn what_a_killed_shipdeck_in_another_namespace_left_is_kept_listed_and_cleaned() {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    require_unshare();
    let app = TestApp::with_config("otherns-kill9", SLEEPY);
    let (mut child, _reader, _) = start_in_new_namespace(&app, "sleeping");
    kill("-KILL", &shipdeck_pid(&app));
    child.wait().unwrap();
    let containers = app.containers();
    assert_eq!(containers.len(), 1, "kill -9 leaves the stage behind");

    // Whether that shipdeck is gone cannot be proven from this namespace: kept.
    let (_other, stderr) = start_here();
    assert_eq!(app.containers(), containers, "{stderr}");
    assert_eq!(app.volumes().len(), 1, "{stderr}");

    let out = run(app.shipdeck().args(["clean", "--dry-run"]));
    let dry = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{dry}");
    assert!(dry.contains("Would remove 2 leftover(s)"), "{dry}");
    assert!(dry.contains("another PID namespace"), "{dry}");
    assert_eq!(app.containers(), containers, "a dry run removes nothing");

    let out = run(app.shipdeck().arg("clean"));
    let cleaned = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{cleaned}");
    assert!(
        cleaned.contains("Removed 1 container(s), 1 volume(s), 0 build image(s)"),
        "{cleaned}"
    );
    app.assert_no_leftovers();
    let out = run(app.shipdeck().arg("clean"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing to clean"));
}

#[test]
fn clean_keeps_what_a_live_shipdeck_here_owns() {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config("clean-live", SLEEPY);
    let (mut child, mut reader) = app.follow_run_json();
    read_events_until_seen(&mut reader, "sleeping", LOG_WAIT);
    let containers = app.containers();
    let out = run(app.shipdeck().arg("clean"));
    let cleaned = String::from_utf8_lossy(&out.stdout);
    assert!(cleaned.contains("Nothing to clean"), "{cleaned}");
    assert_eq!(app.containers(), containers);
    assert!(running(&containers[0]));
    kill("-TERM", &child.id().to_string());
    assert_eq!(child.wait().unwrap().code(), Some(130));
    app.assert_no_leftovers();
}

#[test]
fn an_interrupted_package_build_is_labelled_listed_by_the_next_start_and_cleaned() {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config(
        "build-kill9",
        "[app]\nname = \"{app}\"\n[stages.package]\ndockerfile = \"Dockerfile\"\n",
    );
    app.write(
        "Dockerfile",
        "FROM debian:bookworm-slim\nRUN echo step-one > /one\nRUN echo building-now && sleep 300\n",
    );
    app.commit_all("a slow build");
    let (mut child, mut reader) = app.follow_run_json_with(&[CLASSIC_BUILDER]);
    read_events_until_seen(&mut reader, "building-now", LOG_WAIT);
    kill("-KILL", &child.id().to_string());
    child.wait().unwrap();

    // What the build left carries the app's label and the role `build`: findable.
    let images = || {
        docker_list(&[
            "images",
            "-q",
            "--filter",
            "dangling=true",
            "--filter",
            &format!("label=dev.shipdeck.app={}", app.name),
            "--filter",
            "label=dev.shipdeck.role=build",
        ])
    };
    let left = images();
    assert!(!left.is_empty(), "the interrupted build left no labelled image");

    // Build steps name no owner (so that the layer cache holds across processes): the next
    // start cannot prove their shipdeck gone, keeps them and says so.
    let (_other, stderr) = start_here();
    assert!(stderr.contains("orphaned leftover"), "{stderr}");
    assert!(stderr.contains("build image"), "{stderr}");
    assert_eq!(images(), left, "an unowned build image was reaped on a guess: {stderr}");

    let out = run(app.shipdeck().arg("status"));
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("build image"), "{status}");
    assert!(status.contains("do not record their shipdeck"), "{status}");

    let out = run(app.shipdeck().arg("clean"));
    let cleaned = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{cleaned}");
    assert!(cleaned.contains(&format!("{} build image(s)", left.len())), "{cleaned}");
    assert_eq!(images(), Vec::<String>::new(), "{cleaned}");
    app.assert_no_leftovers();
}

#[test]
fn clean_in_another_terminal_never_breaks_a_running_package_build() {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config(
        "build-vs-clean",
        "[app]\nname = \"{app}\"\n[stages.package]\ndockerfile = \"Dockerfile\"\n",
    );
    // Many short steps: many moments where the latest step image is dangling and unused.
    let mut dockerfile = String::from("FROM debian:bookworm-slim\n");
    for i in 1..=12 {
        dockerfile.push_str(&format!("RUN echo step-{i} > /s{i} && sleep 0.3\n"));
    }
    app.write("Dockerfile", &dockerfile);
    app.commit_all("a build of many steps");
    let (mut child, mut reader) = app.follow_run_json_with(&[CLASSIC_BUILDER]);
    let mut events = read_events_until_seen(&mut reader, "Step 2/", LOG_WAIT);
    // `clean`, again and again, for as long as the build runs.
    let cleaner = {
        let dir = app.path().to_path_buf();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            let mut outputs = Vec::new();
            while stop_rx.try_recv().is_err() {
                let out = run(Command::new(BIN).arg("-C").arg(&dir).arg("clean").stdin(Stdio::null()));
                outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            outputs
        });
        (stop_tx, handle)
    };
    read_rest(reader, &mut events);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let (stop, handle) = cleaner;
    stop.send(()).unwrap();
    let cleans = handle.join().unwrap();
    let package = finished(&events, "package");
    assert_eq!(package["status"], "success", "{package}\n{cleans:#?}");
    assert!(
        cleans.len() >= 3,
        "clean ran only {} time(s) during the build",
        cleans.len()
    );
    for out in &cleans {
        assert!(
            !out.contains("build image(s)"),
            "clean removed something of the live build: {out}"
        );
    }
    app.assert_no_leftovers();
}

/// A container labelled as a leftover of `owner` (created, never started).
fn fake_leftover(app: &TestApp, owner: &str) -> String {
    let out = run(Command::new("docker").args([
        "create",
        "--label",
        &format!("dev.shipdeck.app={}", app.name),
        "--label",
        "dev.shipdeck.role=stage",
        "--label",
        &format!("dev.shipdeck.owner={owner}"),
        "debian:bookworm-slim",
        "true",
    ]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim()[..12].to_string()
}

/// The owner label of a process of this namespace that has exited.
fn dead_owner_here() -> String {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let ns = ns.to_string_lossy();
    let ns = ns.trim_start_matches("pid:[").trim_end_matches(']');
    format!("somehost/{pid}/1/{}/{ns}", boot.trim())
}

#[test]
fn a_shipdeck_that_cannot_read_its_own_namespace_reaps_nothing_and_one_that_can_does() {
    let _serial = one_at_a_time();
    require_docker(&["debian:bookworm-slim"]);
    require_unshare();
    let victim = TestApp::with_config("dead-here", QUICK);
    let leftover = fake_leftover(&victim, &dead_owner_here());
    let name = run(Command::new("docker").args(["inspect", "-f", "{{.Name}}", &leftover]));
    let name = String::from_utf8_lossy(&name.stdout)
        .trim()
        .trim_start_matches('/')
        .to_string();
    // A new PID namespace without its own /proc: the pids it would read are another
    // namespace's, so it proves nothing and removes nothing.
    let other = TestApp::with_config("blind", QUICK);
    let out = run(Command::new("unshare")
        .args(["--pid", "--fork", BIN, "-C"])
        .arg(other.path())
        .arg("run")
        .stdin(Stdio::null()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(victim.containers(), vec![leftover.clone()], "{stderr}");
    assert!(stderr.contains("cannot read its own PID namespace"), "{stderr}");
    // Here, where the owner's pid is provably gone, the next start removes it.
    let (_here, stderr) = start_here();
    assert!(stderr.contains("removed leftovers of interrupted runs: "), "{stderr}");
    assert!(stderr.contains(&name), "the container {name} is named: {stderr}");
    assert_eq!(victim.containers(), Vec::<String>::new(), "{stderr}");
}
