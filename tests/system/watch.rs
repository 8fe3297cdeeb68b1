//! Watch mode end to end: `shipdeck watch --json` on real repositories in temp dirs, real
//! commits and saves, the real Docker engine.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

const BASE: &str = "debian:bookworm-slim";

/// A running `shipdeck watch --json`, its events read on a thread.
struct Watching {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
}

impl Watching {
    fn start(app: &TestApp, extra: &[&str]) -> Watching {
        let mut child = app
            .shipdeck()
            .args(["watch", "--json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        let mut watching = Watching {
            child,
            events,
            seen: Vec::new(),
        };
        watching.wait_for("the watcher to start", Duration::from_secs(20), |e| {
            e["event"] == "watch_status" && e["watching"] == true
        });
        watching
    }

    /// The next event matching `what`, failing after `limit` with what was seen.
    fn wait_for(&mut self, what: &str, limit: Duration, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if matches(&event) {
                        return event;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for {what}; events: {:#?}", self.brief()),
                Err(RecvTimeoutError::Disconnected) => panic!("shipdeck stopped; events: {:#?}", self.brief()),
            }
        }
    }

    /// Asserts that nothing matching `what` arrives within `window`.
    fn quiet_for(&mut self, what: &str, window: Duration, matches: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + window;
        while let Ok(event) = self
            .events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            assert!(!matches(&event), "unexpected {what}: {event:#}");
            self.seen.push(event);
        }
    }

    fn run_finished(&mut self, run: i64, limit: Duration) -> Value {
        self.wait_for(&format!("run #{run} to finish"), limit, |e| {
            e["event"] == "run_finished" && e["run"] == run
        })
    }

    /// Events without log lines, for failure messages.
    fn brief(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|e| e["event"] != "stage_log")
            .map(|e| e.to_string())
            .collect()
    }

    fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn queued(event: &Value) -> bool {
    event["event"] == "run_queued"
}

/// A run a commit (or checkout) started, not a save: writing a file before committing it
/// also makes a save run.
fn commit_run(event: &Value) -> bool {
    queued(event) && !event["trigger"].as_str().unwrap_or_default().starts_with("save")
}

/// Commits `content` as `file`, then writes it into the working tree, as a pull or a checkout
/// does: the tree never differs from HEAD for a debounce. (Writing first, then `git commit`,
/// is a real save when the commit comes later than the debounce, as it does on a loaded
/// machine.)
fn commit_then_write(app: &TestApp, file: &str, content: &str, message: &str) -> String {
    let staged = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(staged.path(), content).unwrap();
    let blob = git(app.path(), &["hash-object", "-w", staged.path().to_str().unwrap()]);
    let entry = format!("100644,{blob},{file}");
    git(app.path(), &["update-index", "--add", "--cacheinfo", &entry]);
    git(app.path(), &["commit", "-q", "-m", message]);
    app.write(file, content);
    git(app.path(), &["rev-parse", "HEAD"])
}

fn config(on_busy: &str, stages: &str) -> String {
    format!("[app]\nname = \"{{app}}\"\n[watch]\non = \"both\"\non_busy = \"{on_busy}\"\ndebounce_ms = 200\nignore = [\"*.tmp\"]\n{stages}")
}

const QUICK: &str = "[stages.quick]\nimage = \"debian:bookworm-slim\"\nrun = [\"cat data.txt\"]\non_save = true\n[stages.full]\nneeds = [\"quick\"]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo full\"]\n";

