//! Typed, position-aware reading of a parsed TOML table: every wrong type or unknown key
//! becomes a diagnostic at the offending value or key.

use std::ops::Range;
use std::time::Duration;

use serde_spanned::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::config::diagnostic::Sink;
use crate::config::duration::parse_duration;
use crate::config::duration::suggest_duration;
use crate::config::hint::one_of;
use crate::config::size::parse_size;
use crate::text::closest;

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;
pub(crate) type Key<'i> = Spanned<DeString<'i>>;

/// A table of the file, with the name it is shown under (`[stages.test]`) and its entries in
/// file order.
pub(crate) struct Table<'a, 'i> {
    pub label: String,
    pub span: Range<usize>,
    pub entries: Vec<(&'a Key<'i>, &'a Value<'i>)>,
}

/// A key as it would be written in a header: bare when it can be, quoted otherwise.
pub(crate) fn toml_key(name: &str) -> String {
    let bare = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// Words other tools use for a key, mapped to shipdeck's.
const SYNONYMS: &[(&str, &str)] = &[
    ("command", "run"),
    ("commands", "run"),
    ("script", "run"),
    ("steps", "run"),
    ("depends_on", "needs"),
    ("depends", "needs"),
    ("after", "needs"),
    ("requires", "needs"),
    ("environment", "env"),
    ("variables", "env"),
    ("vars", "env"),
    ("volumes", "cache"),
    ("caches", "cache"),
    ("outputs", "artifacts"),
    ("working_dir", "workdir"),
    ("working_directory", "workdir"),
    ("cwd", "workdir"),
    ("build", "dockerfile"),
    ("ports", "publish"),
    ("port", "publish"),
    ("host", "docker_host"),
    ("from", "promote_from"),
    ("url", "http"),
    ("status", "expect_status"),
    ("body", "expect_body"),
    ("cmd", "command"),
    ("test", "cmd"),
    ("trigger", "on"),
];

fn synonym(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    SYNONYMS
        .iter()
        .filter(|(from, _)| *from == lower)
        .find_map(|(_, to)| known.iter().copied().find(|k| k == to))
}

/// "a string", "an integer", … for "found …" messages.
pub(crate) fn found(value: &DeValue<'_>) -> String {
    let ty = value.type_str();
    let article = if ty.starts_with(['a', 'i']) { "an" } else { "a" };
    match value {
        DeValue::String(s) => format!("a string \"{s}\""),
        DeValue::Integer(i) if i.radix() == 10 => format!("an integer {}", i.as_str()),
        DeValue::Boolean(b) => format!("a boolean {b}"),
        _ => format!("{article} {ty}"),
    }
}

impl<'a, 'i> Table<'a, 'i> {
    pub(crate) fn new(label: impl Into<String>, span: Range<usize>, table: &'a DeTable<'i>) -> Self {
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        Table {
            label: label.into(),
            span,
            entries,
        }
    }

    /// "in [stages.test]", or "at the top level" for the document itself.
    pub(crate) fn place(&self) -> String {
        if self.label.starts_with(['[', '`']) {
            format!("in {}", self.label)
        } else {
            format!("at {}", self.label)
        }
    }

    /// Where "missing …" diagnostics about this table point: its header or opening brace.
    pub(crate) fn at(&self) -> usize {
        self.span.start
    }

    pub(crate) fn entry(&self, key: &str) -> Option<(&'a Key<'i>, &'a Value<'i>)> {
        self.entries.iter().find(|(k, _)| k.get_ref().as_ref() == key).copied()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.entry(key).map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    pub(crate) fn key_at(&self, key: &str) -> usize {
        self.entry(key).map_or(self.at(), |(k, _)| k.span().start)
    }

    /// Reports every key not in `known`, with the closest known key as hint (or the list of
    /// valid keys when none is close). Returns the keys suggested, so that "missing `x`"
    /// checks can stay quiet when `x` was merely misspelt.
    pub(crate) fn check_keys(&self, sink: &mut Sink<'_>, known: &[&'static str]) -> Vec<&'static str> {
        let mut suggested = Vec::new();
        for (key, _) in &self.entries {
            let name = key.get_ref().as_ref();
            if known.contains(&name) {
                continue;
            }
            let guess = closest(name, known.iter().copied()).or_else(|| synonym(name, known));
            let hint = match guess {
                Some(g) => {
                    suggested.extend(known.iter().copied().filter(|k| *k == g));
                    format!("did you mean `{g}`?")
                }
                None => format!("valid keys here: {}", one_of(known)),
            };
            sink.error(
                key.span().start,
                format!("unknown key `{name}` in {}", self.label),
                Some(hint),
            );
        }
        suggested
    }

    pub(crate) fn wrong_type(&self, sink: &mut Sink<'_>, key: &str, value: &Value<'_>, expected: &str) {
        self.wrong_type_hint(sink, key, value, expected, None);
    }

    pub(crate) fn wrong_type_hint(
        &self,
        sink: &mut Sink<'_>,
        key: &str,
        value: &Value<'_>,
        expected: &str,
        hint: Option<String>,
    ) {
        sink.error(
            value.span().start,
            format!(
                "wrong type for `{key}` {}: expected {expected}, found {}",
                self.place(),
                found(value.get_ref())
            ),
            hint,
        );
    }

    pub(crate) fn invalid(&self, sink: &mut Sink<'_>, at: usize, key: &str, message: &str, hint: Option<String>) {
        sink.error(at, format!("invalid `{key}` {}: {message}", self.place()), hint);
    }

    pub(crate) fn str(&self, sink: &mut Sink<'_>, key: &str) -> Option<Spanned<String>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(Spanned::new(value.span(), s.to_string())),
            _ => {
                self.wrong_type(sink, key, value, "a string");
                None
            }
        }
    }

    /// A string that must not be empty or blank.
    pub(crate) fn non_empty_str(&self, sink: &mut Sink<'_>, key: &str) -> Option<Spanned<String>> {
        let s = self.str(sink, key)?;
        if s.get_ref().trim().is_empty() {
            self.invalid(sink, s.span().start, key, "expected a non-empty string", None);
            return None;
        }
        Some(s)
    }

    pub(crate) fn bool(&self, sink: &mut Sink<'_>, key: &str) -> Option<bool> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            DeValue::String(s) if ["true", "false", "yes", "no", "on", "off"].contains(&s.as_ref()) => {
                let b = matches!(s.as_ref(), "true" | "yes" | "on");
                let hint = format!("write {key} = {b}, without quotes");
                self.wrong_type_hint(sink, key, value, "a boolean (true or false)", Some(hint));
                None
            }
            _ => {
                self.wrong_type(sink, key, value, "a boolean (true or false)");
                None
            }
        }
    }

    /// A non-negative integer no larger than `max`.
    pub(crate) fn uint(&self, sink: &mut Sink<'_>, key: &str, max: u64) -> Option<u64> {
        let value = self.get(key)?;
        let DeValue::Integer(i) = value.get_ref() else {
            let hint = match value.get_ref() {
                DeValue::String(s) if s.parse::<u64>().is_ok() => Some(format!("write {key} = {s}, without quotes")),
                _ => None,
            };
            self.wrong_type_hint(sink, key, value, "a whole number", hint);
            return None;
        };
        match u64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if n <= max => Some(n),
            _ => {
                let message = format!("expected a whole number from 0 to {max}, found {i}");
                self.invalid(sink, value.span().start, key, &message, None);
                None
            }
        }
    }

    pub(crate) fn duration(&self, sink: &mut Sink<'_>, key: &str) -> Option<Duration> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => match parse_duration(s) {
                Ok(d) => Some(d),
                Err(message) => {
                    let hint = suggest_duration(s).map(|d| format!("did you mean \"{d}\"?"));
                    self.invalid(sink, value.span().start, key, &message, hint);
                    None
                }
            },
            DeValue::Integer(i) => {
                let n = i.as_str();
                let hint = format!("write the unit in a string, e.g. \"{n}s\" or \"{n}m\"");
                let expected = "a duration string like \"5m\"";
                self.wrong_type_hint(sink, key, value, expected, Some(hint));
                None
            }
            _ => {
                self.wrong_type(sink, key, value, "a duration string like \"5m\"");
                None
            }
        }
    }

    /// A size string like `"2GiB"` or `"500MB"`, in bytes.
    pub(crate) fn size(&self, sink: &mut Sink<'_>, key: &str) -> Option<u64> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => match parse_size(s) {
                Ok(bytes) => Some(bytes),
                Err(message) => {
                    self.invalid(sink, value.span().start, key, &message, None);
                    None
                }
            },
            DeValue::Integer(i) => {
                let n = i.as_str();
                let hint = format!("write the unit in a string, e.g. \"{n}MiB\" or \"{n}GiB\"");
                self.wrong_type_hint(sink, key, value, "a size string like \"2GiB\"", Some(hint));
                None
            }
            _ => {
                self.wrong_type(sink, key, value, "a size string like \"2GiB\"");
                None
            }
        }
    }

    /// A list of strings; a lone string counts as a list of one.
    pub(crate) fn str_list(&self, sink: &mut Sink<'_>, key: &str) -> Option<Vec<Spanned<String>>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(vec![Spanned::new(value.span(), s.to_string())]),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
                        other => {
                            ok = false;
                            sink.error(
                                item.span().start,
                                format!(
                                    "wrong type for an item of `{key}` {}: expected a string, found {}",
                                    self.place(),
                                    found(other)
                                ),
                                None,
                            );
                        }
                    }
                }
                ok.then_some(out)
            }
            _ => {
                self.wrong_type(sink, key, value, "a string or an array of strings");
                None
            }
        }
    }

    /// A sub-table (`[x.key]` or `key = { … }`), labelled `label`.
    pub(crate) fn table(&self, sink: &mut Sink<'_>, key: &str, label: String) -> Option<Table<'a, 'i>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Table(t) => Some(Table::new(label, value.span(), t)),
            _ => {
                self.wrong_type(sink, key, value, "a table");
                None
            }
        }
    }
}
