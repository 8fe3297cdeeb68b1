//! Secrets and terminal sequences against the real engine (issue #8 items 6, 7, 9): a stage
//! printing a secret in every common encoding, with escapes inside and split across its
//! streams; a release whose smoke answer and logs carry the secret; a commit whose subject and
//! author carry terminal sequences. What shipdeck prints, the NDJSON, the log files and the
//! SQLite history must hold no trace of the secret and no escape sequence but colour.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
mod trace;

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use common::envs::{short_smoke, Envs, COMMAND_LIMIT};
use common::*;
use trace::{assert_only_sgr, json_unescape, reveals};

const PYTHON: &str = "python:3.11-slim";

/// Every file under `.shipdeck` (logs, the SQLite database and its WAL) as text.
fn state_files(app: &TestApp) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.path().join(".shipdeck"), &mut out);
    assert!(out.iter().any(|(p, _)| p.ends_with(".log")), "no log files: {out:?}");
    assert!(
        out.iter().any(|(p, _)| p.ends_with(".sqlite")),
        "no database: {:?}",
        out.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    out
}

fn assert_no_trace(what: &str, text: &str, secret: &str) {
    if let Some(how) = reveals(text, secret) {
        let at = text.find("***").unwrap_or(0);
        panic!(
            "{what} reveals the secret ({how}); around: {:?}",
            &text[at.saturating_sub(200).min(text.len())..(at + 400).min(text.len())]
        );
    }
}

/// The script a stage runs: the secret in each encoding, with escapes inside, split across
/// chunks and across stdout and stderr.
const LEAK_PY: &str = r#"
import base64, binascii, json, os, sys, time, urllib.parse
t = os.environ["API_TOKEN"]
b = t.encode()
out = sys.stdout
def say(*parts):
    print(*parts, flush=True)
say("plain=" + t)
for pad in range(3):
    say("b64-%d=" % pad + base64.b64encode(b"x" * pad + b + b"yz").decode())
    say("b64url-%d=" % pad + base64.urlsafe_b64encode(b"x" * pad + b).decode())
wrapped = base64.encodebytes(b"." * 50 + b + b"." * 70).decode()
say("wrapped:")
out.write(wrapped); out.flush()
say("url=" + urllib.parse.quote(t, safe=""))
say("url-slash=" + urllib.parse.quote(t))
say("url-plus=" + urllib.parse.quote_plus(t))
say("hex=" + binascii.hexlify(b).decode())
say("HEX=" + binascii.hexlify(b).decode().upper())
say("json=" + json.dumps({"token": t}))
say("json-raw=" + json.dumps({"token": t}, ensure_ascii=False))
say("erase=" + t[:6] + "\x1b[K" + t[6:])
say("title=" + t[:6] + "\x1b]2;owned\x07" + t[6:])
say("colour=" + t[:6] + "\x1b[31m" + t[6:] + "\x1b[0m")
out.write("chunks=" + t[:5]); out.flush(); time.sleep(0.3)
out.write(t[5:11]); out.flush(); time.sleep(0.3)
out.write(t[11:] + " end\n"); out.flush()
out.write("streams=" + t[:9]); out.flush(); time.sleep(0.5)
sys.stderr.write(t[9:] + " done\n"); sys.stderr.flush(); time.sleep(0.3)
say("")
out.write("interleaved=" + t[:4]); out.flush(); time.sleep(0.4)
sys.stderr.write(t[4:10]); sys.stderr.flush(); time.sleep(0.4)
out.write(t[10:] + " end\n"); out.flush(); time.sleep(0.3)
sys.stderr.write("\n"); sys.stderr.flush()
say("finished")
"#;

