//! A byte stream through a command run inside a container: its stdin is what the caller
//! writes, its stdout is what the caller reads. `socat - TCP:host:port` in a container on an
//! environment's network makes it a TCP connection to `host:port` from inside that network,
//! carried by the engine's API: it works the same on local, `tcp://` and `ssh://` engines, and
//! never assumes the host can reach a container's address.
//!
//! Also what a container says about itself on a network (its address there) and the timing
//! of its HEALTHCHECK, which a wait for it honours.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::{is_not_found, Docker, DockerError};

/// The buffer on each side of the stream.
const BUFFER: usize = 64 * 1024;

/// One end of a stream through an exec'd command; the pumps stop when it is dropped.
pub struct ExecStream {
    stream: DuplexStream,
    _pump: AbortOnDrop,
}

impl ExecStream {
    /// The stream itself, to read and write (tokio's `AsyncRead` + `AsyncWrite`).
    pub fn io(&mut self) -> &mut DuplexStream {
        &mut self.stream
    }

    /// Both halves, for a client that owns its I/O (hyper): the guard must live as long.
    pub fn into_parts(self) -> (DuplexStream, impl Send + 'static) {
        (self.stream, self._pump)
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A container's HEALTHCHECK timing, as the engine runs it (the image's or the one set at
/// creation); `None` fields are Docker's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthTiming {
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}

impl HealthTiming {
    /// The longest a healthy-to-be container can stay "starting": the start period, then
    /// `retries + 1` rounds of interval and timeout (Docker's defaults 30 s, 30 s, 3), and 5 s
    /// of slack for the engine's own scheduling.
    pub fn limit(&self) -> Duration {
        let interval = self.interval.unwrap_or(Duration::from_secs(30));
        let timeout = self.timeout.unwrap_or(Duration::from_secs(30));
        let retries = self.retries.unwrap_or(3);
        self.start_period.unwrap_or_default() + (interval + timeout) * (retries + 1) + Duration::from_secs(5)
    }
}

fn duration_of(nanos: Option<i64>) -> Option<Duration> {
    nanos
        .filter(|n| *n > 0)
        .map(|n| Duration::from_nanos(u64::try_from(n).unwrap_or(0)))
}

impl Docker {
    /// Starts `cmd` in the running container `id` with its stdin and stdout attached, and
    /// returns a stream joined to them. Its stderr is dropped. Writing shuts down nothing: the
    /// command sees end of input when the stream is shut down or dropped.
    pub async fn exec_stream(&self, id: &str, cmd: Vec<String>) -> Result<ExecStream, DockerError> {
        let config = ExecConfig {
            cmd: Some(cmd),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(false),
            ..Default::default()
        };
        let action = format!("start a command in container {id}");
        let (_, started) = self.start_attached_exec(id, config, &action).await?;
        let StartExecResults::Attached { mut output, mut input } = started else {
            return Err(DockerError::Api {
                action: format!("start a command in container {id}"),
                message: "the engine did not attach to it".into(),
            });
        };
        let (ours, theirs) = tokio::io::duplex(BUFFER);
        let (mut from_caller, mut to_caller) = tokio::io::split(theirs);
        let pump = tokio::spawn(async move {
            let upstream = async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match from_caller.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if input.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                            let _ = input.flush().await;
                        }
                    }
                }
                // The caller is done writing: the command sees the end of its input.
                let _ = input.shutdown().await;
                // Keep the connection's write half alive until the reader is done with it.
                std::future::pending::<()>().await;
            };
            let downstream = async move {
                while let Some(Ok(chunk)) = output.next().await {
                    if let LogOutput::StdOut { message } | LogOutput::Console { message } = chunk {
                        if to_caller.write_all(&message).await.is_err() {
                            break;
                        }
                    }
                }
                let _ = to_caller.shutdown().await;
            };
            tokio::select! {
                () = upstream => {}
                () = downstream => {}
            }
        });
        Ok(ExecStream {
            stream: ours,
            _pump: AbortOnDrop(pump),
        })
    }

    /// The address of container `id` on `network`; `None` when it is not on it (or gone).
    pub async fn address_on(&self, id: &str, network: &str) -> Result<Option<String>, DockerError> {
        let inspect = match self.api.inspect_container(id, None).await {
            Ok(i) => i,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(DockerError::api(format!("inspect container {id}"), e)),
        };
        Ok(inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut nets| nets.remove(network))
            .and_then(|endpoint| endpoint.ip_address)
            .filter(|ip| !ip.is_empty()))
    }

    /// Whether container `id` publishes a port on its engine's host.
    pub async fn publishes(&self, id: &str) -> Result<bool, DockerError> {
        let inspect = match self.api.inspect_container(id, None).await {
            Ok(i) => i,
            Err(e) if is_not_found(&e) => return Ok(false),
            Err(e) => return Err(DockerError::api(format!("inspect container {id}"), e)),
        };
        Ok(inspect
            .host_config
            .and_then(|h| h.port_bindings)
            .is_some_and(|b| b.values().any(|v| v.as_ref().is_some_and(|v| !v.is_empty()))))
    }

    /// The host port the engine gave container `id`'s `container_port` (published on port 0).
    pub async fn published_port(&self, id: &str, container_port: u16) -> Result<Option<u16>, DockerError> {
        let inspect = self
            .api
            .inspect_container(id, None)
            .await
            .map_err(|e| DockerError::api(format!("inspect container {id}"), e))?;
        let key = format!("{container_port}/tcp");
        Ok(inspect
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|ports| ports.get(&key).cloned().flatten())
            .and_then(|bindings| bindings.into_iter().find_map(|b| b.host_port?.parse().ok())))
    }

    /// The HEALTHCHECK container `id` runs under (the image's or its own); `None` without one.
    pub async fn health_timing(&self, id: &str) -> Result<Option<HealthTiming>, DockerError> {
        let inspect = match self.api.inspect_container(id, None).await {
            Ok(i) => i,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(DockerError::api(format!("inspect container {id}"), e)),
        };
        let Some(h) = inspect.config.and_then(|c| c.healthcheck) else {
            return Ok(None);
        };
        let disabled = h
            .test
            .as_ref()
            .is_none_or(|t| t.is_empty() || t.first().is_some_and(|w| w == "NONE"));
        if disabled {
            return Ok(None);
        }
        Ok(Some(HealthTiming {
            interval: duration_of(h.interval),
            timeout: duration_of(h.timeout),
            retries: h.retries.and_then(|r| u32::try_from(r).ok()).filter(|r| *r > 0),
            start_period: duration_of(h.start_period),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthcheck_limit_covers_its_start_period_and_every_retry() {
        let slow = HealthTiming {
            interval: Some(Duration::from_secs(60)),
            timeout: Some(Duration::from_secs(5)),
            retries: Some(3),
            start_period: None,
        };
        // A first check only after 60 s: a 30 s limit would give up before it ever ran.
        assert_eq!(slow.limit(), Duration::from_secs(4 * 65 + 5));
        assert_eq!(HealthTiming::default().limit(), Duration::from_secs(4 * 60 + 5));
        assert_eq!(duration_of(Some(0)), None);
        assert_eq!(duration_of(Some(-1)), None);
    }
}
