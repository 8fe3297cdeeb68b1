//! Strategy `proxy`: the new release starts beside the one that serves, publishing nothing;
//! once it is ready (its HEALTHCHECK, with its own timing, else its port answering HTTP from
//! inside the environment's network) and its smoke checks passed against it directly (the
//! caller's gate), the proxy sends it the traffic; the old release drains (its requests in
//! flight finish, up to `drain`) and stops. A release that fails before the switch is removed
//! and never served a request; the old one never stopped.
//!
//! An environment that has no `publish` has no proxy: the new release still starts beside the
//! old one, which stops once the new one is ready and passed its checks.

use std::time::{Duration, Instant};

use crate::deploy::proxy::{self, Proxy, Upstream};
use crate::deploy::rollout::{Gate, Rollout, RolloutOutcome, LOG_LINES};
use crate::deploy::smoke::Via;
use crate::deploy::switch_step::SwitchStep;
use crate::deploy::target::{Deployed, Target, STOP_GRACE};
use crate::deploy::{network, processes};
use crate::docker::{Answer, DockerError};

const POLL: Duration = Duration::from_millis(200);
/// How often the drain is told in the log.
const DRAIN_NOTE: Duration = Duration::from_secs(1);

type Log<'l> = &'l mut (dyn FnMut(String) + Send);

