//! Accessories, processes and the environment's network against the real engine, with the
//! hello-py fixture and a postgres:15 accessory: started on the first deploy and ready-waited,
//! reached by its key on the environment's network (by the release_command), its data kept in
//! its volume across deploys, a rollback, a restart and `shipdeck clean`, never restarted by a
//! deploy or a rollback; a worker process that starts, is retired and comes back with its
//! release; `status` lists both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use common::deploy::*;
use common::*;

const IMAGES: &[&str] = &["python:3.11-slim", "postgres:15"];

const STAGING: &str = r#"release_command = ["python", "-c", "import socket; socket.create_connection(('db', 5432), 5); print('migrated against db')"]
[environments.staging.accessories.db]
image = "postgres:15"
env = { POSTGRES_PASSWORD = "pw-of-the-accessory-test" }
ready = "pg_isready -h 127.0.0.1 -U postgres"
ready_timeout = "90s"
volumes = ["/var/lib/postgresql/data"]
[environments.staging.processes.worker]
command = ["python", "-c", "import time\nwhile True: time.sleep(1)"]
"#;

/// The accessory's container (one, running).
fn accessory(d: &Deployable) -> String {
    let ids = d.running("accessory");
    assert_eq!(ids.len(), 1, "expected one running accessory: {ids:?}");
    ids[0].clone()
}

