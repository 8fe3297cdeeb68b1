use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptionsBuilder;

use super::{is_not_found, Docker, DockerError};

impl Docker {
    /// Creates the named volume, or reuses it when it exists (cache volumes live across runs).
    pub async fn ensure_volume(&self, name: &str, labels: HashMap<String, String>) -> Result<(), DockerError> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        self.api
            .create_volume(request)
            .await
            .map_err(|e| DockerError::api(format!("create volume {name}"), e))?;
        Ok(())
    }

    /// Removes a volume; one that is already gone is not an error. Says whether this call
    /// removed it.
    pub async fn remove_volume(&self, name: &str) -> Result<bool, DockerError> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        match self.api.remove_volume(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(DockerError::api(format!("remove volume {name}"), e)),
        }
    }
}
