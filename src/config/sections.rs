//! The small tables: `[app]`, `[watch]`, `[secrets]`, and the top level itself.

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::hint::one_of;
use crate::config::limits::read_limits;
use crate::config::model::{AppConfig, OnBusy, SecretConfig, StageLimits, WatchConfig, WatchOn};
use crate::config::reader::{toml_key, Table};
use crate::config::rules::{is_valid_app_name, is_valid_env_name, suggest_app_name, suggest_env_name};
use crate::text::closest;

pub(crate) const TOP_KEYS: &[&str] = &[
    "version",
    "app",
    "watch",
    "stages",
    "environments",
    "secrets",
    "services",
    "notify",
];
const APP_KEYS: &[&str] = &[
    "name",
    "keep_releases",
    "keep_runs",
    "max_artifacts",
    "memory",
    "cpus",
    "pids",
];
const WATCH_KEYS: &[&str] = &["on", "on_busy", "debounce_ms", "ignore"];

/// Reports unknown top-level keys and tables, and checks the optional `version = 1`.
/// Returns the known tables that misspelt ones were taken for.
pub(crate) fn check_top_level(sink: &mut Sink<'_>, root: &Table<'_, '_>) -> Vec<&'static str> {
    let mut guessed = Vec::new();
    for (key, value) in &root.entries {
        let name = key.get_ref().as_ref();
        if TOP_KEYS.contains(&name) {
            continue;
        }
        let what = if matches!(value.get_ref(), DeValue::Table(_)) {
            "table"
        } else {
            "key"
        };
        let guess = closest(name, TOP_KEYS.iter().copied());
        guessed.extend(TOP_KEYS.iter().copied().filter(|k| Some(*k) == guess));
        let hint = guess
            .map(|g| format!("did you mean `{g}`?"))
            .or_else(|| belongs_in(name))
            .or_else(|| Some(format!("top-level tables: {}", one_of(&TOP_KEYS[1..]))));
        sink.error(key.span().start, format!("unknown top-level {what} `{name}`"), hint);
    }
    if let Some(version) = root.uint(sink, "version", u64::from(u32::MAX)) {
        if version != 1 {
            let at = root.get("version").map_or(0, |v| v.span().start);
            sink.error(
                at,
                format!("unsupported `version` {version}: this shipdeck reads version 1"),
                Some("upgrade shipdeck, or remove `version`".into()),
            );
        }
    }
    guessed
}

/// For a key written at the top level that belongs in a table: "`name` belongs in [app]".
fn belongs_in(name: &str) -> Option<String> {
    let table = if APP_KEYS.contains(&name) {
        "[app]"
    } else if WATCH_KEYS.contains(&name) {
        "[watch]"
    } else if crate::config::stages::STAGE_KEYS.contains(&name) {
        "a [stages.NAME] table"
    } else {
        return None;
    };
    Some(format!("`{name}` belongs in {table}"))
}

/// Reads `[app]`; `misspelt` says whether a misspelt table was already taken for it.
pub(crate) fn read_app(sink: &mut Sink<'_>, root: &Table<'_, '_>, misspelt: bool) -> Option<AppConfig> {
    let example = "add [app] with name = \"my-app\" at the top of the file";
    let Some(app) = root.table(sink, "app", "[app]".into()) else {
        if !root.has("app") && !misspelt {
            sink.error(0, "missing [app] table", Some(example.into()));
        }
        return None;
    };
    let guessed = app.check_keys(sink, APP_KEYS);
    if !app.has("name") {
        if guessed.contains(&"name") {
            return None;
        }
        sink.error(
            app.at(),
            "missing `name` in [app]",
            Some("add name = \"my-app\": it names the release image and labels what shipdeck creates".into()),
        );
        return None;
    }
    let name = app.str(sink, "name")?;
    if !is_valid_app_name(name.get_ref()) {
        let hint = suggest_app_name(name.get_ref())
            .map(|s| format!("did you mean \"{s}\"?"))
            .unwrap_or_else(|| "use lowercase letters, digits, `.`, `_` or `-`".into());
        sink.error(
            name.span().start,
            format!("invalid app name \"{}\": expected a Docker image repository name (lowercase letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit)", name.get_ref()),
            Some(hint),
        );
        return None;
    }
    let keep_releases = match app.uint(sink, "keep_releases", 1000) {
        Some(0) => {
            let at = app.get("keep_releases").map_or(app.at(), |v| v.span().start);
            let hint = "rollback needs earlier release images; keep at least 1";
            app.invalid(
                sink,
                at,
                "keep_releases",
                "expected 1 or more, found 0",
                Some(hint.into()),
            );
            return None;
        }
        Some(n) => n as usize,
        None => AppConfig::DEFAULT_KEEP_RELEASES,
    };
    let keep_runs = match app.uint(sink, "keep_runs", 100_000) {
        Some(0) => {
            let at = app.get("keep_runs").map_or(app.at(), |v| v.span().start);
            let hint = "the running run needs its files; keep at least 1";
            app.invalid(sink, at, "keep_runs", "expected 1 or more, found 0", Some(hint.into()));
            return None;
        }
        Some(n) => n as usize,
        None => AppConfig::DEFAULT_KEEP_RUNS,
    };
    let max_artifacts = app
        .size(sink, "max_artifacts")
        .unwrap_or(AppConfig::DEFAULT_MAX_ARTIFACTS);
    let limits = read_limits(sink, &app, StageLimits::DEFAULT);
    Some(AppConfig {
        name: name.into_inner(),
        keep_releases,
        keep_runs,
        max_artifacts,
        limits,
    })
}

pub(crate) fn read_watch(sink: &mut Sink<'_>, root: &Table<'_, '_>) -> WatchConfig {
    let mut watch = WatchConfig::default();
    let Some(t) = root.table(sink, "watch", "[watch]".into()) else {
        return watch;
    };
    t.check_keys(sink, WATCH_KEYS);
    if let Some(on) = choice(sink, &t, "on", &["commit", "save", "both"], "\"commit\" runs the pipeline on each new commit, \"save\" runs `on_save` stages when files are saved, \"both\" does both") {
        watch.on = match on {
            "save" => WatchOn::Save,
            "both" => WatchOn::Both,
            _ => WatchOn::Commit,
        };
    }
    if let Some(on_busy) = choice(
        sink,
        &t,
        "on_busy",
        &["supersede", "queue"],
        "with \"supersede\" a newer trigger cancels the running pipeline; with \"queue\" it waits for it",
    ) {
        watch.on_busy = if on_busy == "queue" {
            OnBusy::Queue
        } else {
            OnBusy::Supersede
        };
    }
    if let Some(ms) = t.uint(sink, "debounce_ms", 3_600_000) {
        watch.debounce_ms = ms;
    }
    if let Some(ignore) = t.str_list(sink, "ignore") {
        watch.ignore = ignore.into_iter().map(|s| s.into_inner()).collect();
    }
    watch
}

/// A string that must be one of `allowed`; returns the matching `allowed` entry.
/// `explain` is the hint when the value is not a near miss.
fn choice<'c>(
    sink: &mut Sink<'_>,
    t: &Table<'_, '_>,
    key: &str,
    allowed: &[&'c str],
    explain: &str,
) -> Option<&'c str> {
    let value = t.str(sink, key)?;
    if let Some(found) = allowed.iter().find(|a| **a == value.get_ref().as_str()) {
        return Some(found);
    }
    let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    let expected = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    };
    let hint = closest(value.get_ref(), allowed.iter().copied())
        .map(|c| format!("did you mean \"{c}\"?"))
        .or_else(|| Some(explain.into()));
    t.invalid(
        sink,
        value.span().start,
        key,
        &format!("expected {expected}, found \"{}\"", value.get_ref()),
        hint,
    );
    None
}

