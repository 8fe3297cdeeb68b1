//! A stage's artifacts: copied out of its finished container into
//! `.shipdeck/runs/<n>/artifacts/`, streamed, never through a symlink, within the run's
//! `max_artifacts` (see [`unpack`]).

mod unpack;

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

pub(super) use unpack::unpack_dir;
pub use unpack::Budget;
use unpack::ChunkReader;

use super::event::Event;
use super::safe_dir::{SafeDir, SafeDirError};
use super::stage::RunShared;
use super::workspace::MOUNT;
use crate::config::RunStage;

impl RunShared {
    /// The run's artifacts directory, opened without following a symlink in any component
    /// below the app directory (`.shipdeck`, `runs`, `<n>`, `artifacts`): a repository that
    /// commits `.shipdeck -> /somewhere` gets an error, not writes in `/somewhere`.
    pub fn artifacts_root(&self) -> Result<SafeDir, SafeDirError> {
        let (base, relative) = trusted_split(&self.artifacts);
        SafeDir::open(&base, &relative, true)
    }
}

/// Copies each declared artifact out of the finished container into the run's artifacts dir,
/// streaming each archive to disk (never whole in memory), never through a symlink, within the
/// run's `max_artifacts`.
pub async fn copy_out(
    shared: &RunShared,
    stage: &str,
    spec: &RunStage,
    id: &str,
    cancel: &CancellationToken,
) -> Result<(), String> {
    if spec.artifacts.is_empty() {
        return Ok(());
    }
    let (mut files, mut bytes) = (0usize, 0u64);
    for artifact in &spec.artifacts {
        let relative = artifact.trim_start_matches("./").trim_end_matches('/');
        // The config check refuses these already; a stage must never get past it at run time.
        let Some(into) = unpack_dir(relative) else {
            return Err(format!(
                "artifact `{artifact}` is not a plain path inside the workspace (absolute, or with `..`): refused"
            ));
        };
        let counted = copy_one(shared, id, artifact, relative, &into, cancel).await?;
        files += counted.files;
        bytes += counted.bytes;
    }
    shared
        .sink
        .emit(Event::ArtifactsCopied {
            run: shared.run,
            stage: stage.to_string(),
            dir: shared.artifacts.display().to_string(),
            files,
            bytes,
        })
        .await;
    shared
        .log(
            stage,
            format!(
                "artifacts: {files} {} ({bytes} bytes) copied to {}",
                if files == 1 { "file" } else { "files" },
                shared.artifacts.display()
            ),
        )
        .await;
    Ok(())
}

/// Copies one workspace path of the finished container `id` into `into` below the run's
/// artifacts directory: streamed, never through a symlink, within the run's budget.
pub(super) async fn copy_one(
    shared: &RunShared,
    id: &str,
    artifact: &str,
    relative: &str,
    into: &Path,
    cancel: &CancellationToken,
) -> Result<unpack::Unpacked, String> {
    let archive = shared
        .docker
        .download_archive(id, &format!("{MOUNT}/{relative}"))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("artifact `{artifact}` was not produced (no {MOUNT}/{relative} after the stage)"))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, String>>(8);
    let (root, budget, name, into) = (
        shared.artifacts_root(),
        shared.artifact_budget.clone(),
        artifact.to_string(),
        into.to_path_buf(),
    );
    let unpacking = tokio::task::spawn_blocking(move || {
        let root = root.map_err(|e| format!("artifact `{name}`: the run's artifacts directory: {e}"))?;
        unpack::unpack(ChunkReader::new(rx), &root, &into, &name, &budget).map_err(|e| e.to_string())
    });
    futures_util::pin_mut!(archive);
    loop {
        let chunk = tokio::select! {
            chunk = archive.next() => chunk.map(|c| c.map_err(|e| e.to_string())),
            // A large artifact must not hold up a cancel: fail the unpacking, which
            // removes what it wrote.
            _ = cancel.cancelled() => Some(Err("cancelled".to_string())),
        };
        let Some(chunk) = chunk else { break };
        let failed = chunk.is_err();
        // A closed channel: the unpacking stopped (refused an entry, over budget); its
        // error says why. Dropping the stream stops the download.
        if tx.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    unpacking.await.map_err(|e| e.to_string())?
}

/// Splits a path under `.shipdeck` into the app directory (trusted: the user runs shipdeck
/// there) and the rest, which is walked without following symlinks. A path without a
/// `.shipdeck` component is split at its last component.
pub fn trusted_split(path: &Path) -> (PathBuf, PathBuf) {
    let state = path
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == ".shipdeck"))
        .or(Some(path));
    let base = state.and_then(Path::parent).unwrap_or(Path::new("/")).to_path_buf();
    let relative = path.strip_prefix(&base).map(Path::to_path_buf).unwrap_or_default();
    (base, relative)
}
