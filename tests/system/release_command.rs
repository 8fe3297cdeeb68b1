//! release_command and environment secrets against the real engine, with the hello-py
//! fixture: an environment secret whose host variable is unset refuses the deploy and starts
//! nothing; the release_command runs with the environment's secrets before the switch, its
//! output masked and stripped of terminal control sequences; when it fails the previous
//! release keeps serving, untouched; a rollback never runs it and says the schema may be ahead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::deploy::*;
use common::*;

const SECRET_VAR: &str = "SHIPDECK_TEST_STAGING_SECRET_KEY";
const SECRET: &str = "staging-only-s3cret-value-8c1f";

/// Prints a marker and, with `fail`, a hostile line (clipboard write, screen clear, the
/// secret) and exits 3.
fn staging(fail: bool) -> String {
    let body = if fail {
        r#"print('\x1b]52;c;ZXZpbA==\x07\x1b[2Jleak:', os.environ['SECRET_KEY'], flush=True); sys.exit(3)"#
    } else {
        r#"print('RELEASE-COMMAND-RAN in', os.environ['SHIPDECK_SHORT_COMMIT'], 'with a key of', len(os.environ['SECRET_KEY']), flush=True)"#
    };
    format!(
        "release_command = '''python -c \"import os, sys; {body}\"'''\n[environments.staging.secrets]\nSECRET_KEY = {{ env = \"{SECRET_VAR}\" }}\n"
    )
}

#[test]
fn release_command_runs_before_the_switch_and_a_failing_one_leaves_the_previous_release_serving() {
    require_docker(&["python:3.11-slim"]);
    let d = Deployable::new(&staging(false));
    let first = d.build();

    // The environment's secret is not set on the host: refused, nothing started.
    let refused = d.shipdeck(&["deploy", "staging"]);
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&format!("${SECRET_VAR}")),
        "the variable is named: {said}"
    );
    assert!(said.contains("[environments.staging.secrets]"), "{said}");
    assert!(d.running("deployment").is_empty(), "an app started without its secret");
    assert!(!said.contains("RELEASE-COMMAND-RAN"), "{said}");

    let vars = [(SECRET_VAR, SECRET)];
    let out = d.shipdeck_with(&["deploy", "staging"], &vars);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "RELEASE-COMMAND-RAN in {} with a key of {}",
            &first[..7],
            SECRET.len()
        )),
        "{said}"
    );
    let web = d.running("deployment");
    assert_eq!(web.len(), 1);
    let started = inspect(&web[0], "{{.State.StartedAt}}");

    // A release whose release_command fails (printing hostile text and the secret).
    d.configure(&staging(true));
    let second = d.next_release("second");
    let out = d.shipdeck_with(&["deploy", "staging", "--json"], &vars);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("exit code 3"), "{said}");
    assert!(said.contains("leak:"), "the output is streamed into the log: {said}");
    assert!(!said.contains(SECRET), "the secret leaked: {said}");
    assert!(
        !said.contains('\u{1b}') && !said.contains("\\u001b"),
        "an escape sequence got through: {said}"
    );
    assert!(!said.contains('\u{7}') && !said.contains("\\u0007"), "{said}");
    // The previous release serves, untouched: same container, never restarted.
    let (status, body) = d.health();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&first) && !body.contains(&second), "{body}");
    assert_eq!(d.running("deployment"), web);
    assert_eq!(inspect(&web[0], "{{.State.StartedAt}}"), started);
    // Its output is kept with the operation in the history, cleaned like the screen's.
    let store = shipdeck::store::Store::open(&d.app.path().join(".shipdeck")).unwrap();
    let ops = store.operations(&d.app.name, Some("staging"), 10).unwrap();
    let failed = ops
        .iter()
        .find(|o| o.outcome == shipdeck::deploy::OpOutcome::Failed)
        .expect("the failed deploy is in the history");
    let kept = store.operation_log(failed.id).unwrap().join("\n");
    assert!(kept.contains("leak:"), "{kept}");
    assert!(
        !kept.contains(SECRET) && !kept.contains('\u{1b}') && !kept.contains('\u{7}'),
        "{kept}"
    );
    // ...and shown by `shipdeck history ENV --log N`.
    let shown = text(&d.shipdeck(&["history", "staging", "--log", &failed.id.to_string()]));
    assert!(shown.contains("leak:"), "{shown}");
    assert!(!shown.contains(SECRET) && !shown.contains('\u{1b}'), "{shown}");

    // A third release migrates; a rollback to the first does not run the release_command
    // and says the schema may be ahead of it.
    d.configure(&staging(false));
    let third = d.next_release("third");
    let out = d.shipdeck_with(&["deploy", "staging"], &vars);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("RELEASE-COMMAND-RAN in {}", &third[..7])),
        "{said}"
    );
    let back = d.shipdeck_with(&["rollback", "staging", "--to", &first[..8]], &vars);
    let said = text(&back);
    assert_eq!(back.status.code(), Some(0), "{said}");
    assert!(
        !said.contains("RELEASE-COMMAND-RAN"),
        "a rollback ran the release_command: {said}"
    );
    assert!(said.contains("the schema may be ahead"), "{said}");
    assert!(d.health().1.contains(&first));
}

