//! Tests of HTTP smoke checks: the pure evaluation of answers (`evaluate`), and whole checks
//! against a tiny real HTTP server (`server`). Shared builders live here.

mod evaluate;
mod server;

use super::*;
use crate::config::{JsonExpectation, JsonScalar, SmokeCheck};

fn ctx(url: &str) -> SmokeContext {
    SmokeContext {
        url: url.to_string(),
        commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".to_string(),
        short_commit: "a1b2c3d".to_string(),
        env: "staging".to_string(),
    }
}

fn check(http: &str) -> SmokeCheck {
    SmokeCheck {
        http: Some(http.to_string()),
        command: None,
        expect_status: None,
        expect_body: None,
        expect_body_regex: None,
        expect_json: None,
        within: None,
    }
}

fn json_check(pairs: &[(&str, JsonScalar)]) -> SmokeCheck {
    SmokeCheck {
        expect_json: Some(
            pairs
                .iter()
                .map(|(p, v)| JsonExpectation {
                    pointer: p.to_string(),
                    value: v.clone(),
                })
                .collect(),
        ),
        ..check("GET /health")
    }
}

fn eval(check: &SmokeCheck, status: u16, body: &str) -> Result<String, String> {
    evaluate(check, &ctx("http://127.0.0.1:18080"), status, body)
}

fn ok(summary: &str) -> Result<String, String> {
    Ok(summary.to_string())
}

fn err(reason: &str) -> Result<String, String> {
    Err(reason.to_string())
}
