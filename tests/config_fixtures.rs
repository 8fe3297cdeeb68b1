//! Every bad `release.toml` under fixtures/configs/invalid gives exactly the diagnostics in
//! its `.expected` file; every config under fixtures/configs/valid loads.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use shipdeck::config::{self, Config};

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/configs")
        .join(kind)
}

fn invalid_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures("invalid"))
        .expect("fixtures/configs/invalid is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    cases.sort();
    cases
}

/// A line-by-line comparison that marks what differs.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}

#[test]
fn every_invalid_config_gives_its_expected_diagnostics() {
    let cases = invalid_cases();
    assert!(
        cases.len() >= 15,
        "expected at least 15 invalid cases, found {}",
        cases.len()
    );
    let dir = fixtures("invalid");
    let mut failures = Vec::new();
    for case in &cases {
        let text = fs::read_to_string(case).expect("fixture is readable");
        let expected_path = case.with_extension("expected");
        let expected =
            fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let expected = expected.trim_end_matches('\n');
        let name = case.file_stem().unwrap_or_default().to_string_lossy();
        match config::parse(&text, "release.toml", Some(&dir)) {
            Ok(_) => failures.push(format!("{name}: parsed without error, expected:\n{expected}")),
            Err(err) => {
                let actual = err.to_string();
                if actual != expected {
                    failures.push(format!(
                        "{name}: diagnostics differ (- expected, + actual):\n{}",
                        diff(expected, &actual)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} invalid cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn load_valid(name: &str) -> Config {
    let path = fixtures("valid").join(name).join(config::CONFIG_FILE);
    config::load(&path).unwrap_or_else(|e| panic!("{name} should load:\n{e}"))
}

#[test]
fn every_valid_config_loads() {
    let mut count = 0;
    for entry in fs::read_dir(fixtures("valid")).expect("fixtures/configs/valid is readable") {
        let dir = entry.expect("directory entry").path();
        if dir.join(config::CONFIG_FILE).is_file() {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().to_string();
            let cfg = load_valid(&name);
            assert!(!cfg.stages.is_empty(), "{name}: no stages");
            count += 1;
        }
    }
    assert!(count >= 3, "expected at least 3 valid configs, found {count}");
}

#[test]
fn full_config_resolves_like_the_design_sketch() {
    let cfg = load_valid("full");
    assert_eq!(cfg.app.name, "hello-py");
    let order: Vec<&str> = cfg.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["test", "build", "package"]);
    let test = cfg.stage("test").expect("test stage");
    assert!(test.on_save);
    assert_eq!(test.timeout, Some(std::time::Duration::from_secs(300)));
    let run = test.run_stage().expect("run stage");
    assert_eq!(run.network, config::Network::None);
    assert_eq!(run.cache, ["/root/.cache/pip"]);
    let package = cfg.package_stage().expect("package stage");
    assert_eq!(package.name, "package");
    let production = cfg.environment("production").expect("production");
    assert_eq!(production.promote_from.as_deref(), Some("staging"));
    assert!(production.approval && production.auto_rollback);
    let staging = cfg.environment("staging").expect("staging");
    assert_eq!(staging.env, [("APP_ENV".to_string(), "staging".to_string())]);
    assert_eq!(staging.smoke[0].http_request(), Some(("GET", "/health")));
    assert_eq!(staging.smoke[0].expect_body.as_deref(), Some("{commit}"));
    assert_eq!(cfg.secrets[0].name, "API_TOKEN");
    assert_eq!(cfg.secrets[0].env, "HELLO_API_TOKEN");
}

#[test]
fn options_config_orders_stages_and_reads_every_form() {
    let cfg = load_valid("options");
    let order: Vec<&str> = cfg.stages.iter().map(|s| s.name.as_str()).collect();
    // package is first in the file but needs build and lint; ties keep file order.
    assert_eq!(order, ["lint", "test", "build", "package"]);
    let build = cfg.stage("build").expect("build");
    assert_eq!(build.needs, ["test"]);
    let package = cfg.stage("package").and_then(|s| s.package()).expect("package");
    assert_eq!(
        package.build_args,
        [
            ("PIP_INDEX_URL".to_string(), "http://pypi.internal/simple".to_string()),
            ("WORKERS".to_string(), "4".to_string())
        ]
    );
    assert_eq!(package.target.as_deref(), Some("runtime"));
    assert_eq!(package.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(build.run_stage().expect("run").run, ["go build -o dist/api ./cmd/api"]);
    assert_eq!(build.env[0], ("CGO_ENABLED".to_string(), "0".to_string()));
    assert_eq!(cfg.watch.ignore, ["*.tmp"]);
    assert_eq!(cfg.app.max_artifacts, 500_000_000);
    let limits = config::StageLimits {
        memory: 3 << 30,
        millicpus: 1500,
        pids: 256,
    };
    assert_eq!(build.limits, limits);
    // A stage without its own keys takes [app]'s, then the defaults.
    let lint = cfg.stage("lint").expect("lint");
    assert_eq!(lint.limits.memory, 1 << 30);
    assert_eq!(lint.limits.millicpus, config::StageLimits::DEFAULT.millicpus);
    assert_eq!(lint.limits.pids, config::StageLimits::DEFAULT.pids);
    assert_eq!(cfg.watch.on, config::WatchOn::Both);
    assert_eq!(cfg.watch.on_busy, config::OnBusy::Queue);
    let staging = cfg.environment("staging").expect("staging");
    assert_eq!(staging.publish_spec().expect("publish").url(), "http://127.0.0.1:18090");
    let health = staging.healthcheck.as_ref().expect("healthcheck");
    assert_eq!(health.retries, Some(3));
    assert_eq!(health.cmd.docker_test()[0], "CMD-SHELL");
    assert_eq!(staging.smoke[0].http.as_deref(), Some("GET /version"));
    assert_eq!(staging.smoke[0].expect_json.as_ref().map(Vec::len), Some(3));
    assert_eq!(staging.smoke[2].http.as_deref(), Some("GET /health"));
}

#[test]
fn load_tests_read_every_key() {
    let cfg = load_valid("load");
    let staging = cfg.environment("staging").expect("staging");
    let ms = std::time::Duration::from_millis;
    assert_eq!(
        staging.load,
        vec![
            config::LoadTest {
                http: "GET /healthz".into(),
                rate: 200,
                duration: ms(10_000),
                p95: None,
                p99: Some(ms(50)),
                max_error_rate: None,
                regression: Some(0.10),
            },
            config::LoadTest {
                http: "GET /search?q={short_commit}".into(),
                rate: 50,
                duration: ms(60_000),
                p95: Some(ms(200)),
                p99: None,
                max_error_rate: Some(0.01),
                regression: Some(1.0),
            },
        ]
    );
}

#[test]
fn describe_matches_its_snapshot() {
    let cfg = load_valid("full");
    let path = fixtures("valid").join("full/describe.expected");
    let expected = fs::read_to_string(&path).unwrap_or_default();
    let actual = cfg.describe();
    assert!(
        actual == expected,
        "describe() differs from {} (- expected, + actual):\n{}",
        path.display(),
        diff(&expected, &actual)
    );
    assert!(!actual.contains("HELLO_API_TOKEN=") && actual.contains("$HELLO_API_TOKEN"));
}

#[test]
fn load_reports_a_missing_file_without_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("release.toml");
    let err = config::load(&path).expect_err("missing file");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: cannot read: No such file or directory (os error 2)",
            path.display()
        )
    );
    assert_eq!((err.diagnostics[0].line, err.diagnostics[0].col), (0, 0));
}

#[test]
fn load_checks_the_dockerfile_next_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "[app]\nname = \"x\"\n[stages.package]\ndockerfile = \"Dockerfile\"\n";
    let path = dir.path().join("release.toml");
    fs::write(&path, text).expect("write");
    let err = config::load(&path).expect_err("no Dockerfile yet");
    assert!(err.to_string().contains("Dockerfile not found: Dockerfile"), "{err}");
    fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write");
    config::load(&path).unwrap_or_else(|e| panic!("should load now:\n{e}"));
}

#[test]
fn services_config_reads_every_key_and_check_describes_them() {
    let cfg = load_valid("services");
    let db = cfg.service("db").expect("db");
    assert_eq!(db.image, "postgres:15");
    assert_eq!(db.command.as_deref(), Some(&["postgres".to_string()][..]));
    assert_eq!(db.env[0], ("POSTGRES_PASSWORD".to_string(), "pw".to_string()));
    assert_eq!(
        db.ready,
        Some(config::CommandSpec::Shell("pg_isready -h 127.0.0.1 -U postgres".into()))
    );
    assert_eq!(db.ready_timeout, std::time::Duration::from_secs(90));
    let cache = cfg.service("cache").expect("cache");
    assert_eq!(cache.ready, None);
    assert_eq!(cache.ready_timeout, config::ServiceConfig::DEFAULT_READY_TIMEOUT);
    assert_eq!(cfg.stage("test").expect("test").services, ["db", "cache"]);
    // A lone string is a list of one, like the other lists.
    assert_eq!(cfg.stage("offline").expect("offline").services, ["db"]);
    let text = cfg.describe();
    assert!(
        text.contains("services (2, a fresh instance per stage that names one)"),
        "{text}"
    );
    assert!(
        text.contains("ready        when `pg_isready -h 127.0.0.1 -U postgres` succeeds, within 1m30s"),
        "{text}"
    );
    assert!(text.contains("stages       test, offline"), "{text}");
    assert!(
        text.contains("network      none (its services only, on an internal network)"),
        "{text}"
    );
    assert!(text.contains("services     db, cache"), "{text}");
}

#[test]
fn notify_config_reads_every_channel_kind_and_its_filters() {
    use config::{NotifyChannel, NotifyEvent};
    let cfg = load_valid("notify");
    let names: Vec<&str> = cfg.notify.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["team", "chat", "oncall"]);
    let team = &cfg.notify[0];
    assert_eq!(
        team.channel,
        NotifyChannel::Webhook {
            url: "https://hooks.example.com/shipdeck".into(),
            secret: Some("HOOK_KEY".into())
        }
    );
    assert_eq!(team.on.len(), 8);
    assert_eq!(team.environments.as_deref(), Some(&["production".to_string()][..]));
    assert!(team.wants(NotifyEvent::Deployed, Some("production")));
    assert!(
        !team.wants(NotifyEvent::Deployed, Some("staging")),
        "environments filter"
    );
    assert!(
        team.wants(NotifyEvent::RunFailed, None),
        "runs belong to no environment"
    );
    let chat = &cfg.notify[1];
    assert!(matches!(chat.channel, NotifyChannel::Slack { .. }));
    assert!(chat.wants(NotifyEvent::RolledBack, Some("staging")));
    assert!(!chat.wants(NotifyEvent::RunFailed, None), "`on` filter");
    let NotifyChannel::Email(email) = &cfg.notify[2].channel else {
        panic!("oncall is email")
    };
    assert_eq!(email.smtp, "smtp://mail.example.com:587");
    assert_eq!(email.to, ["oncall@example.com"]);
    assert_eq!(email.password.as_deref(), Some("SMTP_PASSWORD"));
    assert_eq!(cfg.notify[2].on, NotifyEvent::ALL, "every event without `on`");
}
