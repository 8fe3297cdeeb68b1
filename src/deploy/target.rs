//! An environment on its engine: where it is reached, what runs there now.

use std::time::Duration;

use crate::config::EnvironmentConfig;
use crate::deploy::model::ReleaseRef;
use crate::docker::{self, labels, Docker, DockerError, LabelledContainer};
use crate::text::short_commit;

/// One environment of one app, connected to its engine.
#[derive(Debug, Clone)]
pub struct Target {
    pub app: String,
    pub env: EnvironmentConfig,
    pub docker: Docker,
}

/// What runs on an environment, read back from the labels of its container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deployed {
    pub container_id: String,
    pub container: String,
    pub release: ReleaseRef,
    pub deployed_by: String,
    /// RFC 3339.
    pub deployed_at: String,
    /// How it got there: deploy, promote, rollback, auto_rollback.
    pub action: String,
    /// `running`, `exited`, `restarting`…
    pub state: String,
    /// Docker's status words: `Up 2 minutes (healthy)`.
    pub status: String,
}

impl Deployed {
    pub fn running(&self) -> bool {
        self.state == "running"
    }

    /// `healthy`, `unhealthy`, `starting` from Docker's status, or the state itself.
    pub fn health(&self) -> String {
        health_of(&self.state, &self.status)
    }

    fn from_container(c: LabelledContainer) -> Option<Deployed> {
        // Labels are written by whoever can reach the engine: plain text only past this point.
        let label = |key: &str| {
            let value = c.labels.get(key).map(String::as_str).unwrap_or_default();
            crate::term::plain_text(value).into_owned()
        };
        let commit = label(labels::COMMIT);
        let image_id = label(labels::IMAGE_ID);
        if commit.is_empty() || image_id.is_empty() {
            return None;
        }
        let tag = label(labels::IMAGE_TAG);
        Some(Deployed {
            release: ReleaseRef {
                short_commit: Some(label(labels::SHORT_COMMIT))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| short_commit(&commit)),
                commit,
                subject: label(labels::SUBJECT),
                image_id,
                image_tag: Some(tag).filter(|t| !t.is_empty()),
            },
            deployed_by: label(labels::DEPLOYED_BY),
            deployed_at: label(labels::DEPLOYED_AT),
            action: label(labels::ACTION),
            container_id: c.id,
            container: c.name,
            state: c.state,
            status: c.status,
        })
    }
}

impl Target {
    /// Connects to the environment's engine: `docker_host`, or `local` (the engine the
    /// pipeline runs on) when it has none.
    pub async fn connect(app: &str, env: &EnvironmentConfig, local: Option<Docker>) -> Result<Target, DockerError> {
        let docker = match (&env.docker_host, local) {
            (None, Some(local)) => local,
            (None, None) => docker::connect().await?,
            (Some(host), _) => docker::connect_to(host).await?,
        };
        Ok(Target {
            app: app.to_string(),
            env: env.clone(),
            docker,
        })
    }

    pub fn name(&self) -> &str {
        &self.env.name
    }

    /// The URL of the published port, as shipdeck reaches it: the bound address, or the
    /// engine's host for `tcp://` and `ssh://` engines when bound to every interface.
    pub fn url(&self) -> Option<String> {
        let (host, port) = self.published_addr()?;
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        Some(format!("http://{host}:{port}"))
    }

    /// The published port's host (an IPv6 address without brackets) and port, as shipdeck
    /// reaches it: see [`Target::url`].
    pub fn published_addr(&self) -> Option<(String, u16)> {
        let publish = self.env.publish_spec()?;
        let host = match publish.host_ip.as_deref() {
            Some(ip) if ip != "0.0.0.0" && ip != "[::]" => ip.trim_matches(['[', ']']).to_string(),
            _ => remote_host(self.env.docker_host.as_deref()).unwrap_or_else(|| "127.0.0.1".to_string()),
        };
        Some((host, publish.host_port))
    }

    /// The URL of the app from inside its own container (for command smoke checks).
    pub fn inner_url(&self) -> Option<String> {
        let publish = self.env.publish_spec()?;
        Some(format!("http://127.0.0.1:{}", publish.container_port))
    }

    /// Every release container of this environment, running or not, newest first.
    pub async fn containers(&self) -> Result<Vec<Deployed>, DockerError> {
        let found = self
            .docker
            .containers_labelled(&[
                (labels::APP, &self.app),
                (labels::ENV, &self.env.name),
                (labels::ROLE, "deployment"),
            ])
            .await?;
        let mut out: Vec<Deployed> = found.into_iter().filter_map(Deployed::from_container).collect();
        out.sort_by(|a, b| b.deployed_at.cmp(&a.deployed_at));
        Ok(out)
    }

    /// What runs there now: the running release container; else the newest one that ran (a
    /// deploy interrupted after stopping it); else the newest one (never started).
    pub async fn current(&self) -> Result<Option<Deployed>, DockerError> {
        let all = self.containers().await?;
        // Two running: a switch in progress, or one a crash interrupted. What runs there is
        // what the proxy serves, not the newer one that may never have served a request.
        let running: Vec<&Deployed> = all.iter().filter(|d| d.running()).collect();
        if running.len() > 1 && crate::deploy::proxy::wanted(self) {
            if let Some(served) = crate::deploy::proxy::served_among(self, &running).await? {
                return Ok(Some(served));
            }
        }
        let found = all
            .iter()
            .position(Deployed::running)
            .or_else(|| all.iter().position(|d| d.state != "created"))
            .or((!all.is_empty()).then_some(0));
        Ok(found.map(|i| all[i].clone()))
    }
}

/// `healthy`, `unhealthy`, `starting` from Docker's status words (`Up 2 minutes (healthy)`),
/// or the state itself.
pub(crate) fn health_of(state: &str, status: &str) -> String {
    for word in ["unhealthy", "healthy", "health: starting"] {
        if status.contains(word) {
            return word.trim_start_matches("health: ").to_string();
        }
    }
    state.to_string()
}

/// `tcp://10.0.0.5:2376` → `10.0.0.5`; `ssh://deploy@host:22` → `host`.
fn remote_host(docker_host: Option<&str>) -> Option<String> {
    let rest = docker_host?
        .strip_prefix("tcp://")
        .or_else(|| docker_host?.strip_prefix("ssh://"))?;
    let rest = rest.rsplit('@').next()?;
    let host = rest.split(['/', ':']).next()?;
    (!host.is_empty()).then(|| host.to_string())
}

/// How long a graceful stop waits before the engine kills the container.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_hosts_come_from_docker_host() {
        assert_eq!(remote_host(Some("tcp://10.0.0.5:2376")).as_deref(), Some("10.0.0.5"));
        assert_eq!(
            remote_host(Some("ssh://deploy@staging.internal")).as_deref(),
            Some("staging.internal")
        );
        assert_eq!(remote_host(Some("ssh://deploy@box:2222")).as_deref(), Some("box"));
        assert_eq!(remote_host(Some("unix:///var/run/docker.sock")), None);
        assert_eq!(remote_host(None), None);
    }
}
