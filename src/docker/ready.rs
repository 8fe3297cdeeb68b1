//! Waiting until a started service container is ready to serve: [`wait_ready`].
//!
//! For a stage's services (`engine::services`) and for anything else started from a
//! [`ServiceConfig`] (an environment's accessories): start the container, then
//! `wait_ready(&docker, &id, &config, config.ready_timeout, &mut |line| log(line))`. Everything
//! it asks of the engine goes through the API (exec, inspect), so it works the same on a
//! remote engine; it never connects to the container from the host.
//!
//! A release on an environment waits through the same loop: [`wait_release_ready`] (its
//! HEALTHCHECK with its own timing, else its port answering HTTP, else staying up).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Docker, DockerError, HealthTiming};
use crate::config::{CommandSpec, ServiceConfig};

/// How often readiness is asked.
const POLL: Duration = Duration::from_millis(300);
/// The longest one probe (a `ready` command) may take before it counts as a failed attempt.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a container without anything to ask must stay up to count as started: a process
/// that exits at once is not ready.
const SETTLE: Duration = Duration::from_millis(500);
/// How long a release without a HEALTHCHECK gets to answer, unless `ready_timeout` says.
pub const RELEASE_READY_DEFAULT: Duration = Duration::from_secs(30);
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
    /// A release's port answering HTTP (bytes back for a `HEAD /`, or a connection kept open
    /// by a server of another protocol), asked as [`Answer`] says.
    Answers(Answer),
    /// Nothing to ask: ready once it runs (and stayed up a moment).
    Running,
}

/// Where a release's port is asked from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// From this host, at the address the engine publishes (a local engine only: a remote
    /// engine's loopback is not ours).
    Published { host: String, port: u16 },
    /// From inside container `from` (the environment's proxy, which has `socat`), at the
    /// release's address on their network: works the same on a remote engine.
    Inside { from: String, address: String, port: u16 },
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
            ReadyCheck::Answers(Answer::Published { .. }) => "its published port answers".to_string(),
            ReadyCheck::Answers(Answer::Inside { .. }) => "its port answers HTTP inside the network".to_string(),
            ReadyCheck::Running => "it runs (no `ready`, HEALTHCHECK or exposed port to ask)".to_string(),
        }
    }

    /// What a ready container is called by this check: "healthy", "answering", "running".
    pub fn word(&self) -> &'static str {
        match self {
            ReadyCheck::Healthcheck => "healthy",
            ReadyCheck::Answers(_) => "answering",
            ReadyCheck::Command(_) | ReadyCheck::Ports(_) => "ready",
            ReadyCheck::Running => "running",
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
    /// Its HEALTHCHECK failed `retries` times in a row past its start period: the image's own
    /// word that it is not healthy.
    #[error("its healthcheck failed{}", .last.as_deref().filter(|l| !l.is_empty()).map(|l| format!(": {l}")).unwrap_or_default())]
    Unhealthy { last: Option<String> },
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
    wait_for(docker, id, check, timeout, log).await
}

