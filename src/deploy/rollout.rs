//! Putting one release on an environment: start the new container, wait until it is running
//! and healthy, then retire the previous one; if the new one never becomes healthy, remove it
//! and start the previous one again.
//!
//! The environment publishes one host port, which two containers cannot bind at once: the
//! previous release is stopped (not removed) just before the new one starts. That stop → ready
//! window is the only time requests fail; a proxy in front of the port would remove it.

use std::time::Instant;

use chrono::Utc;

use crate::deploy::model::{OpAction, Operator, ReleaseRef};
use crate::deploy::processes;
use crate::deploy::target::{Deployed, Target, STOP_GRACE};
use crate::docker::{labels, Answer, DeploymentSpec, DockerError, NotReady};

/// The smoke checks a new release must pass before it takes traffic (strategy `proxy`): given
/// the new release and how to reach it, whether all passed and a summary.
pub type Gate<'a> =
    dyn FnMut(Deployed, crate::deploy::smoke::Via) -> futures_util::future::BoxFuture<'a, (bool, String)> + Send + 'a;

/// What to put where, and who asks.
pub struct Rollout<'a> {
    pub target: &'a Target,
    pub release: &'a ReleaseRef,
    pub operator: &'a Operator,
    pub action: OpAction,
    /// `KEY=value` secrets for the container, read from the host.
    pub secrets: Vec<String>,
    /// Who hears the steps of a switch (strategy `proxy`): the console draws them.
    pub steps: Option<crate::deploy::switch_step::StepSink<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutOutcome {
    /// The release runs and is healthy; `previous` was retired.
    Deployed { previous: Option<Box<Deployed>> },
    /// The release already ran there, healthy.
    Unchanged,
    /// The new release never became healthy and was removed; `restored` tells whether the
    /// previous release runs again.
    Failed {
        reason: String,
        logs: Vec<String>,
        restored: bool,
    },
    /// The new release was ready but failed its smoke checks before the switch (strategy
    /// `proxy`): it was removed, never served a request, and the previous one never stopped.
    Rejected { summary: String },
}

/// Log lines shown when a release fails to start.
pub(crate) const LOG_LINES: usize = 20;

