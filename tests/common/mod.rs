//! Shared helpers for the integration tests: real git repositories in temp dirs, the real
//! shipdeck binary, the real Docker engine. Nothing here mocks anything.
#![allow(dead_code)]

pub mod console;
pub mod envs;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod deploy;
pub mod load;

pub const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails the test, loudly, when no Docker engine answers or a fixture image is missing.
pub fn require_docker(images: &[&str]) {
    let version = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    match version {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "this test needs a Docker engine, and none answers: {}\nstart one (systemctl start docker) or set DOCKER_HOST",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("this test needs the docker CLI and a Docker engine: {e}"),
    }
    for image in images {
        let present = Command::new("docker")
            .args(["image", "inspect", image])
            .output()
            .map(|o| o.status.success());
        assert!(
            present.unwrap_or(false),
            "fixture image {image} is not on the engine: build it with `bash fixtures/images/build.sh`"
        );
    }
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command to its end; one that outlives `limit` is killed (-9) and fails the test
/// instead of hanging the suite. Its stdout and stderr are captured.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
    }
}

/// What a process printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every shipdeck start reaps leftovers of dead owners, whatever the app: tests that kill a
/// shipdeck or count what a start reaps hold this, so that one test's start does not reap (and
/// report) another test's leftovers. (One lock per test binary: cargo runs binaries in turn.)
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads NDJSON events until a `stage_log` line is `until` (a stage's commands are logged too,
/// as `$ command`: a test that waits for the command's output names the whole line); fails
/// after `within`, or when the stream ends first.
pub fn read_events_until(reader: &mut impl BufRead, until: &str, within: Duration) -> Vec<Value> {
    read_events_until_line(reader, until, |line| line == until, within)
}

/// Reads NDJSON events until a `stage_log` line holds `until` anywhere (the logged command
/// line included); fails after `within`, or when the stream ends first.
pub fn read_events_until_seen(reader: &mut impl BufRead, until: &str, within: Duration) -> Vec<Value> {
    read_events_until_line(reader, until, |line| line.contains(until), within)
}

fn read_events_until_line(
    reader: &mut impl BufRead,
    until: &str,
    seen: impl Fn(&str) -> bool,
    within: Duration,
) -> Vec<Value> {
    let mut events = Vec::new();
    let deadline = Instant::now() + within;
    loop {
        assert!(Instant::now() < deadline, "never saw {until:?}: {events:#?}");
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "shipdeck ended early: {events:#?}"
        );
        let event: Value = serde_json::from_str(&line).unwrap();
        let seen = event["event"] == "stage_log"
            && event["lines"]
                .as_array()
                .is_some_and(|l| l.iter().any(|l| l.as_str().is_some_and(&seen)));
        events.push(event);
        if seen {
            return events;
        }
    }
}

/// Reads the rest of an NDJSON stream into `events`.
pub fn read_rest(reader: impl BufRead, events: &mut Vec<Value>) {
    for line in reader.lines() {
        events.push(serde_json::from_str(&line.unwrap()).unwrap());
    }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = run(Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Ada Tester")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Tester")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com"));
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An app in a fresh git repository in a temp dir, with an app name unique to this test so
/// that tests running at once never share images, caches or containers; everything labelled
/// with that name is removed when it drops.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub name: String,
}