#[test]
fn a_stage_printing_a_secret_in_every_encoding_leaves_no_trace_in_output_logs_or_history() {
    require_docker(&[PYTHON]);
    let secret = "tok-S3cr3t/Val+ue\"é~42 x";
    let app = TestApp::with_config(
        "secret-forms",
        "[app]\nname = \"{app}\"\n[secrets]\nAPI_TOKEN = { env = \"SHIPDECK_TEST_TOKEN\" }\n[stages.leak]\nimage = \"python:3.11-slim\"\nnetwork = \"none\"\nrun = [\"python leak.py\"]\n",
    );
    app.write("leak.py", LEAK_PY);
    app.commit_all("a stage that prints its secret");
    for format in [&["--json"][..], &[][..]] {
        let out = run(app
            .shipdeck()
            .arg("run")
            .args(format)
            .env("SHIPDECK_TEST_TOKEN", secret));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        if format.is_empty() {
            assert!(stdout.contains("plain=***") && stdout.contains("finished"), "{stdout}");
            assert_only_sgr("`shipdeck run`", &stdout);
        } else {
            let events = parse_events(&stdout);
            let lines = log_lines(&events, "leak");
            // The stage ran in full and its lines were masked, not dropped.
            for expected in [
                "plain=***",
                "hex=***",
                "HEX=***",
                "url=***",
                "url-slash=***",
                "url-plus=***",
                "erase=***",
            ] {
                assert!(lines.iter().any(|l| l == expected), "no {expected:?} in {lines:#?}");
            }
            assert!(lines.iter().any(|l| l.starts_with("chunks=***")), "{lines:#?}");
            assert!(lines.iter().any(|l| l.starts_with("streams=***")), "{lines:#?}");
            assert!(lines.iter().any(|l| l.starts_with("*** done")), "{lines:#?}");
            assert!(lines.iter().any(|l| l.starts_with("interleaved=***")), "{lines:#?}");
            assert!(lines.iter().any(|l| l == "finished"), "{lines:#?}");
            assert_no_trace("NDJSON", &stdout, secret);
            // The JSON strings hold the text as shown: decode them and look again.
            let decoded: String = lines.join("\n");
            assert_no_trace("NDJSON lines", &decoded, secret);
            assert_only_sgr("NDJSON lines", &decoded);
        }
        assert_no_trace("stdout", &stdout, secret);
        assert_no_trace("stderr", &stderr, secret);
    }
    for (path, text) in state_files(&app) {
        assert_no_trace(&path, &text, secret);
        if path.contains("/logs/") {
            assert_only_sgr(&path, &text);
        }
    }
    let history = run(app.shipdeck().arg("history"));
    assert_no_trace("history", &String::from_utf8_lossy(&history.stdout), secret);
    app.assert_no_leftovers();
}

/// Runs shipdeck to its end with the secret in its environment.
fn shipdeck(app: &TestApp, args: &[&str], secret: &str) -> Output {
    run_within(
        app.shipdeck().args(args).env("SHIPDECK_TEST_TOKEN", secret),
        COMMAND_LIMIT,
    )
}

/// Once deployed (SHIPDECK_ENV is set there), the app prints its secret and answers /health
/// with 503 and the secret in the body, plain and base64.
const LEAKY_APP: &str = r#"

_good_respond = respond


def respond(method, path, environ):
    token = os.environ.get("API_TOKEN", "")
    if path.split("?")[0] == "/health" and os.environ.get("SHIPDECK_ENV"):
        import base64
        print("serving with token " + token, flush=True)
        body = "broken: token=%s b64=%s\n" % (token, base64.b64encode(token.encode()).decode())
        return 503, "text/plain", body.encode()
    return _good_respond(method, path, environ)
"#;

const EVIL: &str = "\x1b]52;c;cHduZWQ=\x07\x1b]2;pwned title\x07\x1b[2J\x1b[?1049h";

#[test]
fn a_leaky_release_from_a_commit_with_terminal_sequences_is_clean_in_run_deploy_status_and_history() {
    // Strategy `recreate`: the leaky release runs, and `smoke` judges it again.
    leaky_release_is_clean("recreate");
}

#[test]
fn a_leaky_release_failing_its_checks_before_the_proxy_switch_is_clean_too() {
    // Strategy `proxy` (the default): its smoke checks fail before the switch, where the
    // secret-bearing answer is shown; it never runs after, so `smoke` has nothing to judge.
    leaky_release_is_clean("proxy");
}

