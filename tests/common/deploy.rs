//! The hello-py fixture set up for environment tests: its own loopback ports, staging's table
//! extended, the real shipdeck binary run to its end with a time limit, and answers read from
//! the published port.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::envs::free_port;
use super::*;

/// hello-py with a staging port of its own and `extra` added to `[environments.staging]`
/// (keys, then sub-tables).
pub struct Deployable {
    pub app: TestApp,
    pub port: u16,
}

impl Deployable {
    pub fn new(extra_staging: &str) -> Deployable {
        let app = TestApp::from_fixture("hello-py");
        let port = free_port();
        let deployable = Deployable { app, port };
        deployable.configure(extra_staging);
        deployable
    }

    /// Rewrites release.toml from the fixture's with `extra` in staging; commits it.
    pub fn configure(&self, extra_staging: &str) -> String {
        let toml = std::fs::read_to_string(repo_root().join("fixtures/apps/hello-py/release.toml")).unwrap();
        let toml = toml
            .replacen("name = \"hello-py\"", &format!("name = \"{}\"", self.app.name), 1)
            .replace("127.0.0.1:18080:8080", &format!("127.0.0.1:{}:8080", self.port))
            .replace("127.0.0.1:18081:8080", &format!("127.0.0.1:{}:8080", free_port()))
            .replace("within = \"30s\"", "within = \"5s\"")
            .replace(
                "env = { APP_ENV = \"staging\" }",
                &format!("env = {{ APP_ENV = \"staging\" }}\n{extra_staging}\n"),
            );
        self.app.write("release.toml", &toml);
        self.app.commit_all("release.toml of this test")
    }

    /// Runs the pipeline for HEAD; returns the commit.
    pub fn build(&self) -> String {
        let (code, _, stderr) = self.app.run_json(&[]);
        assert_eq!(code, 0, "the pipeline failed: {stderr}");
        git(self.app.path(), &["rev-parse", "HEAD"])
    }

    /// A new commit (a file changed), built: a second release.
    pub fn next_release(&self, note: &str) -> String {
        self.app.write("NOTES", note);
        self.app.commit_all(note);
        self.build()
    }

    /// Runs shipdeck to its end with `vars` set; a hang fails the test after three minutes.
    pub fn shipdeck_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut cmd = self.app.shipdeck();
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                panic!("`shipdeck {}` did not finish within 3 minutes", args.join(" "));
            }
        }
    }

    pub fn shipdeck(&self, args: &[&str]) -> Output {
        self.shipdeck_with(args, &[])
    }

    /// GET /health on staging: (status, body); (0, "") when nothing answers.
    pub fn health(&self) -> (u16, String) {
        super::envs::health(self.port)
    }

    /// Running containers of this app with `role` (and `extra` label filters).
    pub fn running(&self, role: &str) -> Vec<String> {
        docker_list(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=dev.shipdeck.app={}", self.app.name),
            "--filter",
            &format!("label=dev.shipdeck.role={role}"),
        ])
    }
}

/// `docker inspect --format FORMAT ID`, trimmed.
pub fn inspect(id: &str, format: &str) -> String {
    let out = run(Command::new("docker").args(["inspect", "--format", format, id]));
    assert!(
        out.status.success(),
        "docker inspect {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
