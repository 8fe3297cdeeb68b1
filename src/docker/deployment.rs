//! What environments need of an engine: long-running release containers with published ports,
//! restart policy and healthcheck; reading them back by label; their state, health and logs;
//! commands run inside them; release images listed by label.

use std::collections::HashMap;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, ExecConfig, HealthConfig, HealthStatusEnum, HostConfig, NetworkingConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, LogsOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{is_not_found, Docker, DockerError};
use crate::config::{HealthcheckConfig, Publish};

/// A release container to create on an environment.
#[derive(Debug, Clone, Default)]
pub struct DeploymentSpec {
    pub name: String,
    /// The image ID (`sha256:…`): the exact release, whatever tags say.
    pub image: String,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    pub publish: Option<Publish>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub healthcheck: Option<HealthcheckConfig>,
    /// The user-defined network it joins (the environment's), instead of the default bridge.
    pub network: Option<String>,
    /// Extra DNS names on that network (an accessory's key).
    pub aliases: Vec<String>,
    /// `volume:/path` binds (an accessory's kept volumes).
    pub binds: Vec<String>,
}

/// A container found by its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledContainer {
    pub id: String,
    pub name: String,
    /// `running`, `exited`, `created`, `restarting`…
    pub state: String,
    /// Docker's words: `Up 3 minutes (healthy)`.
    pub status: String,
    pub labels: HashMap<String, String>,
}

/// A container's state as inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub running: bool,
    /// `running`, `exited`, `restarting`…
    pub status: String,
    pub exit_code: Option<i64>,
    /// `healthy`, `unhealthy`, `starting`; `None` without a healthcheck.
    pub health: Option<String>,
    /// The last healthcheck's output, when it failed.
    pub health_log: Option<String>,
    pub restarting: bool,
    /// How often the engine restarted it (its restart policy): a process that keeps exiting.
    pub restarts: i64,
}

/// A release image found by its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseImage {
    pub id: String,
    pub tags: Vec<String>,
    pub labels: HashMap<String, String>,
    /// Seconds since the epoch.
    pub created: i64,
}

/// What a command run inside a container printed, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: Option<i64>,
    pub output: String,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn label_filters(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let values = labels
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.to_string()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    HashMap::from([("label".to_string(), values)])
}

