//! `[stages.NAME]`: reading each stage, then checking `needs` and ordering the DAG.

use std::ops::Range;
use std::path::Path;

use serde_spanned::Spanned;
use toml::de::DeValue;

use crate::config::diagnostic::Sink;
use crate::config::limits::read_limits;
use crate::config::model::{Network, PackageStage, RunStage, StageConfig, StageKind, StageLimits};
use crate::config::reader::{toml_key, Table};
use crate::config::rules::{
    check_relative, has_parent_component, is_valid_env_name, is_valid_unit_name, suggest_env_name,
};
use crate::text::closest;

pub(crate) const STAGE_KEYS: &[&str] = &[
    "needs",
    "image",
    "run",
    "dockerfile",
    "context",
    "env",
    "timeout",
    "on_save",
    "network",
    "cache",
    "artifacts",
    "workdir",
    "memory",
    "cpus",
    "pids",
    "services",
    "secrets",
    "build_args",
    "target",
    "platform",
    "scan",
];
/// Keys of a stage that builds with `dockerfile` only.
const PACKAGE_ONLY_KEYS: &[&str] = &["build_args", "target", "platform"];
const RUN_ONLY_KEYS: &[&str] = &["network", "cache", "artifacts", "workdir", "scan"];
const MINIMAL_STAGE: &str = "[stages.test] with image = \"alpine:3.20\" and run = [\"make test\"]";

/// A stage as read, with the positions later checks point at.
pub(crate) struct ParsedStage {
    pub name: String,
    /// `None` when the stage has errors (already reported); it still takes part in `needs`.
    pub config: Option<StageConfig>,
    pub header: Range<usize>,
    pub needs: Vec<Spanned<String>>,
    /// `services = [...]`, as written (checked in `services::check_stage_services`).
    pub services: Vec<Spanned<String>>,
}

/// Reads `[stages]`, reporting what is wrong in each stage.
/// `misspelt`: a misspelt top-level table was already taken for `[stages]`.
pub(crate) fn read_stages(
    sink: &mut Sink<'_>,
    root: &Table<'_, '_>,
    app_dir: Option<&Path>,
    misspelt: bool,
    defaults: StageLimits,
) -> Vec<ParsedStage> {
    let no_stages_hint = Some(format!("add a stage, e.g. {MINIMAL_STAGE}"));
    if let Some(value) = root.get("stages").filter(|v| v.get_ref().is_array()) {
        let hint = Some("each stage is a table named after it: [stages.test], [stages.build]".into());
        root.wrong_type_hint(sink, "stages", value, "a table of stages", hint);
        return Vec::new();
    }
    let Some(stages) = root.table(sink, "stages", "[stages]".into()) else {
        if !root.has("stages") && !misspelt {
            sink.error(0, "no stages defined", no_stages_hint);
        }
        return Vec::new();
    };
    if stages.entries.is_empty() {
        sink.error(stages.at(), "no stages defined: [stages] is empty", no_stages_hint);
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, value) in &stages.entries {
        let name = key.get_ref().to_string();
        if !is_valid_unit_name(&name) {
            sink.error(
                key.span().start,
                format!("invalid stage name `{name}`: expected letters, digits, `-`, `_` or `.`, starting with a letter or digit"),
                Some("the stage name becomes part of container names".into()),
            );
        }
        let DeValue::Table(t) = value.get_ref() else {
            stages.wrong_type(sink, &name, value, "a table of stage settings");
            out.push(ParsedStage {
                name,
                config: None,
                header: value.span(),
                needs: Vec::new(),
                services: Vec::new(),
            });
            continue;
        };
        let table = Table::new(format!("[stages.{}]", toml_key(&name)), value.span(), t);
        out.push(read_stage(sink, name, &table, app_dir, defaults));
    }
    out
}

fn read_stage(
    sink: &mut Sink<'_>,
    name: String,
    t: &Table<'_, '_>,
    app_dir: Option<&Path>,
    defaults: StageLimits,
) -> ParsedStage {
    let guessed = t.check_keys(sink, STAGE_KEYS);
    let needs = t.str_list(sink, "needs").unwrap_or_default();
    let env = read_env(sink, t, "env", &t.label);
    let timeout = t.duration(sink, "timeout");
    let on_save = t.bool(sink, "on_save").unwrap_or(false);
    let limits = read_limits(sink, t, defaults);
    let services = crate::config::services::read_stage_services(sink, t);
    let secrets = t
        .str_list(sink, "secrets")
        .map(|names| names.into_iter().map(|n| n.into_inner()).collect());
    let kind = if t.has("dockerfile") {
        read_package(sink, &name, t, app_dir)
    } else {
        read_run(sink, &name, t, &guessed)
    };
    let config = kind.map(|kind| StageConfig {
        name: name.clone(),
        needs: needs.iter().map(|n| n.get_ref().clone()).collect(),
        kind,
        env,
        timeout,
        on_save,
        limits,
        services: services.iter().map(|s| s.get_ref().clone()).collect(),
        secrets,
    });
    ParsedStage {
        name,
        config,
        header: t.span.clone(),
        needs,
        services,
    }
}