impl Rollout<'_> {
    /// Puts the release in place by the environment's strategy. With `proxy`, `gate` (the
    /// smoke checks) runs against the new release before it takes any traffic; `recreate`
    /// has no such moment and ignores it (its checks run after, through the published port).
    pub async fn run(
        &self,
        log: &mut (dyn FnMut(String) + Send),
        gate: Option<&mut Gate<'_>>,
    ) -> Result<RolloutOutcome, DockerError> {
        match self.target.env.strategy {
            crate::config::Strategy::Proxy => crate::deploy::switch::run(self, log, gate).await,
            crate::config::Strategy::Recreate => self.recreate(log).await,
        }
    }

    /// Strategy `recreate`: the previous release stops, then the new one starts on the port.
    async fn recreate(&self, log: &mut (dyn FnMut(String) + Send)) -> Result<RolloutOutcome, DockerError> {
        let target = self.target;
        let docker = &target.docker;
        let all = target.containers().await?;
        let running = all.iter().find(|d| d.running()).cloned();
        // The release to fall back on: the running one, or one a deploy interrupted by a
        // crash stopped (and never replaced).
        let current = running.or_else(|| all.iter().find(|d| d.state == "exited").cloned());
        if let Some(cur) = current.as_ref().filter(|c| c.running()) {
            if cur.release.image_id == self.release.image_id && cur.health() != "unhealthy" {
                // The release is its web container and its processes: one that died (a worker
                // that crashed) makes the release worth placing again, whole.
                let down = processes::not_running(target, &cur.container).await?;
                if down.is_empty() {
                    return Ok(RolloutOutcome::Unchanged);
                }
                let names: Vec<&str> = down.iter().map(String::as_str).collect();
                log(format!(
                    "{} runs, but its process {} does not: placing the release again",
                    cur.container,
                    crate::text::quoted_list(&names, "and")
                ));
            }
        }
        if !docker.image_exists(&self.release.image_id).await? {
            return Err(DockerError::Api {
                action: format!("deploy {} to {}", self.release.describe(), target.name()),
                message: format!(
                    "the release image {} is not on the engine at {}; build it with `shipdeck run --commit {}`",
                    self.release.image_id, docker.address, self.release.short_commit
                ),
            });
        }
        crate::deploy::network::ensure(target).await?;
        // Leftovers of earlier attempts (stopped, not the current one) go first, so that
        // names and ports are free and only one previous release is ever kept.
        for old in all
            .iter()
            .filter(|d| Some(&d.container_id) != current.as_ref().map(|c| &c.container_id))
        {
            docker.remove_container(&old.container_id).await?;
        }
        processes::remove_all_but(target, current.as_ref().map(|c| c.container.as_str())).await?;
        let name = self.container_name(current.as_ref());
        let spec = self.spec(&name);
        let id = docker.create_deployment(&spec).await?;
        log(format!("created {name} from {}", self.release.describe()));
        let procs = match processes::create(docker, &spec, &target.env.processes).await {
            Ok(p) => p,
            Err(e) => {
                docker.remove_container(&id).await?;
                return Err(e);
            }
        };
        if let Some(cur) = current.as_ref().filter(|c| c.running()) {
            log(format!("stopping {} ({})", cur.container, cur.release.describe()));
            processes::stop_of(target, &cur.container, log).await?;
            docker.stop(&cur.container_id, STOP_GRACE).await?;
        }
        let started = Instant::now();
        let ready = match docker.start(&id).await {
            Ok(()) => {
                log(format!("started {name}"));
                match self.wait_ready(&id, log).await? {
                    // The release is its web process and its other processes, as one.
                    Ok(how) => processes::start(docker, &procs, log).await.map(|()| how),
                    Err(why) => Err(why),
                }
            }
            Err(e) => Err(port_in_use(self.target, e.to_string())),
        };
        match ready {
            Ok(how) => {
                log(format!("{name} is {how} after {} ms", started.elapsed().as_millis()));
                if let Some(cur) = &current {
                    processes::remove_all_but(target, Some(&name)).await?;
                    docker.remove_container(&cur.container_id).await?;
                    log(format!("retired {}", cur.container));
                }
                Ok(RolloutOutcome::Deployed {
                    previous: current.map(Box::new),
                })
            }
            Err(reason) => {
                let logs = docker.last_log_lines(&id, LOG_LINES).await;
                processes::remove(docker, procs.iter().map(|p| p.id.as_str())).await;
                docker.remove_container(&id).await?;
                log(format!("{name} did not become healthy: {reason}; removed it"));
                let mut restored = false;
                if let Some(cur) = &current {
                    docker.start(&cur.container_id).await?;
                    processes::restart_of(target, &cur.container, log).await?;
                    // Back means answering again, not just started.
                    match self.wait_ready(&cur.container_id, log).await? {
                        Ok(how) => {
                            restored = true;
                            log(format!("the previous release {} is {how} again", cur.container));
                        }
                        Err(why) => log(format!(
                            "the previous release {} did not come back: {why}",
                            cur.container
                        )),
                    }
                }
                Ok(RolloutOutcome::Failed { reason, logs, restored })
            }
        }
    }

    /// `hello-py-staging-a1b2c3d-5e0f`, or with the image ID too when that name is taken by
    /// the running container (the same commit rebuilt). The last part hashes app and
    /// environment taken apart (see `docker::names`): app `a` with environment `x-y` and app
    /// `a-x` with `y` would otherwise want the same name.
    pub(crate) fn container_name(&self, current: Option<&Deployed>) -> String {
        let t = self.target;
        let scope = crate::docker::names::parts_hash(&[&t.app, &t.env.name]) & 0xffff;
        let name = format!("{}-{}-{}-{scope:04x}", t.app, t.env.name, self.release.short_commit);
        match current {
            Some(c) if c.container == name => {
                format!("{name}-{}", &crate::deploy::short_image_id(&self.release.image_id)[..6])
            }
            _ => name,
        }
    }

    pub(crate) fn spec(&self, name: &str) -> DeploymentSpec {
        let t = self.target;
        let r = self.release;
        let env = release_env(t, r, &self.secrets);
        let now = Utc::now().to_rfc3339();
        let by = self.operator.display();
        let labels = labels::set(&[
            (labels::APP, &t.app),
            (labels::ENV, &t.env.name),
            (labels::ROLE, "deployment"),
            (labels::COMMIT, &r.commit),
            (labels::SHORT_COMMIT, &r.short_commit),
            (labels::SUBJECT, &r.subject),
            (labels::IMAGE_ID, &r.image_id),
            (labels::IMAGE_TAG, r.image_tag.as_deref().unwrap_or("")),
            (labels::DEPLOYED_BY, &by),
            (labels::DEPLOYED_AT, &now),
            (labels::ACTION, self.action.as_str()),
        ]);
        DeploymentSpec {
            name: name.to_string(),
            image: r.image_id.clone(),
            env,
            labels,
            publish: t.env.publish_spec(),
            command: t.env.command.clone(),
            entrypoint: t.env.entrypoint.clone(),
            healthcheck: t.env.healthcheck.clone(),
            network: Some(crate::deploy::network::name(&t.app, &t.env.name)),
            aliases: Vec::new(),
            binds: Vec::new(),
        }
    }

    /// Waits until a container of the release is ready (`docker::wait_release_ready`): its
    /// published port is asked from this host when the engine is local.
    async fn wait_ready(
        &self,
        id: &str,
        log: &mut (dyn FnMut(String) + Send),
    ) -> Result<Result<&'static str, String>, DockerError> {
        let t = self.target;
        let answer = match (t.published_addr(), t.env.docker_host.is_some()) {
            // A remote engine's loopback is not ours: being up is all we can see.
            (Some((host, port)), false) => Some(Answer::Published { host, port }),
            _ => None,
        };
        ready(t, id, answer, log).await
    }
}