pub(crate) async fn run(
    r: &Rollout<'_>,
    log: Log<'_>,
    gate: Option<&mut Gate<'_>>,
) -> Result<RolloutOutcome, DockerError> {
    let target = r.target;
    let docker = &target.docker;
    let tell = |step: SwitchStep| {
        if let Some(sink) = r.steps {
            sink(step)
        }
    };
    let net = network::ensure(target).await?;
    let all = target.containers().await?;
    let port = target.env.publish_spec().map(|p| p.container_port);
    // The proxy, when there is one to have; created pointing at what runs now.
    let running: Vec<&Deployed> = all.iter().filter(|d| d.running()).collect();
    let mut proxy: Option<Proxy> = None;
    let mut current: Option<Deployed> = running.first().map(|d| (*d).clone());
    if proxy::wanted(target) {
        let port = port.unwrap_or(80);
        // A release placed by strategy `recreate` holds the published port itself.
        let holder = match &current {
            Some(c) if docker.publishes(&c.container_id).await? => Some(c.clone()),
            _ => None,
        };
        if let Some(old) = &holder {
            log(format!(
                "{} publishes {} itself (placed by strategy `recreate`): it stops now so that the proxy can own the address; this one time, requests fail until the new release serves",
                old.container,
                target.env.publish.as_deref().unwrap_or_default()
            ));
            processes::stop_of(target, &old.container, log).await?;
            docker.stop(&old.container_id, STOP_GRACE).await?;
        }
        let serving = match (&current, &holder) {
            (Some(c), None) => upstream(target, c, &net, port).await?,
            _ => None,
        };
        let p = match proxy::ensure(target, serving.as_ref(), log).await {
            Ok(p) => p,
            Err(e) => {
                if let Some(old) = &holder {
                    restore(target, old, log).await?;
                }
                return Err(e);
            }
        };
        // With two running (an interrupted switch), the one the proxy serves is current.
        if running.len() > 1 {
            if let Some(served) = proxy::served_among(target, &running).await? {
                current = Some(served);
            }
        }
        if let Some(mut old) = holder.clone() {
            // Stopped above: not "unchanged", and restored if the new release fails.
            old.state = "exited".into();
            current = Some(old);
        }
        proxy = Some(p);
    }
    if let Some(cur) = current.as_ref().filter(|c| c.running()) {
        // The release is its web container and its processes: one that died (a worker that
        // crashed) makes the release worth placing again, whole.
        let down = if cur.release.image_id == r.release.image_id {
            crate::deploy::processes::not_running(target, &cur.container).await?
        } else {
            Vec::new()
        };
        if !down.is_empty() {
            let names: Vec<&str> = down.iter().map(String::as_str).collect();
            log(format!(
                "{} runs, but its process {} does not: placing the release again",
                cur.container,
                crate::text::quoted_list(&names, "and")
            ));
        } else if cur.release.image_id == r.release.image_id && cur.health() != "unhealthy" {
            if let (Some(p), Some(port)) = (&proxy, port) {
                // Make sure it is what the proxy serves (a proxy recreated empty, a crash).
                let serving = p.serving(target).await.ok().flatten();
                let addr = docker.address_on(&cur.container_id, &net).await?;
                if addr.is_some() && serving.as_ref().map(|s| s.ip().to_string()) != addr {
                    if let Some(up) = upstream(target, cur, &net, port).await? {
                        p.point(target, &up).await.map_err(|m| api_error(target, m))?;
                        log(format!("the proxy serves {} again", cur.container));
                    }
                }
            }
            return Ok(RolloutOutcome::Unchanged);
        }
    }
    if !docker.image_exists(&r.release.image_id).await? {
        return Err(DockerError::Api {
            action: format!("deploy {} to {}", r.release.describe(), target.name()),
            message: format!(
                "the release image {} is not on the engine at {}; build it with `shipdeck run --commit {}`",
                r.release.image_id, docker.address, r.release.short_commit
            ),
        });
    }
    let keep = current.as_ref().map(|c| c.container_id.clone());
    for old in all.iter().filter(|d| Some(&d.container_id) != keep.as_ref()) {
        docker.remove_container(&old.container_id).await?;
    }
    processes::remove_all_but(target, current.as_ref().map(|c| c.container.as_str())).await?;

    let name = r.container_name(current.as_ref());
    let mut spec = r.spec(&name);
    // Only the proxy publishes: the old release keeps the port, if it has one, until it stops.
    spec.publish = None;
    let id = docker.create_deployment(&spec).await?;
    log(format!(
        "created {name} from {} beside {}",
        r.release.describe(),
        current.as_ref().map_or("nothing", |c| c.container.as_str())
    ));
    tell(SwitchStep::Overlap {
        serving: current
            .as_ref()
            .filter(|c| c.running())
            .map(|c| c.release.short_commit.clone()),
        new: r.release.short_commit.clone(),
    });
    let procs = match processes::create(docker, &spec, &target.env.processes).await {
        Ok(p) => p,
        Err(e) => {
            docker.remove_container(&id).await?;
            return Err(e);
        }
    };
    let fail = |reason: String, logs: Vec<String>| RolloutOutcome::Failed {
        reason,
        logs,
        // Every failure below leaves the previous release serving (or serving again).
        restored: current.is_some(),
    };
    let started = Instant::now();
    let ready = match docker.start(&id).await {
        Err(e) => Err(e.to_string()),
        Ok(()) => match ready_to_serve(target, &id, proxy.as_ref(), &net, port, log).await? {
            Ok(how) => {
                log(format!("{name} is {how} after {} ms", started.elapsed().as_millis()));
                tell(SwitchStep::Ready { how: how.to_string() });
                processes::start(docker, &procs, log).await
            }
            Err(why) => Err(why),
        },
    };
    let abandon = |_: ()| async {
        let logs = docker.last_log_lines(&id, LOG_LINES).await;
        processes::remove(docker, procs.iter().map(|p| p.id.as_str())).await;
        docker.remove_container(&id).await.map(|_| logs)
    };
    if let Err(reason) = ready {
        let logs = abandon(()).await?;
        log(format!("{name} did not become ready: {reason}; removed it"));
        tell(SwitchStep::Abandoned { why: reason.clone() });
        return after_failure(target, &current, log, fail(reason, logs)).await;
    }
    let deployed = target
        .containers()
        .await?
        .into_iter()
        .find(|d| d.container_id == id)
        .ok_or_else(|| DockerError::Api {
            action: format!("deploy {}", r.release.describe()),
            message: format!("{name} disappeared right after it started"),
        })?;
    let address = docker.address_on(&id, &net).await?;
    if let Some(gate) = gate {
        let via = match (&proxy, &address, port) {
            (Some(p), Some(addr), Some(port)) => Via::Inside {
                docker: Box::new(docker.clone()),
                container: p.container_id.clone(),
                host: addr.clone(),
                port,
            },
            _ => Via::Published,
        };
        log(format!("smoke-checking {name} directly, before any request reaches it"));
        let (passed, summary) = gate(deployed.clone(), via).await;
        tell(SwitchStep::Smoked {
            passed,
            summary: summary.clone(),
        });
        if !passed {
            tell(SwitchStep::Abandoned {
                why: "its smoke checks failed".to_string(),
            });
            abandon(()).await?;
            log(format!(
                "{name} FAILED its smoke checks before the switch: removed it; it never served a request"
            ));
            let outcome = RolloutOutcome::Rejected { summary };
            return after_failure(target, &current, log, outcome).await;
        }
    }
    // The switch.
    if let (Some(p), Some(port)) = (&proxy, port) {
        let Some(address) = address else {
            let logs = abandon(()).await?;
            return after_failure(
                target,
                &current,
                log,
                fail(format!("{name} has no address on {net}"), logs),
            )
            .await;
        };
        let up = Upstream {
            container: name.clone(),
            address,
            port,
        };
        let old = match p.point(target, &up).await {
            Ok(old) => old,
            Err(why) => {
                // Back to the one that served, then the new one goes.
                if let Some(cur) = current.as_ref() {
                    if let Ok(Some(back)) = upstream(target, cur, &net, port).await {
                        let _ = p.point(target, &back).await;
                    }
                }
                let logs = abandon(()).await?;
                tell(SwitchStep::Abandoned {
                    why: format!("the proxy could not be switched: {why}"),
                });
                let outcome = fail(format!("the proxy could not be switched: {why}"), logs);
                return after_failure(target, &current, log, outcome).await;
            }
        };
        let at = chrono::Utc::now();
        log(format!("TRAFFIC MOVED to {name} at {}", at.format("%H:%M:%S%.3f")));
        tell(SwitchStep::Moved { at });
        if let (Some(old), Some(cur)) = (old, current.as_ref()) {
            drain(target, p, &old.slot, &cur.container, log, &tell).await;
        }
    }
    if let Some(cur) = &current {
        processes::stop_of(target, &cur.container, log).await?;
        processes::remove_all_but(target, Some(&name)).await?;
        docker.stop(&cur.container_id, STOP_GRACE).await?;
        docker.remove_container(&cur.container_id).await?;
        log(format!("retired {}", cur.container));
        tell(SwitchStep::Retired);
    }
    Ok(RolloutOutcome::Deployed {
        previous: current.map(Box::new),
    })
}