#[test]
fn a_commit_runs_the_pipeline_for_that_commit_and_amend_and_rebase_do_too() {
    require_docker(&[BASE]);
    let app = TestApp::with_config("wcommit", &config("supersede", QUICK));
    app.write(".gitignore", ".shipdeck/\n");
    app.write("data.txt", "one\n");
    app.commit_all("data");
    let mut w = Watching::start(&app, &[]);

    let sha = commit_then_write(&app, "data.txt", "two\n", "two");
    let run = w.wait_for("a run of the new commit", Duration::from_secs(10), commit_run);
    assert_eq!(run["commit"], sha.as_str());
    assert!(run["trigger"].as_str().unwrap().starts_with("commit "), "{run}");
    assert_eq!(
        w.run_finished(run["run"].as_i64().unwrap(), Duration::from_secs(60))["status"],
        "success"
    );
    // The files the commit wrote are not a save of their own: the tree equals HEAD.
    w.quiet_for("a save run for a committed change", Duration::from_millis(1500), |e| {
        queued(e) && !commit_run(e)
    });
    assert!(
        !w.seen.iter().any(|e| queued(e) && !commit_run(e)),
        "a save run for a committed change: {:#?}",
        w.brief()
    );

    git(app.path(), &["commit", "-q", "--amend", "-m", "two, amended"]);
    let amended = git(app.path(), &["rev-parse", "HEAD"]);
    let run = w.wait_for("a run of the amended commit", Duration::from_secs(10), commit_run);
    assert_eq!(run["commit"], amended.as_str());
    w.run_finished(run["run"].as_i64().unwrap(), Duration::from_secs(60));

    // A rebase: main gets a commit, `topic` is rebased onto it and checked out.
    git(app.path(), &["checkout", "-q", "-b", "topic"]);
    app.write("topic.txt", "topic\n");
    app.commit_all("topic work");
    let run = w.wait_for("a run of the topic commit", Duration::from_secs(10), commit_run);
    w.run_finished(run["run"].as_i64().unwrap(), Duration::from_secs(60));
    git(app.path(), &["checkout", "-q", "main"]);
    let back = w.wait_for("a run after switching back", Duration::from_secs(10), commit_run);
    w.run_finished(back["run"].as_i64().unwrap(), Duration::from_secs(60));
    app.write("main.txt", "main\n");
    app.commit_all("main work");
    let run = w.wait_for("a run of main's commit", Duration::from_secs(10), commit_run);
    w.run_finished(run["run"].as_i64().unwrap(), Duration::from_secs(60));
    git(app.path(), &["checkout", "-q", "topic"]);
    let run = w.wait_for("a run after switching to topic", Duration::from_secs(10), commit_run);
    w.run_finished(run["run"].as_i64().unwrap(), Duration::from_secs(60));
    git(app.path(), &["rebase", "-q", "main"]);
    let rebased = git(app.path(), &["rev-parse", "HEAD"]);
    let run = w.wait_for("a run of the rebased commit", Duration::from_secs(10), |e| {
        queued(e) && e["commit"] == rebased.as_str()
    });
    w.run_finished(run["run"].as_i64().unwrap(), Duration::from_secs(60));
    w.stop();
    app.assert_no_leftovers();
}

#[test]
fn a_newer_commit_supersedes_the_running_pipeline() {
    require_docker(&[BASE]);
    let slow = "[stages.slow]\nimage = \"debian:bookworm-slim\"\nrun = [\"sleep 8\"]\n";
    let app = TestApp::with_config("wsuper", &config("supersede", slow));
    let mut w = Watching::start(&app, &[]);
    app.write("a.txt", "a\n");
    let first = app.commit_all("first");
    let older = w.wait_for("the first run", Duration::from_secs(10), commit_run);
    assert_eq!(older["commit"], first.as_str());
    w.wait_for("the slow stage to start", Duration::from_secs(20), |e| {
        e["event"] == "stage_started"
    });
    app.write("b.txt", "b\n");
    let second = app.commit_all("second");
    let newer = w.wait_for("the second run", Duration::from_secs(10), commit_run);
    assert_eq!(newer["commit"], second.as_str());
    let older_end = w.run_finished(older["run"].as_i64().unwrap(), Duration::from_secs(10));
    assert_eq!(older_end["status"], "cancelled");
    let newer_end = w.run_finished(newer["run"].as_i64().unwrap(), Duration::from_secs(60));
    assert_eq!(newer_end["status"], "success");
    w.stop();
    app.assert_no_leftovers();
}

#[test]
fn under_queue_both_commits_run_in_order() {
    require_docker(&[BASE]);
    let slow = "[stages.slow]\nimage = \"debian:bookworm-slim\"\nrun = [\"sleep 3\"]\n";
    let app = TestApp::with_config("wqueue", &config("queue", slow));
    let mut w = Watching::start(&app, &[]);
    app.write("a.txt", "a\n");
    let first = app.commit_all("first");
    let older = w.wait_for("the first run", Duration::from_secs(10), commit_run);
    w.wait_for("the slow stage to start", Duration::from_secs(20), |e| {
        e["event"] == "stage_started"
    });
    app.write("b.txt", "b\n");
    let second = app.commit_all("second");
    let older_end = w.run_finished(older["run"].as_i64().unwrap(), Duration::from_secs(30));
    assert_eq!(older_end["status"], "success");
    assert_eq!(older["commit"], first.as_str());
    let newer = w.wait_for("the queued run", Duration::from_secs(10), commit_run);
    assert_eq!(newer["commit"], second.as_str());
    assert_eq!(
        w.run_finished(newer["run"].as_i64().unwrap(), Duration::from_secs(30))["status"],
        "success"
    );
    w.stop();
    app.assert_no_leftovers();
}

