//! Environments against the real Docker engine with the hello-py fixture: deploy, smoke,
//! promote (gate and approval), automatic rollback, rollback by --to, the lock between two
//! processes, and status read from the engine alone. Every test uses its own app name and
//! ports; `TestApp` removes its containers, volumes and images when it drops.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::envs::*;
use common::*;

/// A smoke check that fetches /health from inside the container and looks for the commit.
const COMMAND_CHECK: &str = r#"["python", "-c", "import os, urllib.request as u; body = u.urlopen(os.environ['SHIPDECK_URL'] + '/health').read().decode(); assert os.environ['SHIPDECK_COMMIT'] in body, body"]"#;

/// hello-py with short staging smoke windows, `extra_staging` added to staging, and a command
/// check on staging too (run inside the release container, the app's URL in SHIPDECK_URL).
fn hello_py_envs(extra_staging: &str) -> Envs {
    Envs::hello_py(|toml| {
        let toml = short_smoke(&toml).replace(
            "env = { APP_ENV = \"staging\" }",
            &format!("env = {{ APP_ENV = \"staging\" }}\n{extra_staging}"),
        );
        format!("{toml}\n[[environments.staging.smoke]]\ncommand = {COMMAND_CHECK}\nwithin = \"3s\"\n")
    })
}

/// A commit whose /health fails once deployed (SHIPDECK_ENV is set there, not in stages).
fn commit_bad_release(envs: &Envs) -> String {
    envs.commit_health_failing_when("os.environ.get(\"SHIPDECK_ENV\")", "break /health once deployed")
}

