//! `[services.NAME]`: containers a stage that names them (`services = ["db"]`) gets fresh
//! instances of, reached at host `NAME`. The reader of one service table is shared with
//! whatever else starts a container of the same shape (an environment's accessories: the
//! same keys, plus their own): see [`read_service`].

use serde_spanned::Spanned;
use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::environments::command_spec;
use crate::config::hint::did_you_mean;
use crate::config::model::ServiceConfig;
use crate::config::reader::{toml_key, Table};
use crate::config::stages::{read_env, ParsedStage};

/// The keys of a service table.
pub(crate) const SERVICE_KEYS: &[&str] = &["image", "command", "entrypoint", "env", "ready", "ready_timeout"];

/// The longest DNS label (RFC 1035).
const MAX_LABEL: usize = 63;

/// A service as read: `config` is `None` when it has errors (already reported).
pub(crate) struct ParsedService {
    pub name: String,
    pub config: Option<ServiceConfig>,
}

/// A service's name is the host name stages reach it at, so it must be a DNS label:
/// lowercase letters, digits and `-`, starting with a letter, not ending with `-`, at most 63
/// characters. (No `.`, `_`, upper case, spaces or escapes: nothing a resolver, a container
/// name or a terminal could read two ways.)
pub fn is_valid_service_name(name: &str) -> bool {
    let inner = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    name.len() <= MAX_LABEL
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(inner)
}

/// A valid name close to `name`: lower-cased, `_` and `.` made `-`.
fn suggest_service_name(name: &str) -> Option<String> {
    let mapped: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if matches!(c, '_' | '.' | ' ') { '-' } else { c })
        .collect();
    let trimmed = mapped.trim_matches('-');
    (trimmed != name && is_valid_service_name(trimmed)).then(|| trimmed.to_string())
}

/// Reports `name` (of the table at `at`) unless it is a valid service name. `what` names the
/// kind for the message ("service", "accessory").
pub(crate) fn check_service_name(sink: &mut Sink<'_>, what: &str, name: &str, at: usize) -> bool {
    if is_valid_service_name(name) {
        return true;
    }
    let hint = suggest_service_name(name)
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| format!("the {what}'s name is the host name it is reached at"));
    sink.error(
        at,
        format!(
            "invalid {what} name `{}`: expected a DNS label (lowercase letters, digits and `-`, starting with a letter, at most {MAX_LABEL} characters)",
            toml_key(name)
        ),
        Some(hint),
    );
    false
}

/// Reads `[services]`: every service, in file order.
pub(crate) fn read_services(sink: &mut Sink<'_>, root: &Table<'_, '_>) -> Vec<ParsedService> {
    let Some(services) = root.table(sink, "services", "[services]".into()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in &services.entries {
        let name = key.get_ref().to_string();
        let valid = check_service_name(sink, "service", &name, key.span().start);
        let DeValue::Table(t) = value.get_ref() else {
            let hint = Some(format!(
                "each service is a table: [services.{}] with image = \"postgres:15\"",
                toml_key(&name)
            ));
            services.wrong_type_hint(sink, &name, value, "a table of service settings", hint);
            out.push(ParsedService { name, config: None });
            continue;
        };
        let t = Table::new(format!("[services.{}]", toml_key(&name)), value.span(), t);
        let config = read_service(sink, &name, &t, &[]).filter(|_| valid);
        out.push(ParsedService { name, config });
    }
    out
}

/// Reads one service table (`[services.db]`, or an accessory's): its keys are
/// [`SERVICE_KEYS`] plus `extra_keys`, which the caller reads itself. `None` when anything in
/// the table is wrong (each problem reported at its position).
pub(crate) fn read_service(
    sink: &mut Sink<'_>,
    name: &str,
    t: &Table<'_, '_>,
    extra_keys: &[&'static str],
) -> Option<ServiceConfig> {
    let before = sink.len();
    let known: Vec<&'static str> = SERVICE_KEYS.iter().chain(extra_keys).copied().collect();
    let guessed = t.check_keys(sink, &known);
    if !t.has("image") && !guessed.contains(&"image") {
        sink.error(
            t.at(),
            format!("missing `image` in {}", t.label),
            Some("add the image to run, e.g. image = \"postgres:15\"".into()),
        );
    }
    let image = t.non_empty_str(sink, "image");
    // Exec form, or one string run by `sh -c`.
    let command = command_spec(sink, t, "command").map(|c| c.argv());
    let entrypoint = command_spec(sink, t, "entrypoint").map(|c| c.argv());
    let env = read_env(sink, t, "env", &t.label);
    let ready = command_spec(sink, t, "ready");
    // parse_duration refuses "0s": a service that must be ready at once never is.
    let ready_timeout = t.duration(sink, "ready_timeout");
    let image = image?;
    (sink.len() == before).then(|| ServiceConfig {
        name: name.to_string(),
        image: image.into_inner(),
        command,
        entrypoint,
        env,
        ready,
        ready_timeout: ready_timeout.unwrap_or(ServiceConfig::DEFAULT_READY_TIMEOUT),
    })
}

/// A stage's `services`: each defined, once; never on a stage that builds the release image
/// (its build has no network of services to join).
pub(crate) fn check_stage_services(sink: &mut Sink<'_>, stages: &[ParsedStage], services: &[ParsedService]) {
    let defined: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    for stage in stages {
        if stage.services.is_empty() {
            continue;
        }
        if stage.config.as_ref().is_some_and(|c| c.package().is_some()) {
            sink.error(
                stage.services[0].span().start,
                format!(
                    "stage `{}` builds the release image with `dockerfile` and cannot name services",
                    stage.name
                ),
                Some(
                    "give the services to a stage with `image` and `run` (tests), which the package stage needs".into(),
                ),
            );
            continue;
        }
        let mut seen: Vec<&str> = Vec::new();
        for service in &stage.services {
            let name: &str = service.get_ref();
            let at = service.span().start;
            if seen.contains(&name) {
                sink.error(
                    at,
                    format!("stage `{}` names service `{name}` twice", stage.name),
                    Some("each service is started once per stage: remove the repeat".into()),
                );
            } else if !defined.contains(&name) {
                let hint = did_you_mean(name, defined.iter().copied()).or_else(|| {
                    Some(if defined.is_empty() {
                        format!("define it: [services.{}] with image = \"postgres:15\"", toml_key(name))
                    } else {
                        let names: Vec<String> = defined.iter().map(|d| toml_key(d)).collect();
                        format!("defined services: {}", names.join(", "))
                    })
                });
                sink.error(
                    at,
                    format!(
                        "stage `{}` names service `{}`, which is not defined",
                        stage.name,
                        toml_key(name)
                    ),
                    hint,
                );
            }
            seen.push(name);
        }
    }
}

/// The names of a stage's `services`, as read (checked later by [`check_stage_services`]).
pub(crate) fn read_stage_services(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Vec<Spanned<String>> {
    t.str_list(sink, "services").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_dns_labels() {
        for ok in ["db", "cache", "pg-15", "a", &"x".repeat(63)] {
            assert!(is_valid_service_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Db",
            "db_1",
            "db.local",
            "-db",
            "db-",
            "1db",
            "../db",
            "db;ls",
            "d b",
            "db\u{1b}[2J",
            &"x".repeat(64),
            "dé",
        ] {
            assert!(!is_valid_service_name(bad), "{bad:?}");
        }
        assert_eq!(suggest_service_name("My_DB").as_deref(), Some("my-db"));
        assert_eq!(suggest_service_name("db.local").as_deref(), Some("db-local"));
        assert_eq!(suggest_service_name("../x"), None);
    }
}
