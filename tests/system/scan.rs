//! Security scans as a release gate, against the real engine and the real bandit of
//! `shipdeck/scanner:bookworm`: planted findings fail `fail_on = "high"`, pass a
//! Critical-only gate, an `ignore` holds until its date, hostile reports (a symlink out of the
//! workspace, 50 MB, escape sequences) fail the stage without harm, and a release whose scan
//! failed is refused by deploy (and rollback) unless `--force`, which the audit records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::deploy::Deployable;
use common::envs::finished_op;
use common::*;

const SCANNER: &str = "shipdeck/scanner:bookworm";

fn bandit_stage(name: &str, scan_extra: &str) -> String {
    format!(
        r#"
[stages.{name}]
image = "{SCANNER}"
network = "none"
run = ["mkdir -p reports", "bandit -q -r app -f sarif -o reports/{name}.sarif"]
scan = {{ sarif = "reports/{name}.sarif"{scan_extra} }}
"#
    )
}

fn verdict<'a>(events: &'a [serde_json::Value], stage: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "scan_finished" && e["stage"] == stage)
        .map(|e| &e["verdict"])
        .unwrap_or_else(|| panic!("no scan_finished for {stage}"))
}

#[test]
fn bandit_findings_gate_by_fail_on_and_ignore_holds_until_its_date() {
    require_docker(&[SCANNER]);
    let mut toml = "[app]\nname = \"{app}\"\n".to_string();
    toml.push_str(&bandit_stage("high", ", fail_on = \"high\""));
    toml.push_str(&bandit_stage("critical_only", ", fail_on = \"critical\""));
    toml.push_str(&bandit_stage(
        "ignored",
        ", ignore = [{ id = \"B602\", reason = \"fixture\", until = 2099-12-31 }]",
    ));
    toml.push_str(&bandit_stage(
        "expired",
        ", ignore = [{ id = \"B602\", reason = \"fixture\", until = 2000-01-01 }]",
    ));
    let app = TestApp::with_config("scan-gate", &toml);
    app.write(
        "app/planted.py",
        &std::fs::read_to_string(repo_root().join("fixtures/scan/planted.py")).unwrap(),
    );
    app.commit_all("planted findings");
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 1, "failed scans fail the run: {stderr}");

    let high = verdict(&events, "high");
    assert_eq!(high["passed"], false, "{high}");
    assert_eq!(high["counts"]["high"], 1, "{high}");
    // B105 (the password) and B404 (importing subprocess): both low.
    assert_eq!(high["counts"]["low"], 2, "{high}");
    assert_eq!(finished(&events, "high")["status"], "failed");
    assert!(log_lines(&events, "high")
        .iter()
        .any(|l| l.contains("B602") && l.contains("planted.py:8")));

    let critical = verdict(&events, "critical_only");
    assert_eq!(
        critical["passed"], true,
        "a Critical-only gate lets high findings pass: {critical}"
    );
    assert_eq!(finished(&events, "critical_only")["status"], "success");

    let ignored = verdict(&events, "ignored");
    assert_eq!(ignored["passed"], true, "{ignored}");
    assert_eq!(ignored["ignored"], 1, "{ignored}");
    assert_eq!(ignored["counts"]["high"], 0, "{ignored}");

    let expired = verdict(&events, "expired");
    assert_eq!(
        expired["passed"], false,
        "an expired ignore no longer ignores: {expired}"
    );
    assert_eq!(expired["expired"][0], "B602", "{expired}");
    let message = finished(&events, "expired")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("expired ignore: B602"), "{message}");

    // The history keeps the counts per severity, in words and in JSON.
    let history = text(&run(app.shipdeck().args(["history"])));
    assert!(history.contains("scan"), "{history}");
    let json = text(&run(app.shipdeck().args(["history", "--json"])));
    let runs: serde_json::Value = serde_json::from_str(&json).unwrap();
    let scans = runs[0]["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 4, "{json}");
    assert!(
        scans
            .iter()
            .any(|s| s["stage"] == "high" && s["verdict"]["counts"]["high"] == 1),
        "{json}"
    );
    app.assert_no_leftovers();
}

