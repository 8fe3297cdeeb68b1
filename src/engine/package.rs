//! The package stage: builds the release image from the run's workspace (the commit's tree
//! plus the artifacts earlier stages produced) with the engine's build API.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::dockerignore::DockerIgnore;
use super::event::{Event, Stream};
use super::stage::{LogFile, RunShared, StageEnd};
use crate::config::{PackageStage, StageConfig};
use crate::docker::{labels, BuildOutput, DockerError};
use crate::store::StageStatus;

pub async fn build(
    shared: &RunShared,
    stage: &StageConfig,
    spec: &PackageStage,
    cancel: &CancellationToken,
    log_file: &LogFile,
) -> Result<StageEnd, DockerError> {
    let config = &shared.config;
    let tag = format!("{}:{}", config.app.name, shared.commit.short);
    let run = shared.run.to_string();
    let built_at = Utc::now().to_rfc3339();
    let labels = labels::set(&[
        (labels::APP, &config.app.name),
        (labels::RUN, &run),
        (labels::COMMIT, &shared.commit.id),
        (labels::ROLE, "release"),
        (labels::BUILT_AT, &built_at),
    ]);
    let context = Context {
        dir: normalize(&spec.context),
        dockerfile: spec.dockerfile.trim_start_matches("./").to_string(),
        labels: {
            let mut l: Vec<(String, String)> = labels.into_iter().collect();
            l.sort();
            l
        },
    };
    let tree = shared.workspace.tree.clone();
    let artifacts = shared.artifacts.clone();
    let prepared = tokio::task::spawn_blocking(move || context.tar(&tree, &artifacts))
        .await
        .map_err(|e| DockerError::Build(format!("preparing the build context failed: {e}")))??;
    // Only the arguments the Dockerfile declares, so the engine does not warn about the rest.
    let build_args: HashMap<String, String> = shared
        .shipdeck_env(&stage.name)
        .into_iter()
        .filter(|(k, _)| prepared.declared_args.contains(k))
        .collect();
    // A rebuild of the same commit moves the tag; the image it leaves untagged stays: it is a
    // release of its own (an image ID, never a tag), which may have run and passed somewhere.
    // Retention below keeps the newest `keep_releases`.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let building = shared
        .docker
        .build_image(prepared.tar, GENERATED_DOCKERFILE, &tag, build_args, move |out| {
            let BuildOutput::Line(line) = out;
            let _ = tx.send(line);
        });
    let forward = async {
        while let Some(line) = rx.recv().await {
            let line = shared.masker.mask(line);
            log_file.write_line(&line);
            let event = Event::StageLog {
                run: shared.run,
                stage: stage.name.clone(),
                stream: Stream::Stdout,
                lines: vec![line],
            };
            shared.sink.emit(event).await;
        }
    };
    let result = tokio::select! {
        // The build's callback owns the sender: when the build ends, the forwarder drains and ends.
        (result, ()) = async { tokio::join!(building, forward) } => result,
        _ = cancel.cancelled() => {
            return Ok(StageEnd { status: StageStatus::Cancelled, exit_code: None, message: Some("cancelled".into()) });
        }
    };
    let image_id = result?;
    if let Ok(mut built) = shared.built.lock() {
        *built = Some((image_id.clone(), tag.clone()));
    }
    log_file.write_line(&format!("shipdeck: built {tag} ({image_id})"));
    // Rollback needs earlier release images: keep the newest `keep_releases` and every one
    // an environment runs; the rest go.
    match crate::deploy::retention::prune_releases(&shared.docker, &config.app.name, config.app.keep_releases).await {
        Ok(removed) if !removed.is_empty() => log_file.write_line(&format!(
            "shipdeck: kept the newest {} release images; removed {}",
            config.app.keep_releases,
            removed.join(", ")
        )),
        Ok(_) => {}
        Err(e) => tracing::warn!("pruning old release images failed: {e}"),
    }
    shared
        .sink
        .emit(Event::ImageBuilt {
            run: shared.run,
            stage: stage.name.clone(),
            image_id,
            tag,
        })
        .await;
    Ok(StageEnd {
        status: StageStatus::Success,
        exit_code: Some(0),
        message: None,
    })
}

fn normalize(context: &str) -> String {
    let c = context.trim_start_matches("./").trim_end_matches('/');
    if c == "." {
        String::new()
    } else {
        c.to_string()
    }
}

/// The Dockerfile shipdeck builds: the user's, with the release labels appended as one
/// `LABEL` instruction. (Passing labels to the classic builder's API adds one step, and one
/// intermediate container, per label.)
const GENERATED_DOCKERFILE: &str = ".shipdeck.Dockerfile";

struct Context {
    /// The context directory inside the app, `""` for the app itself.
    dir: String,
    /// The Dockerfile, relative to the context.
    dockerfile: String,
    labels: Vec<(String, String)>,
}

