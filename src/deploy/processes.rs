//! A release's other processes (`[environments.X.processes.NAME]`, e.g. a worker): containers
//! of the same image as the release's web container, labelled with the web container they
//! belong to, so that a rollout creates, stops, retires and restores them together with it.
//! A process that exits (or keeps being restarted) right after it starts fails the release.

use std::time::{Duration, Instant};

use crate::config::ProcessConfig;
use crate::deploy::accessories::PartState;
use crate::deploy::target::{health_of, STOP_GRACE};
use crate::deploy::Target;
use crate::docker::{labels, DeploymentSpec, Docker, DockerError, LabelledContainer};

/// The role label of a process container.
pub const ROLE: &str = "process";
/// How long a process must stay up, without being restarted, to count as started.
const SETTLE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(200);

/// One process container created for a release.
#[derive(Debug, Clone)]
pub struct Created {
    pub name: String,
    pub id: String,
}

/// The process containers of the environment (any state).
pub async fn all(target: &Target) -> Result<Vec<LabelledContainer>, DockerError> {
    target
        .docker
        .containers_labelled(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, ROLE),
        ])
        .await
}

/// The processes that belong to the web container `web` (its name).
pub fn of<'a>(all: &'a [LabelledContainer], web: &'a str) -> impl Iterator<Item = &'a LabelledContainer> {
    all.iter()
        .filter(move |c| c.labels.get(labels::PROCESS_OF).map(String::as_str) == Some(web))
}

/// The processes release.toml gives the environment that do not run beside the web container
/// `web`: exited, missing, or restarting.
pub async fn not_running(target: &Target, web: &str) -> Result<Vec<String>, DockerError> {
    let all = all(target).await?;
    let running: Vec<&str> = of(&all, web)
        .filter(|c| c.state == "running")
        .filter_map(|c| c.labels.get(labels::PROCESS).map(String::as_str))
        .collect();
    Ok(target
        .env
        .processes
        .iter()
        .filter(|p| !running.contains(&p.name.as_str()))
        .map(|p| p.name.clone())
        .collect())
}

/// The spec of process `process` of the release whose web container is `web`: same image,
/// same labels (it is the same release), the environment's env plus its own, no published
/// port.
pub fn spec(web: &DeploymentSpec, process: &ProcessConfig) -> DeploymentSpec {
    let mut env = web.env.clone();
    env.extend(process.env.iter().map(|(k, v)| format!("{k}={v}")));
    let mut set = web.labels.clone();
    set.insert(labels::ROLE.into(), ROLE.into());
    set.insert(labels::PROCESS.into(), process.name.clone());
    set.insert(labels::PROCESS_OF.into(), web.name.clone());
    DeploymentSpec {
        name: format!("{}-{}", web.name, process.name),
        image: web.image.clone(),
        env,
        labels: set,
        publish: None,
        command: Some(process.command.argv()),
        entrypoint: web.entrypoint.clone(),
        healthcheck: None,
        network: web.network.clone(),
        aliases: Vec::new(),
        binds: Vec::new(),
    }
}

