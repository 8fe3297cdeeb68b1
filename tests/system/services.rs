//! Stage services against the real engine: a stage reaches its services by name on a network
//! of its own; shipdeck waits until they are ready, fails the stage with their last log lines
//! when they never are or exit, and removes them with the stage on success, failure, timeout
//! and cancel; after a `kill -9` the reaper (`clean`, and the next start) removes them.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Every shipdeck start reaps what dead owners left, and the services take the machine's few
/// cores: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const IMAGES: &[&str] = &[
    "debian:bookworm-slim",
    "postgres:15",
    "redis:7",
    "shipdeck/python-web:bookworm",
];

/// The `service_status` events of `service` in `stage`, as (state, event).
fn service_events<'a>(events: &'a [Value], stage: &str, service: &str) -> Vec<(&'a str, &'a Value)> {
    events
        .iter()
        .filter(|e| e["event"] == "service_status" && e["stage"] == stage && e["service"] == service)
        .map(|e| (e["state"].as_str().unwrap(), e))
        .collect()
}

fn position(events: &[Value], what: impl Fn(&Value) -> bool) -> usize {
    events
        .iter()
        .position(what)
        .unwrap_or_else(|| panic!("not found in {events:#?}"))
}

/// Starts `shipdeck run --json` in the background.
fn start_json(app: &TestApp) -> (Child, BufReader<ChildStdout>) {
    let mut child = app
        .shipdeck()
        .args(["run", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    (child, reader)
}

/// Reads events until one matches `until`; returns all read.
fn read_until(reader: &mut impl BufRead, until: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "never saw what was awaited: {events:#?}");
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "shipdeck ended early: {events:#?}"
        );
        let event: Value = serde_json::from_str(&line).unwrap();
        let done = until(&event);
        events.push(event);
        if done {
            return events;
        }
    }
}

fn logged(event: &Value, text: &str) -> bool {
    event["event"] == "stage_log"
        && event["lines"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l.as_str().is_some_and(|l| l.contains(text))))
}

fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig}");
}

/// Waits for shipdeck to end after a signal: within `limit`, or the test fails.
fn ends_within(child: &mut Child, limit: Duration) {
    let sent = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        assert!(sent.elapsed() < limit, "shipdeck still runs {limit:?} after the signal");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const REACH: &str = r#"
[app]
name = "{app}"

[services.db]
image = "postgres:15"
env = { POSTGRES_PASSWORD = "pw", POSTGRES_DB = "notes" }
ready = "pg_isready -h 127.0.0.1 -U postgres"

[services.cache]
image = "redis:7"                 # no `ready`, no HEALTHCHECK: ready when port 6379 listens

[stages.test]
image = "shipdeck/python-web:bookworm"
services = ["db", "cache"]
run = ["python3 check.py"]
"#;

const CHECK_PY: &str = r#"
import psycopg2, redis
conn = psycopg2.connect(host="db", port=5432, user="postgres", password="pw", dbname="notes")
cur = conn.cursor()
cur.execute("create table t (x int)")
cur.execute("insert into t values (42)")
cur.execute("select x from t")
print("db says", cur.fetchone()[0])
r = redis.Redis(host="cache", port=6379)
r.set("k", "v")
print("cache says", r.get("k").decode())
"#;

#[test]
fn a_stage_reaches_its_services_by_name_once_they_are_ready_and_they_go_with_it() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = TestApp::with_config("svc-reach", REACH);
    app.write("check.py", CHECK_PY);
    app.commit_all("check the services");
    let (code, events, stderr) = app.run_json(&[]);
    let logs = log_lines(&events, "test");
    assert_eq!(code, 0, "{stderr}\n{logs:#?}\n{events:#?}");
    assert_eq!(finished(&events, "test")["status"], "success");
    assert!(logs.iter().any(|l| l == "db says 42"), "{logs:#?}");
    assert!(logs.iter().any(|l| l == "cache says v"), "{logs:#?}");

    for (service, how) in [
        ("db", "ready: `pg_isready -h 127.0.0.1 -U postgres` succeeds"),
        ("cache", "ready: port 6379 listens"),
    ] {
        let seen = service_events(&events, "test", service);
        let states: Vec<&str> = seen.iter().map(|(s, _)| *s).collect();
        assert_eq!(states, ["starting", "ready"], "{service}: {events:#?}");
        let ready = seen[1].1;
        assert!(ready["duration_ms"].as_i64().unwrap() >= 0, "{ready}");
        assert_eq!(ready["message"], how, "{ready}");
        assert_eq!(ready["image"], if service == "db" { "postgres:15" } else { "redis:7" });
    }
    // The stage's commands ran only once both were ready.
    let first_command = position(&events, |e| logged(e, "$ python3 check.py"));
    for service in ["db", "cache"] {
        let ready = position(&events, |e| {
            e["event"] == "service_status" && e["service"] == service && e["state"] == "ready"
        });
        assert!(ready < first_command, "{service} ready after the stage started");
    }
    app.assert_no_leftovers();
}

