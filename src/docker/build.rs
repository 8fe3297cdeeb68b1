//! Building an image from a context tar: with BuildKit through the engine's build API and a
//! session (bollard's `buildkit` feature: `RUN --mount=…`, heredocs, cache mounts that persist
//! in the engine), or with the classic builder where the engine has no BuildKit.

use std::collections::HashMap;

use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use bytes::Bytes;
use futures_util::StreamExt;

pub use super::buildkit_status::FailedStep;
use super::buildkit_status::StatusLines;
use super::image::explain_build_error;
use super::{error_message, Docker, DockerError};
use crate::config::StageLimits;

/// Which of the engine's builders runs a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    BuildKit,
    Classic,
}

/// What to build: the context (with the Dockerfile in it) and the build's options.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub context_tar: Vec<u8>,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    pub tag: String,
    pub build_args: HashMap<String, String>,
    /// The stage of a multi-stage Dockerfile to build (`--target`).
    pub target: Option<String>,
    /// `os/arch[/variant]` (`--platform`).
    pub platform: Option<String>,
    pub limits: StageLimits,
}

/// Build output, as it comes.
#[derive(Debug, Clone)]
pub enum BuildOutput {
    Line(String),
    /// The BuildKit step that failed the build, sent just before the build's error.
    Failed(FailedStep),
}

/// The oldest API version whose engine builds with BuildKit (Docker 18.09).
const BUILDKIT_API: (u32, u32) = (1, 39);

impl Docker {
    /// The builder this engine offers: BuildKit where it has it; the classic builder otherwise,
    /// with the reason.
    pub async fn builder(&self) -> (Builder, Option<String>) {
        let mut parts = self.api_version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if version < BUILDKIT_API {
            let why = format!(
                "the engine speaks API {}, BuildKit needs 1.39 or later",
                self.api_version
            );
            return (Builder::Classic, Some(why));
        }
        match self.api.version().await {
            Ok(v) if v.os.as_deref().is_some_and(|os| os != "linux") => {
                let why = format!(
                    "the engine runs on {}: its BuildKit builds Linux images only",
                    v.os.unwrap_or_default()
                );
                (Builder::Classic, Some(why))
            }
            _ => (Builder::BuildKit, None),
        }
    }

    /// Builds the image; returns its ID. With BuildKit, a session the engine cannot open makes
    /// the build fall back to the classic builder, saying so in the output.
    pub async fn build_image(
        &self,
        request: BuildRequest,
        builder: Builder,
        mut output: impl FnMut(BuildOutput),
    ) -> Result<String, DockerError> {
        if builder == Builder::BuildKit {
            match self.build_with_buildkit(&request, &mut output).await {
                Err(BuildKitError::NoSession(why)) => output(BuildOutput::Line(format!(
                    "shipdeck: the engine's BuildKit did not start ({why}): building with the classic builder"
                ))),
                Err(BuildKitError::Build(e)) => return Err(e),
                Ok(id) => return Ok(id),
            }
        }
        self.build_classic(&request, &mut output).await
    }

