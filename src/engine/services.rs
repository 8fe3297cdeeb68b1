//! A stage's services: a fresh instance of each `[services.NAME]` the stage names, on a network
//! of the stage's own where the engine's DNS answers `NAME`, ready before the stage's
//! container starts and removed with it (on success, failure, timeout and cancel; after a
//! `kill -9`, their owner labels let the reaper remove them).

use std::time::Instant;

use chrono::Utc;
use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::event::{Event, ServiceState, Stream};
use super::stage::{LogFile, RunShared, StageEnd};
use crate::config::{Network, ServiceConfig, StageConfig};
use crate::docker::{labels, wait_ready, NotReady, ServiceContainerSpec};
use crate::model::StageStatus;

/// How many of a failed service's last log lines the stage's log gets.
const FAILED_LOG_LINES: usize = 20;
/// The most characters of each of those lines: a service that writes megabytes without a
/// newline says enough in its first few thousand.
const FAILED_LOG_LINE_CHARS: usize = 2000;

/// What a stage started: its network and service containers, to remove when it ends.
pub(super) struct StageServices {
    /// The network's name: the stage's container joins it.
    pub network: String,
    containers: Vec<String>,
}

/// Starts the services `stage` names on a new network (internal when the stage's network is
/// `none`: services and stage reach each other and nothing else), and waits until each is
/// ready. Whatever happens, the returned group holds everything created so far, for
/// [`StageServices::remove`]; the `Err` is how the stage ends instead of running.
pub(super) async fn start(
    shared: &RunShared,
    stage: &StageConfig,
    network: Network,
    cancel: &CancellationToken,
    log_file: &LogFile,
) -> (StageServices, Result<(), StageEnd>) {
    let network_name = format!("{}-{}-services", shared.workspace.prefix, stage.name);
    let mut group = StageServices {
        network: network_name.clone(),
        containers: Vec::new(),
    };
    let labels = shared.workspace.labels("network", Some(&stage.name));
    let internal = network == Network::None;
    if let Err(e) = shared.docker.create_network(&network_name, labels, internal).await {
        return (group, Err(failed(format!("cannot create the services' network: {e}"))));
    }
    let services: Vec<&ServiceConfig> = stage
        .services
        .iter()
        .filter_map(|name| shared.config.service(name))
        .collect();
    let mut started = Vec::new();
    for service in services {
        let pulled = tokio::select! {
            pulled = pull(shared, service) => pulled,
            _ = cancel.cancelled() => return (group, Err(super::stage::cancelled())),
        };
        // Not cancelled half-way: a container the engine made must be known to be removed.
        let created = match pulled {
            Ok(()) => create(shared, stage, service, &network_name, &mut group).await,
            Err(message) => Err(message),
        };
        match created {
            Ok(id) => started.push((service, id, Instant::now())),
            Err(message) => {
                log_file.write_line(&format!("shipdeck: service {}: {message}", service.name));
                return (group, Err(service_failed(shared, stage, service, message).await));
            }
        }
    }
    let waits = started.iter().map(|(service, id, since)| async move {
        let mut heard = Vec::new();
        let result = wait_ready(&shared.docker, id, service, service.ready_timeout, &mut |line| {
            heard.push(line)
        })
        .await;
        (*service, id.as_str(), *since, heard, result)
    });
    let results = tokio::select! {
        results = join_all(waits) => results,
        _ = cancel.cancelled() => return (group, Err(super::stage::cancelled())),
    };
    let mut failure = None;
    for (service, id, since, heard, result) in results {
        for line in heard {
            log_file.write_line(&format!("shipdeck: service {}: {line}", service.name));
        }
        match result {
            Ok(ready) => {
                let how = format!("ready: {}", ready.check.describe());
                log_file.write_line(&format!("shipdeck: service {} {how}", service.name));
                let ms = since.elapsed().as_millis() as i64;
                emit(shared, stage, service, ServiceState::Ready, Some(ms), Some(how)).await;
            }
            Err(why) => {
                let end = service_failed(shared, stage, service, describe_failure(&why)).await;
                show_last_logs(shared, stage, service, id, log_file).await;
                failure.get_or_insert(end);
            }
        }
    }
    match failure {
        Some(end) => (group, Err(end)),
        None => (group, Ok(())),
    }
}

