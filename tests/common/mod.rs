//! Shared helpers for the integration tests: real git repositories in temp dirs, the real
//! shipdeck binary, the real Docker engine. Nothing here mocks anything.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

pub mod deploy;

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
        let out = run(self.shipdeck().args(["run", "--json"]).args(extra));
        let events = parse_events(&String::from_utf8_lossy(&out.stdout));
        (
            out.status.code().unwrap_or(-1),
            events,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
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

    /// Asserts that nothing of a run is left on the engine but the cache volumes.
    pub fn assert_no_leftovers(&self) {
        assert_eq!(self.containers(), Vec::<String>::new(), "containers left behind");
        let volumes: Vec<String> = self
            .volumes()
            .into_iter()
            .filter(|v| !v.starts_with("shipdeck-cache-"))
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
