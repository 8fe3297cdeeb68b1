//! Nothing a repository or a stage controls crosses the host boundary: artifacts never write
//! through a symlink, build contexts never read through one, artifacts stay within their
//! budget, and stage containers run with resource limits. Each test is an attack, run with
//! the real binary against the real Docker engine.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const BASE: &str = "debian:bookworm-slim";
const PYTHON: &str = "python:3.11-slim";

/// A host directory the attacks aim at, holding one file with known content.
fn host_target() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("victim.txt"), "original host content\n").unwrap();
    dir
}

/// A release.toml: `[app]` named for the test with `app_keys` (one a line), then `stages`.
fn app_toml(app_keys: &str, stages: &[String]) -> String {
    format!("[app]\nname = \"{{app}}\"\n{app_keys}{}", stages.concat())
}

/// A stage on `image` without network, running the shell command `run`, with `more` keys
/// (one a line). The command is written as a TOML basic string (Rust's escapes of `"` and `\`
/// are TOML's).
fn offline_stage(name: &str, image: &str, run: &str, more: &str) -> String {
    format!("[stages.{name}]\nimage = \"{image}\"\nnetwork = \"none\"\nrun = [{run:?}]\n{more}")
}

/// Runs the pipeline, which must fail at `stage`: the events and the stage's message.
fn run_failing_at(app: &TestApp, stage: &str) -> (Vec<serde_json::Value>, String) {
    let (code, events, stderr) = app.run_json(&[]);
    assert_ne!(code, 0, "the run should fail: {stderr}");
    let finished = finished(&events, stage);
    assert_eq!(finished["status"], "failed", "{finished}");
    let message = finished["message"].as_str().unwrap_or_default().to_string();
    (events, message)
}

fn assert_host_untouched(host: &Path) {
    assert_eq!(
        std::fs::read_to_string(host.join("victim.txt")).unwrap(),
        "original host content\n",
        "the host file was overwritten"
    );
    let names: Vec<String> = std::fs::read_dir(host)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["victim.txt"], "files were created in the host directory");
}

#[test]
fn artifacts_never_write_through_a_symlink_to_the_host() {
    require_docker(&[BASE]);
    let host = host_target();
    let dir = host.path().display().to_string();
    // The stage makes the same directory inside its container, so the engine finds
    // `link/x` and `link/victim.txt` there and hands them over.
    let evil = offline_stage(
        "evil",
        BASE,
        &format!("mkdir -p {dir} && echo pwned > {dir}/victim.txt && echo created > {dir}/x && ln -s {dir} link"),
        "artifacts = [\"link\", \"link/x\", \"link/victim.txt\"]\n",
    );
    let app = TestApp::with_config("symlink-artifact", &app_toml("", &[evil]));
    let (_, message) = run_failing_at(&app, "evil");
    assert!(
        message.contains("artifact `link/x`") && message.contains("`link` is a symlink"),
        "{message}"
    );
    assert_host_untouched(host.path());
    // The link itself was kept, as a link.
    let kept = app.path().join(".shipdeck/runs/1/artifacts/link");
    assert!(kept.symlink_metadata().unwrap().file_type().is_symlink());
    app.assert_no_leftovers();
}

#[test]
fn a_symlinked_state_directory_is_never_written_through() {
    require_docker(&[BASE]);
    let host = host_target();
    let toml = app_toml(
        "",
        &[offline_stage(
            "build",
            BASE,
            "mkdir -p dist && echo built > dist/out.txt",
            "artifacts = [\"dist\"]\n",
        )],
    );
    let app = TestApp::with_config("symlink-state", &toml);
    // The run files live in .shipdeck/runs: a link there would redirect them to the host.
    std::fs::create_dir_all(app.path().join(".shipdeck")).unwrap();
    std::os::unix::fs::symlink(host.path(), app.path().join(".shipdeck/runs")).unwrap();
    let (code, events, stderr) = app.run_json(&[]);
    assert_ne!(code, 0, "the run should be refused: {stderr}\n{events:#?}");
    let text = format!("{stderr}{events:?}");
    assert!(text.contains("symlink"), "{text}");
    assert_host_untouched(host.path());
    app.assert_no_leftovers();

    // A repository that commits `.shipdeck` itself as a link gets no history written there.
    let app = TestApp::with_config("symlink-state-dir", &toml);
    std::os::unix::fs::symlink(host.path(), app.path().join(".shipdeck")).unwrap();
    app.commit_all("state elsewhere");
    let (code, events, stderr) = app.run_json(&[]);
    assert_ne!(code, 0, "the run should be refused: {stderr}\n{events:#?}");
    assert!(stderr.contains("symlink"), "{stderr}");
    assert_host_untouched(host.path());
    app.assert_no_leftovers();
}