/// For the tests of the classic builder (its step images, `Using cache` lines): the package
/// stage builds with BuildKit otherwise.
pub const CLASSIC_BUILDER: (&str, &str) = ("SHIPDECK_BUILDER", "classic");

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestApp {
    /// A copy of `fixtures/apps/<fixture>`, committed.
    pub fn from_fixture(fixture: &str) -> TestApp {
        let app = TestApp::empty(fixture);
        copy_dir(&repo_root().join("fixtures/apps").join(fixture), app.path());
        let toml = std::fs::read_to_string(app.path().join("release.toml")).unwrap();
        let renamed = toml.replacen(&format!("name = \"{fixture}\""), &format!("name = \"{}\"", app.name), 1);
        std::fs::write(app.path().join("release.toml"), renamed).unwrap();
        app.commit_all("initial commit");
        app
    }

    /// A repository holding only this release.toml (`{app}` is replaced by the app's name).
    pub fn with_config(label: &str, release_toml: &str) -> TestApp {
        let app = TestApp::empty(label);
        app.write("release.toml", &release_toml.replace("{app}", &app.name));
        app.commit_all("initial commit");
        app
    }

    fn empty(label: &str) -> TestApp {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t-{label}-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        TestApp { dir, name }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, file: &str, content: &str) {
        let path = self.path().join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, content).unwrap();
    }

    pub fn commit_all(&self, message: &str) -> String {
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", message]);
        git(self.path(), &["rev-parse", "HEAD"])
    }

    pub fn shipdeck(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.path()).stdin(Stdio::null());
        cmd
    }

    /// `shipdeck run --json`: the exit code and the events.
    pub fn run_json(&self, extra: &[&str]) -> (i32, Vec<Value>, String) {
        self.run_json_with(extra, &[])
    }

    /// [`TestApp::run_json`] with environment variables set for shipdeck.
    pub fn run_json_with(&self, extra: &[&str], vars: &[(&str, &str)]) -> (i32, Vec<Value>, String) {
        let mut cmd = self.shipdeck();
        cmd.envs(vars.iter().copied());
        let out = run(cmd.args(["run", "--json"]).args(extra));
        let events = parse_events(&String::from_utf8_lossy(&out.stdout));
        (
            out.status.code().unwrap_or(-1),
            events,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `shipdeck ARGS` started, its stdout and stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.shipdeck()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `shipdeck ARGS` started with its output dropped: for a test that only watches the
    /// process (or kills it) and must not block it on a pipe nobody reads.
    pub fn spawn_silent(&self, args: &[&str]) -> Child {
        self.shipdeck()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `shipdeck run --json` started, its events to read as they come (stderr dropped).
    pub fn follow_run_json(&self) -> (Child, std::io::BufReader<ChildStdout>) {
        self.follow_run_json_with(&[])
    }

    /// [`TestApp::follow_run_json`] with environment variables set for shipdeck.
    pub fn follow_run_json_with(&self, vars: &[(&str, &str)]) -> (Child, std::io::BufReader<ChildStdout>) {
        let mut child = self
            .shipdeck()
            .envs(vars.iter().copied())
            .args(["run", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let reader = std::io::BufReader::new(child.stdout.take().unwrap());
        (child, reader)
    }

    /// Containers (any state) labelled with this app.
    pub fn containers(&self) -> Vec<String> {
        docker_list(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.name),
        ])
    }

    /// Volumes labelled with this app.
    pub fn volumes(&self) -> Vec<String> {
        docker_list(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.name),
        ])
    }

    /// Networks labelled with this app (a stage's services network).
    pub fn networks(&self) -> Vec<String> {
        docker_list(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.name),
        ])
    }

    /// Asserts that nothing of a run is left on the engine but what it keeps on purpose: the
    /// cache volumes, and the record of the release image it built (which lives as long as
    /// the image, see shipdeck::deploy::provenance).
    pub fn assert_no_leftovers(&self) {
        assert_eq!(self.containers(), Vec::<String>::new(), "containers left behind");
        assert_eq!(self.networks(), Vec::<String>::new(), "networks left behind");
        let volumes: Vec<String> = self
            .volumes()
            .into_iter()
            .filter(|v| !v.starts_with("shipdeck-cache-") && !v.starts_with("shipdeck-release-"))
            .collect();
        assert_eq!(volumes, Vec::<String>::new(), "volumes left behind");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let containers = self.containers();
        if !containers.is_empty() {
            let _ = Command::new("docker").args(["rm", "-fv"]).args(&containers).output();
        }
        // Environment networks, once their containers are gone.
        let networks = docker_list(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.name),
        ]);
        if !networks.is_empty() {
            let _ = Command::new("docker").args(["network", "rm"]).args(&networks).output();
        }
        let volumes = self.volumes();
        if !volumes.is_empty() {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f"])
                .args(&volumes)
                .output();
        }
        let networks = self.networks();
        if !networks.is_empty() {
            let _ = Command::new("docker").args(["network", "rm"]).args(&networks).output();
        }
        let images = docker_list(&[
            "images",
            "-q",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.name),
        ]);
        if !images.is_empty() {
            let _ = Command::new("docker").args(["rmi", "-f"]).args(&images).output();
        }
    }
}

pub fn docker_list(args: &[&str]) -> Vec<String> {
    let out = run(Command::new("docker").args(args));
    let mut items: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    items.sort();
    items.dedup();
    items
}

pub fn parse_events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an NDJSON event: {l:?}: {e}")))
        .collect()
}

/// The events of one kind.
pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// The `stage_finished` event of a stage.
pub fn finished<'a>(events: &'a [Value], stage: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == "stage_finished" && e["stage"] == stage)
        .unwrap_or_else(|| panic!("no stage_finished for {stage} in {events:#?}"))
}

/// The log lines of a stage, in order.
pub fn log_lines(events: &[Value], stage: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "stage_log" && e["stage"] == stage)
        .flat_map(|e| e["lines"].as_array().cloned().unwrap_or_default())
        .map(|l| l.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Copies a fixture, leaving out what running it in place may have left there (history,
/// build output), so that every test starts from the fixture as committed.
pub fn copy_dir(from: &Path, to: &Path) {
    const LEFT_OUT: &[&str] = &[".shipdeck", "dist", "target", "__pycache__"];
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if LEFT_OUT.contains(&entry.file_name().to_string_lossy().as_ref()) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
