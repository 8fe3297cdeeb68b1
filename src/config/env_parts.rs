//! What an environment runs besides its web process: `release_command`, `[environments.X.
//! accessories.NAME]` (long-lived containers beside the releases, e.g. a database),
//! `[environments.X.processes.NAME]` (more processes of the same release, e.g. a worker) and
//! `[environments.X.secrets]` (secrets for this environment only).
//!
//! An accessory has the keys of a stage service (image, command, entrypoint, env, ready,
//! ready_timeout), read by `services::read_service`, plus `volumes`.

use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::environments::command_spec;
use crate::config::hint::did_you_mean;
use crate::config::model::{CommandSpec, SecretConfig, ServiceConfig};
use crate::config::reader::{toml_key, Table};
use crate::config::rules::is_valid_unit_name;
use crate::config::sections::read_secret_entries;
use crate::config::services::read_service;
use crate::config::stages::read_env;

const PROCESS_KEYS: &[&str] = &["command", "env"];

/// `[environments.X.accessories.NAME]`: a container that lives beside the releases (started on
/// the first deploy, never restarted by deploys or rollbacks), reached on the environment's
/// network at host `NAME`. It is a service (`[services.NAME]`'s keys, read by the same reader,
/// made ready by the same `docker::wait_ready`) that keeps data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessoryConfig {
    pub service: ServiceConfig,
    /// Absolute paths in the container, each a named volume kept across deploys, rollbacks,
    /// restarts and `shipdeck clean`.
    pub volumes: Vec<String>,
    /// Names of the environment's secrets (`[secrets]` or its own) passed into it as variables,
    /// e.g. the database's password; masked like every secret.
    pub secrets: Vec<String>,
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
pub(crate) fn read_env_parts(sink: &mut Sink<'_>, t: &Table<'_, '_>, top_secrets: &[SecretConfig]) -> EnvParts {
    let release_command = command_spec(sink, t, "release_command");
    let processes = named_tables(sink, t, "processes", |sink, name, table| {
        read_process(sink, name, table)
    });
    let secrets = match t.table(sink, "secrets", format!("`secrets` of {}", t.label)) {
        Some(table) => read_secret_entries(sink, &table, &format!("{}.secrets", t.label.trim_end_matches(']'))),
        None => Vec::new(),
    };
    let known: Vec<&str> = top_secrets.iter().chain(&secrets).map(|s| s.name.as_str()).collect();
    let accessories = named_tables(sink, t, "accessories", |sink, name, table| {
        read_accessory(sink, name, table, &known)
    });
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

/// `known`: the names of the secrets the environment has, which `secrets` may name.
fn read_accessory(sink: &mut Sink<'_>, name: &str, t: &Table<'_, '_>, known: &[&str]) -> Option<AccessoryConfig> {
    let service = read_service(sink, name, t, &["volumes", "secrets"]);
    let volumes = read_volumes(sink, t);
    let before = sink.len();
    let mut secrets = Vec::new();
    for secret in t.str_list(sink, "secrets").unwrap_or_default() {
        let wanted = secret.get_ref();
        if known.contains(&wanted.as_str()) {
            secrets.push(wanted.clone());
            continue;
        }
        let hint = did_you_mean(wanted, known.iter().copied()).or_else(|| {
            Some("an accessory's `secrets` names entries of [secrets] or of the environment's own secrets".into())
        });
        t.invalid(
            sink,
            secret.span().start,
            "secrets",
            &format!("no secret `{wanted}` is defined for this environment"),
            hint,
        );
    }
    let secrets_ok = sink.len() == before;
    Some(AccessoryConfig {
        service: service?,
        volumes: volumes?,
        secrets: secrets_ok.then_some(secrets)?,
    })
}

/// An accessory's `volumes`: absolute paths inside the container, each once. `None` when one is wrong.
fn read_volumes(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<Vec<String>> {
    let before = sink.len();
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
    (sink.len() == before).then_some(volumes)
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
        if parts.accessories.iter().any(|a| a.service.name == p.name) {
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
