//! `[environments.NAME]`: deployment targets, their promotion chain and healthcheck.

use std::ops::Range;

use serde_spanned::Spanned;
use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::graph;
use crate::config::hint::did_you_mean;
use crate::config::load::read_load;
use crate::config::model::{CommandSpec, EnvironmentConfig, HealthcheckConfig, SecretConfig, Strategy};
use crate::config::reader::{toml_key, Table};
use crate::config::rules::{is_valid_unit_name, Publish};
use crate::config::smoke::read_smoke;
use crate::config::stages::read_env;

const ENV_KEYS: &[&str] = &[
    "publish",
    "env",
    "docker_host",
    "command",
    "entrypoint",
    "healthcheck",
    "promote_from",
    "approval",
    "auto_rollback",
    "smoke",
    "load",
    "release_command",
    "accessories",
    "processes",
    "secrets",
    "strategy",
    "proxy_image",
    "ready_timeout",
    "drain",
];
const HEALTHCHECK_KEYS: &[&str] = &["cmd", "interval", "timeout", "retries", "start_period"];
const DOCKER_HOST_SCHEMES: &[&str] = &["unix://", "tcp://", "ssh://", "npipe://"];

/// An environment as read, with the positions later checks point at.
pub(crate) struct ParsedEnvironment {
    pub name: String,
    pub config: Option<EnvironmentConfig>,
    pub promote_from: Option<Spanned<String>>,
    /// Where `publish`'s value starts, when it is valid.
    pub publish_at: Option<usize>,
}

/// Reads `[environments]`; the span is that of the table, when there is one.
pub(crate) fn read_environments(
    sink: &mut Sink<'_>,
    root: &Table<'_, '_>,
    top_secrets: &[SecretConfig],
) -> (Vec<ParsedEnvironment>, Option<Range<usize>>) {
    let Some(envs) = root.table(sink, "environments", "[environments]".into()) else {
        return (Vec::new(), None);
    };
    let mut out = Vec::new();
    for (key, value) in &envs.entries {
        let name = key.get_ref().to_string();
        if !is_valid_unit_name(&name) {
            sink.error(key.span().start, format!("invalid environment name `{name}`: expected letters, digits, `-`, `_` or `.`, starting with a letter or digit"), None);
        }
        let DeValue::Table(t) = value.get_ref() else {
            envs.wrong_type(sink, &name, value, "a table of environment settings");
            out.push(ParsedEnvironment {
                name,
                config: None,
                promote_from: None,
                publish_at: None,
            });
            continue;
        };
        let t = Table::new(format!("[environments.{}]", toml_key(&name)), value.span(), t);
        out.push(read_environment(sink, name, &t, top_secrets));
    }
    let span = root.get("environments").map(|v| v.span());
    (out, span)
}

fn read_environment(
    sink: &mut Sink<'_>,
    name: String,
    t: &Table<'_, '_>,
    top_secrets: &[SecretConfig],
) -> ParsedEnvironment {
    let before = sink.len();
    t.check_keys(sink, ENV_KEYS);
    let publish_value = t.get("publish").map(|v| v.span().start);
    let publish = t.str(sink, "publish").and_then(|p| match Publish::parse(p.get_ref()) {
        Ok(_) => Some(p.into_inner()),
        Err(message) => {
            t.invalid(sink, p.span().start, "publish", &message, None);
            None
        }
    });
    let env = read_env(sink, t, "env", &t.label);
    let docker_host = t.non_empty_str(sink, "docker_host").and_then(|h| {
        if DOCKER_HOST_SCHEMES.iter().any(|s| h.get_ref().starts_with(s)) {
            return Some(h.into_inner());
        }
        let message = format!(
            "expected a Docker host URL like \"ssh://deploy@host\" or \"tcp://host:2376\", found \"{}\"",
            h.get_ref()
        );
        t.invalid(
            sink,
            h.span().start,
            "docker_host",
            &message,
            Some("leave `docker_host` out to use the local engine".into()),
        );
        None
    });
    let command = exec_form(sink, t, "command");
    let entrypoint = exec_form(sink, t, "entrypoint");
    let healthcheck = t
        .table(sink, "healthcheck", format!("`healthcheck` of {}", t.label))
        .and_then(|h| read_healthcheck(sink, &h));
    let promote_from = t.non_empty_str(sink, "promote_from");
    let approval = t.bool(sink, "approval").unwrap_or(false);
    let auto_rollback = t.bool(sink, "auto_rollback").unwrap_or(false);
    let smoke = read_smoke(sink, t, &name, publish.is_some());
    let load = read_load(sink, t, &name, publish.is_some());
    let parts = crate::config::env_parts::read_env_parts(sink, t, top_secrets);
    let strategy = read_strategy(sink, t);
    let proxy_image = read_image_name(sink, t, "proxy_image");
    // parse_duration refuses "0s": a release that must be ready at once never is.
    let ready_timeout = t.duration(sink, "ready_timeout");
    let drain = t.duration(sink, "drain");
    let config = (sink.len() == before).then(|| EnvironmentConfig {
        name: name.clone(),
        publish,
        env,
        docker_host,
        command,
        entrypoint,
        healthcheck,
        promote_from: promote_from.as_ref().map(|p| p.get_ref().clone()),
        approval,
        auto_rollback,
        smoke,
        load,
        release_command: parts.release_command,
        accessories: parts.accessories,
        processes: parts.processes,
        secrets: parts.secrets,
        strategy: strategy.unwrap_or_default(),
        proxy_image: proxy_image.unwrap_or_else(|| EnvironmentConfig::DEFAULT_PROXY_IMAGE.to_string()),
        ready_timeout,
        drain: drain.unwrap_or(EnvironmentConfig::DEFAULT_DRAIN),
    });
    ParsedEnvironment {
        name,
        config,
        promote_from,
        publish_at: publish_value,
    }
}

