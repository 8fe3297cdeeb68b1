//! What an environment runs besides its web process: `release_command`, `[environments.X.
//! accessories.NAME]` (long-lived containers beside the releases, e.g. a database),
//! `[environments.X.processes.NAME]` (more processes of the same release, e.g. a worker) and
//! `[environments.X.secrets]` (secrets for this environment only).
//!
//! An accessory has the keys of a stage service (image, command, entrypoint, env, ready,
//! ready_timeout) plus `volumes`; when the services parser lands the two share it.

use std::time::Duration;

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::environments::command_spec;
use crate::config::model::{CommandSpec, SecretConfig};
use crate::config::reader::{toml_key, Table};
use crate::config::rules::is_valid_unit_name;
use crate::config::sections::read_secret_entries;
use crate::config::stages::read_env;

const ACCESSORY_KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "env",
    "ready",
    "ready_timeout",
    "volumes",
];
const PROCESS_KEYS: &[&str] = &["command", "env"];

/// `[environments.X.accessories.NAME]`: a container that lives beside the releases (started on
/// the first deploy, never restarted by deploys or rollbacks), reached on the environment's
/// network at host `NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessoryConfig {
    pub name: String,
    pub image: String,
    /// Exec form, replacing the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// Exec form, replacing the image's `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    /// Run inside it until it succeeds; `None`: its HEALTHCHECK, else being up for a moment.
    pub ready: Option<CommandSpec>,
    /// How long `ready` may take; [`AccessoryConfig::DEFAULT_READY_TIMEOUT`] when unset.
    pub ready_timeout: Option<Duration>,
    /// Absolute paths in the container, each a named volume kept across deploys, rollbacks,
    /// restarts and `shipdeck clean`.
    pub volumes: Vec<String>,
}

impl AccessoryConfig {
    pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

    pub fn ready_timeout(&self) -> Duration {
        self.ready_timeout.unwrap_or(Self::DEFAULT_READY_TIMEOUT)
    }
}

/// `[environments.X.processes.NAME]`: another process of the same release (same image),
/// started, stopped and rolled back with the web process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    pub name: String,
    pub command: CommandSpec,
    /// Added to (and overriding) the environment's `env`.
    pub env: Vec<(String, String)>,
}

/// The parts of one environment read from its table.
#[derive(Debug, Default)]
pub(crate) struct EnvParts {
    pub release_command: Option<CommandSpec>,
    pub accessories: Vec<AccessoryConfig>,
    pub processes: Vec<ProcessConfig>,
    pub secrets: Vec<SecretConfig>,
}

