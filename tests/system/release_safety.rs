//! Release safety against the real engine (issue #9): a release is an image ID, every way into
//! a gated environment is gated, an uncommitted edit cannot lower a gate, rollback goes to what
//! really ran and passed there and verifies it with its own checks. The crash tests are in
//! release_crash.rs.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::envs::*;
use common::*;

/// Staging and production both run the first release; production then the second.
fn two_promoted_releases(envs: &Envs) -> (String, String) {
    let first = envs.build();
    envs.expect(0, &["deploy", "staging"]);
    envs.expect(0, &["promote", "production", "--yes"]);
    envs.app.write("NOTES", "second\n");
    let second = envs.app.commit_all("second release");
    envs.build();
    envs.expect(0, &["deploy", "staging"]);
    envs.expect(0, &["promote", "production", "--yes"]);
    assert!(health(envs.production).1.contains(&second));
    (first, second)
}

#[test]
fn every_way_into_a_gated_environment_needs_its_approval_and_force_never_replaces_it() {
    let envs = Envs::new();
    let (first, second) = two_promoted_releases(&envs);

    // Headless rollback of an environment with `approval = true`: refused without --yes.
    for args in [
        vec!["rollback", "production"],
        vec!["rollback", "production", "--force"],
        vec!["rollback", "production", "--to", &first[..8], "--force"],
    ] {
        let said = envs.expect(4, &args);
        assert!(said.contains("needs an approval"), "{said}");
        assert!(said.contains("--yes"), "{said}");
    }
    let mut json = vec!["rollback", "production", "--force", "--json"];
    let out = envs.shipdeck(&json);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let finished = finished_op(&out);
    assert_eq!(finished["outcome"], "refused");
    assert_eq!(finished["refusal"], "approval", "{finished}");
    assert!(
        health(envs.production).1.contains(&second),
        "production moved without an approval"
    );

    // Deploy and promote too: --force does not stand in for --yes.
    let said = envs.expect(4, &["deploy", "production", "--force"]);
    assert!(said.contains("needs an approval"), "{said}");
    let said = envs.expect(4, &["promote", "production", "--force"]);
    assert!(said.contains("needs an approval"), "{said}");

    // With the approval, rollback goes to the previous release that passed there.
    let said = envs.expect(0, &["rollback", "production", "--yes"]);
    assert!(said.contains("approved: --yes"), "{said}");
    assert!(health(envs.production).1.contains(&first));

    // A release that never ran on production: refused as gated, even approved; with --force
    // it goes through and the audit says which gate was overridden.
    envs.app.write("NOTES", "third\n");
    let third = envs.app.commit_all("third release, staging only");
    envs.build();
    envs.expect(0, &["deploy", "staging"]);
    json = vec!["rollback", "production", "--to", &third[..8], "--yes", "--json"];
    let out = envs.shipdeck(&json);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(finished_op(&out)["refusal"], "gated");
    let said = envs.expect(0, &["rollback", "production", "--to", &third[..8], "--yes", "--force"]);
    assert!(said.contains("FORCED past promote_from"), "{said}");
    assert!(health(envs.production).1.contains(&third));
    let history = envs.expect(0, &["history", "production"]);
    let row = history
        .lines()
        .find(|l| l.contains("rollback") && l.contains(&third[..7]))
        .unwrap_or_else(|| panic!("no forced rollback row:\n{history}"));
    assert!(row.contains("forced past promote_from"), "{history}");
    assert!(row.contains("never ran on production"), "{history}");
    assert!(row.contains("approved: --yes"), "{history}");
}

