//! Accessories: long-lived containers beside an environment's releases (a database, a cache),
//! on the environment's network, reached by their key (`db`). A deploy starts the ones that
//! are missing or stopped and waits until they are ready; deploys and rollbacks never restart
//! one that runs. Their volumes are named, labelled with the app, environment, accessory and
//! path, and carry no owner: the reaper and `shipdeck clean` never remove them.

use crate::config::AccessoryConfig;
use crate::deploy::target::health_of;
use crate::deploy::{network, Target};
use crate::docker::{labels, names, DeploymentSpec, DockerError, LabelledContainer};

/// The role label of an accessory's container.
pub const ROLE: &str = "accessory";
/// The role label of an accessory's kept volumes.
pub const VOLUME_ROLE: &str = "accessory-volume";
/// Log lines shown when one never gets ready.
const LOG_LINES: usize = 20;

/// An accessory's (or a process's) state as `status` and the console show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartState {
    pub name: String,
    /// The container's name; `None` when there is none (never started).
    pub container: Option<String>,
    /// `running`, `exited`, `missing`…
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or the state.
    pub health: String,
    pub image: String,
}

impl PartState {
    fn of(name: &str, image: &str, found: Option<&LabelledContainer>) -> PartState {
        let (container, state, health) = match found {
            Some(c) => (Some(c.name.clone()), c.state.clone(), health_of(&c.state, &c.status)),
            None => (None, "missing".to_string(), "missing".to_string()),
        };
        PartState {
            name: name.to_string(),
            container,
            state,
            health,
            image: image.to_string(),
        }
    }
}

/// `shipdeck-acc-{app}-{env}-{hash}-{key}`.
pub fn container_name(app: &str, env: &str, key: &str) -> String {
    format!("{}-{key}", names::scoped("acc", app, env))
}

/// `shipdeck-data-{app}-{env}-{key}-{hash}`: one per accessory and path.
pub fn volume_name(app: &str, env: &str, key: &str, path: &str) -> String {
    let hash = names::parts_hash(&[app, env, key, path]);
    format!("shipdeck-data-{app}-{env}-{key}-{hash:08x}")
}

/// The accessory containers of the environment (any state), by key.
async fn containers(target: &Target) -> Result<Vec<(String, LabelledContainer)>, DockerError> {
    let found = target
        .docker
        .containers_labelled(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, ROLE),
        ])
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|c| Some((c.labels.get(labels::ACCESSORY)?.clone(), c)))
        .collect())
}

async fn find(target: &Target, key: &str) -> Result<Option<LabelledContainer>, DockerError> {
    Ok(containers(target)
        .await?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, c)| c))
}

/// The state of each accessory of release.toml, in its order.
pub async fn states(target: &Target) -> Result<Vec<PartState>, DockerError> {
    if target.env.accessories.is_empty() {
        return Ok(Vec::new());
    }
    let found = containers(target).await?;
    Ok(target
        .env
        .accessories
        .iter()
        .map(|a| {
            let c = found.iter().find(|(k, _)| *k == a.service.name).map(|(_, c)| c);
            PartState::of(&a.service.name, &a.service.image, c)
        })
        .collect())
}

/// Before a release is placed: every accessory runs and is ready. Creates the missing ones
/// (with their volumes), starts the stopped ones, and leaves the running ones alone.
/// `secrets`: `KEY=value` of the environment's secrets; each accessory gets those it names.
pub async fn ensure_all(
    target: &Target,
    secrets: &[String],
    log: &mut (dyn FnMut(String) + Send),
) -> Result<(), String> {
    if target.env.accessories.is_empty() {
        return Ok(());
    }
    let net = network::ensure(target).await.map_err(|e| e.to_string())?;
    for acc in &target.env.accessories {
        let id = match find(target, &acc.service.name).await.map_err(|e| e.to_string())? {
            Some(c) if c.state == "running" => c.id,
            Some(c) => {
                log(format!("accessory {} is {}: starting it", acc.service.name, c.state));
                target.docker.start(&c.id).await.map_err(|e| e.to_string())?;
                c.id
            }
            None => {
                let id = create(target, acc, &net, secrets).await.map_err(|e| e.to_string())?;
                log(format!(
                    "accessory {}: created {} from {}",
                    acc.service.name,
                    container_name(&target.app, &target.env.name, &acc.service.name),
                    acc.service.image
                ));
                target.docker.start(&id).await.map_err(|e| e.to_string())?;
                id
            }
        };
        wait_ready(target, acc, &id, log).await?;
    }
    Ok(())
}

/// Creates the accessory's container, and its volumes unless they exist (kept data).
async fn create(target: &Target, acc: &AccessoryConfig, net: &str, secrets: &[String]) -> Result<String, DockerError> {
    let docker = &target.docker;
    let (app, env) = (&target.app, &target.env.name);
    if !docker.image_exists(&acc.service.image).await? {
        return Err(DockerError::ImageUnavailable {
            image: acc.service.image.clone(),
            message: format!("accessory {} of {env} needs it", acc.service.name),
        });
    }
    let mut binds = Vec::new();
    for path in &acc.volumes {
        let volume = volume_name(app, env, &acc.service.name, path);
        let set = labels::set(&[
            (labels::APP, app),
            (labels::ENV, env),
            (labels::ROLE, VOLUME_ROLE),
            (labels::ACCESSORY, &acc.service.name),
            (labels::CACHE_PATH, path),
        ]);
        docker.ensure_volume(&volume, set).await?;
        binds.push(format!("{volume}:{path}"));
    }
    let spec = DeploymentSpec {
        name: container_name(app, env, &acc.service.name),
        image: acc.service.image.clone(),
        env: accessory_env(acc, secrets),
        labels: labels::set(&[
            (labels::APP, app),
            (labels::ENV, env),
            (labels::ROLE, ROLE),
            (labels::ACCESSORY, &acc.service.name),
        ]),
        publish: None,
        command: acc.service.command.clone(),
        entrypoint: acc.service.entrypoint.clone(),
        healthcheck: None,
        network: Some(net.to_string()),
        aliases: vec![acc.service.name.clone()],
        binds,
    };
    docker.create_deployment(&spec).await
}

