//! Judging one HTTP answer against a check's expectations: status, body text, body regex,
//! JSON values. Pure: no I/O, no clock.

use serde_json::Value;

use crate::config::{JsonScalar, SmokeCheck};
use crate::text::truncate;

use super::SmokeContext;

/// How many characters of an expected or found value a message quotes, `…` included (a
/// longer value keeps its first 60).
const QUOTE_CHARS: usize = 61;

/// Evaluates one response against a check's expectations (placeholders filled from `ctx`).
/// `Ok` holds a short summary such as `200 OK, body contains "a1b2c3d"`; `Err` holds why the
/// check failed, such as `expected status 200, got 503` (several failures joined by `; `).
pub fn evaluate(check: &SmokeCheck, ctx: &SmokeContext, status: u16, body: &str) -> Result<String, String> {
    let matched = matches(check, ctx, status, body)?;
    Ok(summary(status, None, &matched))
}

/// What matched, or why the answer fails. The status is judged first: a wrong status fails
/// alone, since the body of an error page says nothing useful about the other expectations.
pub(super) fn matches(check: &SmokeCheck, ctx: &SmokeContext, status: u16, body: &str) -> Result<Vec<String>, String> {
    match check.expect_status {
        Some(expected) if expected != status => return Err(format!("expected status {expected}, got {status}")),
        None if !(200..300).contains(&status) => return Err(format!("expected a 2xx status, got {status}")),
        _ => {}
    }
    let mut matched = Vec::new();
    let mut failures = Vec::new();
    if let Some(text) = &check.expect_body {
        let text = ctx.fill(text);
        let quoted = quote(&text);
        if body.contains(&text) {
            matched.push(format!("body contains {quoted}"));
        } else {
            failures.push(format!("expected body to contain {quoted}"));
        }
    }
    if let Some(pattern) = &check.expect_body_regex {
        match body_regex(pattern, ctx) {
            Ok(re) if re.is_match(body) => {
                matched.push(format!("body matches /{}/", truncate(re.as_str(), QUOTE_CHARS)))
            }
            Ok(re) => failures.push(format!(
                "expected body to match /{}/",
                truncate(re.as_str(), QUOTE_CHARS)
            )),
            Err(reason) => failures.push(reason),
        }
    }
    if let Some(expectations) = &check.expect_json {
        match serde_json::from_str::<Value>(body) {
            Err(e) => failures.push(format!("body is not JSON: {e}")),
            Ok(json) => {
                let mut found_all = Vec::new();
                for expectation in expectations {
                    let expected = match &expectation.value {
                        JsonScalar::String(s) => JsonScalar::String(ctx.fill(s)),
                        other => other.clone(),
                    };
                    let name = pointer_name(&expectation.pointer);
                    match json.pointer(&expectation.pointer) {
                        None => failures.push(format!("{name}: not found in the JSON body")),
                        Some(found) if scalar_eq(&expected, found) => {
                            found_all.push(format!("{name} = {}", show_json(found)))
                        }
                        Some(found) => failures.push(format!(
                            "{name}: expected {}, found {}",
                            truncate(&expected.to_string(), QUOTE_CHARS),
                            show_json(found)
                        )),
                    }
                }
                match found_all.len() {
                    0 => {}
                    1..=2 => matched.extend(found_all),
                    n => matched.push(format!("{n} JSON values match")),
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(matched)
    } else {
        Err(failures.join("; "))
    }
}

/// `200 OK in 12 ms, body contains "a1b2c3d"`; without a latency: `200 OK, …`.
pub(super) fn summary(status: u16, latency_ms: Option<u64>, matched: &[String]) -> String {
    let mut out = status.to_string();
    if let Some(reason) = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        out.push(' ');
        out.push_str(reason);
    }
    if let Some(ms) = latency_ms {
        out.push_str(&format!(" in {ms} ms"));
    }
    for m in matched {
        out.push_str(", ");
        out.push_str(m);
    }
    out
}

/// The check's regular expression with placeholders filled in. The values are escaped, so a
/// placeholder matches its value literally (a URL's dots match dots only).
fn body_regex(pattern: &str, ctx: &SmokeContext) -> Result<regex::Regex, String> {
    let filled = ctx.fill_with(pattern, regex::escape);
    regex::Regex::new(&filled).map_err(|e| {
        // The syntax errors of `regex` span several lines (the pattern, a caret, the error):
        // keep the line that says what is wrong.
        let text = e.to_string();
        let reason = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map(str::to_string)
            .unwrap_or_else(|| text.lines().map(str::trim).collect::<Vec<_>>().join(" "));
        format!(
            "expect_body_regex /{}/ is not a valid regular expression: {reason}",
            truncate(&filled, QUOTE_CHARS)
        )
    })
}

/// Whether a JSON value equals an expected scalar: integers equal JSON integers and whole
/// floats, floats compare numerically, strings and booleans exactly.
fn scalar_eq(expected: &JsonScalar, found: &Value) -> bool {
    match (expected, found) {
        (JsonScalar::String(s), Value::String(f)) => s == f,
        (JsonScalar::Bool(b), Value::Bool(f)) => b == f,
        (JsonScalar::Integer(i), Value::Number(n)) => {
            if let Some(f) = n.as_i64() {
                f == *i
            } else if n.is_u64() {
                false // above i64::MAX, so not equal to any i64
            } else {
                n.as_f64().is_some_and(|f| f.fract() == 0.0 && f == *i as f64)
            }
        }
        (JsonScalar::Float(x), Value::Number(n)) => n.as_f64().is_some_and(|f| f == *x),
        _ => false,
    }
}

/// The pointer as messages show it; the empty pointer is the whole document.
fn pointer_name(pointer: &str) -> String {
    if pointer.is_empty() {
        "the JSON body".to_string()
    } else {
        pointer.to_string()
    }
}

/// A found JSON value, compact and clipped: `"degraded"`, `42`, `{"a":1,…`.
fn show_json(value: &Value) -> String {
    truncate(&value.to_string(), QUOTE_CHARS).into_owned()
}

/// `"text"`, clipped, with quotes and control characters escaped.
fn quote(text: &str) -> String {
    format!("{:?}", truncate(text, QUOTE_CHARS))
}
