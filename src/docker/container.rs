use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};

use super::{is_not_found, Docker, DockerError};
use crate::config::StageLimits;

/// A container to create: a stage's, or a short-lived helper's.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub cmd: Vec<String>,
    /// Replaces the image's `ENTRYPOINT`; `None` keeps it.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// `none` or `bridge`.
    pub network: Option<String>,
    /// `volume:/path` binds.
    pub binds: Vec<String>,
    pub labels: HashMap<String, String>,
    /// Memory, CPU and process limits; `None` for shipdeck's own short-lived helpers.
    pub limits: Option<StageLimits>,
}

/// One piece of a container's output, as the engine cut it.
#[derive(Debug)]
pub enum LogChunk {
    Stdout(Bytes),
    Stderr(Bytes),
}

/// How a container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    pub code: i64,
}

impl Docker {
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let (memory, nano_cpus, pids) = self.resource_limits(spec.limits).await;
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.cmd.clone()),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.clone()),
            working_dir: spec.workdir.clone(),
            labels: Some(spec.labels.clone()),
            // No TTY, so stdout and stderr stay apart; no stdin.
            tty: Some(false),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            host_config: Some(HostConfig {
                binds: Some(spec.binds.clone()),
                network_mode: spec.network.clone(),
                memory,
                // Swap as large as memory means no swap: a memory hog is stopped at its limit
                // instead of pushing the host into swapping.
                memory_swap: memory,
                nano_cpus,
                pids_limit: pids,
                // Reap zombies and forward signals, so a kill stops the whole command tree.
                init: Some(true),
                // shipdeck keeps the output itself (see `attach_output`); a second copy in the
                // engine's log driver would only cost disk and time.
                log_config: Some(HostConfigLogConfig {
                    typ: Some("none".into()),
                    config: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.create_named(&spec.name, body).await
    }

    /// `limits` as the engine takes them: (memory bytes, nano-CPUs, pids); all `None` without.
    pub(crate) async fn resource_limits(&self, limits: Option<StageLimits>) -> (Option<i64>, Option<i64>, Option<i64>) {
        let Some(limits) = limits else {
            return (None, None, None);
        };
        let memory = i64::try_from(limits.memory).unwrap_or(i64::MAX);
        let mut nano_cpus = i64::try_from(limits.millicpus)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        // The engine refuses more CPUs than it has: cap the default (2) on a 1-CPU host.
        if let Some(cpus) = self.engine_cpus().await {
            nano_cpus = nano_cpus.min(cpus.saturating_mul(1_000_000_000));
        }
        let pids = i64::try_from(limits.pids).unwrap_or(i64::MAX);
        (Some(memory), Some(nano_cpus), Some(pids))
    }

    /// Creates the container `name` from `body`; its ID. Stage and release containers both
    /// come through here, so a failure always names the container.
    pub(crate) async fn create_named(&self, name: &str, body: ContainerCreateBody) -> Result<String, DockerError> {
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        let created = self
            .api
            .create_container(Some(options), body)
            .await
            .map_err(|e| DockerError::api(format!("create container {name}"), e))?;
        Ok(created.id)
    }

    /// The engine's CPU count (asked once per connection); `None` if it would not say.
    pub(crate) async fn engine_cpus(&self) -> Option<i64> {
        *self
            .cpus
            .get_or_init(|| async {
                match self.api.info().await {
                    Ok(info) => info.ncpu.filter(|n| *n > 0),
                    Err(e) => {
                        tracing::warn!("cannot read the engine's CPU count: {e}");
                        None
                    }
                }
            })
            .await
    }

    pub async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        self.api
            .start_container(id, None)
            .await
            .map_err(|e| DockerError::api("start the stage container", e))
    }

    /// Attaches to the container's stdout and stderr; call before starting it, and the
    /// stream carries everything it writes, live, until it exits.
    ///
    /// Attach rather than following the logs endpoint: the logs endpoint reads back what the
    /// log driver stored, and with rotation configured (json-file `max-size`) a fast writer's
    /// output is rotated away before it is read, so lines are lost. Attach gets the output from
    /// the container's pipes directly, and applies backpressure instead of dropping.
    pub async fn attach_output(
        &self,
        id: &str,
    ) -> Result<impl Stream<Item = Result<LogChunk, DockerError>> + Send + 'static, DockerError> {
        let options = AttachContainerOptionsBuilder::default()
            .stream(true)
            .stdout(true)
            .stderr(true)
            .build();
        let attached = self
            .api
            .attach_container(id, Some(options))
            .await
            .map_err(|e| DockerError::api("attach to the stage container", e))?;
        Ok(attached.output.filter_map(|item| async move {
            match item {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    Some(Ok(LogChunk::Stdout(message)))
                }
                Ok(LogOutput::StdErr { message }) => Some(Ok(LogChunk::Stderr(message))),
                Ok(LogOutput::StdIn { .. }) => None,
                Err(e) => Some(Err(DockerError::api("read the stage's output", e))),
            }
        }))
    }

    /// Waits for the container to exit and returns its exit code.
    pub async fn wait_container(&self, id: &str) -> Result<ExitStatus, DockerError> {
        let mut stream = self.api.wait_container(id, None);
        match stream.next().await {
            Some(Ok(response)) => Ok(ExitStatus {
                code: response.status_code,
            }),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(ExitStatus { code }),
            Some(Err(e)) => Err(DockerError::api("wait for the stage container", e)),
            None => Err(DockerError::Api {
                action: "wait for the stage container".into(),
                message: "the engine closed the connection without an exit code".into(),
            }),
        }
    }

    /// Kills a running container; one that already stopped or is gone is not an error.
    pub async fn kill_container(&self, id: &str) -> Result<(), DockerError> {
        let options = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
        match self.api.kill_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409, ..
            }) => Ok(()),
            Err(e) => Err(DockerError::api("kill the stage container", e)),
        }
    }

    /// Removes a container, killing it first if it runs; one that is gone is not an error.
    /// Says whether this call removed it.
    pub async fn remove_container(&self, id: &str) -> Result<bool, DockerError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        match self.api.remove_container(id, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            // "removal already in progress": someone (the reaper, a cancel) got there first.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => Ok(false),
            Err(e) => Err(DockerError::api(format!("remove container {id}"), e)),
        }
    }

    /// Unpacks a tar archive into `path` inside the container (which may be created, not started).
    pub async fn upload_archive(&self, id: &str, path: &str, tar: Vec<u8>) -> Result<(), DockerError> {
        let options = UploadToContainerOptionsBuilder::default().path(path).build();
        self.api
            .upload_to_container(id, Some(options), bollard::body_full(Bytes::from(tar)))
            .await
            .map_err(|e| DockerError::api(format!("copy files into {path}"), e))
    }

    /// A tar archive of `path` inside the container; its entries are named from `path`'s last
    /// component, streamed as the engine sends it. `Ok(None)` when the path does not exist.
    pub async fn download_archive(
        &self,
        id: &str,
        path: &str,
    ) -> Result<Option<impl Stream<Item = Result<Bytes, DockerError>> + Send + 'static>, DockerError> {
        let options = DownloadFromContainerOptionsBuilder::default().path(path).build();
        let action = format!("copy {path} out of the stage container");
        let mut stream = self.api.download_from_container(id, Some(options));
        // The engine answers a missing path before the first byte: peek, so that "not
        // produced" is told apart from a failure half-way.
        let first = match stream.try_next().await {
            Ok(first) => first,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(DockerError::api(action, e)),
        };
        let rest = stream.map_err(move |e| DockerError::api(action.clone(), e));
        Ok(Some(futures_util::stream::iter(first.map(Ok)).chain(rest)))
    }
}
