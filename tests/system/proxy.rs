//! Strategy `proxy` against the real engine, with the hello-py fixture: a steady load of
//! requests (new connections and kept-alive ones) through deploy, promote, rollback and a
//! promotion of a release that fails its smoke checks sees no failed request; a slow request
//! started on the old release completes across a switch; the failing release never answers a
//! request; a proxy removed by hand is recreated by the next deploy and `status` says it was
//! missing; strategy `recreate` still stops, then starts. Counts are asserted, never timings.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::deploy::inspect;
use common::envs::*;
use common::load::{slow_get, Load};
use common::*;

/// hello-py with a `/slow` path that answers /health's document after 5 s.
fn with_slow_path(envs: &Envs) {
    let path = envs.app.path().join("app/hello.py");
    let mut source = std::fs::read_to_string(&path).unwrap();
    source.push_str(
        r#"

import time as _time

_respond_without_slow = respond


def respond(method, path, environ):
    if path.split("?")[0] == "/slow":
        _time.sleep(5)
        return 200, "application/json", (json.dumps(health_body(environ), sort_keys=True) + "\n").encode()
    return _respond_without_slow(method, path, environ)
"#,
    );
    std::fs::write(&path, source).unwrap();
    envs.app.commit_all("a slow path");
}

/// The environment's proxy container (running or not), by its labels.
fn proxy_containers(envs: &Envs, env: &str, all: bool) -> Vec<String> {
    let mut args = vec!["ps", "-q"];
    if all {
        args.push("-a");
    }
    let app = format!("label=dev.shipdeck.app={}", envs.app.name);
    let env = format!("label=dev.shipdeck.env={env}");
    args.extend([
        "--filter",
        &app,
        "--filter",
        &env,
        "--filter",
        "label=dev.shipdeck.role=proxy",
    ]);
    docker_list(&args)
}

fn commit_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body.trim())
        .map_or(String::new(), |v| v["commit"].as_str().unwrap_or("").to_string())
}

#[test]
fn no_request_fails_through_deploy_promote_rollback_and_a_promotion_failing_its_smoke_checks() {
    let envs = Envs::new();
    with_slow_path(&envs);
    let first = envs.build();
    envs.expect(0, &["deploy", "staging"]);
    envs.expect(0, &["promote", "production", "--yes"]);
    assert_eq!(
        proxy_containers(&envs, "staging", false).len(),
        1,
        "staging has no proxy"
    );
    envs.app.write("NOTES", "second");
    let second = envs.app.commit_all("second");
    envs.build();

    // 8 workers on each environment, half of them on kept-alive connections.
    let staging = Load::start(envs.staging, "/health", 8, Duration::from_millis(10));
    let production = Load::start(envs.production, "/health", 8, Duration::from_millis(10));
    std::thread::sleep(Duration::from_secs(1));

    // A slow request on the release that serves now finishes although the switch happens.
    let port = envs.staging;
    let slow = std::thread::spawn(move || slow_get(port, "/slow"));
    std::thread::sleep(Duration::from_millis(500));
    let deployed = envs.expect(0, &["deploy", "staging"]);
    assert!(deployed.contains("TRAFFIC MOVED"), "{deployed}");
    assert!(deployed.contains("drained"), "{deployed}");
    let (status, body) = slow.join().unwrap().expect("the slow request failed");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        commit_of(&body),
        first,
        "the slow request was not served by the old release"
    );
    assert!(health(envs.staging).1.contains(&second));

    envs.expect(0, &["promote", "production", "--yes"]);
    assert!(health(envs.production).1.contains(&second));
    envs.expect(0, &["rollback", "production", "--to", &first[..8], "--yes"]);
    assert!(health(envs.production).1.contains(&first));

    // A release whose /health fails on production only: it passes staging, then fails
    // production's smoke checks before the switch, and production keeps serving the one before.
    let bad = envs.commit_health_failing_when(
        "os.environ.get(\"SHIPDECK_ENV\") == \"production\"",
        "break /health on production",
    );
    envs.build();
    envs.expect(0, &["deploy", "staging"]);
    let forced = envs.shipdeck(&["promote", "production", "--yes"]);
    let said = text(&forced);
    assert_eq!(forced.status.code(), Some(1), "{said}");
    assert!(said.contains("before the switch"), "{said}");
    assert!(said.contains("never served a request"), "{said}");
    assert!(
        !said.contains("ROLLED BACK"),
        "nothing to roll back: the old release never stopped\n{said}"
    );
    assert!(health(envs.production).1.contains(&first));

    std::thread::sleep(Duration::from_secs(1));
    let staging = staging.stop();
    let production = production.stop();
    for (env, tally) in [("staging", &staging), ("production", &production)] {
        assert_eq!(tally.failed, 0, "{env}: failed requests: {:#?}", tally.failures);
        assert!(tally.ok > 100, "{env}: too few requests to tell: {tally:?}");
    }
    assert!(
        staging.commits.contains_key(&first) && staging.commits.contains_key(&second),
        "{staging:?}"
    );
    assert!(
        !production.commits.contains_key(&bad),
        "the failing release answered: {production:?}"
    );
    // Its verdict is kept: the failed pre-switch smoke is in production's history.
    let history = text(&envs.shipdeck(&["history", "production"]));
    assert!(history.contains("before the switch"), "{history}");
    // One release container per environment once the switches are done.
    assert!(!envs.running_image("production").is_empty());
}