#[test]
fn deploy_smoke_promote_and_status_from_the_engine() {
    let envs = hello_py_envs("");
    let commit = envs.build();

    let out = envs.shipdeck(&["deploy", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (status, body) = health(envs.staging);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&commit), "/health does not name {commit}: {body}");
    assert!(text(&out).contains("✓ smoke GET /health"), "{}", text(&out));
    assert!(
        text(&out).contains("✓ smoke python -c"),
        "the command check: {}",
        text(&out)
    );

    // The same release again: a no-op that says so.
    let again = envs.shipdeck(&["deploy", "staging"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("nothing to do"), "{}", text(&again));

    let smoke = envs.shipdeck(&["smoke", "staging"]);
    assert_eq!(smoke.status.code(), Some(0), "{}", text(&smoke));

    // Production wants an approval: headless, that is --yes.
    let refused = envs.shipdeck(&["promote", "production"]);
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused));
    assert!(text(&refused).contains("--yes"), "{}", text(&refused));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", envs.production)).is_err(),
        "production runs something without an approval"
    );

    let promoted = envs.shipdeck(&["promote", "production", "--yes"]);
    assert_eq!(promoted.status.code(), Some(0), "{}", text(&promoted));
    envs.assert_same_image("production", "staging");
    let (status, body) = health(envs.production);
    assert_eq!(status, 200);
    assert!(body.contains(&commit), "{body}");

    // Production takes releases by promotion only.
    let direct = envs.shipdeck(&["deploy", "production"]);
    assert_eq!(direct.status.code(), Some(4), "{}", text(&direct));
    assert!(
        text(&direct).contains("takes releases by promotion"),
        "{}",
        text(&direct)
    );

    // The audit: `history ENV` lists who did what.
    let history = envs.shipdeck(&["history", "production"]);
    let listing = text(&history);
    assert!(listing.contains("promote"), "{listing}");
    assert!(listing.contains("--yes"), "{listing}");

    // What runs is read from the engine: the history may be gone.
    std::fs::remove_dir_all(envs.app.path().join(".shipdeck")).unwrap();
    let status = envs.shipdeck(&["status"]);
    let table = text(&status);
    assert_eq!(status.status.code(), Some(0), "{table}");
    let short = &commit[..7];
    for env in ["staging", "production"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(env))
            .unwrap_or_else(|| panic!("no {env} row:\n{table}"));
        assert!(row.contains(short), "{env} row does not name {short}: {row}");
        assert!(row.contains("running") || row.contains("healthy"), "{row}");
    }
    // The smoke verdicts are kept on the engine too: the gate still opens without the history.
    let staging_row = table.lines().find(|l| l.starts_with("staging")).unwrap_or_default();
    assert!(staging_row.contains("passed"), "{table}");
    let again = envs.shipdeck(&["promote", "production", "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("nothing to do"), "{}", text(&again));
    let json = envs.shipdeck(&["status", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows[0]["deployed"]["release"]["commit"], commit.as_str());
}

#[test]
fn a_bad_release_fails_staging_smoke_promote_refuses_and_production_rolls_back_by_itself() {
    // Strategy `recreate`: a release that fails its smoke checks runs there, so the promotion
    // gate and auto_rollback have something to do. With the proxy (the default) a failing
    // release never takes the place of the previous one: tests/system/proxy.rs.
    let envs = hello_py_envs("strategy = \"recreate\"");
    let toml = envs
        .release_toml()
        .replace("auto_rollback = true", "auto_rollback = true\nstrategy = \"recreate\"");
    envs.app.write("release.toml", &toml);
    envs.app.commit_all("strategy recreate");
    let good = envs.build();
    assert_eq!(envs.shipdeck(&["deploy", "staging"]).status.code(), Some(0));
    let promoted = envs.shipdeck(&["promote", "production", "--yes"]);
    assert_eq!(promoted.status.code(), Some(0), "{}", text(&promoted));

    let bad = commit_bad_release(&envs);
    envs.build();
    let deployed = envs.shipdeck(&["deploy", "staging"]);
    let out = text(&deployed);
    assert_eq!(deployed.status.code(), Some(1), "{out}");
    assert!(out.contains("✗ smoke GET /health"), "{out}");
    assert!(out.contains("got 503"), "{out}");
    assert!(out.contains("broken"), "the body excerpt is not shown: {out}");

    // The gate: a release that failed staging's smoke checks does not reach production.
    let refused = envs.shipdeck(&["promote", "production", "--yes"]);
    let out = text(&refused);
    assert_eq!(refused.status.code(), Some(4), "{out}");
    assert!(out.contains("failed its smoke checks on staging"), "{out}");
    assert!(health(envs.production).1.contains(&good));

    // Forced past the gate, production's own smoke check fails and auto_rollback restores
    // the previous release.
    let forced = envs.shipdeck(&["promote", "production", "--yes", "--force"]);
    let out = text(&forced);
    assert_eq!(forced.status.code(), Some(1), "{out}");
    assert!(out.contains("ROLLED BACK"), "{out}");
    let (status, body) = health(envs.production);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&good), "production does not run {good} again: {body}");
    assert!(!body.contains(&bad));

    // A rollback does not bring the bad release back to production either.
    // With its approval: the gate of an environment fed by promotion still holds.
    let back = envs.shipdeck(&["rollback", "production", "--to", &bad[..8], "--yes"]);
    assert_eq!(back.status.code(), Some(4), "{}", text(&back));
    assert!(text(&back).contains("never ran on production"), "{}", text(&back));

    let history = text(&envs.shipdeck(&["history", "production"]));
    assert!(history.contains("forced"), "{history}");
    assert!(history.contains("auto-rollback"), "{history}");
}