    async fn build_with_buildkit(
        &self,
        request: &BuildRequest,
        output: &mut impl FnMut(BuildOutput),
    ) -> Result<String, BuildKitError> {
        let session = session_id();
        let options = BuildImageOptionsBuilder::default()
            .dockerfile(&request.dockerfile)
            .t(&request.tag)
            .buildargs(&request.build_args)
            .version(BuilderVersion::BuilderBuildKit)
            .session(&session);
        let body = bollard::body_full(Bytes::from(request.context_tar.clone()));
        let mut stream = self.api.build_image(request.finish(options), None, Some(body));
        let mut status = StatusLines::default();
        let mut heard = false;
        let mut image_id = None;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(e) => {
                    let message = match e {
                        bollard::errors::Error::DockerStreamError { error } => error,
                        other => error_message(&other),
                    };
                    if !heard && is_session_failure(&message) {
                        return Err(BuildKitError::NoSession(message));
                    }
                    if let Some(step) = status.failed() {
                        output(BuildOutput::Failed(step));
                    }
                    return Err(BuildKitError::Build(DockerError::Build(explain_build_error(&message))));
                }
            };
            heard = true;
            let BuildInfo { aux, stream: text, .. } = info;
            match aux {
                Some(BuildInfoAux::BuildKit(update)) => {
                    for line in status.update(&update) {
                        output(BuildOutput::Line(line));
                    }
                }
                Some(BuildInfoAux::Default(image)) => image_id = image.id.or(image_id),
                None => {}
            }
            for line in text.iter().flat_map(|t| t.lines()).filter(|l| !l.trim().is_empty()) {
                output(BuildOutput::Line(line.to_string()));
            }
        }
        match image_id {
            Some(id) => Ok(id),
            None => self.tagged_id(&request.tag).await.map_err(BuildKitError::Build),
        }
    }

    async fn build_classic(
        &self,
        request: &BuildRequest,
        output: &mut impl FnMut(BuildOutput),
    ) -> Result<String, DockerError> {
        let limits = request.limits;
        // The build API takes these as 32-bit numbers: a limit above 2 GiB is capped there.
        let memory = i32::try_from(limits.memory).unwrap_or(i32::MAX);
        const PERIOD: i64 = 100_000;
        let mut quota = i64::try_from(limits.millicpus)
            .unwrap_or(i64::MAX)
            .saturating_mul(PERIOD / 1000);
        if let Some(cpus) = self.engine_cpus().await {
            quota = quota.min(cpus.saturating_mul(PERIOD));
        }
        // The `RUN` steps of a repository's Dockerfile are as untrusted as its stages: the
        // same memory and CPU limits (the build API has no process limit).
        let options = BuildImageOptionsBuilder::default()
            .dockerfile(&request.dockerfile)
            .t(&request.tag)
            .rm(true)
            .forcerm(true)
            .buildargs(&request.build_args)
            .memory(memory)
            .memswap(memory)
            .cpuperiod(PERIOD as i32)
            .cpuquota(i32::try_from(quota).unwrap_or(i32::MAX));
        let body = bollard::body_full(Bytes::from(request.context_tar.clone()));
        let mut stream = self.api.build_image(request.finish(options), None, Some(body));
        let mut image_id = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                bollard::errors::Error::DockerStreamError { error } => DockerError::Build(explain_build_error(&error)),
                other => DockerError::Build(error_message(&other)),
            })?;
            if let Some(text) = info.stream {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    output(BuildOutput::Line(line.to_string()));
                }
            }
            if let Some(status) = info.status {
                output(BuildOutput::Line(status));
            }
            if let Some(BuildInfoAux::Default(image)) = info.aux {
                image_id = image.id.or(image_id);
            }
        }
        match image_id {
            Some(id) => Ok(id),
            // The classic builder of older engines may not send the ID: read it from the tag.
            None => self.tagged_id(&request.tag).await,
        }
    }

    async fn tagged_id(&self, tag: &str) -> Result<String, DockerError> {
        let inspect = self
            .api
            .inspect_image(tag)
            .await
            .map_err(|e| DockerError::Build(error_message(&e)))?;
        inspect
            .id
            .ok_or_else(|| DockerError::Build(format!("the engine did not report the ID of {tag}")))
    }
}

impl BuildRequest {
    /// The options both builders share (`target`, `platform`) added.
    fn finish(&self, mut options: BuildImageOptionsBuilder) -> bollard::query_parameters::BuildImageOptions {
        if let Some(target) = &self.target {
            options = options.target(target);
        }
        if let Some(platform) = &self.platform {
            options = options.platform(platform);
        }
        options.build()
    }
}

enum BuildKitError {
    /// The engine could not open BuildKit's session: the classic builder may still work.
    NoSession(String),
    Build(DockerError),
}

/// An error that says BuildKit itself is missing or could not talk to shipdeck, as opposed to
/// a build that failed.
fn is_session_failure(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("buildkit not supported")
        || lower.contains("session") && !lower.contains("failed to solve")
        || lower.contains("unsupported builder version")
}

/// A session name unique to this build: the engine routes BuildKit's calls back by it.
fn session_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "shipdeck-{}-{nanos:x}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}
