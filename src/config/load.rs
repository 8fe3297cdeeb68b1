//! `[[environments.NAME.load]]`: open-loop HTTP load tests that gate a release.

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::model::LoadTest;
use crate::config::reader::{toml_key, Table};
use crate::config::rules::parse_http;

const LOAD_KEYS: &[&str] = &["http", "rate", "duration", "p95", "p99", "max_error_rate", "regression"];
/// The most requests per second one entry may ask for (every latency is kept: rate ×
/// duration samples).
pub const MAX_RATE: u64 = 10_000;
/// The longest one entry may run.
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(600);

/// Reads the `load` array of an environment; `has_publish` tells whether HTTP can reach it.
pub(crate) fn read_load(sink: &mut Sink<'_>, env: &Table<'_, '_>, env_name: &str, has_publish: bool) -> Vec<LoadTest> {
    let Some(value) = env.get("load") else {
        return Vec::new();
    };
    let DeValue::Array(items) = value.get_ref() else {
        let hint = format!(
            "write each load test under its own [[environments.{}.load]] header",
            toml_key(env_name)
        );
        env.wrong_type_hint(sink, "load", value, "an array of tables", Some(hint));
        return Vec::new();
    };
    let label = format!("[[environments.{}.load]]", toml_key(env_name));
    let mut out = Vec::new();
    for item in items.iter() {
        let DeValue::Table(t) = item.get_ref() else {
            env.wrong_type(sink, "load", item, "an array of tables");
            continue;
        };
        let t = Table::new(label.clone(), item.span(), t);
        if let Some(test) = read_test(sink, &t, has_publish) {
            out.push(test);
        }
    }
    out
}

fn read_test(sink: &mut Sink<'_>, t: &Table<'_, '_>, has_publish: bool) -> Option<LoadTest> {
    let before = sink.len();
    t.check_keys(sink, LOAD_KEYS);
    let http = t.str(sink, "http").and_then(|h| match parse_http(h.get_ref()) {
        Ok(normal) => Some(normal),
        Err((message, hint)) => {
            t.invalid(sink, h.span().start, "http", &message, hint);
            None
        }
    });
    if !t.has("http") {
        sink.error(
            t.at(),
            format!("load test in {} has no `http`", t.label),
            Some("add http = \"GET /health\" (the request sent at `rate` per second)".into()),
        );
    } else if !has_publish {
        sink.error(
            t.key_at("http"),
            format!("load test in {}, but the environment has no `publish`", t.label),
            Some("add publish = \"127.0.0.1:18080:8080\" to the environment".into()),
        );
    }
    let rate = required(sink, t, "rate", "add rate = 200 (requests per second)")
        .and_then(|_| t.uint(sink, "rate", MAX_RATE))
        .and_then(|r| positive(sink, t, "rate", r));
    let duration = required(sink, t, "duration", "add duration = \"10s\"")
        .and_then(|_| t.duration(sink, "duration"))
        .and_then(|d| {
            if d <= MAX_DURATION {
                return Some(d);
            }
            let at = t.get("duration").map_or(t.at(), |v| v.span().start);
            t.invalid(sink, at, "duration", "at most \"10m\"", None);
            None
        });
    let p95 = t.duration(sink, "p95");
    let p99 = t.duration(sink, "p99");
    let max_error_rate = fraction(sink, t, "max_error_rate", 1.0, "a fraction of requests: 0.01 is 1%");
    let regression = fraction(
        sink,
        t,
        "regression",
        10.0,
        "a fraction: 0.10 allows a p99 10% above the last release that passed",
    );
    if sink.len() != before {
        return None;
    }
    Some(LoadTest {
        http: http?,
        rate: u32::try_from(rate?).ok()?,
        duration: duration?,
        p95,
        p99,
        max_error_rate,
        regression,
    })
}

fn required(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str, hint: &str) -> Option<()> {
    if t.has(key) {
        return Some(());
    }
    sink.error(
        t.at(),
        format!("load test in {} has no `{key}`", t.label),
        Some(hint.into()),
    );
    None
}

fn positive(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str, n: u64) -> Option<u64> {
    if n > 0 {
        return Some(n);
    }
    let at = t.get(key).map_or(t.at(), |v| v.span().start);
    t.invalid(sink, at, key, "expected at least 1", None);
    None
}

/// A number from 0 to `max` (an integer is taken too: `regression = 1`).
fn fraction(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str, max: f64, hint: &str) -> Option<f64> {
    let value = t.get(key)?;
    let n = match value.get_ref() {
        DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|n| n as f64),
        DeValue::String(s) if s.trim_end_matches('%').parse::<f64>().is_ok() => {
            let hint = match s.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
                Some(p) => format!(
                    "write {key} = {}, without quotes (a fraction, not a percentage)",
                    p / 100.0
                ),
                None => format!("write {key} = {s}, without quotes"),
            };
            t.wrong_type_hint(sink, key, value, "a number", Some(hint));
            return None;
        }
        _ => {
            t.wrong_type(sink, key, value, "a number");
            return None;
        }
    };
    match n {
        Some(n) if (0.0..=max).contains(&n) => Some(n),
        _ => {
            let message = format!(
                "expected a number from 0 to {max}, found {}",
                sink.source().get(value.span()).unwrap_or("?")
            );
            t.invalid(sink, value.span().start, key, &message, Some(hint.into()));
            None
        }
    }
}