const OFFLINE: &str = r#"
[app]
name = "{app}"

[services.cache]
image = "redis:7"
ready = ["redis-cli", "ping"]

[stages.offline]
image = "python:3.11-slim"
network = "none"
services = ["cache"]
run = ["python3 probe.py {ip} offline"]

[stages.online]
image = "python:3.11-slim"
services = ["cache"]
run = ["python3 probe.py {ip} online"]
"#;

/// Talks to the service, then tries the outside world (`argv[1]`, port 80).
const PROBE_PY: &str = r#"
import socket, sys
s = socket.create_connection(("cache", 6379), timeout=5)
s.sendall(b"PING\r\n")
print("cache answers", s.recv(64).decode().strip())
try:
    socket.create_connection((sys.argv[1], 80), timeout=3).close()
    reached = True
except OSError as e:
    reached = False
    print("no way out:", type(e).__name__)
if reached:
    print("reached the outside")
sys.exit(0 if reached == (sys.argv[2] == "online") else 1)
"#;

/// An address outside the engine: the Debian mirror the fixture images come from.
fn outside_address() -> String {
    use std::net::ToSocketAddrs;
    let found = ("deb.debian.org", 80).to_socket_addrs();
    let addr = found
        .ok()
        .and_then(|mut a| a.find(|a| a.is_ipv4()))
        .expect("this test needs an address outside the engine: deb.debian.org does not resolve");
    addr.ip().to_string()
}

#[test]
fn a_stage_without_network_reaches_its_services_and_nothing_else_in_plain_output() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = TestApp::with_config("svc-offline", &OFFLINE.replace("{ip}", &outside_address()));
    app.write("probe.py", PROBE_PY);
    app.commit_all("probe");
    let out = run(app.shipdeck().arg("run"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("offline ◇ service cache (redis:7) starting"),
        "{stdout}"
    );
    assert!(
        stdout.contains("offline ◆ service cache (redis:7) ready in ")
            && stdout.contains(": ready: `redis-cli ping` succeeds"),
        "{stdout}"
    );
    assert!(stdout.contains("offline | cache answers +PONG"), "{stdout}");
    // An internal network: the services, and nothing else; the same stage on a bridge gets out.
    assert!(stdout.contains("offline | no way out: "), "{stdout}");
    assert!(stdout.contains("online  | cache answers +PONG"), "{stdout}");
    assert!(stdout.contains("online  | reached the outside"), "{stdout}");
    app.assert_no_leftovers();
}

const NEVER_READY: &str = r#"
[app]
name = "{app}"

[secrets]
SVC_TOKEN = { env = "SHIPDECK_SVC_TEST_TOKEN" }

[services.slow]
image = "debian:bookworm-slim"
command = ["sh", "-c", "echo booting; printf 'evil \\033]52;c;aGk=\\007 \\033[2J \\033[31mred\\033[0m\\n'; echo token=$TOKEN; head -c 100000 /dev/zero | tr '\\0' x; echo; sleep 300"]
env = { TOKEN = "s3cr3t-service-value-1234" }
ready = "false"
ready_timeout = "2s"

[stages.test]
image = "debian:bookworm-slim"
services = ["slow"]
run = ["echo stage-ran"]
"#;

const TOKEN: &str = "s3cr3t-service-value-1234";

