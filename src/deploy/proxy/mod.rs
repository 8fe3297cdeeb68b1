//! An environment's proxy (strategy `proxy`): one HAProxy container per environment that
//! publishes the environment's address (`publish`) and forwards every request, on the
//! environment's network, to the release it points at. Releases then publish nothing, so a
//! new one can start beside the old one and take the traffic only once it is ready and its
//! smoke checks passed against it directly (`deploy::switch`).
//!
//! shipdeck talks to HAProxy's runtime API with `docker exec … socat` (see `haproxy`), through
//! the engine's API only: the same on local, `tcp://` and `ssh://` engines. The container is
//! labelled with the app, the environment and role `proxy`, and carries no owner: the reaper
//! and `shipdeck clean` never remove it (like accessories). It is recreated when it is missing,
//! stopped, or its runtime API does not answer, pointing at the release that runs.

pub mod haproxy;

use std::time::{Duration, Instant};

use crate::deploy::target::health_of;
use crate::deploy::{network, Deployed, Target};
use crate::docker::{labels, names, DeploymentSpec, DockerError, LabelledContainer};
pub use haproxy::{SlotStat, Upstream};

/// The role label of an environment's proxy container.
pub const ROLE: &str = "proxy";
/// On the proxy container: the image and `publish` it was made for; another value makes it
/// be recreated.
pub const SPEC_LABEL: &str = "dev.shipdeck.proxy-spec";
/// How long a new proxy's runtime API may take to answer.
const START_LIMIT: Duration = Duration::from_secs(15);
/// The longest one runtime API exchange may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// `shipdeck-proxy-{app}-{env}-{hash}`.
pub fn container_name(app: &str, env: &str) -> String {
    names::scoped("proxy", app, env)
}

/// Whether the environment's traffic goes through a proxy: strategy `proxy` and an address
/// to own.
pub fn wanted(target: &Target) -> bool {
    target.env.strategy == crate::config::Strategy::Proxy && target.env.publish.is_some()
}

/// An environment's running proxy, whose runtime API answered.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub container_id: String,
    pub container: String,
    /// The port it listens on inside its container (`publish`'s container port), which is
    /// also the port releases serve on.
    pub port: u16,
    /// Why it was (re)created by this call: `missing`, `exited`, `its runtime API does not
    /// answer: …`; `None` when it was there and well.
    pub recreated: Option<String>,
}

/// The proxy's state as `status` and the console show it (`missing`, `running`, …).
pub async fn state(target: &Target) -> Result<crate::deploy::accessories::PartState, DockerError> {
    let found = find(target).await?;
    let (container, state, health) = match &found {
        Some(c) => {
            let mut health = health_of(&c.state, &c.status);
            if c.state == "running" {
                let proxy = Proxy {
                    container_id: c.id.clone(),
                    container: c.name.clone(),
                    port: 0,
                    recreated: None,
                };
                // The address it owns, as clients reach it (`publish`'s host and port).
                let published = match target.published_addr() {
                    Some((host, port)) if host.contains(':') => format!("[{host}]:{port}"),
                    Some((host, port)) => format!("{host}:{port}"),
                    None => String::new(),
                };
                health = match proxy.stats(target).await {
                    Ok(stats) => match stats.iter().find(|s| s.serving()) {
                        Some(s) => format!(
                            "serving {} ({}) on {published}",
                            release_at(target, s.ip())
                                .await?
                                .unwrap_or_else(|| "no release of shipdeck's".into()),
                            s.addr
                        ),
                        None => format!("no release behind it (503) on {published}"),
                    },
                    Err(why) => format!("broken: {why} — recreated by the next deploy"),
                };
            } else {
                health = format!("{health} — recreated by the next deploy");
            }
            (Some(c.name.clone()), c.state.clone(), health)
        }
        None => (
            None,
            "missing".to_string(),
            "missing: the next deploy creates it".to_string(),
        ),
    };
    Ok(crate::deploy::accessories::PartState {
        name: "proxy".to_string(),
        container,
        state,
        health,
        image: target.env.proxy_image.clone(),
    })
}

/// The name of the release container at `ip` on the environment's network, if one is.
async fn release_at(target: &Target, ip: &str) -> Result<Option<String>, DockerError> {
    let net = network::name(&target.app, &target.env.name);
    for d in target.containers().await? {
        if target.docker.address_on(&d.container_id, &net).await?.as_deref() == Some(ip) {
            return Ok(Some(d.container));
        }
    }
    Ok(None)
}

