//! Load tests as a release gate, against the real Docker engine with the hello-py fixture:
//! a release that passes its load test becomes the baseline; a slower one fails its p99
//! threshold and its regression bound before the switch (and never serves); with strategy
//! `recreate` a release that answers errors under load fails its error-rate threshold after
//! the deploy, the promotion is refused, and `--force` goes past it, audited. The figures are
//! in `history` and `history --json`.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::envs::*;
use common::*;

/// hello-py with a load test on staging (`load` is its extra keys) and `extra` in staging.
fn envs_with_load(extra: &str, load: &str) -> Envs {
    Envs::hello_py(|toml| {
        let toml = short_smoke(&toml).replace(
            "env = { APP_ENV = \"staging\" }",
            &format!("env = {{ APP_ENV = \"staging\" }}\n{extra}"),
        );
        // The staging table's own keys end at its first [[...smoke]]: the load test follows it.
        toml.replace(
            "within = \"3s\"\n\n[environments.production]",
            &format!("within = \"3s\"\n[[environments.staging.load]]\n{load}\n\n[environments.production]"),
        )
    })
}

/// Commits a release whose answers to `path` change once deployed (SHIPDECK_ENV set in the
/// process; the unit tests pass their own `environ`):
/// `body` is Python run first in `respond` (it may `time.sleep` or return an answer).
fn commit_changed(envs: &Envs, path: &str, body: &str, message: &str) -> String {
    let file = envs.app.path().join("app/hello.py");
    let mut source = std::fs::read_to_string(&file).unwrap();
    let n = source.matches("_before_").count() / 2;
    source.push_str(&format!(
        r#"

import itertools as _it_{n}
import os as _os_{n}
import time as _time_{n}
_before_{n} = respond
_count_{n} = _it_{n}.count()


def respond(method, path, environ):
    if path.split("?")[0] == "{path}" and _os_{n}.environ.get("SHIPDECK_ENV"):
        i = next(_count_{n})
{body}
    return _before_{n}(method, path, environ)
"#
    ));
    std::fs::write(&file, source).unwrap();
    envs.app.commit_all(message)
}

fn history_json(envs: &Envs, env: &str) -> Vec<serde_json::Value> {
    let out = envs.shipdeck(&["history", env, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    v.as_array().cloned().unwrap_or_else(|| panic!("not an array: {v}"))
}

/// The load results of the newest operation that has any.
fn newest_load(ops: &[serde_json::Value]) -> serde_json::Value {
    ops.iter()
        .find(|o| o["load"].as_array().is_some_and(|l| !l.is_empty()))
        .map(|o| o["load"][0].clone())
        .unwrap_or_else(|| panic!("no operation with load results: {ops:?}"))
}

#[test]
fn a_slower_release_fails_its_p99_and_regression_before_the_switch_and_never_serves() {
    let envs = envs_with_load(
        "",
        "http = \"GET /health\"\nrate = 50\nduration = \"3s\"\np99 = \"1s\"\nregression = 0.25",
    );
    let good = envs.build();
    let out = envs.expect(0, &["deploy", "staging"]);
    assert!(out.contains("running 1 load test against"), "{out}");
    assert!(out.contains("forwards to"), "the load path is the forwarder: {out}");
    assert!(
        out.contains("no earlier release passed it here to compare with"),
        "{out}"
    );
    assert!(out.contains("✓ load GET /health: 50 req/s for 3 s"), "{out}");
    // Progress came live, a line a second.
    assert!(out.contains("GET /health: 1 s,"), "{out}");
    let forwarders = docker_list(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=dev.shipdeck.app={}", envs.app.name),
        "--filter",
        "label=dev.shipdeck.role=load-forwarder",
    ]);
    assert!(
        forwarders.is_empty(),
        "the load forwarder was left behind: {forwarders:?}"
    );
    let first = newest_load(&history_json(&envs, "staging"));
    assert_eq!(first["passed"], true, "{first}");
    assert_eq!(first["sent"], 150, "{first}");
    assert_eq!(first["errors"], 0, "{first}");
    let achieved = first["achieved_rate"].as_f64().unwrap();
    assert!(
        (achieved - 50.0).abs() < 5.0,
        "achieved {achieved} req/s through the forwarder"
    );

    // Every /health of the next release takes 1.5 s once deployed: over the 1 s p99 (a bound
    // loose enough for a busy 2-core machine), and more than 25% above the release before it
    // (which passed, so its p99 was under 1 s).
    commit_changed(&envs, "/health", "        _time_0.sleep(1.5)", "slow /health");
    envs.build();
    let out = envs.expect(1, &["deploy", "staging"]);
    assert!(out.contains(&format!("compared with {}", &good[..7])), "{out}");
    assert!(out.contains("✗ load GET /health: p99"), "{out}");
    assert!(out.contains("over 1.00 s"), "{out}");
    assert!(out.contains("the last release that passed here"), "{out}");
    assert!(out.contains("FAILED its smoke checks before the switch"), "{out}");
    // It never served: staging still runs the good release.
    let (status, body) = health(envs.staging);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&good), "{body}");
    let failed = newest_load(&history_json(&envs, "staging"));
    assert_eq!(failed["passed"], false, "{failed}");
    assert_eq!(failed["baseline_release"], &good[..7], "{failed}");
    assert!(failed["p99_us"].as_u64().unwrap() >= 1_500_000, "{failed}");
    let listing = envs.expect(0, &["history", "staging"]);
    assert!(listing.contains("✗ load GET /health"), "{listing}");
    assert!(listing.contains("✓ load GET /health"), "{listing}");
}

#[test]
fn errors_under_load_fail_the_gate_after_a_recreate_deploy_and_promotion_needs_force() {
    let envs = envs_with_load(
        "strategy = \"recreate\"",
        "http = \"GET /\"\nrate = 50\nduration = \"2s\"\nmax_error_rate = 0.05",
    );
    let toml = envs
        .release_toml()
        .replace("auto_rollback = true", "auto_rollback = false");
    envs.app.write("release.toml", &toml);
    envs.app.commit_all("no auto rollback");
    // One answer in four is a 503 once deployed.
    commit_changed(
        &envs,
        "/",
        "        if i % 4 == 0:\n            return 503, \"text/plain\", b\"overloaded\\n\"",
        "503 under load",
    );
    let bad = envs.build();
    let out = envs.expect(1, &["deploy", "staging"]);
    assert!(
        out.contains("✗ load GET /: error rate 25% over 5% (25 of 100: answered 503)"),
        "{out}"
    );
    // Strategy recreate: it runs (no switch to refuse), but it is not verified.
    assert!(health(envs.staging).1.contains(&bad));

    let refused = envs.shipdeck(&["promote", "production", "--yes"]);
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(4), "{said}");
    assert!(
        said.contains("load GET /: error rate 25%"),
        "the refusal says why: {said}"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", envs.production)).is_err());

    let forced = envs.expect(0, &["promote", "production", "--yes", "--force"]);
    assert!(health(envs.production).1.contains(&bad), "{forced}");
    let history = envs.expect(0, &["history", "production"]);
    assert!(history.contains("forced"), "{history}");
    let ops = history_json(&envs, "production");
    assert_eq!(ops[0]["forced"], true, "{:?}", ops[0]);
    assert!(
        ops[0]["overridden"].as_str().unwrap_or_default().contains("smoke gate"),
        "{:?}",
        ops[0]
    );
}