#[test]
fn a_service_never_ready_fails_the_stage_with_its_last_log_lines_cleaned_and_masked() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = TestApp::with_config("svc-timeout", NEVER_READY);
    let out = run(app
        .shipdeck()
        .args(["run", "--json"])
        .env("SHIPDECK_SVC_TEST_TOKEN", TOKEN));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = parse_events(&stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let end = finished(&events, "test");
    assert_eq!(end["status"], "failed", "{end}");
    let message = end["message"].as_str().unwrap();
    assert_eq!(
        message, "service `slow` failed: not ready after 2s: waited until `false` succeeds; last answer: exit 1",
        "{end}"
    );
    let failed = service_events(&events, "test", "slow");
    assert_eq!(failed.last().unwrap().0, "failed", "{events:#?}");

    let logs = log_lines(&events, "test");
    assert!(logs.iter().any(|l| l == "slow | booting"), "{logs:#?}");
    assert!(
        !logs.iter().any(|l| l.contains("stage-ran")),
        "the stage ran: {logs:#?}"
    );
    // What the service wrote reaches the log without its escapes (colour aside) or the secret.
    let evil = logs.iter().find(|l| l.starts_with("slow | evil")).unwrap();
    assert!(
        !evil.contains("\u{1b}]") && !evil.contains('\u{7}') && !evil.contains("\u{1b}[2J"),
        "{evil:?}"
    );
    // A 100 kB line is cut to its first 2000 characters.
    let long = logs.iter().find(|l| l.starts_with("slow | xxx")).unwrap();
    assert_eq!(long, &format!("slow | {} …", "x".repeat(2000)));
    let token = logs.iter().find(|l| l.starts_with("slow | token=")).unwrap();
    assert!(!token.contains(TOKEN), "{token}");
    assert!(!stdout.contains(TOKEN), "the secret reached the output");
    // The stage's log file says the same, masked.
    let path = of_kind(&events, "stage_started")[0]["log_path"]
        .as_str()
        .unwrap()
        .to_string();
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.contains("slow | booting") && file.contains(message), "{file}");
    assert!(!file.contains(TOKEN) && !file.contains("\u{1b}]52"), "{file:?}");
    app.assert_no_leftovers();
}

const CRASHING: &str = r#"
[app]
name = "{app}"

[services.db]
image = "postgres:15"              # no POSTGRES_PASSWORD: its entrypoint refuses to start

[stages.test]
image = "debian:bookworm-slim"
services = ["db"]
run = ["echo stage-ran"]
"#;

#[test]
fn a_service_that_exits_fails_the_stage_at_once_with_its_logs() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = TestApp::with_config("svc-crash", CRASHING);
    let started = Instant::now();
    let (code, events, stderr) = app.run_json(&[]);
    // The default ready_timeout is 60s: the exit is noticed long before.
    assert!(started.elapsed() < Duration::from_secs(40), "{:?}", started.elapsed());
    assert_eq!(code, 1, "{stderr}");
    let end = finished(&events, "test");
    assert_eq!(
        end["message"], "service `db` failed: it exited with code 1 before it was ready",
        "{end}"
    );
    let logs = log_lines(&events, "test");
    assert!(
        logs.iter()
            .any(|l| l == "db | postgres: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)"),
        "{logs:#?}"
    );
    assert!(!logs.iter().any(|l| l.contains("stage-ran")), "{logs:#?}");
    app.assert_no_leftovers();
}

const WAITING: &str = r#"
[app]
name = "{app}"

[services.cache]
image = "redis:7"
ready = "false"
ready_timeout = "5m"

[stages.test]
image = "debian:bookworm-slim"
services = ["cache"]
run = ["true"]
"#;

const SLEEPY: &str = r#"
[app]
name = "{app}"

[services.cache]
image = "redis:7"

[stages.test]
image = "debian:bookworm-slim"
services = ["cache"]
run = ["echo sleeping", "sleep 300"]
"#;