/// `guessed`: known keys that misspelt ones were taken for (not reported missing again).
fn read_run(sink: &mut Sink<'_>, name: &str, t: &Table<'_, '_>, guessed: &[&str]) -> Option<StageKind> {
    for key in std::iter::once(&"context").chain(PACKAGE_ONLY_KEYS) {
        if t.has(key) {
            sink.error(
                t.key_at(key),
                format!("`{key}` without `dockerfile` in {}", t.label),
                Some(format!(
                    "`{key}` only applies to a stage that builds an image with `dockerfile`"
                )),
            );
        }
    }
    let image = t.non_empty_str(sink, "image");
    let run = t.str_list(sink, "run");
    let misspelt = |key: &str| guessed.contains(&key);
    match (t.has("image"), t.has("run")) {
        (false, false) if misspelt("image") || misspelt("run") || misspelt("dockerfile") => return None,
        (true, false) | (false, true) if misspelt("image") || misspelt("run") => return None,
        (false, false) => {
            sink.error(
                t.at(),
                format!("stage `{name}` has nothing to run: expected `image` and `run`, or `dockerfile`"),
                Some("add image = \"alpine:3.20\" and run = [\"make test\"], or dockerfile = \"Dockerfile\" to build the release image".into()),
            );
            return None;
        }
        (true, false) => {
            sink.error(
                t.key_at("image"),
                format!("stage `{name}` has `image` but no `run`"),
                Some("add the commands to run, e.g. run = [\"make test\"]".into()),
            );
            return None;
        }
        (false, true) => {
            sink.error(
                t.key_at("run"),
                format!("stage `{name}` has `run` but no `image`"),
                Some("add the image to run in, e.g. image = \"alpine:3.20\"".into()),
            );
            return None;
        }
        (true, true) => {}
    }
    let run = run?;
    if run.is_empty() {
        sink.error(
            t.key_at("run"),
            format!("`run` is empty in {}: expected at least one command", t.label),
            None,
        );
    }
    for command in &run {
        if command.get_ref().trim().is_empty() {
            sink.error(
                command.span().start,
                format!("empty command in `run` of {}", t.label),
                None,
            );
        }
    }
    let network = read_network(sink, t);
    let cache = read_paths(sink, t, "cache", |p| {
        if p.trim_end_matches(['/', '.']).is_empty() {
            Err(format!(
                "\"{p}\" is the container's root: expected a directory to keep, like \"/root/.cache/pip\""
            ))
        } else if has_parent_component(p) {
            Err(format!("\"{p}\" contains `..`: expected a plain absolute path"))
        } else if p.contains(':') {
            Err(format!(
                "\"{p}\" contains `:`, which Docker reads as a mount separator: expected a plain absolute path"
            ))
        } else if p.starts_with('/') {
            Ok(())
        } else {
            Err(format!(
                "\"{p}\" is not absolute: expected an absolute path in the container, like \"/root/.cache/pip\""
            ))
        }
    });
    let artifacts = read_paths(sink, t, "artifacts", check_relative);
    let workdir = t.non_empty_str(sink, "workdir").and_then(|w| {
        let ok = w.get_ref().starts_with('/') || check_relative(w.get_ref()).is_ok();
        if !ok {
            let message = format!(
                "\"{}\" leaves the workspace: expected a path relative to /workspace, or an absolute one",
                w.get_ref()
            );
            t.invalid(sink, w.span().start, "workdir", &message, None);
        }
        ok.then(|| w.into_inner())
    });
    let scan = crate::config::scan::read_scan(sink, t);
    Some(StageKind::Run(RunStage {
        image: image?.into_inner(),
        run: run.into_iter().map(Spanned::into_inner).collect(),
        network,
        cache,
        artifacts,
        workdir,
        scan,
    }))
}

fn read_network(sink: &mut Sink<'_>, t: &Table<'_, '_>) -> Network {
    let Some(value) = t.str(sink, "network") else {
        return Network::default();
    };
    match value.get_ref().as_str() {
        "none" => Network::None,
        "bridge" => Network::Bridge,
        other => {
            let hint = closest(other, ["none", "bridge"])
                .map(|c| format!("did you mean \"{c}\"?"))
                .or_else(|| {
                    Some("stages reach the network through \"bridge\" (the default) or not at all with \"none\"".into())
                });
            t.invalid(
                sink,
                value.span().start,
                "network",
                &format!("expected \"none\" or \"bridge\", found \"{other}\""),
                hint,
            );
            Network::default()
        }
    }
}