/// Which of `running` the proxy serves now; `None` when there is no proxy, it serves
/// nothing, or none of them.
pub async fn served_among(target: &Target, running: &[&Deployed]) -> Result<Option<Deployed>, DockerError> {
    let Some(c) = find(target).await?.filter(|c| c.state == "running") else {
        return Ok(None);
    };
    let proxy = Proxy {
        container_id: c.id,
        container: c.name,
        port: 0,
        recreated: None,
    };
    let Ok(Some(slot)) = proxy.serving(target).await else {
        return Ok(None);
    };
    let net = network::name(&target.app, &target.env.name);
    for d in running {
        if target.docker.address_on(&d.container_id, &net).await?.as_deref() == Some(slot.ip()) {
            return Ok(Some((*d).clone()));
        }
    }
    Ok(None)
}

async fn find(target: &Target) -> Result<Option<LabelledContainer>, DockerError> {
    let found = target
        .docker
        .containers_labelled(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, ROLE),
        ])
        .await?;
    let name = container_name(&target.app, &target.env.name);
    Ok(found.into_iter().find(|c| c.name == name))
}

fn spec_value(target: &Target) -> String {
    format!(
        "{} {}",
        target.env.proxy_image,
        target.env.publish.as_deref().unwrap_or_default()
    )
}

