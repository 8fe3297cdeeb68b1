//! Waiting until a started service container is ready to serve: [`wait_ready`].
//!
//! For a stage's services (`engine::services`) and for anything else started from a
//! [`ServiceConfig`] (an environment's accessories): start the container, then
//! `wait_ready(&docker, &id, &config, config.ready_timeout, &mut |line| log(line))`. Everything
//! it asks of the engine goes through the API (exec, inspect), so it works the same on a
//! remote engine; it never connects to the container from the host.

use std::time::{Duration, Instant};

use super::{Docker, DockerError};
use crate::config::{CommandSpec, ServiceConfig};

/// How often readiness is asked.
const POLL: Duration = Duration::from_millis(300);
/// The longest one probe (a `ready` command) may take before it counts as a failed attempt.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Exit codes of an exec whose program could not be run at all (not found, not executable).
const CANNOT_EXEC: [i64; 2] = [126, 127];

/// What readiness is judged by, in the order a service's settings choose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyCheck {
    /// `ready`: a command run inside the container until it exits 0.
    Command(CommandSpec),
    /// The image's HEALTHCHECK: until the engine calls it healthy.
    Healthcheck,
    /// The exposed TCP ports: until each has a listening socket inside the container.
    Ports(Vec<u16>),
    /// Nothing to ask: ready once it runs.
    Running,
}

impl ReadyCheck {
    /// "`pg_isready` succeeds", "its healthcheck passes", "port 6379 listens".
    pub fn describe(&self) -> String {
        match self {
            ReadyCheck::Command(cmd) => format!("`{}` succeeds", cmd.display()),
            ReadyCheck::Healthcheck => "its HEALTHCHECK passes".to_string(),
            ReadyCheck::Ports(ports) => {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                let word = if ports.len() == 1 { "port" } else { "ports" };
                format!(
                    "{word} {} listen{}",
                    list.join(", "),
                    if ports.len() == 1 { "s" } else { "" }
                )
            }
            ReadyCheck::Running => "it runs (no `ready`, HEALTHCHECK or exposed port to ask)".to_string(),
        }
    }
}

/// A service that became ready: how it was judged, after how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub check: ReadyCheck,
    pub waited: Duration,
}

/// Why a service never became ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("it exited{} before it was ready", .code.map(|c| format!(" with code {c}")).unwrap_or_default())]
    Exited { code: Option<i64> },
    #[error("not ready after {}: waited until {}{}", crate::text::duration::DurationStyle::Config.format(*.waited), .check.describe(), .last.as_deref().map(|l| format!("; last answer: {l}")).unwrap_or_default())]
    TimedOut {
        check: ReadyCheck,
        waited: Duration,
        /// The last probe's output or health log, trimmed.
        last: Option<String>,
    },
    #[error("cannot tell when it is ready: {0}\n  hint: set `ready` to a command that succeeds once it serves")]
    CannotProbe(String),
    #[error("{0}")]
    Engine(#[from] DockerError),
}