fn leaky_release_is_clean(strategy: &str) {
    let secret = "dep-S3cr3t/Va+lue\"x~9";
    let envs = Envs::hello_py(|toml| {
        let toml = toml.replace(
            "env = { APP_ENV = \"staging\" }",
            &format!("env = {{ APP_ENV = \"staging\" }}\nstrategy = \"{strategy}\""),
        );
        format!(
            "{}\n[secrets]\nAPI_TOKEN = {{ env = \"SHIPDECK_TEST_TOKEN\" }}\n\n[[environments.staging.smoke]]\ncommand = [\"python\", \"-c\", \"import os, urllib.request as u; print(u.urlopen(os.environ['SHIPDECK_URL'] + '/health').read())\"]\nwithin = \"2s\"\n",
            short_smoke(&toml)
        )
    });
    let (app, toml) = (&envs.app, envs.release_toml());
    let path = app.path().join("app/hello.py");
    let source = std::fs::read_to_string(&path).unwrap() + LEAKY_APP;
    std::fs::write(&path, source).unwrap();
    git(app.path(), &["add", "-A"]);
    let subject = format!("fix {EVIL}the \x1b[31mbuild\x1b[0m");
    let out = run(Command::new("git")
        .current_dir(app.path())
        .args(["commit", "-q", "-m", &subject])
        .env("GIT_AUTHOR_NAME", format!("Eve {EVIL}Mallory"))
        .env("GIT_AUTHOR_EMAIL", "eve@example.com")
        .env("GIT_COMMITTER_NAME", "Eve")
        .env("GIT_COMMITTER_EMAIL", "eve@example.com"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let raw = run(Command::new("git")
        .current_dir(app.path())
        .args(["log", "-1", "--format=%s%an"]));
    assert!(raw.stdout.contains(&0x1b), "the commit itself carries the sequences");

    let out = shipdeck(app, &["run"], secret);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert_only_sgr("`shipdeck run`", &said);
    assert!(!said.contains("pwned"), "{said}");
    assert!(said.contains("\"fix the build\" by Eve Mallory"), "{said}");

    // A release that dies at start, printing its secret: its last log lines are shown, masked.
    let crashing = toml.replacen(
        "env = { APP_ENV = \"staging\" }",
        "env = { APP_ENV = \"staging\" }\ncommand = [\"sh\", \"-c\", \"echo db password $API_TOKEN >&2; printf %s \\\"$API_TOKEN\\\" | base64 >&2; exit 3\"]",
        1,
    );
    app.write("release.toml", &crashing);
    let out = shipdeck(app, &["deploy", "staging", "--json"], secret);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("db password ***"),
        "the crash log is not shown: {stdout}"
    );
    assert_no_trace("a crashing release's logs", &stdout, secret);
    assert_only_sgr("a crashing release's logs", &json_unescape(&stdout));
    app.write("release.toml", &toml);

    for args in [
        &["deploy", "staging"][..],
        &["smoke", "staging", "--json"],
        &["status"],
        &["status", "--json"],
        &["history"],
        &["history", "staging"],
    ] {
        let out = shipdeck(app, args, secret);
        let said = text(&out);
        let what = format!("`shipdeck {}`", args.join(" "));
        assert_only_sgr(&what, &said);
        // NDJSON escapes controls; what it carries must be as clean once unescaped.
        assert_only_sgr(&what, &json_unescape(&said));
        assert_no_trace(&what, &said, secret);
        assert!(!said.contains("pwned"), "{what}: {said}");
        if args[0] == "smoke" && strategy == "proxy" {
            assert_eq!(out.status.code(), Some(4), "{what}: {said}");
            assert!(said.contains("nothing runs on staging"), "{what}: {said}");
        } else if matches!(args[0], "deploy" | "smoke") {
            // The smoke checks failed on the secret-bearing answer: shown, masked.
            assert_eq!(out.status.code(), Some(1), "{what}: {said}");
            assert!(said.contains("503") && said.contains("***"), "{what}: {said}");
        }
        if args == ["status"] && strategy == "recreate" {
            assert!(said.contains("fix the build"), "{what}: {said}");
        } else if args == ["status"] {
            assert!(said.contains("staging     not deployed"), "{what}: {said}");
        }
    }
    for (path, text) in state_files(app) {
        assert_no_trace(&path, &text, secret);
        assert!(!text.contains("pwned"), "{path} keeps the title sequence");
        if path.contains("/logs/") {
            assert_only_sgr(&path, &text);
        }
    }
}

#[test]
fn the_trace_finder_sees_every_encoding_the_tests_rely_on() {
    let secret = "tok-S3cr3t/Val+ue\"é~42 x";
    let b = secret.as_bytes();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let wrapped = base64::engine::general_purpose::STANDARD.encode([&[b'.'; 50][..], b].concat());
    let wrapped = format!("{}\n{}", &wrapped[..76], &wrapped[76..]);
    for leak in [
        secret.to_string(),
        base64::engine::general_purpose::STANDARD.encode([b"x", b].concat()),
        base64::engine::general_purpose::URL_SAFE.encode([b"xy", b].concat()),
        wrapped,
        hex.clone(),
        hex.to_uppercase(),
        "tok-S3cr3t%2FVal%2Bue%22%C3%A9~42%20x".into(),
        "tok-S3cr3t/Val%2Bue%22%C3%A9~42+x".into(),
        serde_json::to_string(secret).unwrap(),
        r#""tok-S3cr3t\/Val+ue\"\u00e9~42 x""#.into(),
    ] {
        assert!(reveals(&format!("a {leak} b"), secret).is_some(), "not seen: {leak}");
    }
    assert!(reveals("a *** b tok-S3c", secret).is_none());
}

#[test]
fn check_warns_about_short_secrets_without_failing_or_showing_them() {
    let app = TestApp::with_config(
        "secret-check",
        "[app]\nname = \"{app}\"\n[secrets]\nSHORT = { env = \"SHIPDECK_TEST_SHORT\" }\nTINY = { env = \"SHIPDECK_TEST_TINY\" }\nLONG = { env = \"SHIPDECK_TEST_LONG\" }\n[stages.t]\nimage = \"debian:bookworm-slim\"\nrun = \"true\"\n",
    );
    let out = run(app
        .shipdeck()
        .arg("check")
        .env("SHIPDECK_TEST_SHORT", "abc1234")
        .env("SHIPDECK_TEST_TINY", "xyz")
        .env("SHIPDECK_TEST_LONG", "long-enough-value"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "a warning, not an error: {stdout}{stderr}");
    assert!(
        stderr.contains("warning: secret SHORT ($SHIPDECK_TEST_SHORT) is 7 characters long: shorter than 8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("secret TINY ($SHIPDECK_TEST_TINY) is 3 characters long") && stderr.contains("NOT masked"),
        "{stderr}"
    );
    assert!(!stderr.contains("LONG"), "{stderr}");
    for value in ["abc1234", "xyz", "long-enough-value"] {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "a value is shown: {stdout}{stderr}"
        );
    }
}

#[test]
fn check_prints_no_terminal_sequence_a_release_toml_carries() {
    let app = TestApp::with_config(
        "evil-toml",
        "[app]\nname = \"{app}\"\n[stages.t]\nimage = \"debian:bookworm-slim\\u001b]2;pwned\\u0007\"\nrun = [\"echo \\u001b]52;c;aGk=\\u0007\\u001b[2Jhi\"]\n",
    );
    let out = run(app.shipdeck().arg("check"));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("echo hi"), "{said}");
    assert_only_sgr("`shipdeck check`", &said);
    assert!(!said.contains("pwned") && !said.contains("aGk="), "{said}");
    // An invalid file whose error quotes a key with sequences in it.
    app.write(
        "release.toml",
        &format!(
            "[app]\nname = \"{}\"\n\"x\\u001b]2;pwned\\u0007\\u001b[?1049h\" = 1\n[stages.t]\nimage = \"i\"\nrun = \"r\"\n",
            app.name
        ),
    );
    let out = run(app.shipdeck().arg("check"));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert_only_sgr("`shipdeck check` of a bad file", &said);
    assert!(!said.contains("pwned"), "{said}");
}
