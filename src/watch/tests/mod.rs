//! End-to-end tests: real git repositories in temp dirs, the git CLI, real files, real inotify.

mod git_triggers;
mod limits;
mod saves;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{HeadChange, Trigger, Tuning, WatchOptions, Watcher};

/// How long a test waits for an expected trigger.
const WAIT: Duration = Duration::from_secs(5);
/// How long nothing else may arrive.
const QUIET: Duration = Duration::from_millis(800);
/// The tests' save debounce.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// A git repository in a temp dir: `src/main.py`, `release.toml`, `.gitignore` with `target/`, one commit on `main`.
struct Repo {
    _dir: TempDir,
    root: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let root = dir
            .path()
            .canonicalize()
            .unwrap_or_else(|e| panic!("canonicalize: {e}"));
        let repo = Repo { _dir: dir, root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write("src/main.py", "print('hello')\n");
        repo.write("release.toml", "[app]\nname = \"demo\"\n");
        repo.write(".gitignore", "target/\n");
        repo.write("target/debug/old.o", "x");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "first"]);
        repo
    }

    /// Run git with a fixed identity and no user or system configuration; its trimmed stdout.
    fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(["-c", "gc.auto=0", "-c", "advice.detachedHead=false"])
            .args(args)
            .current_dir(&self.root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Change a file and commit it; the new sha.
    fn commit(&self, file: &str, message: &str) -> String {
        self.write(file, message);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.head()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn write(&self, rel: &str, content: &str) {
        write(&self.path(rel), content);
    }

    fn options(&self, save: bool) -> WatchOptions {
        WatchOptions {
            repo_root: self.root.clone(),
            app_dir: self.root.clone(),
            save,
            debounce: DEBOUNCE,
            ignore: Vec::new(),
        }
    }

    fn watch(&self, save: bool) -> (Watcher, UnboundedReceiver<Trigger>) {
        start(self.options(save), Tuning::default())
    }
}

fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    std::fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn start(options: WatchOptions, tuning: Tuning) -> (Watcher, UnboundedReceiver<Trigger>) {
    Watcher::start_tuned(options, tuning).unwrap_or_else(|e| panic!("start: {e}"))
}

/// The next trigger, within [`WAIT`].
async fn next(rx: &mut UnboundedReceiver<Trigger>) -> Trigger {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(trigger)) => trigger,
        Ok(None) => panic!("the trigger channel closed"),
        Err(_) => panic!("no trigger within {WAIT:?}"),
    }
}

/// Nothing arrives within [`QUIET`].
async fn quiet(rx: &mut UnboundedReceiver<Trigger>) {
    if let Ok(Some(trigger)) = tokio::time::timeout(QUIET, rx.recv()).await {
        panic!("expected nothing, got {trigger:?}");
    }
}

/// The next trigger must be a `Head`: (commit, branch, previous, kind).
async fn next_head(rx: &mut UnboundedReceiver<Trigger>) -> (String, Option<String>, Option<String>, HeadChange) {
    match next(rx).await {
        Trigger::Head {
            commit,
            branch,
            previous,
            kind,
        } => (commit, branch, previous, kind),
        other => panic!("expected Head, got {other:?}"),
    }
}

/// The next trigger must be `Saved`: its paths as strings.
async fn next_saved(rx: &mut UnboundedReceiver<Trigger>) -> Vec<String> {
    match next(rx).await {
        Trigger::Saved { paths } => paths.iter().map(|p| p.to_string_lossy().into_owned()).collect(),
        other => panic!("expected Saved, got {other:?}"),
    }
}

#[test]
fn the_handle_can_be_shared_with_the_engine() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Watcher>();
    send_sync::<Trigger>();
}

#[test]
fn start_errors_say_what_and_where() {
    let repo = Repo::new();
    let not_a_repo = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let error = |options: WatchOptions| match Watcher::start(options) {
        Ok(_) => panic!("started"),
        Err(e) => e,
    };

    let e = error(WatchOptions::new(not_a_repo.path()));
    assert!(matches!(e, super::WatchError::OpenRepo { .. }), "{e:?}");
    assert!(e.to_string().contains(&not_a_repo.path().display().to_string()), "{e}");

    let e = error(WatchOptions {
        app_dir: "missing/app".into(),
        ..repo.options(true)
    });
    assert!(matches!(e, super::WatchError::Dir { .. }), "{e:?}");
    assert!(e.to_string().contains("missing/app"), "{e}");

    let e = error(WatchOptions {
        app_dir: not_a_repo.path().into(),
        ..repo.options(true)
    });
    assert!(matches!(e, super::WatchError::AppDirOutsideRepo { .. }), "{e:?}");

    let e = error(WatchOptions {
        ignore: vec!["{unclosed".into()],
        ..repo.options(true)
    });
    assert!(e.to_string().contains("{unclosed"), "{e}");

    repo.git(&["init", "-q", "--bare", "bare.git"]);
    let e = error(WatchOptions::new(repo.path("bare.git")));
    assert!(matches!(e, super::WatchError::Bare { .. }), "{e:?}");
}
