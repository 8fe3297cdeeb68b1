//! `[stages.X] secrets = [...]` against the real engine: a stage without the key gets every
//! secret (as before the key existed), a stage with `secrets = []` gets none, and a stage that
//! names a secret whose host variable is unset fails without running, naming the variable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

const TOML: &str = r#"[app]
name = "{app}"
[secrets]
API_TOKEN = { env = "SHIPDECK_TEST_SCOPED_TOKEN" }
DEPLOY_KEY = { env = "SHIPDECK_TEST_SCOPED_UNSET" }
[stages.all]
image = "debian:bookworm-slim"
network = "none"
run = ["echo all-sees-${#API_TOKEN}-chars"]
[stages.none]
image = "debian:bookworm-slim"
network = "none"
secrets = []
run = ["echo none-sees-${#API_TOKEN}-chars"]
[stages.needs_key]
image = "debian:bookworm-slim"
network = "none"
secrets = ["DEPLOY_KEY"]
run = ["echo should-not-run"]
"#;

#[test]
fn a_stage_gets_the_secrets_it_is_scoped_to_and_one_it_needs_unset_fails_it() {
    require_docker(&["debian:bookworm-slim"]);
    let app = TestApp::with_config("scoped-secrets", TOML);
    let out = run(app
        .shipdeck()
        .args(["run", "--json"])
        .env("SHIPDECK_TEST_SCOPED_TOKEN", "a-scoped-secret-value-123")
        .env_remove("SHIPDECK_TEST_SCOPED_UNSET"));
    let events = parse_events(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the stage needing an unset secret fails the run"
    );
    assert!(log_lines(&events, "all")
        .iter()
        .any(|l| l.contains("all-sees-25-chars")));
    assert!(
        log_lines(&events, "none")
            .iter()
            .any(|l| l.contains("none-sees-0-chars")),
        "{:?}",
        log_lines(&events, "none")
    );
    let needs = finished(&events, "needs_key");
    assert_eq!(needs["status"], "failed", "{needs}");
    let message = needs["message"].as_str().unwrap_or_default();
    assert!(message.contains("$SHIPDECK_TEST_SCOPED_UNSET"), "{needs}");
    assert!(log_lines(&events, "needs_key")
        .iter()
        .all(|l| !l.contains("should-not-run")));
}