impl StageServices {
    /// Removes the service containers, then their network. Best effort for each: one that
    /// cannot be removed is reported, the others still go; the reaper knows them all.
    pub async fn remove(self, shared: &RunShared) -> Result<(), String> {
        let removals = self.containers.iter().map(|id| shared.docker.remove_container(id));
        let mut problems: Vec<String> = join_all(removals)
            .await
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.to_string()))
            .collect();
        if let Err(e) = shared.docker.remove_network(&self.network).await {
            problems.push(e.to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Pulls the service's image unless the engine has it. `Err`: why not, in words.
async fn pull(shared: &RunShared, service: &ServiceConfig) -> Result<(), String> {
    let sink = shared.sink.clone();
    let run = shared.run;
    let image = service.image.clone();
    shared
        .docker
        .ensure_image(&service.image, |p| {
            sink.try_emit(Event::ImagePull {
                run,
                image: image.clone(),
                status: p.status,
                progress: p.progress,
            })
        })
        .await
        .map_err(|e| format!("could not start: {e}"))
}

/// Creates the service's container on the network (recorded in `group` at once) and starts
/// it. `Err`: what went wrong, in words.
async fn create(
    shared: &RunShared,
    stage: &StageConfig,
    service: &ServiceConfig,
    network: &str,
    group: &mut StageServices,
) -> Result<String, String> {
    emit(shared, stage, service, ServiceState::Starting, None, None).await;
    let mut labels = shared.workspace.labels("service", Some(&stage.name));
    labels.insert(labels::SERVICE.to_string(), service.name.clone());
    let spec = ServiceContainerSpec {
        name: format!("{}-{}-{}", shared.workspace.prefix, stage.name, service.name),
        image: service.image.clone(),
        command: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: service.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels,
        network: network.to_string(),
        alias: service.name.clone(),
        binds: Vec::new(),
        limits: Some(stage.limits),
    };
    let id = shared
        .docker
        .create_service(&spec)
        .await
        .map_err(|e| format!("could not be created: {e}"))?;
    group.containers.push(id.clone());
    shared
        .docker
        .start(&id)
        .await
        .map_err(|e| format!("could not start: {e}"))?;
    Ok(id)
}

fn describe_failure(why: &NotReady) -> String {
    match why {
        NotReady::Engine(e) => format!("could not be watched: {e}"),
        other => format!("failed: {other}"),
    }
}

/// The last lines the service wrote, into the stage's log (masked and sanitized on the way,
/// like all output), so that a service that never became ready says why.
async fn show_last_logs(
    shared: &RunShared,
    stage: &StageConfig,
    service: &ServiceConfig,
    id: &str,
    log_file: &LogFile,
) {
    let tail = shared.docker.last_log_lines(id, FAILED_LOG_LINES).await;
    let mut lines = vec![format!("last {} log lines of service {}:", tail.len(), service.name)];
    lines.extend(tail.iter().map(|l| {
        let cut: String = l.chars().take(FAILED_LOG_LINE_CHARS).collect();
        let more = if cut.len() < l.len() { " …" } else { "" };
        format!("{} | {cut}{more}", service.name)
    }));
    let lines: Vec<String> = lines.iter().map(|l| shared.clean_line(l)).collect();
    super::stage::emit_lines(shared, &stage.name, Stream::System, lines, log_file).await;
}

async fn emit(
    shared: &RunShared,
    stage: &StageConfig,
    service: &ServiceConfig,
    state: ServiceState,
    duration_ms: Option<i64>,
    message: Option<String>,
) {
    shared
        .sink
        .emit(Event::ServiceStatus {
            run: shared.run,
            stage: stage.name.clone(),
            service: service.name.clone(),
            image: service.image.clone(),
            state,
            duration_ms,
            message,
            at: Utc::now(),
        })
        .await;
}

/// Says that `service` failed (`message`: how) and returns how the stage ends for it.
async fn service_failed(shared: &RunShared, stage: &StageConfig, service: &ServiceConfig, message: String) -> StageEnd {
    let end = failed(format!("service `{}` {message}", service.name));
    emit(shared, stage, service, ServiceState::Failed, None, Some(message)).await;
    end
}

fn failed(message: String) -> StageEnd {
    StageEnd {
        status: StageStatus::Failed,
        exit_code: None,
        message: Some(message),
    }
}