/// Waits until container `id` of a release on `target` is ready (`docker::wait_release_ready`,
/// `ready_timeout`): `Ok(Ok("healthy" | "answering" | "running"))`, or `Ok(Err(why not))`; an
/// engine that does not answer is the error.
pub(crate) async fn ready(
    target: &Target,
    id: &str,
    answer: Option<Answer>,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<Result<&'static str, String>, DockerError> {
    match crate::docker::wait_release_ready(&target.docker, id, target.env.ready_timeout, answer, log).await {
        Ok(ready) => Ok(Ok(ready.check.word())),
        Err(NotReady::Engine(e)) => Err(e),
        Err(why) => Ok(Err(why.to_string())),
    }
}

/// The `KEY=value` pairs of a release on an environment: shipdeck's, the environment's `env`,
/// then the secrets. Its processes and its release_command get the same.
pub fn release_env(t: &Target, r: &ReleaseRef, secrets: &[String]) -> Vec<String> {
    let mut env = vec![
        format!("SHIPDECK_COMMIT={}", r.commit),
        format!("SHIPDECK_SHORT_COMMIT={}", r.short_commit),
        format!("SHIPDECK_ENV={}", t.env.name),
        format!("SHIPDECK_APP={}", t.app),
    ];
    env.extend(t.env.env.iter().map(|(k, v)| format!("{k}={v}")));
    env.extend(secrets.iter().cloned());
    env
}

/// Docker's words for a taken host port, in the user's.
fn port_in_use(target: &Target, message: String) -> String {
    if !(message.contains("already allocated") || message.contains("address already in use")) {
        return message;
    }
    let port = target.env.publish.as_deref().unwrap_or("?");
    format!(
        "the published port ({port}) is in use on the engine's host, by another container or process: free it, or change `publish` of [environments.{}] ({message})",
        target.env.name
    )
}