#[test]
fn cancelling_while_a_service_is_awaited_or_while_the_stage_runs_removes_everything() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    for (label, config, sig, until) in [
        ("svc-cancel-ready", WAITING, "-TERM", "starting"),
        ("svc-cancel-run", SLEEPY, "-INT", "sleeping"),
    ] {
        let app = TestApp::with_config(label, config);
        let (mut child, mut reader) = start_json(&app);
        let events = read_until(&mut reader, |e| {
            (e["event"] == "service_status" && e["state"] == until) || logged(e, until)
        });
        // The service's container exists (and, for the second, the stage's too).
        let deadline = Instant::now() + Duration::from_secs(20);
        let want = if until == "sleeping" { 2 } else { 1 };
        while app.containers().len() < want {
            assert!(
                Instant::now() < deadline,
                "{label}: containers never appeared: {events:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(app.networks().len(), 1, "{label}");
        signal(&child, sig);
        ends_within(&mut child, Duration::from_secs(5));
        let rest = read_until(&mut reader, |e| e["event"] == "run_finished");
        assert_eq!(rest.last().unwrap()["status"], "cancelled", "{label}: {rest:#?}");
        assert_eq!(finished(&rest, "test")["status"], "cancelled", "{label}");
        app.assert_no_leftovers();
    }
}

/// Starts SLEEPY and kills shipdeck with SIGKILL once its stage runs: its service container,
/// stage container and network stay behind.
fn killed_with_services_left(label: &str) -> TestApp {
    let app = TestApp::with_config(label, SLEEPY);
    let (mut child, mut reader) = start_json(&app);
    read_until(&mut reader, |e| logged(e, "sleeping"));
    signal(&child, "-KILL");
    child.wait().unwrap();
    assert_eq!(app.containers().len(), 2, "kill -9 leaves the stage and its service");
    assert_eq!(app.networks().len(), 1, "kill -9 leaves the services' network");
    app
}

#[test]
fn after_kill_9_clean_removes_the_services_and_their_network() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = killed_with_services_left("svc-kill-clean");
    let out = run(app.shipdeck().args(["clean", "--dry-run"]));
    let dry = String::from_utf8_lossy(&out.stdout);
    assert!(dry.contains("Would remove 4 leftover(s)"), "{dry}");
    assert!(dry.contains("network shipdeck-"), "{dry}");
    assert_eq!(app.containers().len(), 2, "a dry run removes nothing");
    let out = run(app.shipdeck().arg("clean"));
    let cleaned = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{cleaned}");
    assert!(
        cleaned.contains("Removed 2 container(s), 1 volume(s), 0 build image(s), 1 network(s)"),
        "{cleaned}"
    );
    assert!(!cleaned.contains("Not removed"), "{cleaned}");
    app.assert_no_leftovers();
}

#[test]
fn after_kill_9_the_next_start_reaps_the_services_and_their_network() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = killed_with_services_left("svc-kill-start");
    let networks = app.networks();
    let other = TestApp::with_config(
        "svc-next",
        "[app]\nname = \"{app}\"\n[stages.quick]\nimage = \"debian:bookworm-slim\"\nrun = [\"true\"]\n",
    );
    let out = run(other.shipdeck().arg("run"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("removed leftovers of interrupted runs"), "{stderr}");
    let name = docker_list(&["network", "inspect", "-f", "{{.Name}}", &networks[0]]);
    assert!(name.is_empty(), "the network is still there: {name:?}");
    app.assert_no_leftovers();
}

const PARALLEL: &str = r#"
[app]
name = "{app}"

[services.cache]
image = "redis:7"

[stages.a]
image = "redis:7"
services = ["cache"]
run = ["redis-cli -h cache set only-a 1", "redis-cli -h cache info server | grep run_id"]

[stages.b]
image = "redis:7"
services = ["cache"]
run = ["redis-cli -h cache set only-b 1", "redis-cli -h cache info server | grep run_id"]
"#;

#[test]
fn two_stages_naming_one_service_get_an_instance_each() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = TestApp::with_config("svc-parallel", PARALLEL);
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "{stderr}\n{events:#?}");
    // Each redis server has a random run_id: two instances, two ids.
    let run_id = |stage: &str| {
        log_lines(&events, stage)
            .into_iter()
            .find(|l| l.starts_with("run_id:"))
            .unwrap_or_else(|| panic!("{stage}: {events:#?}"))
    };
    assert_ne!(run_id("a"), run_id("b"));
    for stage in ["a", "b"] {
        let states: Vec<&str> = service_events(&events, stage, "cache")
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(states, ["starting", "ready"], "{stage}");
    }
    app.assert_no_leftovers();
}

