use std::time::Duration;

use super::{error_message, DockerError};

/// A connection to one Docker engine, with the API version agreed with it.
#[derive(Debug, Clone)]
pub struct Docker {
    pub(crate) api: bollard::Docker,
    /// Where the engine was reached, for messages: `unix:///var/run/docker.sock`, `tcp://…`.
    pub address: String,
    /// The engine's own version, e.g. `20.10.24`.
    pub server_version: String,
    /// The API version both sides speak, e.g. `1.41`.
    pub api_version: String,
    /// The engine's CPU count, asked once per connection (stage CPU limits are capped at it).
    pub(crate) cpus: std::sync::Arc<tokio::sync::OnceCell<Option<i64>>>,
}

/// The address shipdeck connects to: `DOCKER_HOST`, or the local engine's socket.
pub fn default_address() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// Connects to the engine at `DOCKER_HOST` (or the local socket), negotiates the API version
/// down to what the engine speaks, so that older and newer engines both work, and checks that
/// it answers.
pub async fn connect() -> Result<Docker, DockerError> {
    connect_to(&default_address()).await
}

/// Connects to the engine at `address` (`unix://`, `tcp://`, `ssh://user@host`), as
/// [`connect`] does: an environment's `docker_host`.
pub async fn connect_to(address: &str) -> Result<Docker, DockerError> {
    let address = address.to_string();
    let unreachable = |message: String| DockerError::Unreachable {
        address: address.clone(),
        message,
    };
    let api = bollard::Docker::connect_with_host(&address).map_err(|e| unreachable(error_message(&e)))?;
    // A dead engine should be reported in seconds, not after the client's two-minute default.
    let probe = api.clone().with_timeout(Duration::from_secs(10));
    // Negotiation and the version query both read `/version`; clones share the agreed
    // version, so the two run at once and the start costs one round trip, not two.
    let both = async { tokio::join!(probe.clone().negotiate_version(), probe.version()) };
    let (negotiated, version) = tokio::time::timeout(Duration::from_secs(10), both)
        .await
        .map_err(|_| unreachable("no answer within 10 s".to_string()))?;
    let probe = negotiated.map_err(|e| unreachable(error_message(&e)))?;
    let version = version.map_err(|e| unreachable(error_message(&e)))?;
    let agreed = probe.client_version();
    // Long calls (waiting for a stage, following logs, builds) must not be cut by the client.
    let api = probe.with_timeout(Duration::from_secs(24 * 3600));
    Ok(Docker {
        api,
        address,
        server_version: version.version.unwrap_or_else(|| "unknown".to_string()),
        api_version: format!("{}.{}", agreed.major_version, agreed.minor_version),
        cpus: Default::default(),
    })
}

impl Docker {
    /// Whether the engine still answers, within a few seconds.
    pub async fn ping(&self) -> Result<(), String> {
        match tokio::time::timeout(Duration::from_secs(5), self.api.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(error_message(&e)),
            Err(_) => Err("no answer within 5 s".to_string()),
        }
    }
}
