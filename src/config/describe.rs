//! `Config::describe`: the resolved pipeline as `shipdeck check` prints it.

use std::fmt::Write;

use crate::config::limits::describe_limits;
use crate::config::model::{
    AppConfig, Config, EnvironmentConfig, Network, OnBusy, ServiceConfig, SmokeCheck, StageConfig, StageKind,
    StageLimits, WatchOn,
};
use crate::config::size::format_size;
use crate::text::duration::DurationStyle;

/// Width of the field names in the indented detail lines.
const FIELD: usize = 13;

fn field(out: &mut String, name: &str, value: impl AsRef<str>) {
    let _ = writeln!(out, "      {name:<FIELD$}{}", value.as_ref());
}

/// Field lines for a list: the first value beside the name, the rest aligned under it.
fn field_list(out: &mut String, name: &str, values: &[String]) {
    for (i, value) in values.iter().enumerate() {
        field(out, if i == 0 { name } else { "" }, value);
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn env_lines(env: &[(String, String)]) -> Vec<String> {
    env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

impl Config {
    /// A readable, multi-line summary of the resolved configuration: the app, watch settings,
    /// stages in run order, environments and secrets (by name and source variable, never a
    /// value). Ends with a newline.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "app      {}", self.app.name);
        let _ = writeln!(
            out,
            "         artifacts up to {} per run{}",
            format_size(self.app.max_artifacts),
            if self.app.max_artifacts == AppConfig::DEFAULT_MAX_ARTIFACTS {
                " (default)"
            } else {
                ""
            }
        );
        let w = &self.watch;
        let on = match w.on {
            WatchOn::Commit => "runs on each commit",
            WatchOn::Save => "runs on each save",
            WatchOn::Both => "runs on each commit and save",
        };
        let busy = match w.on_busy {
            OnBusy::Supersede => "a newer run supersedes a busy one",
            OnBusy::Queue => "a newer run waits for a busy one",
        };
        let _ = write!(out, "watch    {on} · {busy} · debounce {}ms", w.debounce_ms);
        if !w.ignore.is_empty() {
            let _ = write!(out, " · ignore {}", w.ignore.join(" "));
        }
        out.push('\n');

        let _ = writeln!(out, "\nstages ({}, in run order)", self.stages.len());
        for (i, stage) in self.stages.iter().enumerate() {
            describe_stage(&mut out, i + 1, stage);
        }
        if !self.services.is_empty() {
            let _ = writeln!(
                out,
                "\nservices ({}, a fresh instance per stage that names one)",
                self.services.len()
            );
            for service in &self.services {
                describe_service(&mut out, service, &self.stages);
            }
        }
        if !self.environments.is_empty() {
            let _ = writeln!(out, "\nenvironments ({})", self.environments.len());
            for env in &self.environments {
                describe_environment(&mut out, env);
            }
        }
        if !self.secrets.is_empty() {
            let _ = writeln!(out, "\nsecrets ({}, values masked in every log)", self.secrets.len());
            let width = self.secrets.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for secret in &self.secrets {
                let _ = writeln!(out, "  {:<width$}  from ${}", secret.name, secret.env);
            }
        }
        if !self.notify.is_empty() {
            let _ = writeln!(out, "\nnotify ({}, URLs masked)", self.notify.len());
            for channel in &self.notify {
                describe_notify(&mut out, channel);
            }
        }
        out
    }
}

/// A channel without its URL (a secret): its kind, what signs or logs in, its filters.
fn describe_notify(out: &mut String, channel: &super::model::NotifyConfig) {
    use super::model::NotifyChannel;
    let how = match &channel.channel {
        NotifyChannel::Webhook { secret: Some(s), .. } => format!("webhook, signed with secret {s}"),
        NotifyChannel::Webhook { secret: None, .. } => "webhook, unsigned".to_string(),
        NotifyChannel::Slack { .. } => "slack".to_string(),
        NotifyChannel::Email(e) => {
            let auth = match (&e.user, &e.password) {
                (Some(u), Some(p)) => format!(", as {u} (password from secret {p})"),
                _ => String::new(),
            };
            format!("email from {} to {}{auth}", e.from, e.to.join(", "))
        }
    };
    let _ = writeln!(out, "  {}  {how}", channel.name);
    let on: Vec<&str> = channel.on.iter().map(|e| e.as_str()).collect();
    field(out, "on", on.join(", "));
    if let Some(envs) = &channel.environments {
        field(out, "environments", envs.join(", "));
    }
}

fn describe_stage(out: &mut String, number: usize, stage: &StageConfig) {
    let _ = write!(out, "  {number}. {}", stage.name);
    if !stage.needs.is_empty() {
        let _ = write!(out, "  (after {})", stage.needs.join(", "));
    }
    if stage.on_save {
        out.push_str("  [also on save]");
    }
    out.push('\n');
    match &stage.kind {
        StageKind::Run(run) => {
            field(out, "image", &run.image);
            field_list(out, "run", &run.run);
            if let Some(dir) = &run.workdir {
                field(out, "workdir", dir);
            }
            let network = match (run.network, stage.services.is_empty()) {
                (_, true) => run.network.as_str().to_string(),
                (Network::None, false) => "none (its services only, on an internal network)".to_string(),
                (Network::Bridge, false) => "bridge (on a network with its services)".to_string(),
            };
            field(out, "network", network);
            if !run.cache.is_empty() {
                field_list(out, "cache", &run.cache);
            }
            if !run.artifacts.is_empty() {
                field_list(out, "artifacts", &run.artifacts);
            }
            if let Some(scan) = &run.scan {
                let gate = format!(
                    "{} report {} · fails on {} and above · gates deploy and promote",
                    scan.format.key(),
                    scan.report,
                    scan.fail_on.word()
                );
                field(out, "scan", gate);
                let ignored: Vec<String> = scan
                    .ignore
                    .iter()
                    .map(|i| match i.until {
                        Some(until) => format!("ignores {} until {until}: {}", i.id, i.reason),
                        None => format!("ignores {}: {}", i.id, i.reason),
                    })
                    .collect();
                field_list(out, "", &ignored);
            }
            if !stage.services.is_empty() {
                field(out, "services", stage.services.join(", "));
            }
        }
        StageKind::Package(package) => {
            field(
                out,
                "dockerfile",
                format!("{} (context {})", package.dockerfile, package.context),
            );
            field(out, "builds", "the release image");
        }
    }
    field_list(out, "env", &env_lines(&stage.env));
    match stage.secrets.as_deref() {
        Some([]) => field(out, "secrets", "none"),
        Some(names) => field(out, "secrets", names.join(", ")),
        None => {}
    }
    let default = if stage.limits == StageLimits::DEFAULT {
        " (default)"
    } else {
        ""
    };
    let build = stage.package().is_some();
    field(
        out,
        "limits",
        format!("{}{default}", describe_limits(&stage.limits, build)),
    );
    field(
        out,
        "timeout",
        stage.timeout.map_or_else(
            || {
                format!(
                    "{} (default)",
                    DurationStyle::Config.format(super::DEFAULT_STAGE_TIMEOUT)
                )
            },
            |d| DurationStyle::Config.format(d),
        ),
    );
}

/// A service: what it runs, how readiness is told, which stages get it.
pub(crate) fn describe_service(out: &mut String, service: &ServiceConfig, stages: &[StageConfig]) {
    let _ = writeln!(out, "  {}", service.name);
    field(out, "image", &service.image);
    if let Some(cmd) = &service.entrypoint {
        field(out, "entrypoint", cmd.join(" "));
    }
    if let Some(cmd) = &service.command {
        field(out, "command", cmd.join(" "));
    }
    field_list(out, "env", &env_lines(&service.env));
    let ready = match &service.ready {
        Some(cmd) => format!("`{}` succeeds", cmd.display()),
        None => "its image's HEALTHCHECK passes, else when its exposed TCP ports listen".to_string(),
    };
    let timeout = DurationStyle::Config.format(service.ready_timeout);
    let default = if service.ready_timeout == ServiceConfig::DEFAULT_READY_TIMEOUT {
        " (default)"
    } else {
        ""
    };
    field(out, "ready", format!("when {ready}, within {timeout}{default}"));
    let users: Vec<&str> = stages
        .iter()
        .filter(|s| s.services.contains(&service.name))
        .map(|s| s.name.as_str())
        .collect();
    let users = if users.is_empty() {
        "no stage names it".to_string()
    } else {
        users.join(", ")
    };
    field(out, "stages", users);
}

/// `proxy shipdeck/proxy:bookworm (smoke-checked before traffic moves; drain up to 30s)`.
fn describe_strategy(env: &EnvironmentConfig) -> String {
    let ready = env
        .ready_timeout
        .map(|t| format!("; ready within {}", DurationStyle::Config.format(t)))
        .unwrap_or_default();
    match env.strategy {
        crate::config::Strategy::Recreate => {
            format!("recreate (the old release stops, then the new one starts){ready}")
        }
        crate::config::Strategy::Proxy if env.publish.is_none() => {
            format!("proxy (no proxy: nothing is published; the new release starts beside the old one){ready}")
        }
        crate::config::Strategy::Proxy => format!(
            "proxy {} (smoke-checked before traffic moves; drain up to {}){ready}",
            env.proxy_image,
            DurationStyle::Config.format(env.drain)
        ),
    }
}

fn describe_environment(out: &mut String, env: &EnvironmentConfig) {
    let _ = writeln!(out, "  {}", env.name);
    let url = env
        .publish_spec()
        .map(|p| format!("  ({})", p.url()))
        .unwrap_or_default();
    field(
        out,
        "publish",
        format!("{}{url}", env.publish.as_deref().unwrap_or("not published")),
    );
    field(out, "engine", env.docker_host.as_deref().unwrap_or("local"));
    field(out, "strategy", describe_strategy(env));
    if let Some(from) = &env.promote_from {
        field(
            out,
            "promote",
            format!("from {from} (releases that passed its smoke checks)"),
        );
    }
    let mut guards = Vec::new();
    if env.approval {
        guards.push("approval required");
    }
    if env.auto_rollback {
        guards.push("rolls back when a smoke check fails");
    }
    if !guards.is_empty() {
        field(out, "guards", guards.join(", "));
    }
    field_list(out, "env", &env_lines(&env.env));
    if let Some(cmd) = &env.entrypoint {
        field(out, "entrypoint", cmd.join(" "));
    }
    if let Some(cmd) = &env.command {
        field(out, "command", cmd.join(" "));
    }
    if let Some(h) = &env.healthcheck {
        let mut text = h.cmd.display();
        if let Some(i) = h.interval {
            let _ = write!(text, ", every {}", DurationStyle::Config.format(i));
        }
        if let Some(r) = h.retries {
            let _ = write!(text, ", {}", plural(r as usize, "retry", "retries"));
        }
        field(out, "healthcheck", text);
    }
    let checks: Vec<String> = env.smoke.iter().map(describe_smoke).collect();
    field_list(out, "smoke", &checks);
    if let Some(cmd) = &env.release_command {
        field(
            out,
            "release",
            format!("{} (before each new release takes traffic)", cmd.display()),
        );
    }
    let accessories: Vec<String> = env
        .accessories
        .iter()
        .map(|a| {
            let kept = if a.volumes.is_empty() {
                String::new()
            } else {
                format!(", keeps {}", a.volumes.join(", "))
            };
            let secrets = if a.secrets.is_empty() {
                String::new()
            } else {
                format!(", secrets {}", a.secrets.join(", "))
            };
            format!("{} ({}{kept}{secrets})", a.service.name, a.service.image)
        })
        .collect();
    field_list(out, "accessories", &accessories);
    let processes: Vec<String> = env
        .processes
        .iter()
        .map(|p| format!("{}: {}", p.name, p.command.display()))
        .collect();
    field_list(out, "processes", &processes);
    let secrets: Vec<String> = env
        .secrets
        .iter()
        .map(|s| format!("{} from ${}", s.name, s.env))
        .collect();
    field_list(out, "secrets", &secrets);
}

fn describe_smoke(check: &SmokeCheck) -> String {
    let mut text = match (&check.http, &check.command) {
        (Some(http), _) => http.clone(),
        (None, Some(cmd)) => format!("$ {}", cmd.display()),
        (None, None) => String::new(),
    };
    let mut expects = Vec::new();
    if let Some(status) = check.expect_status {
        expects.push(format!("status {status}"));
    }
    if let Some(body) = &check.expect_body {
        expects.push(format!("body contains {body:?}"));
    }
    if let Some(regex) = &check.expect_body_regex {
        expects.push(format!("body matches /{regex}/"));
    }
    for json in check.expect_json.iter().flatten() {
        expects.push(format!("json {} = {}", json.pointer, json.value));
    }
    if !expects.is_empty() {
        let _ = write!(text, " → {}", expects.join(", "));
    }
    if let Some(within) = check.within {
        let _ = write!(text, " (within {})", DurationStyle::Config.format(within));
    }
    text
}