/// Makes sure the environment's proxy runs and answers, and returns it. When it must be
/// (re)created, it starts pointing at `serving` (the release that runs now), says why in
/// `log`, and its `recreated` says so. Needs `publish` (see [`wanted`]).
pub async fn ensure(
    target: &Target,
    serving: Option<&Upstream>,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<Proxy, DockerError> {
    let docker = &target.docker;
    let publish = target.env.publish_spec().ok_or_else(|| DockerError::Api {
        action: format!("set up the proxy of {}", target.env.name),
        message: "the environment publishes no address for a proxy to own".into(),
    })?;
    let name = container_name(&target.app, &target.env.name);
    let found = find(target).await?;
    let why = match &found {
        None => "missing".to_string(),
        Some(c) if c.labels.get(SPEC_LABEL).map(String::as_str) != Some(spec_value(target).as_str()) => {
            "made for another image or address".to_string()
        }
        Some(c) if c.state != "running" => c.state.clone(),
        Some(c) => {
            let proxy = Proxy {
                container_id: c.id.clone(),
                container: c.name.clone(),
                port: publish.container_port,
                recreated: None,
            };
            match proxy.stats(target).await {
                Ok(_) => return Ok(proxy),
                Err(why) => format!("its runtime API does not answer: {why}"),
            }
        }
    };
    if let Some(old) = &found {
        docker.remove_container(&old.id).await?;
    }
    log(format!("the proxy of {} is {why}: creating {name}", target.env.name));
    network::ensure(target).await?;
    let config = haproxy::config(publish.container_port, serving.map(|s| ("a", s)));
    let spec = DeploymentSpec {
        name: name.clone(),
        image: target.env.proxy_image.clone(),
        env: vec![
            format!("SHIPDECK_PROXY_CONFIG={config}"),
            format!("SHIPDECK_PROXY_PORT={}", publish.container_port),
        ],
        labels: labels::set(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, ROLE),
            (SPEC_LABEL, &spec_value(target)),
        ]),
        publish: Some(publish.clone()),
        network: Some(network::name(&target.app, &target.env.name)),
        ..Default::default()
    };
    if !docker.image_exists(&spec.image).await? {
        return Err(DockerError::ImageUnavailable {
            image: spec.image.clone(),
            message: format!(
                "the proxy of {} needs it (`proxy_image` of [environments.{}])",
                target.env.name, target.env.name
            ),
        });
    }
    let id = docker.create_deployment(&spec).await?;
    if let Err(e) = docker.start(&id).await {
        docker.remove_container(&id).await?;
        return Err(e);
    }
    let proxy = Proxy {
        container_id: id,
        container: name,
        port: publish.container_port,
        recreated: Some(why),
    };
    let started = Instant::now();
    loop {
        match proxy.stats(target).await {
            Ok(_) => break,
            Err(why) if started.elapsed() > START_LIMIT => {
                let logs = docker.last_log_lines(&proxy.container_id, 10).await.join("\n");
                return Err(DockerError::Api {
                    action: format!("start the proxy of {}", target.env.name),
                    message: format!("its runtime API does not answer: {why}\n{logs}"),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    log(format!(
        "the proxy {} owns {} now",
        proxy.container,
        target.env.publish.as_deref().unwrap_or_default()
    ));
    Ok(proxy)
}

impl Proxy {
    /// Sends `commands` (`;`-separated) to HAProxy's runtime API; its answer.
    pub async fn api(&self, target: &Target, commands: &str) -> Result<String, String> {
        let argv = vec![
            "sh".to_string(),
            "-c".into(),
            format!("printf '%s\\n' \"$1\" | socat -t 5 - UNIX-CONNECT:{}", haproxy::SOCKET),
            "sh".into(),
            commands.to_string(),
        ];
        let run = target.docker.exec(&self.container_id, argv, Vec::new());
        let out = match tokio::time::timeout(API_TIMEOUT, run).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("no answer within {} s", API_TIMEOUT.as_secs())),
        };
        if out.exit_code != Some(0) {
            let code = out.exit_code.map_or("?".to_string(), |c| c.to_string());
            return Err(format!("exit {code}: {}", out.output.trim()));
        }
        match haproxy::refused(&out.output) {
            Some(line) => Err(format!("HAProxy refused `{commands}`: {line}")),
            None => Ok(out.output),
        }
    }

    /// Its two server slots, as `show stat` has them.
    pub async fn stats(&self, target: &Target) -> Result<Vec<SlotStat>, String> {
        let answer = self.api(target, "show stat").await?;
        let stats = haproxy::parse_stat(&answer);
        if stats.len() != haproxy::SLOTS.len() {
            return Err(format!(
                "`show stat` has no backend `{}` with slots a and b: is it shipdeck's proxy image?",
                haproxy::BACKEND
            ));
        }
        Ok(stats)
    }

    /// The slot new requests go to now, if any.
    pub async fn serving(&self, target: &Target) -> Result<Option<SlotStat>, String> {
        Ok(self.stats(target).await?.into_iter().find(SlotStat::serving))
    }

    /// Sends new requests to `to` and drains the slot that served until now; returns that
    /// slot (`None` when nothing served). Rewrites the configuration file so that a restarted
    /// proxy keeps pointing at `to`.
    pub async fn point(&self, target: &Target, to: &Upstream) -> Result<Option<SlotStat>, String> {
        let stats = self.stats(target).await?;
        let old = stats.iter().find(|s| s.serving()).cloned();
        let slot = haproxy::free_slot(&stats);
        self.api(
            target,
            &haproxy::switch_commands(slot, to, old.as_ref().map(|s| s.slot.as_str())),
        )
        .await?;
        let now = self.serving(target).await?;
        if now.as_ref().map(|s| s.slot.as_str()) != Some(slot) {
            return Err(format!("after the switch, slot {slot} does not serve: {now:?}"));
        }
        if let Err(why) = self.write_config(target, Some((slot, to))).await {
            // Traffic moved all the same; only a restart of the proxy would forget it.
            tracing::warn!("the proxy's configuration file could not be rewritten: {why}");
        }
        Ok(old)
    }

    /// Requests in flight on `slot`.
    pub async fn sessions(&self, target: &Target, slot: &str) -> Result<u64, String> {
        let stats = self.stats(target).await?;
        Ok(stats.iter().find(|s| s.slot == slot).map_or(0, |s| s.sessions))
    }

    /// Takes `slot` out of service for good (after its drain).
    pub async fn retire(&self, target: &Target, slot: &str) -> Result<(), String> {
        self.api(target, &format!("set server {}/{slot} state maint", haproxy::BACKEND))
            .await
            .map(|_| ())
    }

    async fn write_config(&self, target: &Target, serving: Option<(&str, &Upstream)>) -> Result<(), String> {
        let text = haproxy::config(self.port, serving);
        let argv = vec![
            "sh".to_string(),
            "-c".into(),
            "printf '%s' \"$1\" > \"$2.new\" && mv \"$2.new\" \"$2\"".into(),
            "sh".into(),
            text,
            haproxy::CONFIG_PATH.into(),
        ];
        match target.docker.exec(&self.container_id, argv, Vec::new()).await {
            Ok(out) if out.exit_code == Some(0) => Ok(()),
            Ok(out) => Err(out.output),
            Err(e) => Err(e.to_string()),
        }
    }
}
