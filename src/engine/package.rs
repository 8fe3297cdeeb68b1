//! The package stage: builds the release image from the run's workspace (the commit's tree
//! plus the artifacts earlier stages produced) with the engine's build API.

use super::context_links::{check_link, check_link_chains, Links};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::dockerignore::DockerIgnore;
use super::event::{Event, Stream};
use super::safe_dir::{EntryKind, SafeDir, SafeDirError};
use super::stage::{LogFile, RunShared, StageEnd};
use crate::config::{PackageStage, StageConfig};
use crate::docker::{labels, BuildOutput, BuildRequest, Builder, DockerError};
use crate::model::StageStatus;

pub async fn build(
    shared: &RunShared,
    stage: &StageConfig,
    spec: &PackageStage,
    cancel: &CancellationToken,
    log_file: &LogFile,
) -> Result<StageEnd, DockerError> {
    let lease = take_lease(shared, stage).await;
    let result = build_release(shared, stage, spec, cancel, log_file).await;
    if let Some(name) = lease {
        if let Err(e) = shared.docker.remove_volume(&name).await {
            tracing::warn!("removing the build lease {name} failed: {e}");
        }
    }
    result
}

/// A small volume that says "this process is building `app`" for as long as the build runs.
/// Build steps carry no owner (see [`Context::generated`]), so without it `shipdeck clean` in
/// another terminal would take a running build's latest step image for an orphan and remove it
/// between two steps, failing the build. The lease carries this process as owner: while it is
/// alive, the app's dangling build images count as alive too (`docker::reaper`); after a
/// crash the start-up reaper removes the lease with the dead owner's other leftovers.
async fn take_lease(shared: &RunShared, stage: &StageConfig) -> Option<String> {
    let app = &shared.config.app.name;
    let run = shared.run.to_string();
    let name = format!("shipdeck-{app}-{run}-{}-building", stage.name);
    let owner = crate::owner::Owner::current().label();
    let labels = labels::set(&[
        (labels::APP, app.as_str()),
        (labels::RUN, &run),
        (labels::STAGE, &stage.name),
        (labels::ROLE, "build"),
        (labels::OWNER, &owner),
    ]);
    match shared.docker.ensure_volume(&name, labels).await {
        Ok(()) => Some(name),
        Err(e) => {
            // The build itself does not need it: only a concurrent `clean` could then hurt it.
            tracing::warn!("creating the build lease {name} failed: {e}");
            None
        }
    }
}