#[test]
fn links_planted_at_shipdecks_own_file_names_are_never_written_through() {
    require_docker(&[BASE]);
    let host = host_target();
    let victim = host.path().join("victim.txt");
    let toml = app_toml("", &[offline_stage("build", BASE, "echo hello from the stage", "")]);
    // The repository commits links where shipdeck writes its diagnostics and run 1's log.
    let app = TestApp::with_config("planted-links", &toml);
    std::fs::create_dir_all(app.path().join(".shipdeck/runs/1/logs")).unwrap();
    std::os::unix::fs::symlink(&victim, app.path().join(".shipdeck/shipdeck.log")).unwrap();
    std::os::unix::fs::symlink(&victim, app.path().join(".shipdeck/runs/1/logs/build.log")).unwrap();
    app.commit_all("planted links");
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "{stderr}\n{events:#?}");
    assert_host_untouched(host.path());
    // The stage's log is shipdeck's own file now, in place of the link.
    let log = app.path().join(".shipdeck/runs/1/logs/build.log");
    assert!(log.symlink_metadata().unwrap().is_file());
    assert!(std::fs::read_to_string(&log).unwrap().contains("hello from the stage"));
    app.assert_no_leftovers();

    // A link at the history database's name: refused, nothing created where it points.
    let app = TestApp::with_config("planted-db", &toml);
    std::fs::create_dir_all(app.path().join(".shipdeck")).unwrap();
    std::os::unix::fs::symlink(
        host.path().join("history.sqlite"),
        app.path().join(".shipdeck/history.sqlite"),
    )
    .unwrap();
    app.commit_all("planted database link");
    let (code, _, stderr) = app.run_json(&[]);
    assert_ne!(code, 0, "{stderr}");
    assert_host_untouched(host.path());
    app.assert_no_leftovers();
}