#[test]
fn hostile_reports_fail_the_stage_and_reach_nothing() {
    require_docker(&[SCANNER]);
    let escapes = std::fs::read_to_string(repo_root().join("fixtures/scan/escapes.sarif")).unwrap();
    let toml = format!(
        r#"[app]
name = "{{app}}"
[stages.symlink]
image = "{SCANNER}"
network = "none"
run = ["mkdir -p reports", "ln -s /etc/passwd reports/scan.sarif"]
scan = {{ sarif = "reports/scan.sarif" }}
[stages.dir_link]
image = "{SCANNER}"
network = "none"
run = ["ln -s /etc out"]
scan = {{ sarif = "out/passwd" }}
[stages.huge]
image = "{SCANNER}"
network = "none"
run = ["mkdir -p big", "head -c 52428800 /dev/zero | tr '\\0' ' ' > big/scan.sarif"]
scan = {{ sarif = "big/scan.sarif" }}
[stages.escapes]
image = "{SCANNER}"
network = "none"
run = ["mkdir -p r", "cp escapes.sarif r/s.sarif"]
scan = {{ sarif = "r/s.sarif", fail_on = "critical" }}
[stages.missing]
image = "{SCANNER}"
network = "none"
run = ["false"]
scan = {{ sarif = "nothing.sarif" }}
"#
    );
    let app = TestApp::with_config("scan-hostile", &toml);
    app.write("escapes.sarif", &escapes);
    app.commit_all("hostile report");
    let (code, events, stderr) = app.run_json(&[]);
    assert_eq!(code, 1, "{stderr}");
    let message = |stage: &str| {
        finished(&events, stage)["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(finished(&events, "symlink")["status"], "failed");
    assert!(message("symlink").contains("symlink"), "{}", message("symlink"));
    assert_eq!(finished(&events, "dir_link")["status"], "failed");
    assert_eq!(finished(&events, "huge")["status"], "failed");
    assert!(message("huge").contains("larger than 16MiB"), "{}", message("huge"));
    assert_eq!(finished(&events, "missing")["status"], "failed");
    assert!(
        message("missing").contains("exited with code 1"),
        "{}",
        message("missing")
    );
    // The hostile text arrives, defused: no control character in any line or event.
    let escaped = verdict(&events, "escapes");
    assert_eq!(escaped["counts"]["high"], 1, "{escaped}");
    assert_eq!(finished(&events, "escapes")["status"], "success");
    let out = serde_json::to_string(&events).unwrap();
    for bad in ["\\u001b", "\\u0007", "\\r"] {
        assert!(!out.contains(bad), "{bad} reached the events");
    }
    assert!(log_lines(&events, "escapes").iter().any(|l| l.contains("red alert")));
    // Nothing was written outside the run's artifacts directory.
    assert!(!app.path().join("passwd").exists());
    app.assert_no_leftovers();
}

#[test]
fn a_release_whose_scan_failed_is_refused_unless_forced_and_the_audit_says_so() {
    require_docker(&[SCANNER, "python:3.11-slim"]);
    let _one = one_at_a_time();
    let d = Deployable::new("");
    let toml = std::fs::read_to_string(d.app.path().join("release.toml")).unwrap();
    let scan = bandit_stage("security", ", fail_on = \"high\"");
    d.app.write(
        "release.toml",
        &toml.replacen("[stages.package]", &format!("{scan}\n[stages.package]"), 1),
    );
    d.app.write(
        "app/planted.py",
        &std::fs::read_to_string(repo_root().join("fixtures/scan/planted.py")).unwrap(),
    );
    d.app.commit_all("a scan stage, and findings");
    let (code, events, _) = d.app.run_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(verdict(&events, "security")["passed"], false);
    assert!(
        events.iter().any(|e| e["event"] == "image_built"),
        "the package stage does not need the scan"
    );

    let refused = d.shipdeck(&["deploy", "staging"]);
    let out = text(&refused);
    assert_eq!(refused.status.code(), Some(4), "{out}");
    assert!(out.contains("failed scan `security`"), "{out}");
    assert!(out.contains("--force"), "{out}");
    assert_eq!(d.health().0, 0, "nothing was deployed");

    let forced = d.shipdeck(&["deploy", "staging", "--force", "--json"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    assert_eq!(finished_op(&forced)["outcome"], "succeeded");
    let history = text(&d.shipdeck(&["history", "staging", "--json"]));
    assert!(
        history.contains("the scan gate"),
        "the audit names the gate overridden: {history}"
    );
    assert!(history.contains("failed scan `security`"), "{history}");

    // A clean release replaces it; rolling back would put the failed one back: the same gate.
    std::fs::remove_file(d.app.path().join("app/planted.py")).unwrap();
    d.app.commit_all("findings fixed");
    let (code, events, _) = d.app.run_json(&[]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(verdict(&events, "security")["passed"], true);
    let clean = d.shipdeck(&["deploy", "staging"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    let serving = d.health();
    assert_eq!(serving.0, 200);
    let refused = d.shipdeck(&["rollback", "staging"]);
    let out = text(&refused);
    assert_eq!(refused.status.code(), Some(4), "{out}");
    assert!(out.contains("refusing to roll back to staging"), "{out}");
    assert!(out.contains("failed scan `security`"), "{out}");
    assert!(out.contains("--force rolls back anyway"), "{out}");
    assert_eq!(
        d.health(),
        serving,
        "the refused rollback left the clean release serving"
    );
    let forced = d.shipdeck(&["rollback", "staging", "--force", "--json"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    let op = finished_op(&forced);
    assert_eq!(op["outcome"], "succeeded", "{op}");
    let out = d.shipdeck(&["history", "staging", "--json"]);
    let ops: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let rollback = ops
        .iter()
        .find(|o| o["action"] == "rollback" && o["outcome"] == "succeeded");
    let rollback = rollback.unwrap_or_else(|| panic!("no rollback in {ops:#?}"));
    assert_eq!(rollback["forced"], true, "{rollback}");
    let overridden = rollback["overridden"].as_str().unwrap_or_default();
    assert!(
        overridden.contains("the scan gate"),
        "the audit names the gate: {rollback}"
    );
}