#[test]
fn a_proxy_removed_by_hand_is_recreated_by_the_next_deploy_and_status_says_it_was_missing() {
    let envs = Envs::new();
    let first = envs.build();
    envs.expect(0, &["deploy", "staging"]);
    let proxies = proxy_containers(&envs, "staging", true);
    assert_eq!(proxies.len(), 1);
    assert!(
        inspect(&proxies[0], "{{json .NetworkSettings.Ports}}").contains(&envs.staging.to_string()),
        "the proxy does not publish staging's port"
    );
    run(std::process::Command::new("docker").args(["rm", "-f", &proxies[0]]));
    assert_eq!(health(envs.staging).0, 0, "something still answers on staging");

    let status = envs.expect(0, &["status"]);
    let line = status
        .lines()
        .find(|l| l.contains("staging proxy"))
        .unwrap_or_else(|| panic!("status says nothing of staging's proxy:\n{status}"));
    assert!(line.contains("missing"), "{line}");
    assert!(line.contains("the next deploy"), "{line}");
    let row = envs.status_row("staging");
    assert_eq!(row["proxy"]["state"], "missing", "{row}");

    // The same release again: the proxy comes back and serves it.
    let again = envs.expect(0, &["deploy", "staging"]);
    assert!(again.contains("is missing: creating"), "{again}");
    let (status, body) = health(envs.staging);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&first), "{body}");
    let row = envs.status_row("staging");
    assert_eq!(row["proxy"]["state"], "running", "{row}");
    let said = row["proxy"]["health"].as_str().unwrap();
    assert!(said.starts_with("serving"), "{row}");
    // Which release it routes to (its container, named by commit) and the address it owns.
    assert!(said.contains(&first[..7]), "{row}");
    assert!(said.contains(&format!(":{}", envs.staging)), "{row}");

    // Stopped by hand: recreated too, and a new release goes through it.
    let proxies = proxy_containers(&envs, "staging", true);
    run(std::process::Command::new("docker").args(["stop", &proxies[0]]));
    envs.app.write("NOTES", "second");
    let second = envs.app.commit_all("second");
    envs.build();
    let deployed = envs.expect(0, &["deploy", "staging"]);
    assert!(deployed.contains("is exited: creating"), "{deployed}");
    assert!(health(envs.staging).1.contains(&second));

    // Restarted by hand: it comes back serving the release it last pointed at.
    let proxies = proxy_containers(&envs, "staging", true);
    run(std::process::Command::new("docker").args(["restart", &proxies[0]]));
    let mut answer = (0, String::new());
    for _ in 0..50 {
        answer = health(envs.staging);
        if answer.0 == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(answer.0, 200, "{answer:?}");
    assert!(answer.1.contains(&second), "{answer:?}");
}