/// Waits until the started container `id` of `spec` is ready, by the first of: `spec.ready`
/// (exec'd until it exits 0), the image's HEALTHCHECK (until healthy), its exposed TCP ports
/// (until listening, read from `/proc/net/tcp*` inside it), else at once. Fails as soon as the
/// container stops, or after `timeout`. `log` hears what it waits for, once.
///
/// Cancellation: drop the future (e.g. in `tokio::select!`); nothing is left behind but the
/// container, which the caller removes.
pub async fn wait_ready(
    docker: &Docker,
    id: &str,
    spec: &ServiceConfig,
    timeout: Duration,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<Ready, NotReady> {
    let started = Instant::now();
    let check = match &spec.ready {
        Some(cmd) => ReadyCheck::Command(cmd.clone()),
        None => {
            let probe = docker.service_probe(id).await?;
            if probe.healthcheck {
                ReadyCheck::Healthcheck
            } else if probe.tcp_ports.is_empty() {
                ReadyCheck::Running
            } else {
                ReadyCheck::Ports(probe.tcp_ports)
            }
        }
    };
    log(format!(
        "waiting until {} (up to {})",
        check.describe(),
        crate::text::duration::DurationStyle::Config.format(timeout)
    ));
    let mut last = None;
    loop {
        let Some(state) = docker.container_state(id).await? else {
            return Err(NotReady::Exited { code: None });
        };
        if !state.running && !state.restarting {
            return Err(NotReady::Exited { code: state.exit_code });
        }
        let remaining = timeout.saturating_sub(started.elapsed());
        match probe_once(docker, id, &check, &state, remaining.min(PROBE_TIMEOUT)).await? {
            Probe::Ready => {
                return Ok(Ready {
                    check,
                    waited: started.elapsed(),
                })
            }
            Probe::NotYet(answer) => last = answer.or(last),
        }
        if started.elapsed() + POLL > timeout {
            return Err(NotReady::TimedOut {
                check,
                waited: timeout,
                last,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

enum Probe {
    Ready,
    /// Not ready; what the probe said, if anything.
    NotYet(Option<String>),
}

async fn probe_once(
    docker: &Docker,
    id: &str,
    check: &ReadyCheck,
    state: &super::ContainerState,
    limit: Duration,
) -> Result<Probe, NotReady> {
    match check {
        ReadyCheck::Running => Ok(Probe::Ready),
        ReadyCheck::Healthcheck => Ok(match state.health.as_deref() {
            Some("healthy") => Probe::Ready,
            Some(other) => Probe::NotYet(Some(match &state.health_log {
                Some(log) => format!("{other}: {}", last_line(log)),
                None => other.to_string(),
            })),
            None => Probe::NotYet(None),
        }),
        ReadyCheck::Command(cmd) => {
            let Ok(out) = tokio::time::timeout(limit, docker.exec(id, cmd.argv(), Vec::new())).await else {
                // Cut short by the deadline, it said nothing: the answer before it stands.
                if limit < PROBE_TIMEOUT {
                    return Ok(Probe::NotYet(None));
                }
                return Ok(Probe::NotYet(Some(format!(
                    "still running after {}",
                    crate::text::duration::DurationStyle::Config.format(limit)
                ))));
            };
            let out = match out {
                Ok(out) => out,
                // The container stopped between the state check and the exec: the next
                // round reports how it exited.
                Err(e) => return Ok(Probe::NotYet(Some(e.to_string()))),
            };
            if out.exit_code == Some(0) {
                return Ok(Probe::Ready);
            }
            let code = out.exit_code.map_or("?".to_string(), |c| c.to_string());
            let text = last_line(&out.output);
            let answer = if text.is_empty() {
                format!("exit {code}")
            } else {
                format!("exit {code}: {text}")
            };
            Ok(Probe::NotYet(Some(answer)))
        }
        ReadyCheck::Ports(ports) => {
            let argv = vec!["cat".to_string(), "/proc/net/tcp".into(), "/proc/net/tcp6".into()];
            let out = match tokio::time::timeout(limit, docker.exec(id, argv, Vec::new())).await {
                Ok(Ok(out)) => out,
                Ok(Err(e)) => return Ok(Probe::NotYet(Some(e.to_string()))),
                Err(_) => return Ok(Probe::NotYet(None)),
            };
            if out.exit_code.is_some_and(|c| CANNOT_EXEC.contains(&c)) {
                return Err(NotReady::CannotProbe(format!(
                    "its image has no `cat` to read which of ports {ports:?} listen"
                )));
            }
            let listening = listening_ports(&out.output);
            let missing: Vec<u16> = ports.iter().copied().filter(|p| !listening.contains(p)).collect();
            if missing.is_empty() {
                Ok(Probe::Ready)
            } else {
                Ok(Probe::NotYet(Some(format!("nothing listens on {missing:?} yet"))))
            }
        }
    }
}

/// The last non-empty line of a probe's output, at most 200 characters.
fn last_line(text: &str) -> String {
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    line.chars().take(200).collect()
}

/// The local ports of listening TCP sockets in `/proc/net/tcp` and `/proc/net/tcp6` text.
fn listening_ports(text: &str) -> Vec<u16> {
    const LISTEN: &str = "0A";
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let port = local.rsplit_once(':')?.1;
            (state == LISTEN).then(|| u16::from_str_radix(port, 16).ok()).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_listening_ports_of_both_families_and_nothing_else() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue\n   0: 00000000:18EB 00000000:0000 0A 00000000:00000000\n   1: 0100007F:1538 0100007F:D2F0 01 00000000:00000000\n  sl  local_address remote_address st\n   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 0\n";
        // 0x18EB = 6379 listens; 0x1538 = 5432 is an established connection; 0x1F90 = 8080 on v6.
        assert_eq!(listening_ports(text), vec![6379, 8080]);
        assert!(listening_ports("garbage\n\n0: zz:zz 0A").is_empty());
    }

    #[test]
    fn describes_what_it_waits_for() {
        assert_eq!(ReadyCheck::Ports(vec![5432]).describe(), "port 5432 listens");
        assert_eq!(ReadyCheck::Ports(vec![1, 2]).describe(), "ports 1, 2 listen");
        let cmd = ReadyCheck::Command(CommandSpec::Shell("pg_isready".into()));
        assert_eq!(cmd.describe(), "`pg_isready` succeeds");
        let timed_out = NotReady::TimedOut {
            check: ReadyCheck::Healthcheck,
            waited: Duration::from_secs(2),
            last: Some("unhealthy: no".into()),
        };
        assert_eq!(
            timed_out.to_string(),
            "not ready after 2s: waited until its HEALTHCHECK passes; last answer: unhealthy: no"
        );
        assert_eq!(last_line("a\nb  \n\n"), "b");
    }
}
