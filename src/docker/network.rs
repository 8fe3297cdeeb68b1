//! User-defined networks: a stage's services and the stage container meet on one, and an
//! environment's releases, processes and accessories on another; the engine's DNS answers
//! each service or accessory by its name (`db`).

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::{is_not_found, Docker, DockerError};

/// A network as listed: its ID, name and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledNetwork {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
}

impl Docker {
    /// The labels of the network `name`, or `None` when there is none.
    pub async fn network_labels(&self, name: &str) -> Result<Option<HashMap<String, String>>, DockerError> {
        match self.api.inspect_network(name, None).await {
            Ok(n) => Ok(Some(n.labels.unwrap_or_default())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspect network {name}"), e)),
        }
    }

    /// Creates a bridge network named `name` with `labels`; `internal`: no route out of it
    /// (its containers reach each other, nothing else). Returns its ID. Engines before API
    /// 1.44 accept two networks of one name: callers that must have one look first
    /// ([`Docker::network_labels`]) under a lock.
    pub async fn create_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
        internal: bool,
    ) -> Result<String, DockerError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            internal: Some(internal),
            labels: Some(labels),
            ..Default::default()
        };
        let created = self
            .api
            .create_network(request)
            .await
            .map_err(|e| DockerError::api(format!("create network {name}"), e))?;
        Ok(created.id)
    }

    /// Removes a network; one that is already gone is not an error. Says whether this call
    /// removed it. (A network still used by a container cannot be removed: remove those first.)
    pub async fn remove_network(&self, name: &str) -> Result<bool, DockerError> {
        match self.api.remove_network(name).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(DockerError::api(format!("remove network {name}"), e)),
        }
    }

    /// The networks carrying every one of `labels` (`key` or `key=value`).
    pub async fn networks_labelled(&self, labels: &[String]) -> Result<Vec<LabelledNetwork>, DockerError> {
        let filters = HashMap::from([("label".to_string(), labels.to_vec())]);
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        let list = self
            .api
            .list_networks(Some(options))
            .await
            .map_err(|e| DockerError::api("list networks", e))?;
        Ok(list
            .into_iter()
            .filter_map(|n| {
                let id = n.id?;
                Some(LabelledNetwork {
                    name: n.name.unwrap_or_else(|| id.clone()),
                    id,
                    labels: n.labels.unwrap_or_default(),
                })
            })
            .collect())
    }
}