#[test]
fn saves_run_the_on_save_stages_on_the_working_tree_and_bursts_make_one_run() {
    require_docker(&[BASE]);
    let app = TestApp::with_config("wsave", &config("supersede", QUICK));
    app.write(".gitignore", "target/\n");
    app.write("data.txt", "committed\n");
    app.commit_all("data");
    let mut w = Watching::start(&app, &[]);

    // One save: only the on_save stage runs, on the file as saved.
    app.write("data.txt", "saved but not committed\n");
    let run = w.wait_for("a save run", Duration::from_secs(10), queued);
    assert!(run["trigger"].as_str().unwrap().starts_with("save: data.txt"), "{run}");
    let started = w.wait_for("its plan", Duration::from_secs(10), |e| e["event"] == "run_started");
    let names: Vec<&str> = started["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["quick"], "only the on_save stages run on a save");
    let number = run["run"].as_i64().unwrap();
    assert_eq!(w.run_finished(number, Duration::from_secs(60))["status"], "success");
    let lines: Vec<String> = w
        .seen
        .iter()
        .filter(|e| e["event"] == "stage_log" && e["run"] == number)
        .flat_map(|e| e["lines"].as_array().cloned().unwrap_or_default())
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(lines.contains(&"saved but not committed".to_string()), "{lines:?}");

    // Ignored paths, the [watch].ignore globs and shipdeck's own outputs never trigger.
    app.write("target/build.o", "x");
    app.write("scratch.tmp", "x");
    app.write(".shipdeck/runs/99/artifacts/out", "x");
    w.quiet_for("a run for ignored files", Duration::from_millis(1500), queued);

    // A burst of saves (a formatter touching many files) is one run.
    for i in 0..30 {
        app.write(&format!("src/file{i}.txt"), "formatted\n");
    }
    let burst = w.wait_for("one run for the burst", Duration::from_secs(10), queued);
    assert!(burst["trigger"].as_str().unwrap().contains("and 29 more"), "{burst}");
    w.run_finished(burst["run"].as_i64().unwrap(), Duration::from_secs(60));
    w.quiet_for("a second run for the same burst", Duration::from_millis(1500), queued);
    w.stop();
    app.assert_no_leftovers();
}

#[test]
fn a_broken_then_fixed_release_toml_keeps_the_last_good_one_until_fixed() {
    require_docker(&[BASE]);
    let app = TestApp::with_config("wconfig", &config("supersede", QUICK));
    app.write("data.txt", "data\n");
    app.commit_all("data");
    let mut w = Watching::start(&app, &[]);
    let good = config("supersede", QUICK).replace("{app}", &app.name);
    app.write("release.toml", &good.replace("image =", "imgae ="));
    let reloaded = w.wait_for("the reload", Duration::from_secs(10), |e| {
        e["event"] == "config_reloaded"
    });
    let error = reloaded["error"].as_str().expect("an error for the broken file");
    assert!(
        error.contains("unknown key `imgae`") && error.contains("did you mean `image`?"),
        "{error}"
    );
    // Saves still run, on the last good pipeline.
    app.write("data.txt", "changed\n");
    let run = w.wait_for("a save run with the last good config", Duration::from_secs(10), queued);
    assert_eq!(
        w.run_finished(run["run"].as_i64().unwrap(), Duration::from_secs(60))["status"],
        "success"
    );
    // Fixed: reloaded without error, and the new pipeline is what runs next.
    app.write("release.toml", &good.replace("cat data.txt", "echo fixed"));
    let reloaded = w.wait_for("the second reload", Duration::from_secs(10), |e| {
        e["event"] == "config_reloaded"
    });
    assert!(reloaded["error"].is_null(), "{reloaded}");
    app.write("data.txt", "again\n");
    let run = w.wait_for("a save run with the fixed config", Duration::from_secs(10), queued);
    let number = run["run"].as_i64().unwrap();
    w.run_finished(number, Duration::from_secs(60));
    let fixed = w.seen.iter().any(|e| {
        e["event"] == "stage_log"
            && e["run"] == number
            && e["lines"].as_array().is_some_and(|l| l.iter().any(|l| l == "fixed"))
    });
    assert!(fixed, "the fixed pipeline ran: {:#?}", w.brief());
    w.stop();
    app.assert_no_leftovers();
}