/// The accessory's `env`, then the secrets it names (from `secrets`, `KEY=value`).
fn accessory_env(acc: &AccessoryConfig, secrets: &[String]) -> Vec<String> {
    let mut env: Vec<String> = acc.service.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.extend(
        secrets
            .iter()
            .filter(|kv| {
                kv.split_once('=')
                    .is_some_and(|(k, _)| acc.secrets.iter().any(|n| n == k))
            })
            .cloned(),
    );
    env
}

/// Waits until the accessory is ready, judged like a stage's service (`docker::wait_ready`):
/// its `ready` command succeeds inside it, else its HEALTHCHECK says healthy, else its exposed
/// ports listen, else it runs. Gives up after `ready_timeout`, with its last log lines.
async fn wait_ready(
    target: &Target,
    acc: &AccessoryConfig,
    id: &str,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<(), String> {
    let docker = &target.docker;
    let service = &acc.service;
    let mut note = |line: String| log(format!("accessory {}: {line}", service.name));
    match crate::docker::wait_ready(docker, id, service, service.ready_timeout, &mut note).await {
        Ok(ready) => {
            log(format!(
                "accessory {} is ready ({}, after {} ms)",
                service.name,
                ready.check.describe(),
                ready.waited.as_millis()
            ));
            Ok(())
        }
        Err(why) => {
            let lines = docker.last_log_lines(id, LOG_LINES).await;
            let tail = if lines.is_empty() {
                String::new()
            } else {
                format!("; its last lines:\n{}", lines.join("\n"))
            };
            Err(format!("accessory {} is not ready: {why}{tail}", service.name))
        }
    }
}

/// What `shipdeck accessory ENV NAME ACTION` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessoryAction {
    /// Create it if missing, start it if stopped, and wait until it is ready.
    Start,
    /// Stop it (its volumes stay).
    Stop,
    /// Recreate it from release.toml (its volumes stay) and wait until it is ready.
    Restart,
    /// Its last log lines.
    Logs,
}

/// Runs `action` on the accessory `key` (the caller holds the environment's lock for all but
/// `Logs`); what it did, in lines. `secrets` (`KEY=value`) hold at least those it names.
pub async fn control(
    target: &Target,
    key: &str,
    action: AccessoryAction,
    secrets: &[String],
) -> Result<Vec<String>, String> {
    let Some(acc) = target.env.accessories.iter().find(|a| a.service.name == key) else {
        let known: Vec<&str> = target.env.accessories.iter().map(|a| a.service.name.as_str()).collect();
        return Err(format!(
            "{} has no accessory `{key}` (release.toml defines: {})",
            target.env.name,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    let mut said = Vec::new();
    let mut log = |line: String| said.push(line);
    let found = find(target, key).await.map_err(|e| e.to_string())?;
    let docker = &target.docker;
    match action {
        AccessoryAction::Logs => {
            let Some(c) = found else {
                return Err(format!("accessory {key} of {} has never been started", target.env.name));
            };
            return Ok(docker.last_log_lines(&c.id, 200).await);
        }
        AccessoryAction::Stop => match found {
            Some(c) => {
                docker
                    .stop(&c.id, crate::deploy::target::STOP_GRACE)
                    .await
                    .map_err(|e| e.to_string())?;
                log(format!("accessory {key} stopped (its volumes are kept)"));
            }
            None => log(format!("accessory {key} is not there: nothing to stop")),
        },
        AccessoryAction::Restart => {
            if let Some(c) = found {
                docker.remove_container(&c.id).await.map_err(|e| e.to_string())?;
                log(format!("accessory {key}: removed its container (its volumes are kept)"));
            }
            let one = Target {
                env: crate::config::EnvironmentConfig {
                    accessories: vec![acc.clone()],
                    ..target.env.clone()
                },
                ..target.clone()
            };
            ensure_all(&one, secrets, &mut log).await?;
        }
        AccessoryAction::Start => {
            let one = Target {
                env: crate::config::EnvironmentConfig {
                    accessories: vec![acc.clone()],
                    ..target.env.clone()
                },
                ..target.clone()
            };
            ensure_all(&one, secrets, &mut log).await?;
        }
    }
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_two_apps_and_paths_never_meet() {
        assert_ne!(container_name("a", "x-y", "db"), container_name("a-x", "y", "db"));
        assert_ne!(volume_name("a", "s", "db", "/d"), volume_name("a", "s", "db", "/e"));
        assert_ne!(volume_name("a", "x-y", "db", "/d"), volume_name("a-x", "y", "db", "/d"));
    }

    #[test]
    fn health_reads_docker_status_words() {
        assert_eq!(health_of("running", "Up 3 minutes (healthy)"), "healthy");
        assert_eq!(health_of("running", "Up 1 second (health: starting)"), "starting");
        assert_eq!(health_of("exited", "Exited (1) 2 seconds ago"), "exited");
    }
}