/// Waits until the new release is ready (`docker::wait_release_ready`): its port is asked from
/// inside the proxy container, at its address on the environment's network.
async fn ready_to_serve(
    target: &Target,
    id: &str,
    proxy: Option<&Proxy>,
    net: &str,
    port: Option<u16>,
    log: Log<'_>,
) -> Result<Result<&'static str, String>, DockerError> {
    let answer = match (proxy, port) {
        (Some(p), Some(port)) => target.docker.address_on(id, net).await?.map(|address| Answer::Inside {
            from: p.container_id.clone(),
            address,
            port,
        }),
        _ => None,
    };
    crate::deploy::rollout::ready(target, id, answer, log).await
}

/// After a failure before the switch: a release stopped for the move to a proxy starts again.
async fn after_failure(
    target: &Target,
    current: &Option<Deployed>,
    log: Log<'_>,
    outcome: RolloutOutcome,
) -> Result<RolloutOutcome, DockerError> {
    if let Some(cur) = current.as_ref().filter(|c| !c.running()) {
        if let Some(state) = target.docker.container_state(&cur.container_id).await? {
            if !state.running {
                restore(target, cur, log).await?;
            }
        }
    }
    Ok(outcome)
}

/// Puts a release that was stopped for the proxy back on its own published port: the proxy
/// (which could not take over) goes.
async fn restore(target: &Target, old: &Deployed, log: Log<'_>) -> Result<(), DockerError> {
    let name = proxy::container_name(&target.app, &target.env.name);
    let docker = &target.docker;
    for c in docker
        .containers_labelled(&[
            (crate::docker::labels::APP, &target.app),
            (crate::docker::labels::ENV, &target.env.name),
            (crate::docker::labels::ROLE, proxy::ROLE),
        ])
        .await?
        .into_iter()
        .filter(|c| c.name == name)
    {
        docker.remove_container(&c.id).await?;
    }
    docker.start(&old.container_id).await?;
    processes::restart_of(target, &old.container, log).await?;
    log(format!("{} serves on its own port again", old.container));
    Ok(())
}

/// Waits until `slot` (the old release) has no request in flight, or `drain` is over; then
/// takes it out of the proxy. Tells the count as it goes.
async fn drain(target: &Target, p: &Proxy, slot: &str, old: &str, log: Log<'_>, tell: &(dyn Fn(SwitchStep) + Sync)) {
    let limit = target.env.drain;
    let started = Instant::now();
    let mut last_note: Option<Instant> = None;
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match p.sessions(target, slot).await {
            Ok(0) => {
                log(format!(
                    "{old} drained: no request in flight after {} ms",
                    started.elapsed().as_millis()
                ));
                tell(SwitchStep::Drained { cut: 0 });
                break;
            }
            Ok(n) if left.is_zero() => {
                log(format!(
                    "drain of {old} over ({} s): {n} request(s) still in flight are cut",
                    limit.as_secs()
                ));
                tell(SwitchStep::Drained { cut: n });
                break;
            }
            Ok(n) => {
                if last_note.is_none_or(|t| t.elapsed() >= DRAIN_NOTE) {
                    log(format!(
                        "draining {old}: {n} request(s) in flight, {} s left",
                        left.as_secs().max(1)
                    ));
                    tell(SwitchStep::Draining {
                        in_flight: n,
                        left_secs: left.as_secs().max(1),
                    });
                    last_note = Some(Instant::now());
                }
            }
            Err(why) => {
                log(format!("the drain of {old} cannot be read ({why}): stopping it now"));
                break;
            }
        }
        tokio::time::sleep(POLL).await;
    }
    if let Err(why) = p.retire(target, slot).await {
        log(format!("the proxy could not take {old} out of service: {why}"));
    }
}

/// How the proxy reaches a release: its name, its address on the environment's network, `port`.
async fn upstream(target: &Target, d: &Deployed, net: &str, port: u16) -> Result<Option<Upstream>, DockerError> {
    Ok(target
        .docker
        .address_on(&d.container_id, net)
        .await?
        .map(|address| Upstream {
            container: d.container.clone(),
            address,
            port,
        }))
}

fn api_error(target: &Target, message: String) -> DockerError {
    DockerError::Api {
        action: format!("point the proxy of {}", target.env.name),
        message,
    }
}
