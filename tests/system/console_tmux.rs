//! The real binary in a real terminal (tmux) on a fixture repository and the real Docker
//! engine: press Enter, watch the stages go green, quit, and find the terminal restored.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::envs::{health, Envs};
use common::*;

/// A tmux session running a shell, killed when dropped.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(dir: &std::path::Path, width: u16, height: u16) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.map(|o| o.status.success()).unwrap_or(false),
            "this test drives shipdeck in tmux, and tmux is not installed (apt-get install tmux)"
        );
        // tmux reads `.` and `:` in a target as window and pane separators: keep them out.
        let dir_name: String = dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        // Numbered too: a test may run two consoles on one repository.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("shipdeck-test-{}-{n}-{dir_name}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                "-c",
            ])
            .arg(dir)
            .args(["env", "PS1=$ ", "TERM=xterm-256color", "bash", "--norc", "--noprofile"])
            .status()
            .unwrap();
        assert!(status.success(), "cannot start tmux");
        Tmux { name }
    }

    fn send(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ready`, failing with the last screen after `limit`.
    fn wait_for(&self, what: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Whether the shell printed shipdeck's exit code (the command line itself shows `$?`).
/// The shell is back and has printed everything after shipdeck: the exit marker and the
/// terminal's canonical-mode flag (`icanon` or `-icanon`), which arrives a moment later.
fn exited(screen: &str) -> bool {
    let marker = screen
        .lines()
        .any(|l| l.starts_with("SHIPDECK_EXIT_") && !l.contains('$'));
    let mode = screen.lines().any(|l| matches!(l.trim(), "icanon" | "-icanon"));
    marker && mode
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

#[test]
fn enter_runs_the_pipeline_live_and_quit_restores_the_terminal() {
    require_docker(&["python:3.11-slim"]);
    let app = TestApp::from_fixture("hello-py");
    let tmux = Tmux::start(app.path(), 120, 36);
    // Start shipdeck; after it exits, the shell prints its exit code and the tty mode.
    tmux.send(&[
        &format!("{BIN}; echo SHIPDECK_EXIT_$?_END; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'"),
        "Enter",
    ]);
    // The engine may answer before the repository is read (a loaded machine): wait for both.
    let screen = tmux.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("Runs") && s.contains("docker ●") && !s.contains("reading the repository")
    });
    assert!(screen.contains("initial commit"), "the commit is listed:\n{screen}");
    assert!(
        screen.contains("Environments") && screen.contains("staging"),
        "{screen}"
    );

    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("a running stage", Duration::from_secs(60), |s| s.contains("#1"));
    assert!(screen.contains("test"), "{screen}");
    let screen = tmux.wait_for("a green pipeline", Duration::from_secs(240), |s| {
        s.contains("✓ test") && s.contains("✓ build") && s.contains("✓ package")
    });
    assert!(screen.contains("#1"), "{screen}");
    // The log pane shows the package stage's build output.
    assert!(
        screen.contains("Successfully tagged") || screen.contains("Step"),
        "{screen}"
    );

    tmux.send(&["q"]);
    let screen = tmux.wait_for("the shell again", Duration::from_secs(20), exited);
    assert!(screen.contains("SHIPDECK_EXIT_0_END"), "{screen}");
    // Canonical mode is back (raw mode would show -icanon), and the alternate screen is gone:
    // the command line typed before shipdeck started is on screen again.
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "the tty was left in raw mode:\n{screen}"
    );
    assert!(
        screen.contains(&format!("{BIN};")),
        "the alternate screen was not left:\n{screen}"
    );
    app.assert_no_leftovers();
}

#[test]
fn ctrl_c_restores_the_terminal_too() {
    let app = TestApp::from_fixture("hello-py");
    let tmux = Tmux::start(app.path(), 100, 30);
    tmux.send(&[
        &format!("{BIN}; echo SHIPDECK_EXIT_$?_END; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'"),
        "Enter",
    ]);
    tmux.wait_for("the console", Duration::from_secs(20), |s| s.contains("Runs"));
    tmux.send(&["C-c"]);
    let screen = tmux.wait_for("the shell again", Duration::from_secs(20), exited);
    assert!(
        screen.contains("SHIPDECK_EXIT_0_END"),
        "nothing was running, so Ctrl-C is a plain quit:\n{screen}"
    );
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "{screen}");
}

#[test]
fn a_small_terminal_is_told_so() {
    let app = TestApp::from_fixture("hello-py");
    let tmux = Tmux::start(app.path(), 60, 15);
    tmux.send(&[BIN, "Enter"]);
    let screen = tmux.wait_for("the too-small message", Duration::from_secs(20), |s| {
        s.contains("terminal too small")
    });
    assert!(screen.contains("60×15"), "{screen}");
    tmux.send(&["q"]);
}

#[test]
fn sigterm_restores_the_terminal() {
    let app = TestApp::from_fixture("hello-py");
    let tmux = Tmux::start(app.path(), 100, 30);
    // The app's path makes this shipdeck process findable among others running tests.
    let dir = app.path().display().to_string();
    tmux.send(&[
        &format!("{BIN} -C {dir}; echo SHIPDECK_EXIT_$?_END; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'"),
        "Enter",
    ]);
    tmux.wait_for("the console", Duration::from_secs(20), |s| s.contains("Runs"));
    let status = Command::new("pkill")
        .args(["-TERM", "-f", &format!("{BIN} -C {dir}")])
        .status()
        .unwrap();
    assert!(status.success(), "no shipdeck process to signal");
    let screen = tmux.wait_for("the shell again", Duration::from_secs(20), exited);
    assert!(screen.contains("SHIPDECK_EXIT_0_END"), "{screen}");
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "{screen}");
}

#[test]
fn ctrl_z_suspends_and_fg_resumes() {
    let app = TestApp::from_fixture("hello-py");
    let tmux = Tmux::start(app.path(), 100, 30);
    tmux.send(&[BIN, "Enter"]);
    tmux.wait_for("the console", Duration::from_secs(20), |s| s.contains("Runs"));
    tmux.send(&["C-z"]);
    let screen = tmux.wait_for("the shell", Duration::from_secs(20), |s| s.contains("Stopped"));
    assert!(
        !screen.contains("┃"),
        "the console is still drawn while suspended:\n{screen}"
    );
    tmux.send(&["fg", "Enter"]);
    tmux.wait_for("the console again", Duration::from_secs(20), |s| {
        s.contains("Runs") && s.contains("Environments")
    });
    tmux.send(&["q"]);
}

#[test]
fn an_unreachable_engine_is_shown_in_the_header_and_the_console_keeps_running() {
    let app = TestApp::from_fixture("hello-py");
    let tmux = Tmux::start(app.path(), 120, 30);
    tmux.send(&[&format!("DOCKER_HOST=unix:///nonexistent/docker.sock {BIN}"), "Enter"]);
    let screen = tmux.wait_for("the engine state", Duration::from_secs(20), |s| {
        s.contains("docker ✗ unreachable")
    });
    assert!(screen.contains("unix:///nonexistent/docker.sock"), "{screen}");
    assert!(screen.contains("check `docker version`"), "{screen}");
    // Enter does not start a run against a dead engine: it says why.
    tmux.send(&["Enter"]);
    tmux.wait_for("the refusal", Duration::from_secs(5), |s| s.contains("not reachable"));
    tmux.send(&["q"]);
}

#[test]
fn d_deploys_the_green_run_to_staging_and_the_panel_shows_it() {
    // Ports of this test's own, so that no other test's environments get in the way.
    let envs = Envs::hello_py(|toml| toml);
    let (app, staging) = (&envs.app, envs.staging);
    let commit = git(app.path(), &["rev-parse", "HEAD"]);
    let short = &commit[..7];

    let tmux = Tmux::start(app.path(), 120, 36);
    tmux.send(&[&format!("{BIN}; echo SHIPDECK_EXIT_$?_END"), "Enter"]);
    let screen = tmux.wait_for("the environments read from the engine", Duration::from_secs(30), |s| {
        s.contains("docker ●") && s.contains("staging") && s.contains("not deployed")
    });
    assert!(!screen.contains("reading…"), "{screen}");

    tmux.send(&["Enter"]);
    tmux.wait_for("a green pipeline", Duration::from_secs(240), |s| {
        s.contains("✓ test") && s.contains("✓ build") && s.contains("✓ package")
    });
    let offer = format!("deploy {short} → staging");
    tmux.wait_for("the footer's offer to deploy", Duration::from_secs(20), |s| {
        s.contains(&offer)
    });

    tmux.send(&["d"]);
    let screen = tmux.wait_for("staging running the release", Duration::from_secs(120), |s| {
        s.lines()
            .any(|l| l.contains("staging") && l.contains(short) && (l.contains("healthy") || l.contains("running")))
            && s.contains("✓ deploy succeeded")
    });
    // The log pane shows the deploy: its start, the smoke check, the end.
    assert!(screen.contains(&format!("▶ deploying {short}")), "{screen}");
    assert!(screen.contains("✓ smoke GET /health"), "{screen}");
    assert!(screen.contains("since "), "{screen}");
    // It really answers, with its commit.
    let (_, answer) = health(staging);
    assert!(answer.contains(&commit), "GET /health on {staging}: {answer}");

    tmux.send(&["q"]);
    let screen = tmux.wait_for("the shell again", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.starts_with("SHIPDECK_EXIT_") && !l.contains('$'))
    });
    assert!(screen.contains("SHIPDECK_EXIT_0_END"), "{screen}");
    // What the test started goes: the deployment (and the release image) with the app.
    drop(tmux);
    let name = app.name.clone();
    drop(envs);
    let left = docker_list(&["ps", "-aq", "--filter", &format!("label=dev.shipdeck.app={name}")]);
    assert_eq!(left, Vec::<String>::new(), "containers of {name} left behind");
}

/// A stage that runs until it is stopped.
const SLEEPY: &str = "[app]\nname = \"{app}\"\n[stages.sleepy]\nimage = \"debian:bookworm-slim\"\nrun = [\"echo sleeping\", \"sleep 300\"]\n";

/// The pid of the shipdeck process started with `-C dir` (the path is unique to one test).
fn console_pid(dir: &str) -> String {
    let out = Command::new("pgrep")
        .args(["-f", &format!("{BIN} -C {dir}")])
        .output()
        .unwrap();
    let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(pids.len(), 1, "expected exactly one shipdeck for {dir}: {pids:?}");
    pids[0].clone()
}

#[test]
fn sigint_during_a_run_restores_the_terminal_and_removes_the_run() {
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config("sigint", SLEEPY);
    let tmux = Tmux::start(app.path(), 100, 30);
    let dir = app.path().display().to_string();
    tmux.send(&[
        &format!("{BIN} -C {dir}; echo SHIPDECK_EXIT_$?_END; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'"),
        "Enter",
    ]);
    tmux.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("Runs") && s.contains("docker ●")
    });
    tmux.send(&["Enter"]);
    tmux.wait_for("the stage's output", Duration::from_secs(60), |s| {
        s.contains("sleeping")
    });
    assert!(!app.containers().is_empty(), "the stage's container is running");
    assert!(!app.volumes().is_empty(), "the run's workspace volume exists");

    let status = Command::new("kill")
        .args(["-INT", &console_pid(&dir)])
        .status()
        .unwrap();
    assert!(status.success(), "cannot signal shipdeck");
    let sent = Instant::now();
    let screen = tmux.wait_for("the shell again", Duration::from_secs(20), exited);
    assert!(
        screen.contains("SHIPDECK_EXIT_130_END"),
        "a run was cancelled: exit code 130:\n{screen}"
    );
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "the tty was left in raw mode:\n{screen}"
    );
    assert!(
        screen.contains(&format!("{BIN} -C {dir};")),
        "the alternate screen was not left:\n{screen}"
    );
    let deadline = sent + Duration::from_secs(5);
    while !(app.containers().is_empty() && app.volumes().is_empty()) {
        assert!(
            Instant::now() < deadline,
            "5 s after SIGINT the run is still on the engine: containers {:?}, volumes {:?}",
            app.containers(),
            app.volumes()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Two consoles on one repository: a commit is run once, by one of them, and the other shows
/// that run live; a `shipdeck run` in a third shell shows in both.
#[test]
fn two_consoles_run_a_commit_once_and_both_follow_runs_made_elsewhere() {
    require_docker(&["python:3.11-slim"]);
    let app = TestApp::from_fixture("hello-py");
    let consoles: Vec<Tmux> = (0..2).map(|_| Tmux::start(app.path(), 120, 36)).collect();
    for tmux in &consoles {
        tmux.send(&[BIN, "Enter"]);
        tmux.wait_for("the console", Duration::from_secs(20), |s| {
            s.contains("Runs") && s.contains("watch: commits")
        });
    }
    app.write("NOTES", "a commit both consoles see");
    app.commit_all("seen by two consoles");
    for tmux in &consoles {
        let screen = tmux.wait_for("the commit's run", Duration::from_secs(60), |s| s.contains("#1"));
        assert!(!screen.contains("#2"), "the commit was run twice:\n{screen}");
    }
    let left = consoles
        .iter()
        .map(|t| t.screen())
        .filter(|s| s.contains("left to the shipdeck that runs"))
        .count();
    assert_eq!(left, 1, "exactly one console leaves the run to the other");
    for tmux in &consoles {
        tmux.wait_for("the run, green, in both", Duration::from_secs(240), |s| {
            s.contains("✓ test") && s.contains("✓ package")
        });
    }
    let store = shipdeck::store::Store::open(&app.path().join(".shipdeck")).unwrap();
    assert_eq!(store.recent_runs(10).unwrap().len(), 1, "one commit, one run");

    // A headless run in another shell: both consoles show it as it goes.
    let out = run(app.shipdeck().args(["run"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for tmux in &consoles {
        tmux.wait_for("the headless run", Duration::from_secs(20), |s| s.contains("#2"));
    }
    for tmux in &consoles {
        tmux.send(&["q"]);
    }
    std::thread::sleep(Duration::from_millis(500));
    app.assert_no_leftovers();
}
