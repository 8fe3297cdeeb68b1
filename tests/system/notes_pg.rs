//! The notes-pg fixture end to end against the real engine (issue #11): its tests run against
//! PostgreSQL and Redis services, its release deploys to staging beside a PostgreSQL accessory
//! (data in a kept volume) and a Redis one, its migrations run as the release_command before
//! the switch, its RQ worker runs as a process of the release; the data survives a second
//! deploy, a failing migration leaves the previous release serving, and a rollback runs no
//! migration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::envs::{free_port, http};
use common::*;

const IMAGES: &[&str] = &["postgres:15", "redis:7", "shipdeck/python-web:bookworm"];

fn staging(port: u16) -> String {
    format!(
        r#"
[environments.staging]
publish = "127.0.0.1:{port}:8080"
release_command = "python -m app.migrate"
env = {{ DATABASE_URL = "postgresql://postgres:notes@db:5432/notes", REDIS_URL = "redis://cache:6379/0" }}

[environments.staging.accessories.db]
image = "postgres:15"
env = {{ POSTGRES_PASSWORD = "notes", POSTGRES_DB = "notes" }}
ready = "pg_isready -h 127.0.0.1 -U postgres -d notes"
volumes = ["/var/lib/postgresql/data"]

[environments.staging.accessories.cache]
image = "redis:7"

[environments.staging.processes.worker]
command = ["python", "-m", "app.worker"]

[[environments.staging.smoke]]
http = "GET /health"
expect_status = 200
expect_body = "{{commit}}"
within = "30s"
"#
    )
}

fn expect(app: &TestApp, code: i32, args: &[&str]) -> String {
    let mut cmd = app.shipdeck();
    cmd.args(args);
    let out = run_within(&mut cmd, Duration::from_secs(300));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(code), "`shipdeck {}`:\n{said}", args.join(" "));
    said
}

fn build(app: &TestApp) -> String {
    let (code, _, stderr) = app.run_json(&[]);
    assert_eq!(code, 0, "the pipeline failed: {stderr}");
    git(app.path(), &["rev-parse", "HEAD"])
}

#[test]
fn notes_pg_deploys_with_its_database_migrations_and_worker_and_keeps_its_data() {
    require_docker(IMAGES);
    let app = TestApp::from_fixture("notes-pg");
    let port = free_port();
    let toml = std::fs::read_to_string(app.path().join("release.toml")).unwrap();
    let start = toml.find("[environments.staging]").unwrap();
    app.write("release.toml", &format!("{}{}", &toml[..start], staging(port)));
    app.commit_all("staging with its database, cache, migrations and worker");
    let first = build(&app);

    // First deploy: accessories started, migrations run before the switch, worker started.
    let said = expect(&app, 0, &["deploy", "staging"]);
    assert!(said.contains("applied 001_notes.sql"), "{said}");
    let (status, body) = http(port, "GET", "/health", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&first) && body.contains("\"migrations\":2"), "{body}");
    let (status, body) = http(
        port,
        "POST",
        "/notes",
        Some(r#"{"title": "hello", "body": "three small words"}"#),
    );
    assert_eq!(status, 201, "{body}");
    // The worker (a process of the release) counts the words.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = http(port, "GET", "/notes/1", None);
        if body.contains("\"word_count\":3") {
            break;
        }
        assert!(Instant::now() < deadline, "the worker never counted: {body}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = expect(&app, 0, &["status"]);
    assert!(status.contains("accessory db") && status.contains("worker"), "{status}");

    // A second release: the data survives, the migrations have nothing left to do.
    app.write("NOTES", "second\n");
    let second = app.commit_all("second release");
    build(&app);
    let said = expect(&app, 0, &["deploy", "staging"]);
    assert!(said.contains("schema up to date"), "{said}");
    let (_, body) = http(port, "GET", "/notes/1", None);
    assert!(body.contains("three small words"), "the data is gone: {body}");
    assert!(http(port, "GET", "/health", None).1.contains(&second));

    // A migration that fails on the data staging has (the test stage's fresh database has
    // none, so the pipeline stays green): the deploy fails before the switch and the second
    // release keeps serving.
    app.write(
        "app/migrations/003_short_titles.sql",
        "DO $$ BEGIN\n  IF EXISTS (SELECT 1 FROM notes WHERE length(title) >= 3) THEN\n    RAISE EXCEPTION 'short_titles: notes with long titles exist';\n  END IF;\nEND $$;\n",
    );
    let third = app.commit_all("titles shorter than 3 characters");
    build(&app);
    let said = expect(&app, 1, &["deploy", "staging"]);
    assert!(said.contains("short_titles"), "the migration's error is shown: {said}");
    let (status, body) = http(port, "GET", "/health", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&second) && !body.contains(&third), "{body}");

    // A rollback to the first release runs no migration and finds the data.
    let said = expect(&app, 0, &["rollback", "staging", "--to", &first[..8]]);
    assert!(!said.contains("applied"), "a rollback ran the release_command: {said}");
    assert!(http(port, "GET", "/health", None).1.contains(&first));
    let (_, body) = http(port, "GET", "/notes/1", None);
    assert!(body.contains("three small words"), "{body}");
}