fn psql(container: &str, sql: &str) -> String {
    let out = run(Command::new("docker").args(["exec", container, "psql", "-U", "postgres", "-tAc", sql]));
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The image ID of the web container and of the worker that runs now.
fn web_and_worker_images(d: &Deployable) -> (String, String) {
    let web = d.running("deployment");
    let worker = d.running("process");
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(worker.len(), 1, "one worker of the release that runs: {worker:?}");
    (inspect(&web[0], "{{.Image}}"), inspect(&worker[0], "{{.Image}}"))
}

#[test]
fn an_accessory_starts_on_the_first_deploy_and_keeps_its_data_across_deploys_rollbacks_and_clean() {
    require_docker(IMAGES);
    let d = Deployable::new(STAGING);
    let first = d.build();

    let out = d.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("accessory db is ready"), "{said}");
    assert!(
        said.contains("migrated against db"),
        "the release_command reached `db`: {said}"
    );
    assert!(d.health().1.contains(&first));
    let db = accessory(&d);
    let started = inspect(&db, "{{.State.StartedAt}}");
    psql(
        &db,
        "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept across deploys')",
    );
    let (web, worker) = web_and_worker_images(&d);
    assert_eq!(web, worker, "the worker runs the release's image");

    // status lists the accessory and the worker, with their health; --json too.
    let status = text(&d.shipdeck(&["status"]));
    assert!(
        status.contains("staging accessory db: running (postgres:15)"),
        "{status}"
    );
    assert!(status.contains("staging process worker: running"), "{status}");
    let json = d.shipdeck(&["status", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows[0]["accessories"][0]["name"], "db", "{rows:#}");
    assert_eq!(rows[0]["accessories"][0]["state"], "running", "{rows:#}");
    assert_eq!(rows[0]["processes"][0]["name"], "worker", "{rows:#}");

    // A second release: the accessory is not restarted; the worker is replaced with the web.
    let second = d.next_release("second");
    let out = d.shipdeck(&["deploy", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(d.health().1.contains(&second));
    assert_eq!(accessory(&d), db, "a deploy replaced the accessory");
    assert_eq!(
        inspect(&db, "{{.State.StartedAt}}"),
        started,
        "a deploy restarted the accessory"
    );
    let (web2, worker2) = web_and_worker_images(&d);
    assert_eq!(web2, worker2);
    assert_ne!(worker2, worker, "the worker of the first release still runs");

    // A rollback: neither the accessory nor its data move, the worker comes back with its release.
    let out = d.shipdeck(&["rollback", "staging", "--to", &first[..8]]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        !said.contains("migrated against db"),
        "a rollback ran the release_command: {said}"
    );
    assert!(d.health().1.contains(&first));
    assert_eq!(
        inspect(&db, "{{.State.StartedAt}}"),
        started,
        "a rollback restarted the accessory"
    );
    assert_eq!(web_and_worker_images(&d), (web.clone(), web));
    assert_eq!(psql(&db, "SELECT body FROM notes"), "kept across deploys");

    // `shipdeck clean` never removes an accessory's volume; a restart recreates the container
    // and finds the data.
    let volumes_before: Vec<String> = d
        .app
        .volumes()
        .into_iter()
        .filter(|v| v.starts_with("shipdeck-data-"))
        .collect();
    assert_eq!(volumes_before.len(), 1, "{:?}", d.app.volumes());
    let clean = d.shipdeck(&["clean"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    assert!(
        d.app.volumes().contains(&volumes_before[0]),
        "clean removed the accessory's data"
    );
    let restart = d.shipdeck(&["accessory", "staging", "db", "restart"]);
    assert_eq!(restart.status.code(), Some(0), "{}", text(&restart));
    let db2 = accessory(&d);
    assert_ne!(db2, db, "restart recreates the container");
    assert_eq!(psql(&db2, "SELECT body FROM notes"), "kept across deploys");

    // stop, then start again; logs read back.
    let stop = d.shipdeck(&["accessory", "staging", "db", "stop"]);
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop));
    assert!(d.running("accessory").is_empty());
    let status = text(&d.shipdeck(&["status"]));
    assert!(status.contains("staging accessory db: exited"), "{status}");
    let start = d.shipdeck(&["accessory", "staging", "db", "start"]);
    assert_eq!(start.status.code(), Some(0), "{}", text(&start));
    assert_eq!(psql(&accessory(&d), "SELECT count(*) FROM notes"), "1");
    let logs = d.shipdeck(&["accessory", "staging", "db", "logs"]);
    assert!(text(&logs).contains("database system is ready"), "{}", text(&logs));
    let unknown = d.shipdeck(&["accessory", "staging", "cache", "start"]);
    assert_ne!(unknown.status.code(), Some(0));
    assert!(text(&unknown).contains("no accessory `cache`"), "{}", text(&unknown));
}

#[test]
fn a_worker_that_exits_at_once_fails_the_deploy_and_the_previous_release_comes_back_with_its_worker() {
    require_docker(&["python:3.11-slim"]);
    let worker = "[environments.staging.processes.worker]\ncommand = [\"python\", \"-c\", \"import time\\nwhile True: time.sleep(1)\"]\n";
    let d = Deployable::new(worker);
    let first = d.build();

    // Attack: a network planted under the environment's network name (not labelled as its
    // own) is refused, never joined.
    let planted = shipdeck::deploy::network::name(&d.app.name, "staging");
    let made = run(Command::new("docker").args([
        "network",
        "create",
        "--label",
        &format!("dev.shipdeck.app={}", d.app.name),
        &planted,
    ]));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = d.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("is not labelled as staging's"), "{said}");
    assert!(d.running("deployment").is_empty(), "{said}");
    run(Command::new("docker").args(["network", "rm", &planted]));

    let out = d.shipdeck(&["deploy", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (web, before) = web_and_worker_images(&d);
    assert_eq!(web, before);

    // The worker dies: deploying the release that runs is not "unchanged", it places the
    // release again, worker included.
    let worker_id = d.running("process");
    run(Command::new("docker").args(["kill", &worker_id[0]]));
    let out = d.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("its process `worker` does not"), "{said}");
    assert_eq!(web_and_worker_images(&d), (web.clone(), web.clone()), "{said}");

    d.configure("[environments.staging.processes.worker]\ncommand = \"echo the worker gives up; exit 3\"\n");
    d.build();
    let out = d.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("process"), "{said}");
    assert!(said.contains("the worker gives up"), "its last lines are shown: {said}");
    assert!(said.contains("the previous release runs again"), "{said}");
    assert!(d.health().1.contains(&first), "{:?}", d.health());
    assert_eq!(
        web_and_worker_images(&d),
        (web.clone(), web),
        "the previous worker is back"
    );
}

/// An accessory takes the environment's secrets it names, as variables; their values (and
/// their base64) never show in what shipdeck prints of it; a secret it needs whose host
/// variable is unset refuses to start it, naming the variable.
#[test]
fn an_accessory_gets_the_secrets_it_names_masked_in_its_logs() {
    require_docker(&["python:3.11-slim"]);
    const TOKEN: &str = "acc-secret-9f3b2c71d04e";
    let cache = r#"[environments.staging.secrets]
CACHE_TOKEN = { env = "SHIPDECK_TEST_CACHE_TOKEN" }
[environments.staging.accessories.cache]
image = "python:3.11-slim"
command = ["python", "-c", "import os, base64, time\nt = os.environ['CACHE_TOKEN']\nprint('token', t, base64.b64encode(t.encode()).decode(), flush=True)\ntime.sleep(3600)"]
secrets = ["CACHE_TOKEN"]
"#;
    let d = Deployable::new(cache);
    d.build();
    let vars = [("SHIPDECK_TEST_CACHE_TOKEN", TOKEN)];

    let out = d.shipdeck_with(&["deploy", "staging"], &vars);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let ids = d.running("accessory");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let env = inspect(&ids[0], "{{json .Config.Env}}");
    assert!(
        env.contains(&format!("CACHE_TOKEN={TOKEN}")),
        "the accessory did not get its secret: {env}"
    );

    let logs = d.shipdeck_with(&["accessory", "staging", "cache", "logs"], &vars);
    let printed = text(&logs);
    assert_eq!(logs.status.code(), Some(0), "{printed}");
    assert!(printed.contains("token "), "its logs were not printed: {printed}");
    let b64 = base64_of(TOKEN);
    assert!(
        !printed.contains(TOKEN) && !printed.contains(&b64),
        "a secret shown in clear: {printed}"
    );

    // Without the host variable, a restart refuses and names it; the accessory is not
    // recreated without its secret.
    let restart = d.shipdeck(&["accessory", "staging", "cache", "restart"]);
    let said = text(&restart);
    assert_ne!(restart.status.code(), Some(0), "{said}");
    assert!(said.contains("$SHIPDECK_TEST_CACHE_TOKEN"), "{said}");
    assert_eq!(d.running("accessory"), ids, "the accessory was touched: {said}");
}

fn base64_of(value: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(value)
}
