//! `shipdeck doctor`: what a first run needs of this machine — the Docker engine, the stage
//! images (no registry may be reachable), the environments' host ports and the inotify limits
//! watch mode uses — each finding with the fix when it is not fine.

use std::path::Path;

use crate::config::{Config, Publish};

/// How one check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Works, but something will get in the way.
    Warning,
    /// A run or a deploy will fail until it is fixed.
    Problem,
}

/// One check's result: what was looked at, what was found, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub what: String,
    pub found: String,
    pub fix: Option<String>,
}

impl Finding {
    fn ok(what: impl Into<String>, found: impl Into<String>) -> Finding {
        Finding {
            level: Level::Ok,
            what: what.into(),
            found: found.into(),
            fix: None,
        }
    }

    fn bad(level: Level, what: impl Into<String>, found: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            level,
            what: what.into(),
            found: found.into(),
            fix: Some(fix.into()),
        }
    }

    /// `✓ engine: …`, with the fix on an indented line.
    pub fn line(&self) -> String {
        let mark = match self.level {
            Level::Ok => "✓",
            Level::Warning => "!",
            Level::Problem => "✗",
        };
        let mut out = format!("{mark} {}: {}", self.what, self.found);
        if let Some(fix) = &self.fix {
            out.push_str(&format!("\n    fix: {fix}"));
        }
        out
    }
}

/// Every check; `config` is None when release.toml could not be read (`config_error` says why).
pub async fn diagnose(config: Option<&Config>, config_error: Option<&str>) -> Vec<Finding> {
    let mut findings = Vec::new();
    match (config, config_error) {
        (Some(c), _) => findings.push(Finding::ok("release.toml", format!("valid (app {})", c.app.name))),
        (None, Some(e)) => findings.push(Finding::bad(
            Level::Problem,
            "release.toml",
            crate::text::first_line(e).to_string(),
            "`shipdeck check` shows every error with its hint; `shipdeck init` writes a first one",
        )),
        (None, None) => {}
    }
    let docker = crate::docker::connect().await;
    match &docker {
        Ok(d) => findings.push(Finding::ok(
            "engine",
            format!("Docker {} (API {}) at {}", d.server_version, d.api_version, d.address),
        )),
        Err(e) => findings.push(Finding::bad(
            Level::Problem,
            "engine",
            e.to_string(),
            "start Docker (`sudo systemctl start docker`), or point DOCKER_HOST at a running engine; \
             a permission error needs your user in the `docker` group (`sudo usermod -aG docker $USER`, then log in again)",
        )),
    }
    if let (Some(config), Ok(docker)) = (config, &docker) {
        for image in stage_images(config) {
            findings.push(match docker.image_exists(&image).await {
                Ok(true) => Finding::ok(format!("image {image}"), "present"),
                Ok(false) => Finding::bad(
                    Level::Warning,
                    format!("image {image}"),
                    "not on the engine: the first run pulls it",
                    format!("without a registry, load it first: `docker pull {image}` elsewhere, `docker save`, then `docker load`"),
                ),
                Err(e) => Finding::bad(Level::Problem, format!("image {image}"), e.to_string(), "check the engine"),
            });
        }
    }
    if let Some(config) = config {
        findings.extend(ports(config));
    }
    findings.extend(inotify(Path::new("/proc/sys/fs/inotify")));
    findings
}

/// The images of the run stages, each once, in pipeline order.
fn stage_images(config: &Config) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    for stage in &config.stages {
        if let Some(run) = stage.run_stage() {
            if !images.contains(&run.image) {
                images.push(run.image.clone());
            }
        }
    }
    images
}

/// Each local environment's published host port: free, or taken (maybe by its own release).
fn ports(config: &Config) -> Vec<Finding> {
    config
        .environments
        .iter()
        .filter(|e| e.docker_host.is_none())
        .filter_map(|e| Some((e, Publish::parse(e.publish.as_deref()?).ok()?)))
        .map(|(env, publish)| {
            let ip = publish.host_ip.clone().unwrap_or_else(|| "0.0.0.0".to_string());
            let what = format!("port {}:{} ({})", ip, publish.host_port, env.name);
            match std::net::TcpListener::bind((ip.as_str(), publish.host_port)) {
                Ok(_) => Finding::ok(what, "free"),
                Err(e) => Finding::bad(
                    Level::Warning,
                    what,
                    format!("cannot be bound ({e}): fine if {}'s own release runs there", env.name),
                    format!(
                        "`shipdeck status` says whether it is {}'s; otherwise stop what listens (`ss -ltnp 'sport = :{}'`) or change `publish` in [environments.{}]",
                        env.name, publish.host_port, env.name
                    ),
                ),
            }
        })
        .collect()
}

/// Watch mode needs one inotify watch per directory of the working tree and one instance
/// per watcher; below these, it falls back to polling.
const MIN_WATCHES: u64 = 65_536;
const MIN_INSTANCES: u64 = 128;

/// The inotify limits read under `dir` (`/proc/sys/fs/inotify` on Linux).
pub fn inotify(dir: &Path) -> Vec<Finding> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
    };
    let mut out = Vec::new();
    for (name, min, persist) in [
        ("max_user_watches", MIN_WATCHES, 524_288),
        ("max_user_instances", MIN_INSTANCES, 512),
    ] {
        let what = format!("inotify {name}");
        out.push(match read(name) {
            Some(n) if n >= min => Finding::ok(what, n.to_string()),
            Some(n) => Finding::bad(
                Level::Warning,
                what,
                format!("{n}: large trees fall back to polling in watch mode"),
                format!(
                    "`sudo sysctl fs.inotify.{name}={persist}`, and to keep it: \
                     `echo fs.inotify.{name}={persist} | sudo tee /etc/sysctl.d/60-shipdeck.conf`"
                ),
            ),
            None => Finding::bad(
                Level::Warning,
                what,
                "unknown (no /proc/sys/fs/inotify: not Linux?)",
                "watch mode polls where inotify is missing; nothing to do",
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_inotify_limits_come_with_the_sysctl_that_raises_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("max_user_watches"), "8192\n").unwrap();
        std::fs::write(dir.path().join("max_user_instances"), "1024\n").unwrap();
        let found = inotify(dir.path());
        assert_eq!(found[0].level, Level::Warning, "{found:?}");
        assert!(found[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("sysctl fs.inotify.max_user_watches=524288"));
        assert_eq!(found[1].level, Level::Ok, "{found:?}");
        let found = inotify(&dir.path().join("missing"));
        assert!(found
            .iter()
            .all(|f| f.level == Level::Warning && f.found.starts_with("unknown")));
    }

    #[test]
    fn a_taken_port_is_named_with_how_to_find_who_holds_it() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let text = format!(
            "[app]\nname = \"demo\"\n[stages.package]\ndockerfile = \"Dockerfile\"\n\
             [environments.staging]\npublish = \"127.0.0.1:{port}:8080\"\n"
        );
        let config = crate::config::parse(&text, "release.toml", None).unwrap();
        let found = ports(&config);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].level, Level::Warning, "{found:?}");
        assert!(
            found[0].line().contains(&format!("sport = :{port}")),
            "{}",
            found[0].line()
        );
        drop(taken);
        assert_eq!(ports(&config)[0].level, Level::Ok);
    }
}
