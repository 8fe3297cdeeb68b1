//! `evaluate`, placeholders, URLs, excerpts and timeouts: no network.

use std::time::Duration;

use super::super::http::Target;
use super::super::*;
use super::*;
use crate::config::JsonScalar;

// ---- placeholders ----

#[test]
fn fill_replaces_known_placeholders_only() {
    let c = ctx("http://127.0.0.1:18080");
    assert_eq!(
        c.fill("{commit} {short_commit} {env} {url}"),
        "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 a1b2c3d staging http://127.0.0.1:18080"
    );
    assert_eq!(
        c.fill("{unknown} {} {3} {\"a\": 1} {env"),
        "{unknown} {} {3} {\"a\": 1} {env"
    );
    assert_eq!(c.fill("{{env}}"), "{staging}");
    assert_eq!(c.fill("no braces"), "no braces");
    assert_eq!(c.fill("é{env}ü"), "éstagingü");
    // A value holding a placeholder is not filled again.
    let odd = SmokeContext {
        env: "{commit}".to_string(),
        ..c
    };
    assert_eq!(odd.fill("{env}"), "{commit}");
}

// ---- status ----

#[test]
fn any_2xx_passes_without_expect_status() {
    let c = check("GET /health");
    assert_eq!(eval(&c, 200, ""), ok("200 OK"));
    assert_eq!(eval(&c, 204, ""), ok("204 No Content"));
    assert_eq!(eval(&c, 503, ""), err("expected a 2xx status, got 503"));
    assert_eq!(eval(&c, 301, ""), err("expected a 2xx status, got 301"));
}

#[test]
fn expect_status_must_equal() {
    let c = SmokeCheck {
        expect_status: Some(404),
        ..check("GET /missing")
    };
    assert_eq!(eval(&c, 404, ""), ok("404 Not Found"));
    assert_eq!(eval(&c, 200, ""), err("expected status 404, got 200"));
}

#[test]
fn a_wrong_status_fails_alone() {
    let c = SmokeCheck {
        expect_body: Some("ok".into()),
        ..check("GET /health")
    };
    assert_eq!(eval(&c, 500, "boom"), err("expected a 2xx status, got 500"));
}

// ---- body text ----

#[test]
fn expect_body_with_placeholders() {
    let c = SmokeCheck {
        expect_body: Some("{short_commit}".into()),
        ..check("GET /version")
    };
    assert_eq!(
        eval(&c, 200, "version a1b2c3d\n"),
        ok("200 OK, body contains \"a1b2c3d\"")
    );
    assert_eq!(
        eval(&c, 200, "version 0000000"),
        err("expected body to contain \"a1b2c3d\"")
    );
    let env = SmokeCheck {
        expect_body: Some("env={env}".into()),
        ..check("GET /")
    };
    assert!(eval(&env, 200, "env=staging").is_ok());
    assert!(eval(&env, 200, "env={env}").is_err());
}

// ---- body regex ----

#[test]
fn expect_body_regex_matches_after_placeholders() {
    let c = SmokeCheck {
        expect_body_regex: Some(r"^build [0-9a-f]{7} \({env}\)$".into()),
        ..check("GET /build")
    };
    assert_eq!(
        eval(&c, 200, "build a1b2c3d (staging)"),
        ok(r"200 OK, body matches /^build [0-9a-f]{7} \(staging\)$/")
    );
    assert_eq!(
        eval(&c, 200, "build a1b2c3d (prod)"),
        err(r"expected body to match /^build [0-9a-f]{7} \(staging\)$/")
    );
}

#[test]
fn regex_placeholder_values_match_literally() {
    let c = SmokeCheck {
        expect_body_regex: Some("^{url}$".into()),
        ..check("GET /")
    };
    assert!(eval(&c, 200, "http://127.0.0.1:18080").is_ok());
    assert!(eval(&c, 200, "http://127x0x0x1:18080").is_err());
}