#[test]
fn two_runs_of_one_commit_are_two_releases_and_each_is_named_exactly() {
    let envs = Envs::new();
    let commit = envs.build();
    envs.build();
    let images = envs.release_images_of(&commit);
    assert_eq!(images.len(), 2, "two runs of one commit built one image: {images:?}");
    let (run1, run2) = (&images[0], &images[1]);

    // By run number: exactly that run's image (the console's `d` sends this).
    let said = envs.expect(0, &["deploy", "staging", "--release", "#1"]);
    assert_eq!(&envs.running_image("staging"), run1, "{said}");
    assert!(said.contains("picked run #1"), "{said}");

    // By commit: the newest of its releases, saying so and naming the other.
    let said = envs.expect(0, &["deploy", "staging", "--release", &commit[..10]]);
    assert_eq!(&envs.running_image("staging"), run2, "{said}");
    assert!(said.contains("picked run #2"), "{said}");
    assert!(said.contains("2 releases"), "{said}");
    assert!(said.contains("run #1"), "the other release is not named: {said}");

    // By image ID prefix (with or without sha256:).
    let short1 = &run1["sha256:".len().."sha256:".len() + 12];
    envs.expect(0, &["deploy", "staging", "--release", short1]);
    assert_eq!(&envs.running_image("staging"), run1);
    envs.expect(0, &["deploy", "staging", "--release", run2]);
    assert_eq!(&envs.running_image("staging"), run2);

    // Production gets run #1 by promotion; `rollback --to COMMIT` means the release of that
    // commit that ran there, not the newest build of it.
    envs.expect(0, &["deploy", "staging", "--release", "#1"]);
    envs.expect(0, &["promote", "production", "--yes"]);
    envs.app.write("NOTES", "later\n");
    envs.app.commit_all("a later release");
    envs.build();
    envs.expect(0, &["deploy", "staging"]);
    envs.expect(0, &["promote", "production", "--yes"]);
    // A third build of the first commit: the newest release of it, never on production.
    envs.build_commit(&commit);
    assert_eq!(envs.release_images_of(&commit).len(), 3);
    let said = envs.expect(0, &["rollback", "production", "--to", &commit[..10], "--yes"]);
    assert_eq!(&envs.running_image("production"), run1, "{said}");
    assert!(said.contains("the one that ran here"), "{said}");

    // Status and history name the image.
    let row = envs.status_row("production");
    assert_eq!(row["deployed"]["release"]["image_id"], run1.as_str());
    let history = envs.expect(0, &["history", "production"]);
    assert!(
        history.contains(&run1["sha256:".len().."sha256:".len() + 12]),
        "{history}"
    );
}

#[test]
fn an_uncommitted_edit_cannot_lower_a_gate() {
    let envs = Envs::new();
    let commit = envs.build();
    envs.expect(0, &["deploy", "staging"]);
    let head = git(envs.app.path(), &["rev-parse", "--short=7", "HEAD"]);
    // Production's gates removed in the working copy, not committed.
    let toml = envs.release_toml();
    let lowered = toml
        .replace("promote_from = \"staging\"\n", "")
        .replace("approval = true\n", "");
    assert_ne!(lowered, toml);
    envs.app.write("release.toml", &lowered);

    let said = envs.expect(4, &["deploy", "production", "--release", &commit[..8]]);
    assert!(said.contains("takes releases by promotion"), "{said}");
    assert!(said.contains("uncommitted changes to the gates"), "{said}");
    assert!(said.contains("approval true → false"), "{said}");
    let said = envs.expect(4, &["deploy", "production", "--release", &commit[..8], "--yes"]);
    assert!(said.contains("takes releases by promotion"), "{said}");
    // --force applies the uncommitted promote_from, never the dropped approval.
    let said = envs.expect(4, &["deploy", "production", "--release", &commit[..8], "--force"]);
    assert!(said.contains("needs an approval"), "{said}");
    assert_eq!(health(envs.production).0, 0, "production runs something");

    let said = envs.expect(
        0,
        &["deploy", "production", "--release", &commit[..8], "--force", "--yes"],
    );
    assert!(
        said.contains("FORCED past uncommitted gates: promote_from staging → none"),
        "{said}"
    );
    assert!(said.contains(&format!("gates from release.toml at {head}")), "{said}");
    let history = envs.expect(0, &["history", "production"]);
    let row = history.lines().find(|l| l.contains("deploy")).unwrap_or_default();
    assert!(
        row.contains("forced past uncommitted gates: promote_from staging → none"),
        "{history}"
    );
    assert!(row.contains(&format!("gates: release.toml at {head}")), "{history}");
}