/// `strategy`: `"proxy"` or `"recreate"`.
fn read_strategy(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<Strategy> {
    let value = t.str(sink, "strategy")?;
    if let Some(s) = Strategy::parse(value.get_ref()) {
        return Some(s);
    }
    let message = format!(
        "expected \"proxy\" (a proxy owns the address; the default) or \"recreate\" (stop, then start), found \"{}\"",
        value.get_ref()
    );
    let hint = did_you_mean(value.get_ref(), Strategy::NAMES.iter().copied());
    t.invalid(sink, value.span().start, "strategy", &message, hint);
    None
}

/// An image reference such as `proxy_image`: `name[:tag][@digest]`, no spaces or control
/// characters (it is passed to the engine and shown in logs).
fn read_image_name(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str) -> Option<String> {
    let value = t.non_empty_str(sink, key)?;
    let name = value.get_ref();
    let valid = name.len() <= 255
        && !name.starts_with(['-', ':', '/', '@'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'));
    if valid {
        return Some(value.into_inner());
    }
    let message = format!(
        "expected an image reference like \"{}\", found {:?}",
        EnvironmentConfig::DEFAULT_PROXY_IMAGE,
        name
    );
    t.invalid(sink, value.span().start, key, &message, None);
    None
}

/// `command` / `entrypoint`: a non-empty array of strings (exec form).
pub(crate) fn exec_form(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str) -> Option<Vec<String>> {
    let value = t.get(key)?;
    if let DeValue::String(s) = value.get_ref() {
        let hint = format!("split it into words, e.g. [\"sh\", \"-c\", \"{s}\"]");
        t.wrong_type_hint(sink, key, value, "an array of strings (exec form)", Some(hint));
        return None;
    }
    let items = t.str_list(sink, key)?;
    if items.is_empty() {
        t.invalid(
            sink,
            value.span().start,
            key,
            "expected at least one word",
            Some(format!("leave `{key}` out to keep the image's own")),
        );
        return None;
    }
    Some(items.into_iter().map(Spanned::into_inner).collect())
}

/// A command as a string (shell form, run by `sh -c`) or an array of strings (exec form).
pub(crate) fn command_spec(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str) -> Option<CommandSpec> {
    let value = t.get(key)?;
    let spec = match value.get_ref() {
        DeValue::String(s) => CommandSpec::Shell(s.to_string()),
        DeValue::Array(_) => CommandSpec::Exec(t.str_list(sink, key)?.into_iter().map(Spanned::into_inner).collect()),
        _ => {
            t.wrong_type(
                sink,
                key,
                value,
                "a string (shell form) or an array of strings (exec form)",
            );
            return None;
        }
    };
    let empty = match &spec {
        CommandSpec::Shell(s) => s.trim().is_empty(),
        CommandSpec::Exec(argv) => argv.is_empty() || argv[0].trim().is_empty(),
    };
    if empty {
        t.invalid(
            sink,
            value.span().start,
            key,
            "expected a command, found an empty one",
            None,
        );
        return None;
    }
    Some(spec)
}

fn read_healthcheck(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Option<HealthcheckConfig> {
    let guessed = t.check_keys(sink, HEALTHCHECK_KEYS);
    if !t.has("cmd") {
        if guessed.contains(&"cmd") {
            return None;
        }
        sink.error(
            t.at(),
            format!("missing `cmd` in {}", t.label),
            Some("e.g. cmd = \"curl -fsS http://localhost:8080/health\"".into()),
        );
        return None;
    }
    Some(HealthcheckConfig {
        cmd: command_spec(sink, t, "cmd")?,
        interval: t.duration(sink, "interval"),
        timeout: t.duration(sink, "timeout"),
        retries: t.uint(sink, "retries", 1000).map(|r| r as u32),
        start_period: t.duration(sink, "start_period"),
    })
}

/// Two environments on one engine (the same `docker_host`) cannot publish the same host
/// address and port: the second deployment would fail to bind, or, on every interface, take
/// the other one's traffic.
pub(crate) fn check_published_addresses(sink: &mut Sink<'_>, envs: &[ParsedEnvironment]) {
    let published: Vec<(&ParsedEnvironment, &EnvironmentConfig, Publish)> = envs
        .iter()
        .filter_map(|e| {
            let config = e.config.as_ref()?;
            Some((e, config, config.publish_spec()?))
        })
        .collect();
    for (i, (env, config, publish)) in published.iter().enumerate() {
        let clash = published[..i].iter().find(|(_, other_config, other)| {
            other_config.docker_host == config.docker_host
                && other.host_port == publish.host_port
                && addresses_overlap(other.host_ip.as_deref(), publish.host_ip.as_deref())
        });
        if let Some((other, _, other_publish)) = clash {
            let engine = match &config.docker_host {
                Some(host) => format!("engine {host}"),
                None => "local engine".to_string(),
            };
            sink.error(
                env.publish_at.unwrap_or(0),
                format!(
                    "environments `{}` ({}) and `{}` ({}) publish the same host address and port on the {engine}",
                    other.name,
                    host_address(other_publish),
                    env.name,
                    host_address(publish)
                ),
                Some("give each environment its own host port (or its own `docker_host`)".into()),
            );
        }
    }
}

/// `127.0.0.1:18080`, `[::1]:18080`, or `*:18080` for every interface.
fn host_address(publish: &Publish) -> String {
    match publish.host_ip.as_deref() {
        None => format!("*:{}", publish.host_port),
        Some(ip) if ip.contains(':') => format!("[{ip}]:{}", publish.host_port),
        Some(ip) => format!("{ip}:{}", publish.host_port),
    }
}

/// Whether two host addresses (`None`: every interface) can take the same connections.
fn addresses_overlap(a: Option<&str>, b: Option<&str>) -> bool {
    let any = |ip: Option<&str>| matches!(ip, None | Some("0.0.0.0") | Some("::"));
    any(a) || any(b) || a == b
}

/// Checks `promote_from` (a defined environment, not itself, no cycles).
pub(crate) fn check_promotions(sink: &mut Sink<'_>, envs: &[ParsedEnvironment]) {
    let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    let mut edges = Vec::new();
    for env in envs {
        let mut deps = Vec::new();
        if let Some(from) = &env.promote_from {
            let from_name = from.get_ref().as_str();
            let at = from.span().start;
            if from_name == env.name {
                sink.error(
                    at,
                    format!("environment `{from_name}` promotes from itself"),
                    Some("`promote_from` names the environment a release must pass first".into()),
                );
            } else if let Some(index) = names.iter().position(|n| *n == from_name) {
                deps.push(index);
            } else {
                let hint = did_you_mean(from_name, names.iter().copied().filter(|n| *n != env.name))
                    .or_else(|| Some(format!("defined environments: {}", names.join(", "))));
                sink.error(
                    at,
                    format!(
                        "environment `{}` promotes from `{from_name}`, which is not defined",
                        env.name
                    ),
                    hint,
                );
            }
        }
        edges.push(deps);
    }
    for cycle in graph::order(&edges).1 {
        let at = envs[cycle[0]].promote_from.as_ref().map_or(0, |p| p.span().start);
        sink.error(
            at,
            format!("cycle in promote_from: {}", graph::render_cycle(&names, &cycle)),
            Some("the first environment of a chain has no `promote_from`".into()),
        );
    }
}