#[test]
fn an_invalid_regex_is_a_failure_not_a_panic() {
    let c = SmokeCheck {
        expect_body_regex: Some("(unclosed".into()),
        ..check("GET /")
    };
    let err = eval(&c, 200, "anything").unwrap_err();
    assert!(
        err.starts_with("expect_body_regex /(unclosed/ is not a valid regular expression: "),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("unclosed group"), "{err}");
}

// ---- JSON ----

#[test]
fn json_string_values_with_placeholders() {
    let c = json_check(&[
        ("/status", JsonScalar::String("ok".into())),
        ("/build/commit", JsonScalar::String("{commit}".into())),
    ]);
    let body = r#"{"status":"ok","build":{"commit":"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}}"#;
    assert_eq!(
        eval(&c, 200, body),
        ok("200 OK, /status = \"ok\", /build/commit = \"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678\"")
    );
    let body = r#"{"status":"degraded","build":{"commit":"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}}"#;
    assert_eq!(eval(&c, 200, body), err("/status: expected \"ok\", found \"degraded\""));
}

#[test]
fn json_missing_pointer_and_not_json() {
    let c = json_check(&[("/build", JsonScalar::Bool(true))]);
    assert_eq!(
        eval(&c, 200, r#"{"status":"ok"}"#),
        err("/build: not found in the JSON body")
    );
    let err = eval(&c, 200, "<html>oops</html>").unwrap_err();
    assert!(err.starts_with("body is not JSON: "), "{err}");
}

#[test]
fn json_numbers_and_booleans() {
    let int = json_check(&[("/n", JsonScalar::Integer(3))]);
    assert!(eval(&int, 200, r#"{"n":3}"#).is_ok());
    assert!(eval(&int, 200, r#"{"n":3.0}"#).is_ok());
    assert_eq!(eval(&int, 200, r#"{"n":3.5}"#), err("/n: expected 3, found 3.5"));
    assert_eq!(eval(&int, 200, r#"{"n":"3"}"#), err("/n: expected 3, found \"3\""));
    assert!(eval(&int, 200, r#"{"n":18446744073709551615}"#).is_err());
    let neg = json_check(&[("/n", JsonScalar::Integer(-7))]);
    assert!(eval(&neg, 200, r#"{"n":-7}"#).is_ok());

    let float = json_check(&[("/ratio", JsonScalar::Float(0.5))]);
    assert!(eval(&float, 200, r#"{"ratio":0.5}"#).is_ok());
    assert!(eval(&float, 200, r#"{"ratio":5e-1}"#).is_ok());
    assert!(eval(&float, 200, r#"{"ratio":0.25}"#).is_err());
    let whole = json_check(&[("/ratio", JsonScalar::Float(1.0))]);
    assert!(eval(&whole, 200, r#"{"ratio":1}"#).is_ok());

    let flag = json_check(&[("/ready", JsonScalar::Bool(true))]);
    assert!(eval(&flag, 200, r#"{"ready":true}"#).is_ok());
    assert_eq!(
        eval(&flag, 200, r#"{"ready":false}"#),
        err("/ready: expected true, found false")
    );
    assert_eq!(
        eval(&flag, 200, r#"{"ready":{"db":true}}"#),
        err("/ready: expected true, found {\"db\":true}")
    );
}

#[test]
fn json_arrays_escaped_pointers_and_many_values() {
    let c = json_check(&[
        ("/checks/0/name", JsonScalar::String("db".into())),
        ("/a~1b", JsonScalar::Integer(1)),
        ("/env", JsonScalar::String("{env}".into())),
    ]);
    let body = r#"{"checks":[{"name":"db"}],"a/b":1,"env":"staging"}"#;
    assert_eq!(eval(&c, 200, body), ok("200 OK, 3 JSON values match"));
}

#[test]
fn every_failure_is_reported() {
    let c = SmokeCheck {
        expect_body: Some("{short_commit}".into()),
        expect_body_regex: Some("^ok".into()),
        expect_json: Some(vec![JsonExpectation {
            pointer: "/status".into(),
            value: JsonScalar::String("ok".into()),
        }]),
        ..check("GET /health")
    };
    assert_eq!(
        eval(&c, 200, r#"{"status":"degraded"}"#),
        err("expected body to contain \"a1b2c3d\"; expected body to match /^ok/; /status: expected \"ok\", found \"degraded\"")
    );
}

#[test]
fn long_values_are_clipped_in_messages() {
    let c = SmokeCheck {
        expect_body: Some("x".repeat(500)),
        ..check("GET /")
    };
    let err = eval(&c, 200, "").unwrap_err();
    assert!(err.chars().count() < 100, "{err}");
    assert!(err.contains('…'), "{err}");
}

// ---- URLs and excerpts ----

#[test]
fn target_urls() {
    let t = Target::parse("http://127.0.0.1:18080").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.authority.as_str()),
        ("127.0.0.1", 18080, "127.0.0.1:18080")
    );
    assert_eq!(t.base_path, "");
    let t = Target::parse("http://localhost").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.authority.as_str()),
        ("localhost", 80, "localhost")
    );
    let t = Target::parse("HTTP://[::1]:8080/").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.authority.as_str()),
        ("::1", 8080, "[::1]:8080")
    );
    assert_eq!(t.base_path, "");
    let t = Target::parse("http://[::1]").unwrap();
    assert_eq!((t.port, t.authority.as_str()), (80, "[::1]"));
    let t = Target::parse("http://example.test:81/app/").unwrap();
    assert_eq!(t.base_path, "/app");

    let err = Target::parse("https://127.0.0.1:8443").unwrap_err().to_string();
    assert!(err.contains("plain http only"), "{err}");
    for bad in [
        "ftp://host",
        "127.0.0.1:80",
        "http://",
        "http://:80",
        "http://host:99999",
        "http://host:0",
        "http://host:x",
        "http://[::1",
        "http://[::1]x",
        "http://u@host",
    ] {
        assert!(Target::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn excerpts_are_clipped_and_safe() {
    assert_eq!(
        body_excerpt("a\x1b[31mb\r\nc\td\u{7}"),
        "a\u{FFFD}[31mb\u{FFFD}\nc\td\u{FFFD}"
    );
    assert_eq!(body_excerpt(&"é".repeat(400)).chars().count(), 300);
}

#[test]
fn attempt_timeouts() {
    let now = Instant::now();
    assert_eq!(attempt_timeout(None, now), Duration::from_secs(5));
    assert_eq!(
        attempt_timeout(Some(now + Duration::from_secs(60)), now),
        Duration::from_secs(5)
    );
    assert_eq!(
        attempt_timeout(Some(now + Duration::from_millis(2500)), now),
        Duration::from_millis(2500)
    );
    assert_eq!(
        attempt_timeout(Some(now + Duration::from_millis(200)), now),
        Duration::from_secs(1)
    );
    assert_eq!(
        attempt_timeout(Some(now), now + Duration::from_secs(3)),
        Duration::from_secs(1)
    );
    assert_eq!(seconds(Duration::from_secs(5)), "5 s");
    assert_eq!(seconds(Duration::from_millis(1250)), "1.2 s");
}

#[test]
fn a_value_is_cut_only_when_cutting_saves_room() {
    let quoted = |len: usize| {
        let c = SmokeCheck {
            expect_body: Some("y".repeat(len)),
            ..check("GET /")
        };
        eval(&c, 200, "").unwrap_err()
    };
    // 61 characters fit the quote whole: an ellipsis would hide one without saving room.
    assert_eq!(quoted(61), format!("expected body to contain \"{}\"", "y".repeat(61)));
    assert_eq!(quoted(62), format!("expected body to contain \"{}…\"", "y".repeat(60)));
}