#[test]
fn check_refuses_service_names_that_are_not_host_names_without_echoing_escapes() {
    require_docker(&[]);
    let app = TestApp::with_config(
        "svc-names",
        "[app]\nname = \"{app}\"\n[services.\"db\\u001b]52;c;aGk=\\u0007\"]\nimage = \"redis:7\"\n[services.\"../etc\"]\nimage = \"redis:7\"\n[stages.test]\nimage = \"redis:7\"\nrun = [\"true\"]\nservices = [\"db\\u001b]52;c;aGk=\\u0007\"]\n",
    );
    let out = run(app.shipdeck().arg("check"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("release.toml:3:11: invalid service name"), "{all}");
    assert!(
        all.contains("release.toml:5:11: invalid service name `\"../etc\"`"),
        "{all}"
    );
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    // Nothing ran, nothing was created.
    app.assert_no_leftovers();
}

#[test]
fn the_notes_pg_fixture_tests_against_its_services_and_packages() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = TestApp::from_fixture("notes-pg");
    let (code, events, stderr) = app.run_json(&[]);
    let logs = log_lines(&events, "test");
    assert_eq!(code, 0, "{stderr}\n{logs:#?}\n{events:#?}");
    assert_eq!(finished(&events, "test")["status"], "success");
    assert_eq!(finished(&events, "package")["status"], "success");
    // unittest reports on stderr: the count, then OK.
    assert!(logs.iter().any(|l| l.starts_with("Ran 5 tests")), "{logs:#?}");
    assert!(logs.iter().any(|l| l == "OK"), "{logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l.starts_with("test_the_worker_counts_the_words_of_a_new_note") && l.ends_with("ok")),
        "{logs:#?}"
    );
    for service in ["db", "cache"] {
        let states: Vec<&str> = service_events(&events, "test", service)
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(states, ["starting", "ready"], "{service}");
    }
    app.assert_no_leftovers();
}

/// Removes a test's own image when it drops.
struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

#[test]
fn a_service_whose_image_has_a_healthcheck_is_ready_once_healthy() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    // An image that turns healthy two seconds after it starts; built offline from a fixture.
    let image = ImageGuard(format!("shipdeck-test-healthy:{}", std::process::id()));
    let dockerfile = "FROM debian:bookworm-slim\nHEALTHCHECK --interval=1s --timeout=2s CMD test -f /tmp/ready\nCMD [\"sh\", \"-c\", \"sleep 2; touch /tmp/ready; exec sleep 300\"]\n";
    let mut build = std::process::Command::new("docker")
        .args([
            "build",
            "-q",
            "--label",
            "dev.shipdeck.test=services",
            "-t",
            &image.0,
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    build.stdin.take().unwrap().write_all(dockerfile.as_bytes()).unwrap();
    assert!(build.wait().unwrap().success(), "docker build of the healthcheck image");
    let config = format!(
        "[app]\nname = \"{{app}}\"\n[services.healthy]\nimage = \"{}\"\n[stages.test]\nimage = \"debian:bookworm-slim\"\nservices = [\"healthy\"]\nrun = [\"getent hosts healthy\"]\n",
        image.0
    );
    let app = TestApp::with_config("svc-health", &config);
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "{stderr}\n{events:#?}");
    let seen = service_events(&events, "test", "healthy");
    let (state, ready) = seen.last().unwrap();
    assert_eq!(*state, "ready", "{events:#?}");
    assert_eq!(ready["message"], "ready: its HEALTHCHECK passes");
    assert!(
        ready["duration_ms"].as_i64().unwrap() >= 2000,
        "ready before it was healthy: {ready}"
    );
    app.assert_no_leftovers();
}

#[test]
fn a_stage_that_times_out_takes_its_services_with_it() {
    let _serial = one_at_a_time();
    require_docker(IMAGES);
    let app = TestApp::with_config(
        "svc-stage-timeout",
        &SLEEPY.replace("[stages.test]\n", "[stages.test]\ntimeout = \"2s\"\n"),
    );
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 1, "{stderr}\n{events:#?}");
    let end = finished(&events, "test");
    assert_eq!(end["status"], "timed_out", "{end}");
    let states: Vec<&str> = service_events(&events, "test", "cache")
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(states, ["starting", "ready"]);
    app.assert_no_leftovers();
}