#[test]
fn artifact_paths_with_parent_components_are_refused_by_check() {
    let toml = format!(
        r#"[app]
name = "{{app}}"
[stages.build]
image = "{BASE}"
run = ["true"]
artifacts = ["dist/../../escape"]
"#
    );
    let app = TestApp::with_config("dotdot", &toml);
    let out = run(app.shipdeck().arg("check"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("release.toml:6:14: invalid `artifacts` in [stages.build]"),
        "{stderr}"
    );
    let (code, _, stderr) = app.run_json(&[]);
    assert_ne!(code, 0, "{stderr}");
}

/// A package context whose files come from the given stage commands; returns the app.
fn context_app(label: &str, commands: &str, artifacts: &str) -> TestApp {
    let build = offline_stage("build", BASE, commands, &format!("artifacts = [{artifacts}]\n"));
    let package = "[stages.package]\nneeds = [\"build\"]\ndockerfile = \"Dockerfile\"\ncontext = \"ctx\"\n";
    let app = TestApp::with_config(label, &app_toml("", &[build, package.to_string()]));
    app.write("ctx/Dockerfile", &format!("FROM {BASE}\nCOPY . /ctx/\n"));
    app.write("ctx/committed.txt", "from the commit\n");
    app.commit_all("the package context");
    app
}

/// What the app's release images hold at `path` (empty when there is no image).
fn image_files(app: &TestApp, path: &str) -> String {
    let images = docker_list(&[
        "images",
        "-q",
        "--filter",
        &format!("label=dev.shipdeck.app={}", app.name),
    ]);
    let mut out = String::new();
    for image in images {
        let listing = run(Command::new("docker").args([
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "sh",
            "-c",
            &format!("ls -la {path}; cat {path}/* 2>/dev/null"),
        ]));
        out.push_str(&String::from_utf8_lossy(&listing.stdout));
    }
    out
}

#[test]
fn a_context_replaced_by_a_symlink_to_the_host_is_refused() {
    require_docker(&[BASE]);
    let host = host_target();
    let dir = host.path().display().to_string();
    let app = context_app("symlink-context", &format!("rm -rf ctx && ln -s {dir} ctx"), "\"ctx\"");
    let (events, message) = run_failing_at(&app, "package");
    assert!(
        message.contains("`ctx` is a symlink") && message.contains("workspace only"),
        "{message}"
    );
    assert!(of_kind(&events, "image_built").is_empty(), "{events:#?}");
    let files = image_files(&app, "/ctx");
    assert!(
        !files.contains("original host content"),
        "host file in the image: {files}"
    );
    assert_host_untouched(host.path());
    app.assert_no_leftovers();
}

#[test]
fn links_inside_the_context_are_kept_and_links_out_of_it_refused() {
    require_docker(&[BASE]);
    let host = host_target();
    let dir = host.path().display().to_string();
    // A link to a file of the context is fine, and stays a link in the image.
    let app = context_app(
        "context-links-in",
        "mkdir -p ctx/gen && echo generated > ctx/gen/data.txt && ln -s data.txt ctx/gen/alias",
        "\"ctx/gen\"",
    );
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "{stderr}\n{events:#?}");
    let files = image_files(&app, "/ctx/gen");
    assert!(files.contains("alias -> data.txt"), "{files}");
    assert!(files.contains("generated"), "{files}");

    // A link out of the context (to the host, or up past the context) is an error naming it.
    for (label, target) in [
        ("context-links-out", dir.as_str()),
        ("context-links-up", "../../release.toml"),
    ] {
        let app = context_app(
            label,
            &format!("mkdir -p ctx/gen && ln -s {target} ctx/gen/data"),
            "\"ctx/gen\"",
        );
        let (code, events, stderr) = app.run_json(&[]);
        assert_ne!(code, 0, "{stderr}");
        let message = finished(&events, "package")["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains(&format!(
                "`ctx/gen/data` is a symlink to `{target}`, outside the context"
            )),
            "{message}"
        );
        let files = image_files(&app, "/ctx/gen");
        assert!(!files.contains("original host content"), "{files}");
        app.assert_no_leftovers();
    }
    assert_host_untouched(host.path());
}

#[test]
fn a_chain_of_links_that_climbs_out_of_the_context_is_refused() {
    require_docker(&[BASE]);
    // Each link alone stays inside, lexically; together they leave: the first `..` after
    // `s` leaves `s`'s target (the context's top), not the directory `s` sits in.
    // Both links from a stage, then a link of the commit climbed through by an artifact link.
    for (label, commands, committed, link, through) in [
        (
            "context-link-chain",
            "mkdir -p ctx/dist && ln -s .. ctx/dist/s && ln -s s/../.. ctx/dist/l",
            None,
            "`ctx/dist/l` is a symlink to `s/../..`",
            "`ctx/dist/s`",
        ),
        (
            "context-link-chain-commit",
            "mkdir -p ctx/dist && ln -s ../sub/s/.. ctx/dist/l",
            Some("ctx/sub/s"),
            "`ctx/dist/l` is a symlink to `../sub/s/..`",
            "`ctx/sub/s`",
        ),
    ] {
        let app = context_app(label, commands, "\"ctx/dist/\"");
        app.write("ctx/Dockerfile", &format!("FROM {BASE}\nCOPY dist/l/ /x/\n"));
        if let Some(at) = committed {
            let at = app.path().join(at);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink("..", at).unwrap();
        }
        app.commit_all("copy through the chain");
        let (events, message) = run_failing_at(&app, "package");
        assert!(
            message.contains(link)
                && message.contains(&format!("climbs back through the symlink {through}"))
                && message.contains("workspace only"),
            "{message}"
        );
        assert!(of_kind(&events, "image_built").is_empty(), "{events:#?}");
        assert!(image_files(&app, "/x").is_empty(), "an image was built");
        app.assert_no_leftovers();
    }
}