/// Waits until the started release container `id` is ready to take traffic, by the first of:
/// its HEALTHCHECK (the image's or `healthcheck`'s; given the time its own interval, timeout,
/// retries and start period need), its port answering as `answer` says, else staying up a
/// moment. `ready_timeout` replaces the derived limit when set. The same loop as services'.
pub async fn wait_release_ready(
    docker: &Docker,
    id: &str,
    ready_timeout: Option<Duration>,
    answer: Option<Answer>,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<Ready, NotReady> {
    let timing: Option<HealthTiming> = docker.health_timing(id).await?;
    let (check, limit) = match (timing, answer) {
        (Some(t), _) => (ReadyCheck::Healthcheck, t.limit()),
        (None, Some(a)) => (ReadyCheck::Answers(a), RELEASE_READY_DEFAULT),
        (None, None) => (ReadyCheck::Running, RELEASE_READY_DEFAULT),
    };
    wait_for(docker, id, check, ready_timeout.unwrap_or(limit), log).await
}

/// The one readiness loop: asks `check` every [`POLL`] until it holds, the container stops
/// (or restarts: it exited), or `timeout` is over.
async fn wait_for(
    docker: &Docker,
    id: &str,
    check: ReadyCheck,
    timeout: Duration,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<Ready, NotReady> {
    let started = Instant::now();
    log(format!(
        "waiting until {} (up to {})",
        check.describe(),
        crate::text::duration::DurationStyle::Config.format(timeout)
    ));
    let mut last = None;
    // Settled means seen running for SETTLE, not SETTLE since the wait began: on a loaded
    // engine the start itself can take longer than that, and a process that exits at once
    // would otherwise be called ready on the first look.
    let mut running_since: Option<Instant> = None;
    loop {
        let Some(state) = docker.container_state(id).await? else {
            return Err(NotReady::Exited { code: None });
        };
        // Restarting is its restart policy at work: it exited at least once.
        if (!state.running && state.status != "created") || state.restarting {
            return Err(NotReady::Exited { code: state.exit_code });
        }
        if state.running && running_since.is_none() {
            running_since = Some(Instant::now());
        }
        let remaining = timeout.saturating_sub(started.elapsed());
        let settled = running_since.is_some_and(|since| since.elapsed() >= SETTLE);
        match probe_once(docker, id, &check, &state, remaining.min(PROBE_TIMEOUT), settled).await? {
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
    settled: bool,
) -> Result<Probe, NotReady> {
    if !state.running {
        // Created, not started yet (a start under way).
        return Ok(Probe::NotYet(None));
    }
    match check {
        ReadyCheck::Running if settled => Ok(Probe::Ready),
        ReadyCheck::Running => Ok(Probe::NotYet(None)),
        ReadyCheck::Answers(_) if !settled => Ok(Probe::NotYet(None)),
        ReadyCheck::Answers(answer) => Ok(match answers(docker, answer, limit).await {
            true => Probe::Ready,
            false => Probe::NotYet(Some("nothing answers on its port yet".to_string())),
        }),
        ReadyCheck::Healthcheck => Ok(match state.health.as_deref() {
            Some("healthy") => Probe::Ready,
            Some("unhealthy") => {
                return Err(NotReady::Unhealthy {
                    last: state.health_log.as_deref().map(last_line),
                })
            }
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
                // An exec into a container that is exiting fails the same way: the next round
                // reports how it exited rather than blaming its image.
                let still_running = docker
                    .container_state(id)
                    .await?
                    .is_some_and(|s| s.running && !s.restarting);
                let said = out.output.to_lowercase();
                let no_cat = said.contains("not found") || said.contains("no such file");
                if !still_running || !no_cat {
                    return Ok(Probe::NotYet(Some(format!(
                        "exit {}: {}",
                        out.exit_code.unwrap_or(-1),
                        last_line(&out.output)
                    ))));
                }
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

/// Whether something answers at `answer`: bytes back for a `HEAD /`, or a connection kept
/// open and silent (a server of another protocol). Docker's port proxy accepts every
/// connection and closes it at once when nothing listens behind it, so a connect alone proves
/// nothing.
async fn answers(docker: &Docker, answer: &Answer, limit: Duration) -> bool {
    const HEAD: &[u8] = b"HEAD / HTTP/1.0\r\n\r\n";
    let wait = limit.min(Duration::from_millis(1500));
    let mut byte = [0u8; 1];
    let read = match answer {
        Answer::Published { host, port } => {
            let connect = tokio::net::TcpStream::connect((host.as_str(), *port));
            let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(1), connect).await else {
                return false;
            };
            let _ = stream.write_all(HEAD).await;
            tokio::time::timeout(wait, stream.read(&mut byte)).await
        }
        Answer::Inside { from, address, port } => {
            let argv = vec![
                "socat".to_string(),
                "-t".into(),
                "1".into(),
                "-".into(),
                format!("TCP:{address}:{port},connect-timeout=1"),
            ];
            let Ok(mut stream) = docker.exec_stream(from, argv).await else {
                return false;
            };
            let io = stream.io();
            let _ = io.write_all(HEAD).await;
            tokio::time::timeout(wait, io.read(&mut byte)).await
        }
    };
    match read {
        Ok(Ok(n)) => n > 0,
        Ok(Err(_)) => false,
        Err(_) => true,
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
