//! Service containers: what a stage (or an environment) runs beside its own container, on a
//! user-defined network, reached at an alias. Their readiness is `docker::ready`.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, HostConfigLogConfig, NetworkingConfig};

use super::{Docker, DockerError};
use crate::config::StageLimits;

/// The most a service's engine log keeps: a service that floods its output cannot fill the
/// engine's disk; shipdeck only ever reads its last lines.
const LOG_MAX_SIZE: &str = "10m";

/// A service container to create (not start).
#[derive(Debug, Clone, Default)]
pub struct ServiceContainerSpec {
    pub name: String,
    pub image: String,
    /// Exec form, replacing the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// Exec form, replacing the image's `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    /// The network it joins (its only one).
    pub network: String,
    /// The name it answers to on that network (also its host name).
    pub alias: String,
    /// `volume:/path` binds (an accessory's data).
    pub binds: Vec<String>,
    pub limits: Option<StageLimits>,
}

/// What readiness can be judged by, as the engine knows the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceProbe {
    /// The image (or the container) declares a HEALTHCHECK.
    pub healthcheck: bool,
    /// Exposed TCP ports, ascending.
    pub tcp_ports: Vec<u16>,
}

impl Docker {
    /// Creates a service container on `spec.network` under `spec.alias`. Its output goes to
    /// the engine's log (size-capped), so that its last lines can be shown when it fails.
    pub async fn create_service(&self, spec: &ServiceContainerSpec) -> Result<String, DockerError> {
        let (memory, nano_cpus, pids) = self.resource_limits(spec.limits).await;
        let endpoint = EndpointSettings {
            aliases: Some(vec![spec.alias.clone()]),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            hostname: Some(spec.alias.clone()),
            cmd: spec.command.clone(),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            tty: Some(false),
            host_config: Some(HostConfig {
                network_mode: Some(spec.network.clone()),
                binds: Some(spec.binds.clone()),
                memory,
                memory_swap: memory,
                nano_cpus,
                pids_limit: pids,
                init: Some(true),
                log_config: Some(HostConfigLogConfig {
                    typ: Some("json-file".into()),
                    config: Some(HashMap::from([
                        ("max-size".to_string(), LOG_MAX_SIZE.to_string()),
                        ("max-file".to_string(), "1".to_string()),
                    ])),
                }),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
            }),
            ..Default::default()
        };
        self.create_named(&spec.name, body).await
    }

    /// How the readiness of a created container can be judged: its HEALTHCHECK, its ports.
    pub async fn service_probe(&self, id: &str) -> Result<ServiceProbe, DockerError> {
        let inspect = self
            .api
            .inspect_container(id, None)
            .await
            .map_err(|e| DockerError::api(format!("inspect container {id}"), e))?;
        let config = inspect.config.unwrap_or_default();
        let healthcheck = config
            .healthcheck
            .and_then(|h| h.test)
            .is_some_and(|test| test.first().is_some_and(|t| t != "NONE"));
        let mut tcp_ports: Vec<u16> = config
            .exposed_ports
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
                (proto == "tcp").then(|| port.parse().ok()).flatten()
            })
            .collect();
        tcp_ports.sort_unstable();
        tcp_ports.dedup();
        Ok(ServiceProbe { healthcheck, tcp_ports })
    }
}
