//! Watcher benchmark on a large repository: 2,000 directories × 50 files (100,000 tracked files) plus an ignored
//! `target/` of 50,000 files. Prints: start time, commit → Head latency (commits made with git2, in process),
//! save → Saved latency minus the debounce, and idle CPU while watching.
//!
//! `cargo bench --bench watch`

// Benchmark harnesses are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use shipdeck::watch::{Trigger, WatchOptions, Watcher};
use tokio::runtime::Runtime;
use tokio::sync::mpsc::UnboundedReceiver;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const DIRS: usize = 2_000;
const FILES_PER_DIR: usize = 50;
const IGNORED_DIRS: usize = 500;
const IGNORED_PER_DIR: usize = 100;
const COMMITS: usize = 21;
const SAVES: usize = 11;
const IDLE: Duration = Duration::from_secs(10);
/// Linux reports utime and stime in USER_HZ ticks, 100 per second on every architecture.
const USER_HZ: f64 = 100.0;

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().canonicalize()?;
    let built = Instant::now();
    build_repo(&root)?;
    println!(
        "repository: {} tracked files in {DIRS} directories, {} ignored files in target/ (built in {:.1} s)",
        DIRS * FILES_PER_DIR,
        IGNORED_DIRS * IGNORED_PER_DIR,
        built.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let options = WatchOptions::new(&root);
    let debounce = options.debounce;

    let started = Instant::now();
    let (watcher, mut rx) = Watcher::start(options)?;
    let start_time = started.elapsed();
    println!(
        "start: {:.0} ms to ready, {} directories watched, polling: {}   (target < 2000 ms)",
        ms(start_time),
        watcher.watched_dirs(),
        watcher.polling()
    );

    let commits = commit_latencies(&runtime, &root, &mut rx)?;
    report(
        "commit → Head (git2 commits in process, from the commit call)",
        &commits,
        "target < 200 ms",
    );

    let saves = save_latencies(&runtime, &root, &mut rx, debounce)?;
    report(
        &format!("save → Saved minus the {} ms debounce", debounce.as_millis()),
        &saves,
        "overhead",
    );

    drain(&mut rx);
    let before = cpu_seconds()?;
    let wall = Instant::now();
    runtime.block_on(async { tokio::time::sleep(IDLE).await });
    let used = cpu_seconds()? - before;
    let share = used / wall.elapsed().as_secs_f64() * 100.0;
    println!(
        "idle CPU over {} s: {:.2} % of a core ({:.0} ms)   (target < 1 %)",
        IDLE.as_secs(),
        share,
        used * 1000.0
    );
    if let Ok(Some(trigger)) =
        runtime.block_on(async { tokio::time::timeout(Duration::from_millis(1), rx.recv()).await })
    {
        println!("unexpected trigger while idle: {trigger:?}");
    }
    drop(watcher);
    Ok(())
}

fn build_repo(root: &Path) -> Result<()> {
    git(root, &["init", "-q", "-b", "main"])?;
    std::fs::write(root.join(".gitignore"), "target/\n")?;
    std::fs::write(root.join("release.toml"), "[app]\nname = \"bench\"\n")?;
    for d in 0..DIRS {
        let dir = root.join(format!("pkg{:02}/mod{d:04}", d % 40));
        std::fs::create_dir_all(&dir)?;
        for f in 0..FILES_PER_DIR {
            std::fs::write(dir.join(format!("file{f:02}.py")), format!("# {d} {f}\n"))?;
        }
    }
    for d in 0..IGNORED_DIRS {
        let dir = root.join(format!("target/debug/deps{d:03}"));
        std::fs::create_dir_all(&dir)?;
        for f in 0..IGNORED_PER_DIR {
            std::fs::write(dir.join(format!("obj{f:03}.o")), "o")?;
        }
    }
    git(root, &["add", "-A"])?;
    git(root, &["commit", "-q", "-m", "initial"])?;
    Ok(())
}

fn git(root: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .args(["-c", "user.name=Bench", "-c", "user.email=bench@example.com"])
        .args(["-c", "commit.gpgsign=false", "-c", "core.fsync=none"])
        .args(args)
        .current_dir(root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()?;
    if !status.success() {
        return Err(format!("git {args:?} failed: {status}").into());
    }
    Ok(())
}

/// Commit with git2 (a new blob in the root tree, HEAD updated by the commit call) and time until the trigger.
fn commit_latencies(runtime: &Runtime, root: &Path, rx: &mut UnboundedReceiver<Trigger>) -> Result<Vec<Duration>> {
    let repo = git2::Repository::open(root)?;
    let signature = git2::Signature::now("Bench", "bench@example.com")?;
    let mut latencies = Vec::new();
    for i in 0..COMMITS {
        std::thread::sleep(Duration::from_millis(100));
        drain(rx);
        let parent = repo.head()?.peel_to_commit()?;
        let blob = repo.blob(format!("commit {i}\n").as_bytes())?;
        let mut builder = repo.treebuilder(Some(&parent.tree()?))?;
        builder.insert("bench.txt", blob, 0o100644)?;
        let tree = repo.find_tree(builder.write()?)?;
        let started = Instant::now();
        let oid = repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            &format!("bench {i}"),
            &tree,
            &[&parent],
        )?;
        loop {
            match runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), rx.recv()).await }) {
                Ok(Some(Trigger::Head { commit, .. })) if commit == oid.to_string() => break,
                Ok(Some(_)) => continue,
                _ => return Err(format!("no Head trigger for commit {i}").into()),
            }
        }
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

/// Save one file deep in the tree and time until `Saved`, minus the debounce.
fn save_latencies(
    runtime: &Runtime,
    root: &Path,
    rx: &mut UnboundedReceiver<Trigger>,
    debounce: Duration,
) -> Result<Vec<Duration>> {
    let mut latencies = Vec::new();
    for i in 0..SAVES {
        std::thread::sleep(Duration::from_millis(100));
        drain(rx);
        let rel = PathBuf::from(format!(
            "pkg{:02}/mod{:04}/file07.py",
            (i * 97) % 40,
            (i * 97 + 40) % DIRS
        ));
        let rel = if root.join(&rel).exists() {
            rel
        } else {
            PathBuf::from("pkg00/mod0000/file07.py")
        };
        let started = Instant::now();
        std::fs::write(root.join(&rel), format!("# saved {i}\n"))?;
        loop {
            match runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), rx.recv()).await }) {
                Ok(Some(Trigger::Saved { paths })) if paths.contains(&rel) => break,
                Ok(Some(_)) => continue,
                _ => return Err(format!("no Saved trigger for {}", rel.display()).into()),
            }
        }
        latencies.push(started.elapsed().saturating_sub(debounce));
    }
    Ok(latencies)
}

fn drain(rx: &mut UnboundedReceiver<Trigger>) {
    while rx.try_recv().is_ok() {}
}

/// utime + stime of this process, from /proc/self/stat.
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("malformed /proc/self/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15, i.e. 12 and 13 counting from field 3.
    let utime: f64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: f64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok((utime + stime) / USER_HZ)
}

fn report(what: &str, samples: &[Duration], target: &str) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let pick = |q: f64| {
        sorted
            .get(((sorted.len() - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{what}: median {:.1} ms, min {:.1}, p90 {:.1}, max {:.1} over {} samples   ({target})",
        ms(pick(0.5)),
        ms(pick(0.0)),
        ms(pick(0.9)),
        ms(pick(1.0)),
        samples.len()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
