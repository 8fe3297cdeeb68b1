//! hello-py with its environments on loopback ports of one test alone, shipdeck run to its end
//! with a time limit, and what the engine and the release answer. Shared by every test that
//! deploys: environments, release safety and crashes, secrets, the console in tmux.

use std::process::{Command, Output};
use std::time::Duration;

use super::*;

/// The release base image, and the proxy every environment gets by default (strategy `proxy`).
pub const IMAGES: &[&str] = &["python:3.11-slim", "shipdeck/proxy:bookworm"];

/// How long one shipdeck command may take before the test fails instead of hanging the suite.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(180);

/// A free loopback port (the engine binds it a moment later; collisions are unlikely).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// hello-py: staging, and production fed by promotion from it with approval and
/// auto_rollback (as the fixture has them), each on a port of its own.
pub struct Envs {
    pub app: TestApp,
    pub staging: u16,
    pub production: u16,
}

impl Envs {
    /// Both environments' smoke checks given 3 s to pass.
    pub fn new() -> Envs {
        Envs::hello_py(|toml| format!("{}within = \"3s\"\n", short_smoke(&toml)))
    }

    /// The fixture's release.toml on this test's ports, passed through `edit`, committed.
    pub fn hello_py(edit: impl FnOnce(String) -> String) -> Envs {
        require_docker(IMAGES);
        let app = TestApp::from_fixture("hello-py");
        let (staging, production) = (free_port(), free_port());
        let toml = std::fs::read_to_string(app.path().join("release.toml")).unwrap();
        let toml = toml
            .replace("127.0.0.1:18080:8080", &format!("127.0.0.1:{staging}:8080"))
            .replace("127.0.0.1:18081:8080", &format!("127.0.0.1:{production}:8080"));
        app.write("release.toml", &edit(toml));
        app.commit_all("ports of this test");
        Envs {
            app,
            staging,
            production,
        }
    }

    /// The release.toml in the working copy.
    pub fn release_toml(&self) -> String {
        std::fs::read_to_string(self.app.path().join("release.toml")).unwrap()
    }

    /// Runs the pipeline for `rev`; returns the full commit id.
    pub fn build_commit(&self, rev: &str) -> String {
        let (code, _, stderr) = self.app.run_json(&["--commit", rev]);
        assert_eq!(code, 0, "the pipeline failed: {stderr}");
        git(self.app.path(), &["rev-parse", rev])
    }

    pub fn build(&self) -> String {
        self.build_commit("HEAD")
    }

    /// Runs shipdeck to its end (within `COMMAND_LIMIT`).
    pub fn shipdeck(&self, args: &[&str]) -> Output {
        run_within(self.app.shipdeck().args(args), COMMAND_LIMIT)
    }

    /// Runs shipdeck and asserts its exit code; returns its text.
    pub fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.shipdeck(args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(code), "`shipdeck {}`:\n{said}", args.join(" "));
        said
    }

    /// Commits a release whose /health answers 503 where `when` (a Python expression over
    /// `os.environ`) holds; the unit tests (no SHIPDECK_ENV) still pass.
    pub fn commit_health_failing_when(&self, when: &str, message: &str) -> String {
        let path = self.app.path().join("app/hello.py");
        let mut source = std::fs::read_to_string(&path).unwrap();
        source.push_str(&format!(
            r#"

_good_respond_{n} = respond


def respond(method, path, environ):
    if path.split("?")[0] == "/health" and ({when}):
        return 503, "application/json", b'{{"status": "broken"}}\n'
    return _good_respond_{n}(method, path, environ)
"#,
            n = source.matches("_good_respond").count() / 2
        ));
        std::fs::write(&path, source).unwrap();
        self.app.commit_all(message)
    }

    /// The image IDs of this app's release images built from `commit`, oldest first.
    pub fn release_images_of(&self, commit: &str) -> Vec<String> {
        let mut ids = docker_list(&[
            "images",
            "--no-trunc",
            "--format",
            "{{.CreatedAt}} {{.ID}}",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.app.name),
            "--filter",
            "label=dev.shipdeck.role=release",
            "--filter",
            &format!("label=dev.shipdeck.commit={commit}"),
        ]);
        ids.sort();
        ids.into_iter()
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
            .collect()
    }

    /// The image ID the environment's running container uses ("" when none runs).
    pub fn running_image(&self, env: &str) -> String {
        let ids = docker_list(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.app.name),
            "--filter",
            &format!("label=dev.shipdeck.env={env}"),
            "--filter",
            "label=dev.shipdeck.role=deployment",
        ]);
        assert!(ids.len() <= 1, "more than one container runs on {env}: {ids:?}");
        let Some(id) = ids.first() else { return String::new() };
        let out = run(Command::new("docker").args(["inspect", "--format", "{{.Image}}", id]));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Asserts that both environments run one container, of the same image.
    pub fn assert_same_image(&self, env: &str, other: &str) {
        let image = self.running_image(env);
        assert!(!image.is_empty(), "nothing runs on {env}");
        assert_eq!(image, self.running_image(other), "{env} and {other} run other images");
    }

    /// `status --json`'s row for `env`.
    pub fn status_row(&self, env: &str) -> serde_json::Value {
        let out = self.shipdeck(&["status", "--json"]);
        let rows: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("status --json: {e}: {}", text(&out)));
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["env"] == env)
            .cloned()
            .unwrap_or_else(|| panic!("no {env} in {rows}"))
    }
}

/// The fixture's 30 s smoke windows cut to 3 s, so that a failing check fails fast.
pub fn short_smoke(toml: &str) -> String {
    toml.replace("within = \"30s\"", "within = \"3s\"")
}

/// GET /health on a port: (status, body); (0, "") when nothing answers.
pub fn health(port: u16) -> (u16, String) {
    http(port, "GET", "/health", None)
}

/// One HTTP/1.0 request to a loopback port, with a JSON body if given: (status, body);
/// (0, "") when nothing answers.
pub fn http(port: u16, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = json.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(request.as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// The NDJSON events of a `--json` operation: its `operation_finished` event.
pub fn finished_op(out: &Output) -> serde_json::Value {
    let events = parse_events(&String::from_utf8_lossy(&out.stdout));
    of_kind(&events, "operation_finished")
        .first()
        .map(|v| (*v).clone())
        .unwrap_or_else(|| panic!("no operation_finished in {}", text(out)))
}