#[test]
fn rollback_puts_an_earlier_release_back() {
    let envs = hello_py_envs("");
    let first = envs.build();
    assert_eq!(envs.shipdeck(&["deploy", "staging"]).status.code(), Some(0));
    envs.app.write("NOTES", "second\n");
    let second = envs.app.commit_all("second release");
    envs.build();
    assert_eq!(envs.shipdeck(&["deploy", "staging"]).status.code(), Some(0));
    assert!(health(envs.staging).1.contains(&second));

    let back = envs.shipdeck(&["rollback", "staging", "--to", &first[..8]]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert!(health(envs.staging).1.contains(&first));

    // Without --to: the last good release before the current one.
    let forward = envs.shipdeck(&["deploy", "staging", "--release", &second[..8]]);
    assert_eq!(forward.status.code(), Some(0), "{}", text(&forward));
    let back = envs.shipdeck(&["rollback", "staging"]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert!(health(envs.staging).1.contains(&first));
    // One container per environment: the retired releases are gone, their images stay.
    let containers = docker_list(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=dev.shipdeck.app={}", envs.app.name),
        "--filter",
        "label=dev.shipdeck.role=deployment",
    ]);
    assert_eq!(containers.len(), 1, "{containers:?}");
}

#[test]
fn a_second_operator_is_told_who_holds_the_lock_and_a_stale_lock_is_broken_explicitly() {
    // Staging's release takes a few seconds to answer, so the first deploy holds the lock.
    let envs = hello_py_envs(r#"command = ["sh", "-c", "sleep 4; exec python /srv/hello.pyz"]"#);
    envs.build();
    let first = envs.app.spawn(&["deploy", "staging"]);
    // Its name ends in a hash of app and environment (see shipdeck::docker::names).
    let lock = format!("shipdeck-lock-{}-staging-", envs.app.name);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !envs.app.volumes().iter().any(|v| v.starts_with(&lock)) {
        assert!(Instant::now() < deadline, "the first deploy never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = envs.shipdeck(&["deploy", "staging"]);
    let out = text(&second);
    assert_eq!(second.status.code(), Some(4), "{out}");
    // A live holder's lock is not broken without --force.
    let unlock = envs.shipdeck(&["unlock", "staging"]);
    assert_eq!(unlock.status.code(), Some(4), "{}", text(&unlock));
    assert!(text(&unlock).contains("not breaking the lock"), "{}", text(&unlock));
    assert!(out.contains("staging is locked by"), "{out}");
    assert!(out.contains("since"), "{out}");
    assert!(out.contains("deploy "), "{out}");
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(
        !envs.app.volumes().iter().any(|v| v.starts_with(&lock)),
        "the lock was not given back"
    );

    // A deploy killed while it holds the lock leaves a stale lock: refused, with what to do.
    envs.app.write("NOTES", "again\n");
    envs.app.commit_all("another release");
    envs.build();
    let mut doomed = envs.app.spawn_silent(&["deploy", "staging"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !envs.app.volumes().iter().any(|v| v.starts_with(&lock)) {
        assert!(Instant::now() < deadline, "the deploy never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let refused = envs.shipdeck(&["deploy", "staging"]);
    let out = text(&refused);
    assert_eq!(refused.status.code(), Some(4), "{out}");
    assert!(out.contains("stale"), "{out}");
    assert!(out.contains("shipdeck unlock staging"), "{out}");
    let unlocked = envs.shipdeck(&["unlock", "staging"]);
    assert_eq!(unlocked.status.code(), Some(0), "{}", text(&unlocked));
    assert!(text(&unlocked).contains("broke the lock"), "{}", text(&unlocked));
    let retried = envs.shipdeck(&["deploy", "staging"]);
    assert_eq!(retried.status.code(), Some(0), "{}", text(&retried));
}

#[test]
fn environment_operations_on_unknown_environments_are_usage_errors() {
    let envs = hello_py_envs("");
    let out = envs.shipdeck(&["deploy", "stagin"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("defined: staging, production"), "{}", text(&out));
    // Nothing built yet: deploy says how to get a release.
    let out = envs.shipdeck(&["deploy", "staging"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("shipdeck run"), "{}", text(&out));
    // Scripts tell refusals apart by kind, not by words.
    let out = envs.shipdeck(&["deploy", "staging", "--json"]);
    let events = parse_events(&String::from_utf8_lossy(&out.stdout));
    let finished = of_kind(&events, "operation_finished");
    assert_eq!(finished.len(), 1, "{events:#?}");
    assert_eq!(finished[0]["outcome"], "refused");
    assert_eq!(finished[0]["refusal"], "no_release");
    let out = envs.shipdeck(&["deploy", "production", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let events = parse_events(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(of_kind(&events, "operation_finished")[0]["refusal"], "gated");
    let _ = envs.production;
}

#[test]
fn keep_releases_prunes_old_release_images_but_never_one_an_environment_runs() {
    let envs = hello_py_envs("");
    let toml = envs.release_toml();
    let toml = toml.replacen("[app]\n", "[app]\nkeep_releases = 1\n", 1);
    envs.app.write("release.toml", &toml);
    envs.app.commit_all("keep one release");
    let first = envs.build();
    assert_eq!(envs.shipdeck(&["deploy", "staging"]).status.code(), Some(0));
    envs.app.write("NOTES", "second\n");
    let second = envs.app.commit_all("second");
    envs.build();
    envs.app.write("NOTES", "third\n");
    let third = envs.app.commit_all("third");
    envs.build();
    let tags = docker_list(&[
        "images",
        "--format",
        "{{.Tag}}",
        "--filter",
        &format!("label=dev.shipdeck.app={}", envs.app.name),
    ]);
    assert!(
        tags.contains(&third[..7].to_string()),
        "the newest release is gone: {tags:?}"
    );
    assert!(
        tags.contains(&first[..7].to_string()),
        "the deployed release was pruned: {tags:?}"
    );
    assert!(
        !tags.contains(&second[..7].to_string()),
        "the old release was kept: {tags:?}"
    );
}

#[test]
fn a_release_that_never_becomes_healthy_is_removed_and_the_previous_one_runs_again() {
    let envs = hello_py_envs("");
    let first = envs.build();
    assert_eq!(envs.shipdeck(&["deploy", "staging"]).status.code(), Some(0));
    envs.app.write("NOTES", "second\n");
    envs.app.commit_all("second release");
    envs.build();

    // The environment's command (read from the working copy's release.toml) now crashes.
    let toml = envs.release_toml();
    let crashing = toml.replacen(
        "env = { APP_ENV = \"staging\" }",
        "env = { APP_ENV = \"staging\" }\ncommand = [\"sh\", \"-c\", \"echo cannot open the database >&2; exit 3\"]",
        1,
    );
    envs.app.write("release.toml", &crashing);
    let out = envs.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("did not start on staging"), "{said}");
    assert!(said.contains("exited with code 3"), "{said}");
    assert!(
        said.contains("cannot open the database"),
        "its last log lines are not shown: {said}"
    );
    assert!(said.contains("the previous release runs again"), "{said}");
    let (status, body) = health(envs.staging);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&first), "{body}");

    // A healthcheck is passed to the engine, and an unhealthy release is refused the same way.
    let unhealthy = toml.replacen(
        "env = { APP_ENV = \"staging\" }",
        "env = { APP_ENV = \"staging\" }\nhealthcheck = { cmd = \"exit 1\", interval = \"1s\", timeout = \"1s\", retries = 1 }",
        1,
    );
    envs.app.write("release.toml", &unhealthy);
    let out = envs.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("healthcheck failed"), "{said}");
    assert!(health(envs.staging).1.contains(&first));
}

/// The local engine's socket offered over TCP, as a remote engine would be: `tcp://127.0.0.1:PORT`.
fn tcp_engine() -> u16 {
    use std::net::Shutdown;
    use std::os::unix::net::UnixStream;
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(String::from))
        .unwrap_or_else(|| "/var/run/docker.sock".into());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = UnixStream::connect(&socket) else {
                continue;
            };
            let (mut from_client, mut to_server) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_client, &mut to_server);
                let _ = to_server.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || {
                let (mut server, mut client) = (server, client);
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

#[test]
fn an_environment_on_an_engine_reached_by_tcp() {
    let engine = tcp_engine();
    let envs = hello_py_envs(&format!("docker_host = \"tcp://127.0.0.1:{engine}\""));
    let commit = envs.build();
    let out = envs.shipdeck(&["deploy", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(health(envs.staging).1.contains(&commit));
    let status = text(&envs.shipdeck(&["status"]));
    let row = status.lines().find(|l| l.starts_with("staging")).unwrap_or_default();
    assert!(row.contains(&commit[..7]), "{status}");
    // Promotion from the tcp engine to the local one takes the same image.
    let out = envs.shipdeck(&["promote", "production", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    envs.assert_same_image("production", "staging");
}