struct PreparedContext {
    tar: Vec<u8>,
    declared_args: Vec<String>,
}

impl Context {
    /// The build context: the commit's tree under the context directory, then the run's
    /// artifacts under it on top (later entries win when the engine unpacks the archive), then
    /// the generated Dockerfile.
    fn tar(&self, tree: &[u8], artifacts: &Path) -> Result<PreparedContext, DockerError> {
        self.write(tree, artifacts)
            .map_err(|e| DockerError::Build(format!("preparing the build context failed: {e}")))?
    }

    fn write(&self, tree: &[u8], artifacts: &Path) -> std::io::Result<Result<PreparedContext, DockerError>> {
        let files = entries_under(tree, &self.dir)?;
        let content = |name: &str| {
            files
                .iter()
                .find(|(path, header, _)| path == name && !header.entry_type().is_symlink())
                .map(|(_, header, data)| (String::from_utf8_lossy(data).into_owned(), header.mtime()))
        };
        let Some((dockerfile, mtime)) = content(&self.dockerfile) else {
            let at = Path::new(&self.dir).join(&self.dockerfile);
            return Ok(Err(DockerError::Build(format!(
                "the commit has no Dockerfile at {}\n  hint: commit it, or set `dockerfile`/`context` of the package stage",
                at.display()
            ))));
        };
        let ignore = content(".dockerignore")
            .map(|(text, _)| DockerIgnore::parse(&text))
            .unwrap_or_default();
        let mut out = tar::Builder::new(Vec::new());
        // A stage may leave a symlink to anywhere in its artifacts: add the link, never the
        // host file it would point to.
        out.follow_symlinks(false);
        for (path, mut header, data) in files {
            if ignore.is_excluded(&path) {
                continue;
            }
            if header.entry_type().is_symlink() {
                let target = String::from_utf8_lossy(&data).into_owned();
                out.append_link(&mut header, &path, target)?;
            } else {
                out.append_data(&mut header, &path, data.as_slice())?;
            }
        }
        let from = artifacts.join(&self.dir);
        if from.is_dir() {
            append_artifacts(&mut out, &from, "", &ignore)?;
        }
        let generated = self.generated(&dockerfile);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_mtime(mtime.unwrap_or(0));
        header.set_size(generated.len() as u64);
        out.append_data(&mut header, GENERATED_DOCKERFILE, generated.as_bytes())?;
        Ok(Ok(PreparedContext {
            tar: out.into_inner()?,
            declared_args: declared_args(&dockerfile),
        }))
    }

    fn generated(&self, dockerfile: &str) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        format!("{}\nLABEL {}\n", dockerfile.trim_end(), labels.join(" "))
    }
}

/// The commit tree's entries under `dir`, with paths relative to it; a symlink's data is its
/// target.
fn entries_under(tree: &[u8], dir: &str) -> std::io::Result<Vec<(String, tar::Header, Vec<u8>)>> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut files = Vec::new();
    let mut archive = tar::Archive::new(tree);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(relative) = path.strip_prefix(&prefix).filter(|r| !r.is_empty()) else {
            continue;
        };
        let relative = relative.to_string();
        let header = entry.header().clone();
        let data = if header.entry_type().is_symlink() {
            let target = entry
                .link_name()?
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            target.into_bytes()
        } else {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            data
        };
        files.push((relative, header, data));
    }
    Ok(files)
}

/// Adds the artifacts below `dir` (a directory of the run's artifacts) that `.dockerignore`
/// keeps, named from `relative`.
fn append_artifacts(
    out: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    relative: &str,
    ignore: &DockerIgnore,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            append_artifacts(out, &entry.path(), &path, ignore)?;
        } else if !ignore.is_excluded(&path) {
            out.append_path_with_name(entry.path(), &path)?;
        }
    }
    Ok(())
}

/// The names of the `ARG`s a Dockerfile declares.
fn declared_args(dockerfile: &str) -> Vec<String> {
    dockerfile
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.get(..4).filter(|p| p.eq_ignore_ascii_case("ARG "))?;
            let name = l[4..].trim().split(['=', ' ']).next()?;
            Some(name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_declared_args() {
        let file = "FROM x\nARG SHIPDECK_COMMIT=unknown\n  arg OTHER\nENV A=1\n";
        assert_eq!(declared_args(file), ["SHIPDECK_COMMIT", "OTHER"]);
    }

    #[test]
    fn appends_one_label_instruction() {
        let context = Context {
            dir: String::new(),
            dockerfile: "Dockerfile".into(),
            labels: vec![("dev.shipdeck.app".into(), "a\"b".into())],
        };
        assert_eq!(
            context.generated("FROM x\n\n"),
            "FROM x\nLABEL dev.shipdeck.app=\"a\\\"b\"\n"
        );
    }
}