#[test]
fn artifacts_over_max_artifacts_fail_the_stage_and_leave_no_partial_output() {
    require_docker(&[BASE]);
    let stages = [
        offline_stage(
            "small",
            BASE,
            "mkdir -p small && head -c 600000 /dev/zero > small/a",
            "artifacts = [\"small\"]\n",
        ),
        offline_stage(
            "big",
            BASE,
            "mkdir -p big && head -c 300000 /dev/zero > big/a && head -c 300000 /dev/zero > big/b",
            "needs = [\"small\"]\nartifacts = [\"big\"]\n",
        ),
    ];
    let app = TestApp::with_config("artifact-cap", &app_toml("max_artifacts = \"1MiB\"\n", &stages));
    let (events, message) = run_failing_at(&app, "big");
    assert_eq!(finished(&events, "small")["status"], "success");
    assert!(
        message.contains("artifact `big` is larger than the run's artifact budget")
            && message.contains("`max_artifacts` = 1MiB"),
        "{message}"
    );
    let artifacts = app.path().join(".shipdeck/runs/1/artifacts");
    assert_eq!(std::fs::metadata(artifacts.join("small/a")).unwrap().len(), 600_000);
    assert!(!artifacts.join("big").exists(), "partial output left behind");
    app.assert_no_leftovers();
}

/// Peak resident memory of a process, in KiB, from /proc (the high-water mark only grows, so
/// the last reading before it exits is its peak).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_large_artifact_streams_to_disk_instead_of_into_memory() {
    require_docker(&[BASE]);
    const SIZE_MB: u64 = 400;
    let big = offline_stage(
        "big",
        BASE,
        &format!("mkdir -p out && head -c {SIZE_MB}M /dev/urandom > out/blob"),
        "artifacts = [\"out\"]\n",
    );
    let app = TestApp::with_config("artifact-stream", &app_toml("", &[big]));
    let mut child = app.spawn_silent(&["run", "--json"]);
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let blob = app.path().join(".shipdeck/runs/1/artifacts/out/blob");
    assert_eq!(std::fs::metadata(&blob).unwrap().len(), SIZE_MB << 20);
    // Collected in memory, the archive alone would take 400 MiB.
    assert!(peak < 150 * 1024, "shipdeck peaked at {} MiB", peak / 1024);
    eprintln!(
        "shipdeck peaked at {} MiB copying a {SIZE_MB} MiB artifact",
        peak / 1024
    );
    app.assert_no_leftovers();
}

/// The limits the engine holds for the running container of `stage`, waiting for it to start.
fn running_limits(app: &TestApp, stage: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ids = docker_list(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=dev.shipdeck.app={}", app.name),
            "--filter",
            &format!("label=dev.shipdeck.stage={stage}"),
        ]);
        if let Some(id) = ids.first() {
            let out = run(Command::new("docker").args([
                "inspect",
                "--format",
                "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
                id,
            ]));
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).trim().to_string();
            }
        }
        assert!(Instant::now() < deadline, "the {stage} container never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stage_containers_run_with_their_limits_or_the_defaults() {
    require_docker(&[BASE]);
    // Each stage waits until the test has read its limits (a file it creates in the
    // workspace would not be visible here: it waits a fixed, short while instead).
    let stages = [
        offline_stage(
            "limited",
            BASE,
            "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null; sleep 5",
            "memory = \"256MiB\"\ncpus = 0.5\npids = 128\n",
        ),
        offline_stage("defaults", BASE, "sleep 5", "needs = [\"limited\"]\n"),
    ];
    let app = TestApp::with_config("limits", &app_toml("", &stages));
    let check = run(app.shipdeck().arg("check"));
    let described = String::from_utf8_lossy(&check.stdout);
    assert!(
        described.contains("limits       memory 256MiB · 0.5 CPUs · 128 processes\n")
            && described.contains("limits       memory 2GiB · 2 CPUs · 1024 processes (default)"),
        "{described}"
    );
    let child = app.spawn(&["run", "--json"]);
    let limited = running_limits(&app, "limited");
    let defaults = running_limits(&app, "defaults");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mib: u64 = 1 << 20;
    assert_eq!(limited, format!("{} {} 500000000 128", 256 * mib, 256 * mib));
    // Default: 2 GiB, no swap beyond it, 2 CPUs (capped at the engine's count), 1024 processes.
    let cpus: i64 =
        String::from_utf8_lossy(&run(Command::new("docker").args(["info", "--format", "{{.NCPU}}"])).stdout)
            .trim()
            .parse()
            .unwrap();
    let nano = 2_000_000_000i64.min(cpus * 1_000_000_000);
    assert_eq!(defaults, format!("{} {} {nano} 1024", 2048 * mib, 2048 * mib));
    // The kernel enforces it, inside the container too.
    let events = parse_events(&String::from_utf8_lossy(&out.stdout));
    assert!(
        log_lines(&events, "limited").iter().any(|l| l.trim() == "128"),
        "{events:#?}"
    );
    app.assert_no_leftovers();
}