/// Creates (does not start) the processes of the release whose web container is `web`.
pub async fn create(
    docker: &Docker,
    web: &DeploymentSpec,
    processes: &[ProcessConfig],
) -> Result<Vec<Created>, DockerError> {
    let mut out = Vec::new();
    for p in processes {
        let spec = spec(web, p);
        match docker.create_deployment(&spec).await {
            Ok(id) => out.push(Created { name: spec.name, id }),
            Err(e) => {
                remove(docker, out.iter().map(|c| c.id.as_str())).await;
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// Starts the created processes and waits until each has stayed up, unrestarted, for a moment.
pub async fn start(docker: &Docker, created: &[Created], log: &mut (dyn FnMut(String) + Send)) -> Result<(), String> {
    for c in created {
        docker
            .start(&c.id)
            .await
            .map_err(|e| format!("process {}: {e}", c.name))?;
    }
    if created.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    while started.elapsed() < SETTLE {
        for c in created {
            let state = docker.container_state(&c.id).await.map_err(|e| e.to_string())?;
            let why = match state {
                None => Some("its container disappeared".to_string()),
                Some(s) if s.restarts > 0 || s.restarting || !s.running => {
                    let code = s.exit_code.map(|c| format!(" with code {c}")).unwrap_or_default();
                    Some(format!("it exited{code}"))
                }
                Some(_) => None,
            };
            if let Some(why) = why {
                let lines = docker.last_log_lines(&c.id, 10).await;
                let tail = if lines.is_empty() {
                    String::new()
                } else {
                    format!("; its last lines:\n{}", lines.join("\n"))
                };
                return Err(format!("process {} did not stay up: {why}{tail}", c.name));
            }
        }
        tokio::time::sleep(POLL).await;
    }
    let names: Vec<&str> = created.iter().map(|c| c.name.as_str()).collect();
    log(format!("processes up: {}", names.join(", ")));
    Ok(())
}

/// Stops the processes of the web container `web` (a release being replaced).
pub async fn stop_of(target: &Target, web: &str, log: &mut (dyn FnMut(String) + Send)) -> Result<(), DockerError> {
    let all = all(target).await?;
    for c in of(&all, web).filter(|c| c.state == "running" || c.state == "restarting") {
        log(format!("stopping process {}", c.name));
        target.docker.stop(&c.id, STOP_GRACE).await?;
    }
    Ok(())
}

/// Starts the processes of the web container `web` again (a release being restored).
pub async fn restart_of(target: &Target, web: &str, log: &mut (dyn FnMut(String) + Send)) -> Result<(), DockerError> {
    let all = all(target).await?;
    for c in of(&all, web) {
        target.docker.start(&c.id).await?;
        log(format!("process {} runs again", c.name));
    }
    Ok(())
}

/// Removes every process container but those of the web container `keep`.
pub async fn remove_all_but(target: &Target, keep: Option<&str>) -> Result<(), DockerError> {
    let all = all(target).await?;
    let gone = all
        .iter()
        .filter(|c| keep.is_none_or(|k| c.labels.get(labels::PROCESS_OF).map(String::as_str) != Some(k)));
    remove(&target.docker, gone.map(|c| c.id.as_str())).await;
    Ok(())
}

/// Best effort: a container that cannot be removed now is a leftover the next rollout removes.
pub async fn remove<'a>(docker: &Docker, ids: impl Iterator<Item = &'a str>) {
    for id in ids {
        if let Err(e) = docker.remove_container(id).await {
            tracing::warn!("cannot remove process container {id}: {e}");
        }
    }
}

/// The state of each process of the release that runs now (its web container `web`), in
/// release.toml's order; processes that container has but release.toml no longer names after.
pub async fn states(target: &Target, web: Option<&str>) -> Result<Vec<PartState>, DockerError> {
    let all = all(target).await?;
    let mine: Vec<&LabelledContainer> = match web {
        Some(web) => of(&all, web).collect(),
        None => Vec::new(),
    };
    let image = |c: &LabelledContainer| c.labels.get(labels::SHORT_COMMIT).cloned().unwrap_or_default();
    let mut out: Vec<PartState> = target
        .env
        .processes
        .iter()
        .map(|p| {
            let found = mine.iter().find(|c| c.labels.get(labels::PROCESS) == Some(&p.name));
            match found {
                Some(c) => PartState {
                    name: p.name.clone(),
                    container: Some(c.name.clone()),
                    state: c.state.clone(),
                    health: health_of(&c.state, &c.status),
                    image: image(c),
                },
                None => PartState {
                    name: p.name.clone(),
                    container: None,
                    state: "missing".into(),
                    health: "missing".into(),
                    image: String::new(),
                },
            }
        })
        .collect();
    for c in mine {
        let name = c.labels.get(labels::PROCESS).cloned().unwrap_or_default();
        if !target.env.processes.iter().any(|p| p.name == name) {
            out.push(PartState {
                name,
                container: Some(c.name.clone()),
                state: c.state.clone(),
                health: health_of(&c.state, &c.status),
                image: image(c),
            });
        }
    }
    Ok(out)
}