pub(crate) fn read_secrets(sink: &mut Sink<'_>, root: &Table<'_, '_>) -> Vec<SecretConfig> {
    let Some(secrets) = root.table(sink, "secrets", "[secrets]".into()) else {
        return Vec::new();
    };
    read_secret_entries(sink, &secrets, "[secrets")
}

/// The entries of a secrets table (`[secrets]`, or an environment's `secrets`); `prefix` is
/// the table's header without its closing bracket (`[secrets`).
pub(crate) fn read_secret_entries(sink: &mut Sink<'_>, secrets: &Table<'_, '_>, prefix: &str) -> Vec<SecretConfig> {
    let mut out = Vec::new();
    for (key, value) in &secrets.entries {
        let name = key.get_ref().to_string();
        let mut ok = true;
        if !is_valid_env_name(&name) {
            let hint = suggest_env_name(&name).map(|n| format!("did you mean `{n}`?"));
            sink.error(key.span().start, format!("invalid secret name `{name}`: expected an environment variable name (letters, digits and `_`, not starting with a digit)"), hint);
            ok = false;
        }
        let example =
            format!("write {name} = {{ env = \"HOST_VARIABLE\" }}: the value is read from that variable on the host");
        let DeValue::Table(t) = value.get_ref() else {
            secrets.wrong_type_hint(
                sink,
                &name,
                value,
                "a table like { env = \"HOST_VARIABLE\" }",
                Some(example),
            );
            continue;
        };
        let t = Table::new(format!("{prefix}.{}]", toml_key(&name)), value.span(), t);
        let guessed = t.check_keys(sink, &["env"]);
        if !t.has("env") {
            if guessed.is_empty() {
                sink.error(t.at(), format!("missing `env` in secret `{name}`"), Some(example));
            }
            continue;
        }
        let Some(env) = t.str(sink, "env") else {
            continue;
        };
        if !is_valid_env_name(env.get_ref()) {
            let message = format!(
                "expected the name of a host environment variable, found \"{}\"",
                env.get_ref()
            );
            t.invalid(
                sink,
                env.span().start,
                "env",
                &message,
                Some("secret values never go in release.toml: name the variable that holds the value".into()),
            );
            ok = false;
        }
        if ok {
            out.push(SecretConfig {
                name,
                env: env.into_inner(),
            });
        }
    }
    out
}