#[test]
fn a_fork_bomb_and_a_memory_hog_fail_their_stage_instead_of_hurting_the_host() {
    require_docker(&[BASE, PYTHON]);
    let stages = [
        offline_stage(
            "forks",
            BASE,
            "i=0; while [ $i -lt 500 ]; do sleep 30 & i=$((i+1)); done; echo started $i sleepers",
            "pids = 32\n",
        ),
        offline_stage(
            "hog",
            PYTHON,
            "python3 -c \"x = b'x' * (512 * 1024 * 1024); print('allocated', len(x))\"",
            "memory = \"64MiB\"\n",
        ),
    ];
    let app = TestApp::with_config("bombs", &app_toml("", &stages));
    let (events, _) = run_failing_at(&app, "forks");
    let lines = log_lines(&events, "forks");
    assert!(!lines.iter().any(|l| l == "started 500 sleepers"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("fork") || l.contains("Resource temporarily unavailable")),
        "{lines:?}"
    );
    let hog = finished(&events, "hog");
    assert_eq!(hog["status"], "failed", "{hog}");
    // Killed by the kernel's OOM killer (SIGKILL: 137), having never held the memory.
    assert_eq!(hog["exit_code"], 137, "{hog}");
    let lines = log_lines(&events, "hog");
    assert!(!lines.iter().any(|l| l.starts_with("allocated")), "{lines:?}");
    app.assert_no_leftovers();
}

#[test]
fn a_cancel_during_a_large_artifact_copy_stops_it_and_removes_the_partial_copy() {
    require_docker(&[BASE]);
    let big = offline_stage(
        "big",
        BASE,
        "mkdir -p out && head -c 2048M /dev/zero > out/blob",
        "artifacts = [\"out\"]\n",
    );
    let app = TestApp::with_config("artifact-cancel", &app_toml("max_artifacts = \"3GiB\"\n", &[big]));
    let child = app.spawn(&["run", "--json"]);
    // Copying has begun once part of the file is on the host.
    let blob = app.path().join(".shipdeck/runs/1/artifacts/out/blob");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::metadata(&blob).map_or(true, |m| m.len() == 0) {
        assert!(Instant::now() < deadline, "the artifact copy never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let kill = run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
    assert!(kill.status.success());
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let events = parse_events(&String::from_utf8_lossy(&out.stdout));
    // Cancelled, not copied to its end first and then reported a success.
    assert_eq!(finished(&events, "big")["status"], "cancelled", "{events:#?}");
    // Shown, not asserted: most of it is the engine deleting the 2 GiB workspace volume.
    eprintln!("the run ended {took:?} after the signal, mid-copy");
    assert!(
        !app.path().join(".shipdeck/runs/1/artifacts/out").exists(),
        "partial copy left"
    );
    app.assert_no_leftovers();
}
