//! Removes what crashed shipdeck processes left behind: containers and volumes labelled with an
//! owner that is no longer alive.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListVolumesOptionsBuilder};

use super::labels;
use super::{Docker, DockerError};
use crate::owner::label_is_alive;

/// What a reap removed, by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaped {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
}

impl Reaped {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.volumes.is_empty()
    }
}

impl Docker {
    /// Removes every container and volume whose `dev.shipdeck.owner` process is gone.
    pub async fn reap_leftovers(&self) -> Result<Reaped, DockerError> {
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![labels::OWNER])]);
        let mut reaped = Reaped::default();
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .api
            .list_containers(Some(options))
            .await
            .map_err(|e| DockerError::api("list containers", e))?;
        for c in containers {
            let owner = c
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::OWNER))
                .cloned()
                .unwrap_or_default();
            if label_is_alive(&owner) {
                continue;
            }
            let Some(id) = c.id else { continue };
            // Its owner may just have removed it itself on the way out: report only what this
            // reap removed.
            if !self.remove_container(&id).await? {
                continue;
            }
            let name = c.names.and_then(|n| n.into_iter().next()).unwrap_or(id);
            reaped.containers.push(name.trim_start_matches('/').to_string());
        }
        let options = ListVolumesOptionsBuilder::default().filters(&filters).build();
        let volumes = self
            .api
            .list_volumes(Some(options))
            .await
            .map_err(|e| DockerError::api("list volumes", e))?;
        for v in volumes.volumes.unwrap_or_default() {
            let owner = v.labels.get(labels::OWNER).cloned().unwrap_or_default();
            if label_is_alive(&owner) {
                continue;
            }
            if self.remove_volume(&v.name).await? {
                reaped.volumes.push(v.name);
            }
        }
        Ok(reaped)
    }
}
