//! User-defined networks: an environment's releases, processes and accessories share one, and
//! its DNS answers each accessory by its key (`db`).

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;

use super::{is_not_found, Docker, DockerError};

impl Docker {
    /// The labels of the network `name`, or `None` when there is none.
    pub async fn network_labels(&self, name: &str) -> Result<Option<HashMap<String, String>>, DockerError> {
        match self.api.inspect_network(name, None).await {
            Ok(n) => Ok(Some(n.labels.unwrap_or_default())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspect network {name}"), e)),
        }
    }

    /// Creates the bridge network `name` with `labels`. Engines before API 1.44 accept two
    /// networks of one name: callers look first ([`Docker::network_labels`]) under a lock.
    pub async fn create_network(&self, name: &str, labels: HashMap<String, String>) -> Result<(), DockerError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        self.api
            .create_network(request)
            .await
            .map_err(|e| DockerError::api(format!("create network {name}"), e))?;
        Ok(())
    }

    /// Removes a network; one that is gone is not an error.
    pub async fn remove_network(&self, name: &str) -> Result<(), DockerError> {
        match self.api.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(DockerError::api(format!("remove network {name}"), e)),
        }
    }
}