async fn build_release(
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
    // Only the arguments the Dockerfile declares, so the engine does not warn about the rest;
    // the stage's `build_args` win over shipdeck's own.
    let mut build_args: HashMap<String, String> = shared
        .shipdeck_env(&stage.name)
        .into_iter()
        .filter(|(k, _)| prepared.declared_args.contains(k))
        .collect();
    build_args.extend(spec.build_args.iter().cloned());
    let builder = choose_builder(shared).await;
    if let Some(why) = &builder.1 {
        super::stage::emit_lines(
            shared,
            &stage.name,
            Stream::System,
            vec![shared.clean_line(&format!("shipdeck: building with the classic builder: {why}"))],
            log_file,
        )
        .await;
    }
    // A rebuild of the same commit moves the tag; the image it leaves untagged stays: it is a
    // release of its own (an image ID, never a tag), which may have run and passed somewhere.
    // Retention below keeps the newest `keep_releases`.
    let request = BuildRequest {
        context_tar: prepared.tar,
        dockerfile: GENERATED_DOCKERFILE.to_string(),
        tag: tag.clone(),
        build_args,
        target: spec.target.clone(),
        platform: spec.platform.clone(),
        limits: stage.limits,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<BuildOutput>();
    let building = shared.docker.build_image(request, builder.0, move |out| {
        let _ = tx.send(out);
    });
    let mut failed_step = None;
    let forward = async {
        while let Some(out) = rx.recv().await {
            let line = match out {
                BuildOutput::Line(line) => line,
                BuildOutput::Failed(step) => {
                    failed_step = Some(step);
                    continue;
                }
            };
            let line = shared.clean_line(&line);
            log_file.write_clean(&line);
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
        // Cancelling drops the build's request: the engine stops a build whose client is gone.
        (result, ()) = async { tokio::join!(building, forward) } => result,
        _ = cancel.cancelled() => {
            return Ok(StageEnd { status: StageStatus::Cancelled, exit_code: None, message: Some("cancelled".into()) });
        }
    };
    let result = result.map_err(|e| match e {
        DockerError::Build(message) => DockerError::Build(
            // The step's output in the message is build output: masked like the log.
            super::build_error::locate(&message, failed_step.as_ref(), &prepared.dockerfile, &spec.dockerfile)
                .lines()
                .map(|l| shared.clean_line(l))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        other => other,
    });
    let image_id = result?;
    if let Ok(mut built) = shared.built.lock() {
        *built = Some((image_id.clone(), tag.clone()));
    }
    // Into the pane as well as the file: what a user reads live is what `cat` replays.
    let say = |text: String| {
        super::stage::emit_lines(
            shared,
            &stage.name,
            Stream::System,
            vec![shared.clean_line(&text)],
            log_file,
        )
    };
    say(format!("shipdeck: built {tag} ({image_id})")).await;
    // Labels prove nothing (an image `FROM` this one inherits them): the engine keeps a record
    // that this run built it (see deploy::provenance). Without it the image is no release.
    let recorded = crate::deploy::provenance::record(
        &shared.docker,
        &config.app.name,
        &image_id,
        shared.run,
        &shared.commit.id,
    )
    .await;
    if let Err(e) = recorded {
        return Ok(StageEnd {
            status: StageStatus::Failed,
            exit_code: None,
            message: Some(format!(
                "the release image was built but its record could not be kept on the engine: {e}"
            )),
        });
    }
    // Rollback needs earlier release images: keep the newest `keep_releases` and every one
    // an environment runs; the rest go.
    match crate::deploy::retention::prune_releases(&shared.docker, &config.app.name, config.app.keep_releases).await {
        Ok(removed) if !removed.is_empty() => {
            say(format!(
                "shipdeck: kept the newest {} release images; removed {}",
                config.app.keep_releases,
                removed.join(", ")
            ))
            .await
        }
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

/// BuildKit unless the engine has none, or `SHIPDECK_BUILDER=classic` asks for the classic
/// builder (to compare the two: bench/package.sh); the reason when it is not BuildKit.
async fn choose_builder(shared: &RunShared) -> (Builder, Option<String>) {
    if std::env::var("SHIPDECK_BUILDER").is_ok_and(|b| b == "classic") {
        return (Builder::Classic, Some("SHIPDECK_BUILDER=classic".into()));
    }
    match shared.docker.builder().await {
        (Builder::Classic, why) => (
            Builder::Classic,
            Some(why.unwrap_or_default() + " (`RUN --mount`, heredocs and cache mounts need BuildKit)"),
        ),
        chosen => chosen,
    }
}

fn normalize(context: &str) -> String {
    let c = context.trim_start_matches("./").trim_end_matches('/');
    if c == "." {
        String::new()
    } else {
        c.to_string()
    }
}

/// The Dockerfile shipdeck builds: the user's, with a build label after each `FROM` and the
/// release labels appended as one `LABEL` instruction. (Passing labels to the classic builder's
/// API adds one step, and one intermediate container, per label, and only to the last image.)
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
    /// The user's Dockerfile, for errors that name its lines.
    dockerfile: String,
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
        // Every link the context holds, for the check of chains of links once all are known.
        let mut links = Links::new();
        for (path, mut header, data) in files {
            if ignore.is_excluded(&path) {
                continue;
            }
            if header.entry_type().is_symlink() {
                let target = String::from_utf8_lossy(&data).into_owned();
                if let Err(e) = check_link(&self.dir, &path, Path::new(&target)) {
                    return Ok(Err(e));
                }
                out.append_link(&mut header, &path, &target)?;
                links.insert(path, PathBuf::from(target));
            } else {
                out.append_data(&mut header, &path, data.as_slice())?;
            }
        }
        if let Err(e) = self.append_artifacts(&mut out, artifacts, &ignore, &mut links) {
            return Ok(Err(e));
        }
        if let Err(e) = check_link_chains(&self.dir, &links) {
            return Ok(Err(e));
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
            dockerfile,
        }))
    }

    /// The user's Dockerfile with a `LABEL` after each `FROM`, so that every step's image and
    /// container — and what an interrupted build leaves dangling — carries the app and the role
    /// `build`, for the reaper; then the release labels, which also clear the owner so that a
    /// release (and every deployment of it) is never a run's leftover. The build label names no
    /// owner on purpose: it is part of every step's cache key, and a per-process value would
    /// make the builder's layer cache miss in every new `shipdeck` process. The dangling image of
    /// an interrupted build is therefore an orphan (its shipdeck cannot be proven gone), listed
    /// at start-up and by `status`, removed by `shipdeck clean`.
    fn generated(&self, dockerfile: &str) -> String {
        let quoted = |pairs: &[(String, String)]| -> String {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let app = self
            .labels
            .iter()
            .find(|(k, _)| k == labels::APP)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let build = [
            (labels::APP.to_string(), app),
            (labels::ROLE.to_string(), "build".to_string()),
        ];
        let mut release = self.labels.clone();
        release.push((labels::OWNER.to_string(), String::new()));
        release.sort();
        format!(
            "{}\nLABEL {}\n",
            label_after_each_from(&end_continuation(dockerfile), &format!("LABEL {}", quoted(&build))),
            quoted(&release)
        )
    }
}

/// The 1-based line of the user's Dockerfile that line `generated` of the generated one comes
/// from (the `LABEL` lines shipdeck inserts count for the line above them).
pub(super) fn user_line(dockerfile: &str, generated: usize) -> usize {
    const MARK: &str = "\u{0}shipdeck-label";
    let inserted = label_after_each_from(&end_continuation(dockerfile), MARK)
        .lines()
        .take(generated.saturating_sub(1))
        .filter(|l| *l == MARK)
        .count();
    generated.saturating_sub(inserted).max(1)
}

/// `dockerfile` without a line continuation left open at its end. The parser would join the
/// next instruction to it (comment and empty lines in between are skipped), so the release
/// `LABEL` that shipdeck appends would become arguments of the user's last instruction, and a
/// Dockerfile's own `LABEL dev.shipdeck.…` above it would name the release: another app's, say.
/// An escape at the very end continues into nothing, so dropping it changes nothing else.
fn end_continuation(dockerfile: &str) -> String {
    let escape = escape_char(dockerfile);
    let mut lines: Vec<&str> = dockerfile.trim_end().lines().collect();
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if let Some(i) = last {
        let line = lines[i].trim_end();
        if let Some(open) = line.strip_suffix(escape) {
            lines[i] = open;
            lines.truncate(i + 1);
        }
    }
    lines.join("\n")
}

/// `dockerfile` with `line` inserted after every `FROM` instruction (after its last
/// continuation line; the `# escape=` parser directive is honoured).
fn label_after_each_from(dockerfile: &str, line: &str) -> String {
    let escape = escape_char(dockerfile);
    let mut out = String::with_capacity(dockerfile.len() + line.len() * 2);
    let mut in_from = false;
    let mut continued = false;
    for text in dockerfile.lines() {
        out.push_str(text);
        out.push('\n');
        let trimmed = text.trim();
        // Comment and empty lines inside a continued instruction are skipped by the parser.
        if continued && (trimmed.starts_with('#') || trimmed.is_empty()) {
            continue;
        }
        if !continued {
            let word = trimmed.split_whitespace().next().unwrap_or_default();
            in_from = word.eq_ignore_ascii_case("FROM");
        }
        continued = !trimmed.starts_with('#') && trimmed.ends_with(escape);
        if in_from && !continued {
            out.push_str(line);
            out.push('\n');
            in_from = false;
        }
    }
    out.trim_end().to_string()
}

/// The line-continuation character: `\\`, or what a leading `# escape=` directive says.
fn escape_char(dockerfile: &str) -> char {
    for text in dockerfile.lines() {
        let Some(directive) = text.trim().strip_prefix('#') else {
            break;
        };
        // Directives come first; the first plain comment ends them.
        let Some((key, value)) = directive.trim().split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape") {
            if let Some(c) = value.trim().chars().next() {
                return c;
            }
        }
    }
    '\\'
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

impl Context {
    /// Adds the run's artifacts under the context directory, opened and read without
    /// following a symlink: a stage that turned the context (or a directory on the way) into
    /// a link to a host directory gets an error naming it, never the host's files in the image.
    fn append_artifacts(
        &self,
        out: &mut tar::Builder<Vec<u8>>,
        artifacts: &Path,
        ignore: &DockerIgnore,
        links: &mut Links,
    ) -> Result<(), DockerError> {
        let refused = |e: SafeDirError| {
            DockerError::Build(format!(
                "the build context is made from the run's workspace only: in the run's artifacts, {e}\n  hint: the stage that made it should leave a directory there, not a link"
            ))
        };
        let (base, relative) = super::artifacts::trusted_split(artifacts);
        let root = SafeDir::open(&base, &relative, false).map_err(refused)?;
        let context = match root.walk(Path::new(&self.dir), false) {
            Ok(dir) => dir,
            // No artifacts under the context: the commit's tree is the whole context.
            Err(SafeDirError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(SafeDirError::NotADirectory { .. }) => return Ok(()),
            Err(e) => return Err(refused(e)),
        };
        let io = |e: std::io::Error| DockerError::Build(format!("preparing the build context failed: {e}"));
        self.append_dir(out, &context, "", ignore, links).map_err(|e| match e {
            ContextError::Refused(e) => refused(e),
            ContextError::Link(e) => e,
            ContextError::Io(e) => io(e),
        })
    }

    /// Adds the entries of `dir` (named from `relative`) that `.dockerignore` keeps, and
    /// records its links in `links`.
    fn append_dir(
        &self,
        out: &mut tar::Builder<Vec<u8>>,
        dir: &SafeDir,
        relative: &str,
        ignore: &DockerIgnore,
        links: &mut Links,
    ) -> Result<(), ContextError> {
        for (name, kind) in dir.entries().map_err(ContextError::Refused)? {
            let path = if relative.is_empty() {
                name.to_string_lossy().into_owned()
            } else {
                format!("{relative}/{}", name.to_string_lossy())
            };
            match kind {
                EntryKind::Dir => {
                    let child = dir.child_dir(&name, false).map_err(ContextError::Refused)?;
                    self.append_dir(out, &child, &path, ignore, links)?;
                }
                _ if ignore.is_excluded(&path) => {}
                EntryKind::File => {
                    let file = dir.open_file(&name).map_err(ContextError::Refused)?;
                    let meta = file.metadata().map_err(ContextError::Io)?;
                    if !meta.is_file() {
                        continue;
                    }
                    let mut header = tar::Header::new_gnu();
                    header.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
                    header.set_entry_type(tar::EntryType::Regular);
                    // The size read now; `take` keeps the entry to it whatever happens after.
                    out.append_data(&mut header, &path, file.take(meta.len()))
                        .map_err(ContextError::Io)?;
                    // The engine unpacks the later entry over the commit's link of that name.
                    links.remove(&path);
                }
                EntryKind::Symlink => {
                    let target = dir.read_link(&name).map_err(ContextError::Refused)?;
                    check_link(&self.dir, &path, &target).map_err(ContextError::Link)?;
                    let mut header = tar::Header::new_gnu();
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    out.append_link(&mut header, &path, &target).map_err(ContextError::Io)?;
                    links.insert(path, target);
                }
                // Devices, FIFOs, sockets: not build input.
                EntryKind::Other => {}
            }
        }
        Ok(())
    }
}

enum ContextError {
    Refused(SafeDirError),
    Link(DockerError),
    Io(std::io::Error),
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
    fn labels_each_from_and_appends_the_release_labels() {
        let context = Context {
            dir: String::new(),
            dockerfile: "Dockerfile".into(),
            labels: vec![
                ("dev.shipdeck.app".into(), "a\"b".into()),
                ("dev.shipdeck.role".into(), "release".into()),
            ],
        };
        let build = "LABEL dev.shipdeck.app=\"a\\\"b\" dev.shipdeck.role=\"build\"";
        let generated =
            context.generated("FROM x AS base\nRUN make\nfrom \\\n  # a comment\n\n  y\nCOPY --from=base / /\n\n");
        // Nothing of this process in a step's labels: the layer cache holds across processes.
        assert!(
            !generated.contains(&crate::owner::Owner::current().label()),
            "{generated}"
        );
        assert_eq!(
            generated,
            format!(
                "FROM x AS base\n{build}\nRUN make\nfrom \\\n  # a comment\n\n  y\n{build}\nCOPY --from=base / /\n\
                 LABEL dev.shipdeck.app=\"a\\\"b\" dev.shipdeck.owner=\"\" dev.shipdeck.role=\"release\"\n"
            )
        );
    }

    #[test]
    fn honours_the_escape_directive() {
        let line = "LABEL k=\"v\"";
        assert_eq!(
            label_after_each_from("# escape=`\nFROM `\n  x\nRUN a \\", line),
            "# escape=`\nFROM `\n  x\nLABEL k=\"v\"\nRUN a \\"
        );
        // A plain comment ends the directives: a later `escape=` is only a comment.
        assert_eq!(end_continuation("FROM x\nRUN true \\  \n# c\n\n"), "FROM x\nRUN true ");
        assert_eq!(
            end_continuation("# escape=`\nFROM x\nRUN a `\n"),
            "# escape=`\nFROM x\nRUN a "
        );
        assert_eq!(
            end_continuation("FROM x\nRUN a\n# tail \\\n"),
            "FROM x\nRUN a\n# tail \\"
        );
        assert_eq!(escape_char("# hello\n# escape=`\nFROM x"), '\\');
        assert_eq!(label_after_each_from("FROM x", line), "FROM x\nLABEL k=\"v\"");
    }
}
