//! Everything shipdeck asks of a Docker engine, through its API (bollard). The engine module
//! orchestrates; this module knows the API's shapes and turns its errors into ones a user can
//! act on.

mod build;
mod buildkit_status;
mod connect;
mod container;
mod deployment;
mod exec_stream;
mod image;
pub mod labels;
pub mod names;
mod network;
pub mod ready;
mod reaper;
mod service;
mod volume;

pub use build::{BuildOutput, BuildRequest, Builder, FailedStep};
pub use connect::{connect, connect_to, default_address, Docker};
pub use container::{ContainerSpec, ExitStatus, LogChunk};
pub use deployment::{ContainerState, DeploymentSpec, ExecOutput, LabelledContainer, ReleaseImage};
pub use exec_stream::{ExecStream, HealthTiming};
pub use image::PullProgress;
pub use network::LabelledNetwork;
pub use ready::{wait_ready, wait_release_ready, Answer, NotReady, Ready, ReadyCheck};
pub use reaper::{Leftover, LeftoverKind, Reaped, Sweep};
pub use service::{ServiceContainerSpec, ServiceProbe};

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine at {address}: {message}\n  hint: is the engine running? Check `docker version` (and `systemctl status docker`); set DOCKER_HOST to use another engine")]
    Unreachable { address: String, message: String },
    #[error("image `{image}` is not on the engine and cannot be pulled: {message}\n  hint: provide it locally: `docker build -t {image} …` or `docker load -i FILE.tar`; shipdeck's fixture images are built offline by `bash fixtures/images/build.sh`")]
    ImageUnavailable { image: String, message: String },
    #[error("building the image failed: {0}")]
    Build(String),
    #[error("Docker engine error while trying to {action}: {message}")]
    Api { action: String, message: String },
}

impl DockerError {
    pub(crate) fn api(action: impl Into<String>, error: bollard::errors::Error) -> DockerError {
        DockerError::Api {
            action: action.into(),
            message: error_message(&error),
        }
    }
}

/// The engine's own message where it sent one; bollard's description otherwise.
pub(crate) fn error_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, status_code } => {
            format!("{message} (HTTP {status_code})")
        }
        other => other.to_string(),
    }
}

pub(crate) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }
    )
}