/// Reads `release_command`, `accessories`, `processes` and `secrets` of the environment `t`.
pub(crate) fn read_env_parts(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> EnvParts {
    let release_command = command_spec(sink, t, "release_command");
    let accessories = named_tables(sink, t, "accessories", |sink, name, table| {
        read_accessory(sink, name, table)
    });
    let processes = named_tables(sink, t, "processes", |sink, name, table| {
        read_process(sink, name, table)
    });
    let secrets = match t.table(sink, "secrets", format!("`secrets` of {}", t.label)) {
        Some(table) => read_secret_entries(sink, &table, &format!("{}.secrets", t.label.trim_end_matches(']'))),
        None => Vec::new(),
    };
    let parts = EnvParts {
        release_command,
        accessories,
        processes,
        secrets,
    };
    check_names(sink, t, &parts);
    parts
}

/// `[X.key.NAME]` tables, each read by `read`.
fn named_tables<T>(
    sink: &mut Sink<'_>,
    t: &Table<'_, '_>,
    key: &str,
    read: impl Fn(&mut Sink<'_>, &str, &Table<'_, '_>) -> Option<T>,
) -> Vec<T> {
    let Some(all) = t.table(sink, key, format!("`{key}` of {}", t.label)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in &all.entries {
        let name = name.get_ref().to_string();
        if !is_valid_unit_name(&name) || name.len() > 40 {
            sink.error(
                all.key_at(&name),
                format!("invalid name `{name}` in {}: expected up to 40 letters, digits, `-`, `_` or `.`, starting with a letter or digit", all.label),
                None,
            );
            continue;
        }
        let DeValue::Table(table) = value.get_ref() else {
            all.wrong_type(sink, &name, value, "a table");
            continue;
        };
        let label = format!("{}.{key}.{}]", t.label.trim_end_matches(']'), toml_key(&name));
        let table = Table::new(label, value.span(), table);
        out.extend(read(sink, &name, &table));
    }
    out
}

fn read_accessory(sink: &mut Sink<'_>, name: &str, t: &Table<'_, '_>) -> Option<AccessoryConfig> {
    let before = sink.len();
    let guessed = t.check_keys(sink, ACCESSORY_KEYS);
    let image = t.non_empty_str(sink, "image");
    if image.is_none() && !t.has("image") && !guessed.contains(&"image") {
        sink.error(
            t.at(),
            format!("missing `image` in {}", t.label),
            Some("e.g. image = \"postgres:15\"".into()),
        );
    }
    let command = exec_list(sink, t, "command");
    let entrypoint = exec_list(sink, t, "entrypoint");
    let env = read_env(sink, t, "env", &t.label);
    let ready = command_spec(sink, t, "ready");
    let ready_timeout = t.duration(sink, "ready_timeout");
    let mut volumes = Vec::new();
    for path in t.str_list(sink, "volumes").unwrap_or_default() {
        let p = path.get_ref();
        let bad = !p.starts_with('/') || p.split('/').any(|part| part == "..") || p.contains(':') || p == "/";
        if bad {
            t.invalid(
                sink,
                path.span().start,
                "volumes",
                &format!("expected an absolute path inside the container (no `..`, no `:`), found \"{p}\""),
                Some("e.g. volumes = [\"/var/lib/postgresql/data\"]".into()),
            );
        } else if volumes.contains(p) {
            t.invalid(
                sink,
                path.span().start,
                "volumes",
                &format!("\"{p}\" is listed twice"),
                None,
            );
        } else {
            volumes.push(p.clone());
        }
    }
    (sink.len() == before).then(|| AccessoryConfig {
        name: name.to_string(),
        image: image.map(|i| i.into_inner()).unwrap_or_default(),
        command,
        entrypoint,
        env,
        ready,
        ready_timeout,
        volumes,
    })
}

/// An accessory's `command`/`entrypoint`: exec form, or a string run by `sh -c`.
fn exec_list(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str) -> Option<Vec<String>> {
    command_spec(sink, t, key).map(|c| c.argv())
}

fn read_process(sink: &mut Sink<'_>, name: &str, t: &Table<'_, '_>) -> Option<ProcessConfig> {
    let before = sink.len();
    let guessed = t.check_keys(sink, PROCESS_KEYS);
    let command = command_spec(sink, t, "command");
    if !t.has("command") && !guessed.contains(&"command") {
        sink.error(
            t.at(),
            format!("missing `command` in {}", t.label),
            Some("e.g. command = [\"rq\", \"worker\"]".into()),
        );
    }
    let env = read_env(sink, t, "env", &t.label);
    match command {
        Some(command) if sink.len() == before => Some(ProcessConfig {
            name: name.to_string(),
            command,
            env,
        }),
        _ => None,
    }
}

/// An accessory and a process of one environment share the environment's network: one name
/// for both would be two hosts of one name.
fn check_names(sink: &mut Sink<'_>, t: &Table<'_, '_>, parts: &EnvParts) {
    for p in &parts.processes {
        if parts.accessories.iter().any(|a| a.name == p.name) {
            sink.error(
                t.at(),
                format!(
                    "`{}` in {} is both an accessory and a process: give them different names",
                    p.name, t.label
                ),
                None,
            );
        }
        if p.name == "web" {
            sink.error(
                t.at(),
                format!(
                    "a process of {} is named `web`: that is the release's own process",
                    t.label
                ),
                Some("name it after what it does, e.g. `worker`".into()),
            );
        }
    }
}

/// `[stages.X] secrets = [...]` names secrets of the top-level `[secrets]`.
pub(crate) fn check_stage_secrets(
    sink: &mut Sink<'_>,
    stages: &[crate::config::stages::ParsedStage],
    secrets: &[SecretConfig],
) {
    let defined: Vec<&str> = secrets.iter().map(|s| s.name.as_str()).collect();
    for stage in stages {
        let Some(names) = stage.config.as_ref().and_then(|c| c.secrets.as_ref()) else {
            continue;
        };
        for name in names.iter().filter(|n| !defined.contains(&n.as_str())) {
            let hint = crate::config::hint::did_you_mean(name, defined.iter().copied())
                .or_else(|| Some("a stage's `secrets` names secrets of the top-level [secrets] table".into()));
            sink.error(
                stage.header.start,
                format!(
                    "stage `{}` asks for secret `{name}`, which [secrets] does not define",
                    stage.name
                ),
                hint,
            );
        }
    }
}
