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

    /// Creates the named volume unless it exists, and returns the labels of the volume that
    /// is there: `labels` when this call created it, the first creator's otherwise. The
    /// engine creates a name once, so two callers racing learn which of them won.
    pub async fn create_or_get_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, DockerError> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        let volume = self
            .api
            .create_volume(request)
            .await
            .map_err(|e| DockerError::api(format!("create volume {name}"), e))?;
        Ok(volume.labels)
    }

    /// The labels of a volume, or `None` when there is no such volume.
    pub async fn volume_labels(&self, name: &str) -> Result<Option<HashMap<String, String>>, DockerError> {
        match self.api.inspect_volume(name).await {
            Ok(volume) => Ok(Some(volume.labels)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspect volume {name}"), e)),
        }
    }

    /// The names of the volumes carrying every one of `labels` (`key=value`).
    pub async fn volumes_labelled(&self, labels: &[(&str, &str)]) -> Result<Vec<String>, DockerError> {
        let values: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let filters = HashMap::from([("label".to_string(), values)]);
        let options = bollard::query_parameters::ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let list = self
            .api
            .list_volumes(Some(options))
            .await
            .map_err(|e| DockerError::api("list volumes", e))?;
        Ok(list.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect())
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