#[test]
fn strategy_recreate_still_stops_then_starts_and_moving_to_the_proxy_works() {
    let envs = Envs::hello_py(|toml| {
        short_smoke(&toml).replace(
            "env = { APP_ENV = \"staging\" }",
            "env = { APP_ENV = \"staging\" }\nstrategy = \"recreate\"",
        )
    });
    let first = envs.build();
    let deployed = envs.expect(0, &["deploy", "staging"]);
    assert!(!deployed.contains("TRAFFIC MOVED"), "{deployed}");
    assert!(
        proxy_containers(&envs, "staging", true).is_empty(),
        "recreate made a proxy"
    );
    assert!(health(envs.staging).1.contains(&first));
    envs.app.write("NOTES", "second");
    let second = envs.app.commit_all("second");
    envs.build();
    let deployed = envs.expect(0, &["deploy", "staging"]);
    assert!(deployed.contains("stopping"), "{deployed}");
    assert!(health(envs.staging).1.contains(&second));

    // Back to the default: the release that publishes the port itself gives it to the proxy.
    let toml = envs.release_toml().replace("strategy = \"recreate\"\n", "");
    envs.app.write("release.toml", &toml);
    let third = envs.app.commit_all("strategy proxy");
    envs.build();
    let moved = envs.expect(0, &["deploy", "staging"]);
    assert!(moved.contains("publishes"), "{moved}");
    assert_eq!(proxy_containers(&envs, "staging", false).len(), 1, "{moved}");
    assert!(health(envs.staging).1.contains(&third));
}

#[test]
fn an_image_healthcheck_is_waited_for_with_its_own_interval() {
    // The image's own HEALTHCHECK runs first after 35 s: more than the 30 s a release without
    // one gets. The wait follows the healthcheck's timing, so the release goes in.
    let envs = Envs::new();
    let dockerfile = envs.app.path().join("Dockerfile");
    let mut text = std::fs::read_to_string(&dockerfile).unwrap();
    text.push_str(
        "HEALTHCHECK --interval=35s --timeout=5s --retries=2 CMD [\"python\", \"-c\", \"import urllib.request as u; u.urlopen('http://127.0.0.1:8080/health')\"]\n",
    );
    std::fs::write(&dockerfile, text).unwrap();
    let commit = envs.app.commit_all("a HEALTHCHECK every 35 s");
    envs.build();
    let deployed = envs.expect(0, &["deploy", "staging"]);
    assert!(deployed.contains("waiting until its HEALTHCHECK passes"), "{deployed}");
    assert!(deployed.contains("is healthy after"), "{deployed}");
    assert!(health(envs.staging).1.contains(&commit));
}

#[test]
fn kill_9_at_random_moments_of_a_switch_never_lets_the_failing_release_serve() {
    let envs = Envs::new();
    let good = envs.build();
    envs.expect(0, &["deploy", "staging"]);
    envs.expect(0, &["promote", "production", "--yes"]);
    let good_image = envs.running_image("production");
    let bad = envs.commit_health_failing_when(
        "os.environ.get(\"SHIPDECK_ENV\") == \"production\"",
        "break /health on production",
    );
    envs.build();
    envs.expect(0, &["deploy", "staging"]);

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill loop seed: {seed}");
    let load = Load::start(envs.production, "/health", 4, Duration::from_millis(10));
    let mut kills = 0;
    for attempt in 0..20 {
        if kills == 5 {
            break;
        }
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let wait = Duration::from_millis((seed >> 33) % 8000);
        let mut child = envs.app.spawn_silent(&["promote", "production", "--yes"]);
        let started = std::time::Instant::now();
        while started.elapsed() < wait && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(code) = child.try_wait().unwrap() {
            assert_eq!(
                code.code(),
                Some(1),
                "attempt {attempt}: the failing promotion ended with {code}"
            );
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        // What serves, and what status calls current, is the good release: the failing one
        // may run beside it after the kill, but the proxy never pointed at it.
        let (status, body) = health(envs.production);
        assert_eq!(status, 200, "kill {kills} after {wait:?}: {body}");
        assert!(body.contains(&good), "kill {kills} after {wait:?}: {body}");
        let row = envs.status_row("production");
        assert_eq!(row["deployed"]["release"]["commit"], good.as_str(), "{row}");
        if !row["lock"].is_null() {
            envs.expect(0, &["unlock", "production"]);
        }
    }
    assert!(kills > 0, "the promotion always ended before the kill");
    // The next promotion cleans up what the kills left and fails the same way.
    let said = envs.expect(1, &["promote", "production", "--yes"]);
    assert!(said.contains("before the switch"), "{said}");
    assert_eq!(envs.running_image("production"), good_image);
    let tally = load.stop();
    assert_eq!(tally.failed, 0, "failed requests: {:#?}", tally.failures);
    assert!(
        !tally.commits.contains_key(&bad),
        "the failing release answered: {tally:?}"
    );
}