#[test]
fn rollback_goes_to_what_ran_and_passed_there_verified_with_its_own_checks() {
    // Strategy `recreate`: a release whose first checks fail keeps running there (no
    // auto_rollback on staging). With the proxy (the default) it would never take the place
    // of the previous one: tests/system/proxy.rs.
    let envs = Envs::hello_py(|toml| {
        format!("{}within = \"3s\"\n", short_smoke(&toml)).replace(
            "env = { APP_ENV = \"staging\" }",
            "env = { APP_ENV = \"staging\" }\nstrategy = \"recreate\"",
        )
    });
    let first = envs.build();
    // Its first smoke checks on staging fail (a wrong check committed, say), and a later
    // `smoke` passes once the fix is committed. (Checks come from HEAD: an uncommitted edit
    // would not be applied.)
    let toml = envs.release_toml();
    envs.app.write(
        "release.toml",
        &toml.replacen("expect_status = 200", "expect_status = 418", 1),
    );
    envs.app.commit_all("a wrong smoke check");
    let said = envs.expect(1, &["deploy", "staging", "--release", &first[..8]]);
    assert!(said.contains("FAILED"), "{said}");
    let first_image = envs.running_image("staging");
    assert!(
        !first_image.is_empty(),
        "staging has no auto_rollback: it keeps running"
    );
    envs.app.write("release.toml", &toml);
    envs.app.commit_all("the smoke check fixed");
    envs.expect(0, &["smoke", "staging"]);

    // The next release adds an endpoint and a smoke check for it; the older release has
    // neither, and is verified with the checks committed with it.
    let path = envs.app.path().join("app/hello.py");
    let mut source = std::fs::read_to_string(&path).unwrap();
    source.push_str(
        r#"

_before_version = respond


def respond(method, path, environ):
    if path.split("?")[0] == "/version":
        return 200, "text/plain", b"2\n"
    return _before_version(method, path, environ)
"#,
    );
    std::fs::write(&path, source).unwrap();
    let toml = envs.release_toml();
    let toml = toml.replacen(
        "[environments.production]",
        "[[environments.staging.smoke]]\nhttp = \"GET /version\"\nexpect_status = 200\nwithin = \"2s\"\n\n[environments.production]",
        1,
    );
    envs.app.write("release.toml", &toml);
    let newer = envs.app.commit_all("GET /version, checked on staging");
    envs.build();
    envs.expect(0, &["deploy", "staging"]);
    assert!(health(envs.staging).1.contains(&newer));

    // Its first smoke checks failed, its latest passed: a rollback candidate.
    let said = envs.expect(0, &["rollback", "staging"]);
    assert_eq!(envs.running_image("staging"), first_image, "{said}");
    assert!(
        said.contains(&format!("smoke checks committed in {}", &first[..7])),
        "{said}"
    );
    assert!(!said.contains("GET /version"), "the newer check ran: {said}");
    assert!(health(envs.staging).1.contains(&first));
    let row = envs.status_row("staging");
    assert_eq!(row["smoke"], true, "{row}");
}

