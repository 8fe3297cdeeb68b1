use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::{error_message, is_not_found, Docker, DockerError};

/// A step of an image pull, for progress lines.
#[derive(Debug, Clone)]
pub struct PullProgress {
    pub status: String,
    pub progress: Option<String>,
}

impl Docker {
    pub async fn image_exists(&self, image: &str) -> Result<bool, DockerError> {
        match self.api.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(DockerError::api(format!("inspect image {image}"), e)),
        }
    }

    /// The ID of the image a name or tag points at, if any.
    pub async fn image_id(&self, image: &str) -> Result<Option<String>, DockerError> {
        match self.api.inspect_image(image).await {
            Ok(inspect) => Ok(inspect.id),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(DockerError::api(format!("inspect image {image}"), e)),
        }
    }

    /// Removes an image by ID unless something still uses it (a container, another tag):
    /// returns whether it was removed.
    pub async fn remove_unused_image(&self, id: &str) -> bool {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default().build();
        self.api.remove_image(id, Some(options), None).await.is_ok()
    }

    /// Makes sure `image` is on the engine, pulling it with progress when it is not.
    pub async fn ensure_image(&self, image: &str, mut progress: impl FnMut(PullProgress)) -> Result<(), DockerError> {
        if self.image_exists(image).await? {
            return Ok(());
        }
        let (name, tag) = split_tag(image);
        let options = CreateImageOptionsBuilder::default().from_image(name).tag(tag).build();
        let mut stream = self.api.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(DockerError::ImageUnavailable {
                            image: image.to_string(),
                            message: detail,
                        });
                    }
                    let progress_text = info.progress_detail.and_then(|d| match (d.current, d.total) {
                        (Some(c), Some(t)) if t > 0 => Some(format!("{:.1}/{:.1} MB", c as f64 / 1e6, t as f64 / 1e6)),
                        _ => None,
                    });
                    let status = match (info.id, info.status) {
                        (Some(id), Some(s)) => format!("{id}: {s}"),
                        (None, Some(s)) => s,
                        _ => continue,
                    };
                    progress(PullProgress {
                        status,
                        progress: progress_text,
                    });
                }
                Err(e) => {
                    return Err(DockerError::ImageUnavailable {
                        image: image.to_string(),
                        message: error_message(&e),
                    })
                }
            }
        }
        if self.image_exists(image).await? {
            Ok(())
        } else {
            Err(DockerError::ImageUnavailable {
                image: image.to_string(),
                message: "the pull finished but the image is not there".into(),
            })
        }
    }
}

/// `name:tag` → (`name`, `tag`); a port in a registry host is not a tag; no tag means `latest`.
fn split_tag(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, "latest"),
    }
}

/// A base image that cannot be pulled is the most common build failure here: say what to do.
pub(super) fn explain_build_error(error: &str) -> String {
    let lower = error.to_lowercase();
    if lower.contains("pull access denied")
        || lower.contains("not found") && lower.contains("manifest")
        || lower.contains("no such host")
        || lower.contains("dial tcp")
    {
        format!("{error}\n  hint: the Dockerfile's base image (FROM) must be on the engine when no registry can be reached: build or load it locally first")
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn splits_tags() {
        assert_eq!(split_tag("python:3.11-slim"), ("python", "3.11-slim"));
        assert_eq!(split_tag("debian"), ("debian", "latest"));
        assert_eq!(split_tag("localhost:5000/app"), ("localhost:5000/app", "latest"));
        assert_eq!(split_tag("localhost:5000/app:v1"), ("localhost:5000/app", "v1"));
    }
}