impl Docker {
    /// Creates (does not start) a release container: restarted by the engine unless stopped,
    /// logs kept by the engine's log driver (`docker logs` works for operators).
    pub async fn create_deployment(&self, spec: &DeploymentSpec) -> Result<String, DockerError> {
        let mut exposed = None;
        let mut bindings = None;
        if let Some(p) = &spec.publish {
            let port = format!("{}/tcp", p.container_port);
            exposed = Some(vec![port.clone()]);
            let binding = PortBinding {
                host_ip: p.host_ip.clone().map(|ip| ip.trim_matches(['[', ']']).to_string()),
                host_port: Some(p.host_port.to_string()),
            };
            bindings = Some(HashMap::from([(port, Some(vec![binding]))]));
        }
        let healthcheck = spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.cmd.docker_test()),
            interval: h.interval.map(nanos),
            timeout: h.timeout.map(nanos),
            retries: h.retries.map(i64::from),
            start_period: h.start_period.map(nanos),
            start_interval: None,
        });
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: spec.command.clone(),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            exposed_ports: exposed,
            healthcheck,
            tty: Some(false),
            networking_config: spec.network.as_ref().map(|net| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    net.clone(),
                    EndpointSettings {
                        aliases: (!spec.aliases.is_empty()).then(|| spec.aliases.clone()),
                        ..Default::default()
                    },
                )])),
            }),
            host_config: Some(HostConfig {
                network_mode: spec.network.clone(),
                binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
                port_bindings: bindings,
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                init: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.create_named(&spec.name, body).await
    }

    /// Starts a container (a new release, or a previous one being restored).
    pub async fn start(&self, id: &str) -> Result<(), DockerError> {
        match self.api.start_container(id, None).await {
            Ok(()) => Ok(()),
            // Already running.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => Err(DockerError::api(format!("start container {id}"), e)),
        }
    }

    /// Stops a container gracefully: SIGTERM, then SIGKILL after `grace`. One that is not
    /// running or is gone is not an error.
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), DockerError> {
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::default().t(secs).build();
        match self.api.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304 | 404, ..
            }) => Ok(()),
            Err(e) => Err(DockerError::api(format!("stop container {id}"), e)),
        }
    }

    /// Containers (running or not) carrying every one of `labels` (`(key, value)`; an empty
    /// value matches any value).
    pub async fn containers_labelled(&self, labels: &[(&str, &str)]) -> Result<Vec<LabelledContainer>, DockerError> {
        let filters = label_filters(labels);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .api
            .list_containers(Some(options))
            .await
            .map_err(|e| DockerError::api("list containers", e))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let id = c.id?;
                let name = c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_else(|| id.clone());
                Some(LabelledContainer {
                    id,
                    name,
                    state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                    status: c.status.unwrap_or_default(),
                    labels: c.labels.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// A container's state and health; `None` when it is gone.
    pub async fn container_state(&self, id: &str) -> Result<Option<ContainerState>, DockerError> {
        let inspect = match self.api.inspect_container(id, None).await {
            Ok(i) => i,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(DockerError::api(format!("inspect container {id}"), e)),
        };
        let restarts = inspect.restart_count.unwrap_or(0);
        let state = inspect.state.unwrap_or_default();
        let health = state.health.as_ref();
        let health_status = health.and_then(|h| h.status).and_then(|s| match s {
            HealthStatusEnum::HEALTHY => Some("healthy".to_string()),
            HealthStatusEnum::UNHEALTHY => Some("unhealthy".to_string()),
            HealthStatusEnum::STARTING => Some("starting".to_string()),
            _ => None,
        });
        let health_log = health
            .and_then(|h| h.log.as_ref())
            .and_then(|log| log.last())
            .filter(|last| last.exit_code.unwrap_or(0) != 0)
            .and_then(|last| last.output.clone())
            .map(|o| o.trim().to_string());
        Ok(Some(ContainerState {
            running: state.running.unwrap_or(false),
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            exit_code: state.exit_code,
            health: health_status,
            health_log,
            restarting: state.restarting.unwrap_or(false),
            restarts,
        }))
    }

    /// The last `lines` lines a container wrote (stdout and stderr, as the log driver kept
    /// them); empty when the driver keeps none.
    pub async fn last_log_lines(&self, id: &str, lines: usize) -> Vec<String> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.api.logs(id, Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            if let LogOutput::StdOut { message } | LogOutput::StdErr { message } | LogOutput::Console { message } =
                chunk
            {
                text.push_str(&String::from_utf8_lossy(&message));
            }
        }
        text.lines().map(str::to_string).collect()
    }

    /// Creates and starts an exec of `config` in container `id`, attached (not detached, no
    /// tty): the exec's ID (to read its exit code) and the engine's answer. `action` names it
    /// in errors.
    pub(super) async fn start_attached_exec(
        &self,
        id: &str,
        config: ExecConfig,
        action: &str,
    ) -> Result<(String, StartExecResults), DockerError> {
        let created = self
            .api
            .create_exec(id, config)
            .await
            .map_err(|e| DockerError::api(action, e))?;
        let options = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: None,
        };
        let started = self
            .api
            .start_exec(&created.id, Some(options))
            .await
            .map_err(|e| DockerError::api(action, e))?;
        Ok((created.id, started))
    }

    /// Runs `cmd` inside a running container with extra `env`, and returns its combined
    /// output (capped at 64 KiB) and exit code.
    pub async fn exec(&self, id: &str, cmd: Vec<String>, env: Vec<String>) -> Result<ExecOutput, DockerError> {
        let config = ExecConfig {
            cmd: Some(cmd),
            env: Some(env),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let (exec_id, started) = self
            .start_attached_exec(id, config, "start a command in the container")
            .await?;
        let mut output = String::new();
        if let StartExecResults::Attached { output: mut stream, .. } = started {
            while let Some(Ok(chunk)) = stream.next().await {
                if let LogOutput::StdOut { message } | LogOutput::StdErr { message } = chunk {
                    if output.len() < 64 * 1024 {
                        output.push_str(&String::from_utf8_lossy(&message));
                    }
                }
            }
        }
        let inspect = self
            .api
            .inspect_exec(&exec_id)
            .await
            .map_err(|e| DockerError::api("read the command's exit code", e))?;
        Ok(ExecOutput {
            exit_code: inspect.exit_code,
            output,
        })
    }

    /// Images carrying every one of `labels`, newest first.
    pub async fn images_labelled(&self, labels: &[(&str, &str)]) -> Result<Vec<ReleaseImage>, DockerError> {
        let filters = label_filters(labels);
        let options = ListImagesOptionsBuilder::default().filters(&filters).build();
        let mut list: Vec<ReleaseImage> = self
            .api
            .list_images(Some(options))
            .await
            .map_err(|e| DockerError::api("list images", e))?
            .into_iter()
            .map(|i| ReleaseImage {
                id: i.id,
                tags: i.repo_tags.into_iter().filter(|t| t != "<none>:<none>").collect(),
                labels: i.labels,
                created: i.created,
            })
            .collect();
        list.sort_by_key(|i| std::cmp::Reverse(i.created));
        Ok(list)
    }

    /// Removes an image by ID, with its tag, unless a container uses it. Says whether it was
    /// removed.
    pub async fn remove_image_with_tags(&self, id: &str) -> Result<bool, DockerError> {
        // Not forced: an image a container (even a stopped one) uses stays.
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default().build();
        match self.api.remove_image(id, Some(options), None).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            // In use by a container (force does not remove those).
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => Ok(false),
            Err(e) => Err(DockerError::api(format!("remove image {id}"), e)),
        }
    }

    /// Copies an image from this engine to `to` (another engine), by streaming `docker save`
    /// into `docker load`: the same image ID arrives.
    pub async fn copy_image_to(&self, image: &str, to: &Docker) -> Result<(), DockerError> {
        let export = self.api.export_image(image);
        let options = bollard::query_parameters::ImportImageOptionsBuilder::default()
            .quiet(true)
            .build();
        let mut load = to.api.import_image_stream(options, export, None);
        while let Some(item) = load.next().await {
            let info = item.map_err(|e| DockerError::api(format!("copy image {image} to {}", to.address), e))?;
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(DockerError::Api {
                    action: format!("copy image {image} to {}", to.address),
                    message,
                });
            }
        }
        Ok(())
    }
}