#[test]
fn history_survives_deleting_the_state_directory_during_a_deploy() {
    let envs = Envs::new();
    // Staging's release takes a few seconds to answer: the deploy is under way a while.
    let toml = envs.release_toml();
    envs.app.write(
        "release.toml",
        &toml.replacen(
            "[environments.staging]\n",
            "[environments.staging]\ncommand = [\"sh\", \"-c\", \"sleep 3; exec python /srv/hello.pyz\"]\n",
            1,
        ),
    );
    let commit = envs.app.commit_all("a slow start on staging");
    envs.build();
    let deploy = envs
        .app
        .shipdeck()
        .args(["deploy", "staging"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its name ends in a hash of app and environment (see shipdeck::docker::names).
    let lock = format!("shipdeck-lock-{}-staging-", envs.app.name);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !envs.app.volumes().iter().any(|v| v.starts_with(&lock)) {
        assert!(std::time::Instant::now() < deadline, "the deploy never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::remove_dir_all(envs.app.path().join(".shipdeck")).unwrap();
    let out = deploy.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let history = envs.expect(0, &["history", "staging"]);
    let row = history
        .lines()
        .find(|l| l.contains("deploy") && l.contains(&commit[..7]))
        .unwrap_or_else(|| panic!("the deploy's record is gone:\n{history}"));
    assert!(row.contains("succeeded"), "{history}");
    assert!(history.contains("kept on the engine"), "{history}");
    // The engine's copy does not double a row the local history has.
    envs.expect(0, &["smoke", "staging"]);
    envs.app.write("NOTES", "next\n");
    let next = envs.app.commit_all("next release");
    envs.build();
    envs.expect(0, &["deploy", "staging"]);
    let history = envs.expect(0, &["history", "staging"]);
    let rows = history
        .lines()
        .filter(|l| l.contains("deploy") && l.contains(&next[..7]))
        .count();
    assert_eq!(rows, 1, "{history}");
}

/// A Dockerfile ending in a line continuation swallows the generated `LABEL` line; its own
/// labels claiming another app's release must not win: the build API's labels override them.
#[test]
fn a_dockerfile_cannot_forge_another_apps_release_labels() {
    let envs = Envs::new();
    let path = envs.app.path().join("Dockerfile");
    let mut dockerfile = std::fs::read_to_string(&path).unwrap();
    dockerfile.push_str(
        "\nLABEL dev.shipdeck.app=\"other-app\" dev.shipdeck.commit=\"forged\" dev.shipdeck.role=\"release\" dev.shipdeck.run=\"3\"\nRUN true \\\n",
    );
    std::fs::write(&path, dockerfile).unwrap();
    envs.app.commit_all("forging another app's labels");
    let commit = envs.build();
    let images = envs.release_images_of(&commit);
    assert_eq!(
        images.len(),
        1,
        "no release image of {} labelled as its own app",
        envs.app.name
    );
    let out = std::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{json .Config.Labels}}", &images[0]])
        .output()
        .unwrap();
    let labels: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(labels["dev.shipdeck.app"], envs.app.name.as_str(), "{labels}");
    assert_eq!(labels["dev.shipdeck.commit"], commit.as_str(), "{labels}");
    assert_eq!(labels["dev.shipdeck.run"], "1", "{labels}");
}

#[test]
fn an_uncommitted_smoke_check_edit_cannot_verify_a_failing_release() {
    // Strategy `recreate`: the failing release must run on staging for `smoke` to judge it.
    // With the proxy (the default) it is removed before it serves: tests/system/proxy.rs.
    let envs = Envs::hello_py(|toml| {
        format!("{}within = \"3s\"\n", short_smoke(&toml)).replace(
            "env = { APP_ENV = \"staging\" }",
            "env = { APP_ENV = \"staging\" }\nstrategy = \"recreate\"",
        )
    });
    // A release whose /health fails on staging only: staging's committed checks fail it.
    envs.commit_health_failing_when("environ.get(\"APP_ENV\") == \"staging\"", "broken on staging");
    let broken = envs.build();
    let said = envs.expect(1, &["deploy", "staging"]);
    assert!(said.contains("FAILED"), "{said}");
    assert!(
        health(envs.staging).0 == 503,
        "staging keeps running the broken release"
    );

    // The working copy drops staging's smoke checks, not committed: `smoke` still runs HEAD's,
    // so the release stays unverified and cannot be promoted.
    let toml = std::fs::read_to_string(envs.app.path().join("release.toml")).unwrap();
    let start = toml.find("[[environments.staging.smoke]]").unwrap();
    let end = toml.find("[environments.production]").unwrap();
    let without = format!("{}{}", &toml[..start], &toml[end..]);
    envs.app.write("release.toml", &without);
    let said = envs.expect(1, &["smoke", "staging"]);
    assert!(said.contains("uncommitted changes to the gates of staging"), "{said}");
    assert!(said.contains("smoke checks 1 check → 0 checks"), "{said}");
    assert_eq!(envs.status_row("staging")["smoke"], false);
    let said = envs.expect(4, &["promote", "production", "--yes"]);
    assert!(said.contains("failed its smoke checks on staging"), "{said}");
    assert_eq!(health(envs.production).0, 0, "production runs the broken release");

    // A deploy again: verified with HEAD's checks too, and fails.
    let said = envs.expect(1, &["deploy", "staging", "--release", &broken[..8]]);
    assert!(said.contains("FAILED"), "{said}");

    // --force applies the working copy's checks, and the audit says so.
    let said = envs.expect(0, &["smoke", "staging", "--force"]);
    assert!(said.contains("FORCED"), "{said}");
    let history = envs.expect(0, &["history", "staging"]);
    assert!(
        history.contains("forced past uncommitted gates: smoke checks 1 check → 0 checks"),
        "{history}"
    );
}

#[test]
fn without_a_readable_policy_at_head_nothing_changes_an_environment_unforced() {
    let envs = Envs::new();
    let commit = envs.build();
    envs.expect(0, &["deploy", "staging"]);
    let toml = std::fs::read_to_string(envs.app.path().join("release.toml")).unwrap();

    // An environment that only the working copy has: its gates are anybody's edit.
    let qa_port = free_port();
    envs.app.write(
        "release.toml",
        &format!("{toml}\n[environments.qa]\npublish = \"127.0.0.1:{qa_port}:8080\"\n"),
    );
    let out = envs.shipdeck(&["deploy", "qa", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let finished = finished_op(&out);
    assert_eq!(finished["refusal"], "gated", "{finished}");
    assert!(
        finished["message"]
            .as_str()
            .unwrap()
            .contains("has no [environments.qa]"),
        "{finished}"
    );
    // --force uses the working copy's gates, but whether HEAD would want an approval cannot
    // be told: one is needed.
    let said = envs.expect(4, &["deploy", "qa", "--force"]);
    assert!(said.contains("needs an approval"), "{said}");
    let said = envs.expect(0, &["deploy", "qa", "--force", "--yes"]);
    assert!(said.contains("FORCED"), "{said}");
    let history = envs.expect(0, &["history", "qa"]);
    assert!(history.contains("uncommitted policy"), "{history}");
    envs.expect(4, &["smoke", "qa"]);
    envs.expect(0, &["smoke", "qa", "--force"]);

    // HEAD's release.toml does not parse; the working copy's (fixed, gates removed) does.
    envs.app.write("release.toml", &toml.replacen("[app]", "[app", 1));
    envs.app.commit_all("a broken release.toml");
    let lowered = toml
        .replace("promote_from = \"staging\"\n", "")
        .replace("approval = true\n", "");
    envs.app.write("release.toml", &lowered);
    for args in [
        vec!["deploy", "production", "--release", &commit[..8]],
        vec!["deploy", "production", "--release", &commit[..8], "--yes"],
        vec!["promote", "production", "--yes"],
        vec!["rollback", "production", "--yes"],
        vec!["smoke", "staging"],
    ] {
        let out = envs.shipdeck(&[&args[..], &["--json"]].concat());
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", text(&out));
        let finished = finished_op(&out);
        assert_eq!(finished["refusal"], "gated", "{args:?}: {finished}");
        assert!(
            finished["message"].as_str().unwrap().contains("does not parse"),
            "{args:?}: {finished}"
        );
    }
    let said = envs.expect(4, &["rollback", "production", "--force"]);
    assert!(said.contains("needs an approval"), "{said}");
    assert_eq!(health(envs.production).0, 0, "production runs something");

    // The working copy renames the app: HEAD's gates are another app's, not these.
    envs.app.write("release.toml", &toml);
    envs.app.commit_all("release.toml fixed");
    let renamed = toml.replacen(&format!("name = \"{}\"", envs.app.name), "name = \"some-other-app\"", 1);
    assert_ne!(renamed, toml);
    envs.app.write("release.toml", &renamed);
    let out = envs.shipdeck(&["deploy", "staging", "--json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let finished = finished_op(&out);
    assert_eq!(finished["refusal"], "gated", "{finished}");
    assert!(
        finished["message"].as_str().unwrap().contains("renames the app"),
        "{finished}"
    );
}

#[test]
fn an_image_built_from_a_release_is_not_a_release_even_without_the_history() {
    let envs = Envs::new();
    let commit = envs.build();
    let real = envs.release_images_of(&commit);
    assert_eq!(real.len(), 1, "{real:?}");
    // Built by hand FROM the release: it inherits every release label, and is newer.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {}\nENV DEBUG_BUILD=1\n", real[0]),
    )
    .unwrap();
    let tag = format!("{}-debug:latest", envs.app.name);
    let out = run(std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(dir.path()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let derived = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_ne!(derived, real[0]);
    assert_eq!(envs.release_images_of(&commit).len(), 2, "the labels are inherited");

    let short = derived.trim_start_matches("sha256:")[..12].to_string();
    let by_id = format!("sha256:{short}");
    let said = envs.expect(4, &["deploy", "staging", "--release", &by_id]);
    assert!(
        said.contains(&format!("no release image whose ID starts with {short}")),
        "{said}"
    );
    // Without the local history (a fresh clone, another machine) the engine's records tell.
    std::fs::remove_dir_all(envs.app.path().join(".shipdeck")).unwrap();
    let said = envs.expect(0, &["deploy", "staging"]);
    assert_eq!(envs.running_image("staging"), real[0], "{said}");
    let said = envs.expect(4, &["deploy", "staging", "--release", &by_id]);
    assert!(said.contains("no release image"), "{said}");
    // Named by a bare prefix it is no commit and no release either.
    let said = envs.expect(2, &["deploy", "staging", "--release", &short]);
    assert!(said.contains("is not a commit of this repository"), "{said}");
    let said = envs.expect(0, &["deploy", "staging", "--release", "#1"]);
    assert!(said.contains("run #1"), "{said}");
    assert_eq!(envs.running_image("staging"), real[0]);
}