fn read_paths(
    sink: &mut Sink<'_>,
    t: &Table<'_, '_>,
    key: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for path in t.str_list(sink, key).unwrap_or_default() {
        match check(path.get_ref()) {
            Ok(()) => out.push(path.into_inner()),
            Err(message) => t.invalid(sink, path.span().start, key, &message, None),
        }
    }
    out
}

fn read_package(sink: &mut Sink<'_>, name: &str, t: &Table<'_, '_>, app_dir: Option<&Path>) -> Option<StageKind> {
    let mixed: Vec<&str> = ["image", "run"].into_iter().filter(|k| t.has(k)).collect();
    if let Some(first) = mixed.first() {
        let what = mixed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ");
        let what = format!("`dockerfile` as well as {what}");
        sink.error(
            t.key_at(first),
            format!("stage `{name}` has {what}"),
            Some("a stage either runs commands (`image` + `run`) or builds the release image (`dockerfile`): split it into two stages".into()),
        );
    }
    for key in RUN_ONLY_KEYS {
        if t.has(key) {
            sink.error(
                t.key_at(key),
                format!(
                    "`{key}` has no effect in {}, which builds an image with `dockerfile`",
                    t.label
                ),
                Some(format!("move `{key}` to a stage with `image` and `run`")),
            );
        }
    }
    let dockerfile = t.non_empty_str(sink, "dockerfile")?;
    let context = t.non_empty_str(sink, "context");
    let mut ok = mixed.is_empty();
    for (key, value) in [("dockerfile", Some(&dockerfile)), ("context", context.as_ref())] {
        if let Some(Err(message)) = value.map(|v| check_relative(v.get_ref())) {
            let message = message.replace("the workspace", "the app directory");
            t.invalid(sink, value.map_or(0, |v| v.span().start), key, &message, None);
            ok = false;
        }
    }
    let context_str = context.as_ref().map_or(".", |c| c.get_ref().as_str()).to_string();
    if let (Some(dir), true) = (app_dir, ok) {
        let shown = if context_str == "." {
            dockerfile.get_ref().clone()
        } else {
            format!("{}/{}", context_str.trim_end_matches('/'), dockerfile.get_ref())
        };
        if !dir.join(&context_str).is_dir() {
            let at = context.as_ref().map_or(dockerfile.span().start, |c| c.span().start);
            sink.error(
                at,
                format!("context directory not found: {context_str}"),
                Some("`context` is relative to the directory that holds release.toml".into()),
            );
            ok = false;
        } else if !dir.join(&context_str).join(dockerfile.get_ref()).is_file() {
            sink.error(dockerfile.span().start, format!("Dockerfile not found: {shown}"), Some(format!("`dockerfile` is relative to `context` (\"{context_str}\"), which is relative to the directory that holds release.toml")));
            ok = false;
        }
    }
    let build_args = read_env(sink, t, "build_args", &t.label);
    let target = t.non_empty_str(sink, "target").map(Spanned::into_inner);
    let platform = t.non_empty_str(sink, "platform");
    if let Some(p) = &platform {
        if !is_platform(p.get_ref()) {
            t.invalid(
                sink,
                p.span().start,
                "platform",
                &format!("`{}` is not a platform", p.get_ref()),
                Some("expected os/arch or os/arch/variant, e.g. \"linux/amd64\" or \"linux/arm64/v8\"".into()),
            );
            ok = false;
        }
    }
    ok.then(|| {
        StageKind::Package(PackageStage {
            dockerfile: dockerfile.into_inner(),
            context: context_str,
            build_args,
            target,
            platform: platform.map(Spanned::into_inner),
        })
    })
}

/// `os/arch` or `os/arch/variant`, each part lower-case letters, digits, `_` or `-`.
fn is_platform(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        })
}

/// `env = { KEY = "value" }`: strings, integers and booleans (kept as written), in file order.
pub(crate) fn read_env(sink: &mut Sink<'_>, t: &Table<'_, '_>, key: &str, owner: &str) -> Vec<(String, String)> {
    let Some(env) = t.table(sink, key, format!("`{key}` of {owner}")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in &env.entries {
        let name = name.get_ref().to_string();
        if !is_valid_env_name(&name) {
            let at = env.key_at(&name);
            let hint = suggest_env_name(&name).map(|n| format!("did you mean `{n}`?"));
            sink.error(
                at,
                format!(
                    "invalid variable name `{name}` in {}: expected letters, digits and `_`, not starting with a digit",
                    env.label
                ),
                hint,
            );
            continue;
        }
        let text = match value.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) => i.to_string(),
            DeValue::Boolean(b) => b.to_string(),
            _ => {
                env.wrong_type(sink, &name, value, "a string");
                continue;
            }
        };
        out.push((name, text));
    }
    out
}
