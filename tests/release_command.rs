//! release_command and environment secrets against the real engine, with the hello-py
//! fixture: an environment secret whose host variable is unset refuses the deploy and starts
//! nothing; the release_command runs with the environment's secrets before the switch, its
//! output masked and stripped of terminal control sequences; when it fails the previous
//! release keeps serving, untouched; a rollback never runs it and says the schema may be ahead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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
