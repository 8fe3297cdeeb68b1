//! `[[environments.NAME.smoke]]`: smoke checks run after a deploy.

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::environments::command_spec;
use crate::config::model::{JsonExpectation, JsonScalar, SmokeCheck};
use crate::config::reader::{toml_key, Table};
use crate::config::rules::{parse_http, unknown_placeholders, PLACEHOLDERS};
use crate::text::closest;

const SMOKE_KEYS: &[&str] = &[
    "http",
    "command",
    "expect_status",
    "expect_body",
    "expect_body_regex",
    "expect_json",
    "within",
];

/// Reads the `smoke` array of an environment; `has_publish` tells whether HTTP checks can
/// reach it.
pub(crate) fn read_smoke(
    sink: &mut Sink<'_>,
    env: &Table<'_, '_>,
    env_name: &str,
    has_publish: bool,
) -> Vec<SmokeCheck> {
    let Some(value) = env.get("smoke") else {
        return Vec::new();
    };
    let DeValue::Array(items) = value.get_ref() else {
        let hint = format!(
            "write each check under its own [[environments.{}.smoke]] header",
            toml_key(env_name)
        );
        env.wrong_type_hint(sink, "smoke", value, "an array of tables", Some(hint));
        return Vec::new();
    };
    let label = format!("[[environments.{}.smoke]]", toml_key(env_name));
    let mut out = Vec::new();
    for item in items.iter() {
        let DeValue::Table(t) = item.get_ref() else {
            env.wrong_type(sink, "smoke", item, "an array of tables");
            continue;
        };
        let t = Table::new(label.clone(), item.span(), t);
        if let Some(check) = read_check(sink, &t, has_publish) {
            out.push(check);
        }
    }
    out
}

fn read_check(sink: &mut Sink<'_>, t: &Table<'_, '_>, has_publish: bool) -> Option<SmokeCheck> {
    let guessed = t.check_keys(sink, SMOKE_KEYS);
    let http = t.str(sink, "http").and_then(|h| match parse_http(h.get_ref()) {
        Ok(normal) => Some(normal),
        Err((message, hint)) => {
            t.invalid(sink, h.span().start, "http", &message, hint);
            None
        }
    });
    let command = command_spec(sink, t, "command");
    match (t.has("http"), t.has("command")) {
        (false, false) if guessed.contains(&"http") || guessed.contains(&"command") => {}
        (false, false) => {
            let hint = "add http = \"GET /health\" (a request to the published port) or command = [\"…\"] (run in the container)";
            sink.error(
                t.at(),
                format!("smoke check in {} has neither `http` nor `command`", t.label),
                Some(hint.into()),
            );
        }
        (true, true) => {
            sink.error(
                t.key_at("command"),
                format!("smoke check in {} has both `http` and `command`", t.label),
                Some("write them as two checks".into()),
            );
        }
        (true, false) if !has_publish => {
            sink.error(
                t.key_at("http"),
                format!("HTTP smoke check in {}, but the environment has no `publish`", t.label),
                Some("add publish = \"127.0.0.1:18080:8080\" to the environment".into()),
            );
        }
        (false, true) if t.has("expect_status") => {
            sink.error(
                t.key_at("expect_status"),
                format!("`expect_status` in a `command` smoke check in {}", t.label),
                Some("a command check passes on exit code 0; `expect_status` is for `http` checks".into()),
            );
        }
        _ => {}
    }
    let expect_status = t.uint(sink, "expect_status", 999).and_then(|s| {
        if (100..=599).contains(&s) {
            return u16::try_from(s).ok();
        }
        let at = t.get("expect_status").map_or(t.at(), |v| v.span().start);
        t.invalid(
            sink,
            at,
            "expect_status",
            &format!("expected an HTTP status from 100 to 599, found {s}"),
            None,
        );
        None
    });
    let expect_body = t.str(sink, "expect_body");
    if let Some(body) = &expect_body {
        check_placeholders(sink, t, "expect_body", body.get_ref(), body.span());
    }
    let expect_body_regex = t.non_empty_str(sink, "expect_body_regex").and_then(|r| {
        check_placeholders(sink, t, "expect_body_regex", r.get_ref(), r.span());
        // Placeholders are filled (escaped) when the check runs: a plain word stands in here.
        let sample = PLACEHOLDERS
            .iter()
            .fold(r.get_ref().clone(), |text, p| text.replace(&format!("{{{p}}}"), "x"));
        match regex::Regex::new(&sample) {
            Ok(_) => Some(r),
            Err(e) => {
                let why = e.to_string();
                let last = why.lines().last().unwrap_or("").trim().trim_start_matches("error: ");
                t.invalid(
                    sink,
                    r.span().start,
                    "expect_body_regex",
                    &format!("not a valid regular expression: {last}"),
                    Some("the syntax is Rust's `regex` crate (like RE2); escape literal characters with \\".into()),
                );
                None
            }
        }
    });
    let expect_json = read_expect_json(sink, t);
    let within = t.duration(sink, "within");
    Some(SmokeCheck {
        http,
        command,
        expect_status,
        expect_body: expect_body.map(|b| b.into_inner()),
        expect_body_regex: expect_body_regex.map(|r| r.into_inner()),
        expect_json,
        within,
    })
}

/// Reports `{name}` placeholders that are not known, pointing at the placeholder itself.
fn check_placeholders(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str, text: &str, span: std::ops::Range<usize>) {
    let raw = sink.source().get(span.clone()).unwrap_or("");
    for (_, name) in unknown_placeholders(text) {
        let written = format!("{{{name}}}");
        let at = raw.find(&written).map_or(span.start, |i| span.start + i);
        let hint = closest(name, PLACEHOLDERS.iter().copied())
            .map(|c| format!("did you mean `{{{c}}}`?"))
            .unwrap_or_else(|| "placeholders: {commit}, {short_commit}, {env}, {url}".into());
        sink.error(
            at,
            format!("unknown placeholder `{written}` in `{key}` of {}", t.label),
            Some(hint),
        );
    }
}

/// `expect_json = { "/status" = "ok" }`: JSON pointers to expected scalar values.
fn read_expect_json(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<Vec<JsonExpectation>> {
    let json = t.table(sink, "expect_json", format!("`expect_json` of {}", t.label))?;
    let mut out = Vec::new();
    for (key, value) in &json.entries {
        let pointer = key.get_ref().to_string();
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            let hint = format!("JSON pointers start with `/`: did you mean \"/{pointer}\"?");
            sink.error(
                key.span().start,
                format!("invalid JSON pointer \"{pointer}\" in {}", json.label),
                Some(hint),
            );
            continue;
        }
        let expected = match value.get_ref() {
            DeValue::String(s) => {
                check_placeholders(sink, t, "expect_json", s, value.span());
                JsonScalar::String(s.to_string())
            }
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => JsonScalar::Integer(n),
                Err(_) => continue,
            },
            DeValue::Float(f) => match f.as_str().replace('_', "").parse::<f64>() {
                Ok(x) => JsonScalar::Float(x),
                Err(_) => continue,
            },
            DeValue::Boolean(b) => JsonScalar::Bool(*b),
            _ => {
                json.wrong_type(sink, &pointer, value, "a string, number or boolean");
                continue;
            }
        };
        out.push(JsonExpectation {
            pointer,
            value: expected,
        });
    }
    Some(out)
}