/// Prints `lines` lines of 100 characters, then, with `sleep`, says MIGRATING and sleeps.
fn chatty(lines: usize, sleep: u32) -> String {
    format!(
        "release_command = '''python -c \"import sys, time\nfor i in range({lines}): print('row', i, 'x' * 90)\nprint('MIGRATING', flush=True); time.sleep({sleep})\"'''\n"
    )
}

/// The release_command containers of the app on the engine (any state).
fn release_command_containers(d: &Deployable) -> Vec<String> {
    let out = run(std::process::Command::new("docker").args([
        "ps",
        "-aq",
        "--filter",
        &format!("label=dev.shipdeck.app={}", d.app.name),
        "--filter",
        "label=dev.shipdeck.role=release-command",
    ]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Attacks: a release_command that floods its output (the log stays bounded, the deploy
/// goes on), and `kill -9` of shipdeck while a release_command runs (the previous release
/// keeps serving; the next deploy is told the lock is stale and, once unlocked, replaces the
/// leftover and deploys).
#[test]
fn a_flooding_release_command_is_bounded_and_kill_9_during_one_leaves_the_previous_release_serving() {
    require_docker(&["python:3.11-slim"]);
    let d = Deployable::new(&chatty(60_000, 0));
    let first = d.build();
    let out = d.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        &said[said.len().saturating_sub(2000)..]
    );
    assert!(
        said.contains("more lines of the release_command's output not shown"),
        "the flood was not cut"
    );
    assert!(said.lines().count() < 12_000, "{} lines printed", said.lines().count());
    let store = shipdeck::store::Store::open(&d.app.path().join(".shipdeck")).unwrap();
    let ops = store.operations(&d.app.name, Some("staging"), 10).unwrap();
    let kept = store.operation_log(ops[0].id).unwrap();
    assert!(kept.len() < 12_000, "the kept log is not bounded: {} lines", kept.len());
    assert!(d.health().1.contains(&first));

    // A second release whose release_command takes long: shipdeck is killed during it.
    d.configure(&chatty(1, 300));
    let second = d.next_release("second");
    let mut child = d
        .app
        .shipdeck()
        .args(["deploy", "staging"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    while release_command_containers(&d).is_empty() {
        assert!(waited.elapsed().as_secs() < 120, "the release_command never started");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    run(std::process::Command::new("kill").args(["-9", &child.id().to_string()]));
    let _ = child.wait();
    let (status, body) = d.health();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&first) && !body.contains(&second), "{body}");

    d.configure(&chatty(1, 0));
    let third = d.next_release("third");
    let refused = d.shipdeck(&["deploy", "staging"]);
    let said = text(&refused);
    assert_ne!(refused.status.code(), Some(0), "{said}");
    assert!(
        said.contains("INTERRUPTED") && said.contains("shipdeck unlock staging"),
        "{said}"
    );
    let unlocked = d.shipdeck(&["unlock", "staging"]);
    assert_eq!(unlocked.status.code(), Some(0), "{}", text(&unlocked));
    let out = d.shipdeck(&["deploy", "staging"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(d.health().1.contains(&third), "{said}");
    assert!(
        release_command_containers(&d).is_empty(),
        "the killed release_command's container was left: {said}"
    );
}
