//! One stage of a run: a container on the run's workspace, its output streamed live into
//! events and the stage's log file, its exit code, timeout and cancellation, its artifacts.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::event::{Event, Stream};
use super::recorder::EventSink;
use super::workspace::{Workspace, MOUNT};
use crate::config::{Config, Network, RunStage, StageConfig, StageKind};
use crate::docker::{labels, ContainerSpec, Docker, DockerError, LogChunk};
use crate::mask::{OutStream, SecretMasker, StageOutput};
use crate::model::StageStatus;
use crate::source::CommitInfo;
use crate::store::RunNumber;

/// What every stage of one run shares.
pub struct RunShared {
    /// This run's pipeline: the release.toml of its commit.
    pub config: Arc<Config>,
    /// The connection this run uses from start to end.
    pub docker: Docker,
    pub run: RunNumber,
    pub commit: CommitInfo,
    pub workspace: Workspace,
    pub masker: SecretMasker,
    pub secrets: Vec<(String, String)>,
    pub logs: HashMap<String, PathBuf>,
    /// `<app>/.shipdeck/runs/<n>/artifacts`.
    pub artifacts: PathBuf,
    /// What this run's stages may still copy out (`[app] max_artifacts`).
    pub artifact_budget: Arc<super::artifacts::Budget>,
    pub sink: EventSink,
    pub built: Mutex<Option<(String, String)>>,
}

pub struct StageOutcome {
    pub status: StageStatus,
}

impl RunShared {
    /// Reports a stage that never started (skipped, cancelled while waiting).
    pub async fn finish_unstarted(&self, stage: &str, status: StageStatus, message: String) {
        self.sink
            .emit(Event::StageFinished {
                run: self.run,
                stage: stage.to_string(),
                status,
                exit_code: None,
                duration_ms: 0,
                message: Some(message),
                at: Utc::now(),
            })
            .await;
    }

    /// The release image of this run, once its package stage built it: (ID, tag).
    pub fn built_image(&self) -> Option<(String, String)> {
        self.built.lock().ok().and_then(|b| b.clone())
    }

    /// The environment every stage sees, and the package build gets as build arguments.
    pub fn shipdeck_env(&self, stage: &str) -> Vec<(String, String)> {
        vec![
            ("CI".into(), "true".into()),
            ("SHIPDECK_APP".into(), self.config.app.name.clone()),
            ("SHIPDECK_RUN".into(), self.run.to_string()),
            ("SHIPDECK_STAGE".into(), stage.to_string()),
            ("SHIPDECK_COMMIT".into(), self.commit.id.clone()),
            ("SHIPDECK_SHORT_COMMIT".into(), self.commit.short.clone()),
            ("SHIPDECK_BRANCH".into(), self.commit.branch.clone().unwrap_or_default()),
        ]
    }

    /// A line shipdeck writes itself from text it did not choose (an engine's message, build
    /// output): sanitized and masked like a stage's own output.
    pub fn clean_line(&self, line: &str) -> String {
        self.masker.mask(crate::term::sanitize(line))
    }

    pub(super) async fn log(&self, stage: &str, line: impl Into<String>) {
        self.sink
            .emit(Event::StageLog {
                run: self.run,
                stage: stage.into(),
                stream: Stream::System,
                lines: vec![line.into()],
            })
            .await;
    }
}

/// Runs one stage to its end and reports it; never fails: failures are the stage's status.
pub async fn run(shared: &RunShared, stage: &StageConfig, cancel: &CancellationToken) -> StageOutcome {
    let started = Instant::now();
    shared
        .sink
        .emit(Event::StageStarted {
            run: shared.run,
            stage: stage.name.clone(),
            at: Utc::now(),
            log_path: shared.logs.get(&stage.name).map(|p| p.display().to_string()),
        })
        .await;
    let log_file = LogFile::create(
        shared.logs.get(&stage.name).map(PathBuf::as_path),
        shared.masker.clone(),
    );
    let result = match &stage.kind {
        StageKind::Run(spec) => run_container(shared, stage, spec, cancel, &log_file).await,
        StageKind::Package(spec) => super::package::build(shared, stage, spec, cancel, &log_file).await,
    };
    let (status, exit_code, message) = match result {
        Ok(end) => (end.status, end.exit_code, end.message),
        Err(e) => {
            let text = e.to_string();
            log_file.write_line(&format!("shipdeck: {text}"));
            (StageStatus::Failed, None, Some(text))
        }
    };
    shared
        .sink
        .emit(Event::StageFinished {
            run: shared.run,
            stage: stage.name.clone(),
            status,
            exit_code,
            duration_ms: started.elapsed().as_millis() as i64,
            message,
            at: Utc::now(),
        })
        .await;
    StageOutcome { status }
}

/// How a stage ended, when shipdeck itself did not fail.
pub struct StageEnd {
    pub status: StageStatus,
    pub exit_code: Option<i64>,
    pub message: Option<String>,
}

async fn run_container(
    shared: &RunShared,
    stage: &StageConfig,
    spec: &RunStage,
    cancel: &CancellationToken,
    log_file: &LogFile,
) -> Result<StageEnd, DockerError> {
    let docker = &shared.docker;
    let name = &stage.name;
    // A secret the stage names (`secrets = [...]`) but the host does not have: the stage
    // does not run without it.
    let missing: Vec<String> = stage
        .secrets
        .iter()
        .flatten()
        .filter(|n| !shared.secrets.iter().any(|(k, _)| k == *n))
        .map(|n| {
            let var = shared
                .config
                .secrets
                .iter()
                .find(|s| &s.name == n)
                .map(|s| s.env.as_str());
            format!("{n} (${})", var.unwrap_or("?"))
        })
        .collect();
    if !missing.is_empty() {
        return Ok(StageEnd {
            status: StageStatus::Failed,
            exit_code: None,
            message: Some(format!(
                "not run: it needs secrets whose host variables are not set: {}",
                missing.join(", ")
            )),
        });
    }
    let sink = shared.sink.clone();
    let run = shared.run;
    let image = spec.image.clone();
    let pulls = docker.ensure_image(&spec.image, |p| {
        let event = Event::ImagePull {
            run,
            image: image.clone(),
            status: p.status,
            progress: p.progress,
        };
        // Progress is best effort: a full channel drops a progress line rather than stall the pull.
        sink.try_emit(event);
    });
    tokio::select! {
        pulled = pulls => pulled?,
        _ = cancel.cancelled() => return Ok(cancelled()),
    }
    tokio::select! {
        created = shared.workspace.ensure_created() => created?,
        _ = cancel.cancelled() => return Ok(cancelled()),
    }

    // The stage's services first, on a network of the stage's own that its container joins.
    let services = if stage.services.is_empty() {
        None
    } else {
        let (group, started) = super::services::start(shared, stage, spec.network, cancel, log_file).await;
        if let Err(end) = started {
            remove_services(shared, group).await;
            if let Some(message) = &end.message {
                log_file.write_line(&format!("shipdeck: {message}"));
            }
            return Ok(end);
        }
        Some(group)
    };
    let network = match (&services, spec.network) {
        (Some(group), _) => group.network.clone(),
        (None, Network::None) => "none".to_string(),
        (None, Network::Bridge) => "bridge".to_string(),
    };
    let outcome = async {
        let container = ContainerSpec {
            name: format!("{}-{}", shared.workspace.prefix, name),
            image: spec.image.clone(),
            cmd: command_line(&spec.run),
            env: stage_env(shared, stage),
            workdir: Some(workdir(spec)),
            network: Some(network),
            binds: binds(shared, stage, spec).await?,
            labels: shared.workspace.labels("stage", Some(name)),
            limits: Some(stage.limits),
            entrypoint: None,
        };
        let id = docker.create_container(&container).await?;
        let outcome = supervise(shared, stage, spec, &id, cancel, log_file).await;
        let removed = docker.remove_container(&id).await;
        let outcome = outcome?;
        removed?;
        Ok(outcome)
    }
    .await;
    if let Some(group) = services {
        remove_services(shared, group).await;
    }
    outcome
}

/// Removes a stage's services; what cannot be removed now is a warning (the reaper knows it).
async fn remove_services(shared: &RunShared, group: super::services::StageServices) {
    if let Err(e) = group.remove(shared).await {
        let message = format!("could not remove the services of run {}: {e}", shared.run);
        shared.sink.notice(crate::engine::NoticeLevel::Warning, message).await;
    }
}

pub(super) fn cancelled() -> StageEnd {
    StageEnd {
        status: StageStatus::Cancelled,
        exit_code: None,
        message: Some("cancelled".into()),
    }
}

/// Starts the container and follows it until it exits, times out or is cancelled.
async fn supervise(
    shared: &RunShared,
    stage: &StageConfig,
    spec: &RunStage,
    id: &str,
    cancel: &CancellationToken,
    log_file: &LogFile,
) -> Result<StageEnd, DockerError> {
    let docker = &shared.docker;
    tokio::select! {
        filled = shared.workspace.ensure_filled(id) => filled?,
        _ = cancel.cancelled() => return Ok(cancelled()),
    }
    let output = docker.attach_output(id).await?;
    docker.start_container(id).await?;
    let logs = forward_logs(shared, &stage.name, output, log_file);
    let timeout = stage.timeout.unwrap_or(crate::config::DEFAULT_STAGE_TIMEOUT);
    let wait = async {
        tokio::select! {
            exit = docker.wait_container(id) => Some(exit),
            _ = tokio::time::sleep(timeout) => None,
            _ = cancel.cancelled() => None,
        }
    };
    let (exit, logs_result) = tokio::join!(
        async {
            let exit = wait.await;
            if exit.is_none() {
                // Timed out or cancelled: kill now; the log stream ends with the container.
                let _ = docker.kill_container(id).await;
            }
            exit
        },
        logs
    );
    if let Err(e) = logs_result {
        tracing::warn!("log stream of {} ended early: {e}", stage.name);
    }
    let end = match exit {
        None if cancel.is_cancelled() => cancelled(),
        None => StageEnd {
            status: StageStatus::TimedOut,
            exit_code: None,
            message: Some(format!(
                "timed out after {}",
                crate::text::duration::DurationStyle::Config.format(timeout)
            )),
        },
        Some(exit) => {
            let code = exit?.code;
            if let Some(scan) = &spec.scan {
                scan_end(shared, stage, spec, scan, code, id, cancel).await
            } else if code == 0 {
                match super::artifacts::copy_out(shared, &stage.name, spec, id, cancel).await {
                    // Cancelled while copying: the partial artifact was removed.
                    Err(_) if cancel.is_cancelled() => cancelled(),
                    Ok(()) => StageEnd {
                        status: StageStatus::Success,
                        exit_code: Some(0),
                        message: None,
                    },
                    Err(message) => StageEnd {
                        status: StageStatus::Failed,
                        exit_code: Some(0),
                        message: Some(message),
                    },
                }
            } else {
                StageEnd {
                    status: StageStatus::Failed,
                    exit_code: Some(code),
                    message: Some(format!("exited with code {code}")),
                }
            }
        }
    };
    if let Some(message) = &end.message {
        log_file.write_line(&format!("shipdeck: {message}"));
    }
    Ok(end)
}

/// How a scan stage ended: its report's verdict decides, whatever the scanner's exit code
/// (bandit and pip-audit exit 1 when they find anything, even what `fail_on` lets pass); a
/// scanner that wrote no readable report failed.
async fn scan_end(
    shared: &RunShared,
    stage: &StageConfig,
    spec: &RunStage,
    scan: &crate::config::ScanConfig,
    code: i64,
    id: &str,
    cancel: &CancellationToken,
) -> StageEnd {
    let failed = |message: String| StageEnd {
        status: StageStatus::Failed,
        exit_code: Some(code),
        message: Some(message),
    };
    let verdict = match super::scan_report::judge(shared, &stage.name, scan, id, cancel).await {
        Err(_) if cancel.is_cancelled() => return cancelled(),
        Err(e) if code != 0 => return failed(format!("exited with code {code} and left no readable report: {e}")),
        Err(e) => return failed(e),
        Ok(v) => v,
    };
    let summary = verdict.summary();
    shared.log(&stage.name, format!("scan: {summary}")).await;
    for finding in verdict.findings.iter().take(20) {
        let line = format!(
            "  {} {} {}: {}",
            finding.severity.word(),
            finding.id,
            finding.location,
            finding.message
        );
        shared.log(&stage.name, shared.clean_line(&line)).await;
    }
    let passed = verdict.passed;
    shared
        .sink
        .emit(Event::ScanFinished {
            run: shared.run,
            stage: stage.name.clone(),
            verdict,
        })
        .await;
    if !passed {
        return failed(format!("scan failed: {summary}"));
    }
    match super::artifacts::copy_out(shared, &stage.name, spec, id, cancel).await {
        Err(_) if cancel.is_cancelled() => cancelled(),
        Ok(()) => StageEnd {
            status: StageStatus::Success,
            exit_code: Some(code),
            message: Some(format!("scan passed: {summary}")),
        },
        Err(message) => failed(message),
    }
}

/// Streams the container's output into masked lines: events for the views, the log file.
async fn forward_logs(
    shared: &RunShared,
    stage: &str,
    stream: impl futures_util::Stream<Item = Result<LogChunk, DockerError>>,
    log_file: &LogFile,
) -> Result<(), DockerError> {
    let mut output = StageOutput::new(shared.masker.clone());
    futures_util::pin_mut!(stream);
    let mut result = Ok(());
    loop {
        let mut lines = Vec::new();
        let kind = match stream.next().await {
            Some(Ok(LogChunk::Stdout(bytes))) => {
                output.push(OutStream::Stdout, &bytes, |l| lines.push(l));
                Stream::Stdout
            }
            Some(Ok(LogChunk::Stderr(bytes))) => {
                output.push(OutStream::Stderr, &bytes, |l| lines.push(l));
                Stream::Stderr
            }
            Some(Err(e)) => {
                result = Err(e);
                break;
            }
            None => break,
        };
        emit_lines(shared, stage, kind, lines, log_file).await;
    }
    for (kind, stream) in [(Stream::Stdout, OutStream::Stdout), (Stream::Stderr, OutStream::Stderr)] {
        let mut lines = Vec::new();
        output.finish(stream, |l| lines.push(l));
        emit_lines(shared, stage, kind, lines, log_file).await;
    }
    log_file.flush();
    result
}

/// Writes masked, sanitized `lines` to the log file, then sends them to the views.
pub(super) async fn emit_lines(
    shared: &RunShared,
    stage: &str,
    stream: Stream,
    lines: Vec<String>,
    log_file: &LogFile,
) {
    if lines.is_empty() {
        return;
    }
    for line in &lines {
        log_file.write_clean(line);
    }
    shared
        .sink
        .emit(Event::StageLog {
            run: shared.run,
            stage: stage.to_string(),
            stream,
            lines,
        })
        .await;
}

/// `sh -c` per command, in order, stopping at the first failure with its exit code; each
/// command is echoed first so the log shows what ran. Commands travel as arguments, so no
/// quoting of theirs can break the script.
fn command_line(commands: &[String]) -> Vec<String> {
    // The echo starts with RS (\036), which makes the engine end a line the previous command
    // left unterminated, so `$ next` never runs into its output.
    let script = r#"for c in "$@"; do printf '\036$ %s\n' "$c"; sh -c "$c" || exit $?; done"#;
    let mut cmd = vec![
        "sh".to_string(),
        "-c".to_string(),
        script.to_string(),
        "shipdeck".to_string(),
    ];
    cmd.extend(commands.iter().cloned());
    cmd
}

fn workdir(spec: &RunStage) -> String {
    match spec.workdir.as_deref() {
        Some(w) if w.starts_with('/') => w.to_string(),
        Some(w) => format!("{MOUNT}/{}", w.trim_start_matches("./")),
        None => MOUNT.to_string(),
    }
}

fn stage_env(shared: &RunShared, stage: &StageConfig) -> Vec<String> {
    let mut env: Vec<String> = shared
        .shipdeck_env(&stage.name)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    env.extend(stage.env.iter().map(|(k, v)| format!("{k}={v}")));
    // `secrets = [...]` scopes them; without the key a stage gets every secret (as before).
    let scoped = |name: &str| {
        stage
            .secrets
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    };
    env.extend(
        shared
            .secrets
            .iter()
            .filter(|(k, _)| scoped(k))
            .map(|(k, v)| format!("{k}={v}")),
    );
    env
}

/// The workspace, plus one named volume per cache path, keyed by app, stage and path so that
/// it is reused by the next run of the same stage.
async fn binds(shared: &RunShared, stage: &StageConfig, spec: &RunStage) -> Result<Vec<String>, DockerError> {
    let mut binds = vec![format!("{}:{MOUNT}", shared.workspace.volume)];
    let app = &shared.config.app.name;
    for path in &spec.cache {
        let volume = cache_volume_name(app, &stage.name, path);
        let labels = labels::set(&[
            (labels::APP, app),
            (labels::STAGE, &stage.name),
            (labels::ROLE, "cache"),
            (labels::CACHE_PATH, path),
        ]);
        shared.docker.ensure_volume(&volume, labels).await?;
        binds.push(format!("{volume}:{path}"));
    }
    Ok(binds)
}

pub fn cache_volume_name(app: &str, stage: &str, path: &str) -> String {
    let hash = crate::docker::names::parts_hash(&[app, stage, path]);
    format!("shipdeck-cache-{app}-{stage}-{hash:08x}")
}

/// Creates (or truncates) the file at `path`, replacing a symlink planted at its name (a
/// repository can commit one under `.shipdeck/runs/`) instead of writing where it points.
/// The directories above were checked when the run's directories were made.
fn create_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(path)?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// A stage's full log on disk, sanitized (colour is all that `cat` replays) and masked.
/// Writing is best effort: a full disk must not fail the stage, and the lines still reach
/// the views.
pub struct LogFile {
    writer: Mutex<Option<std::io::BufWriter<std::fs::File>>>,
    masker: SecretMasker,
}

impl LogFile {
    pub(super) fn create(path: Option<&Path>, masker: SecretMasker) -> LogFile {
        let file = path.and_then(|p| match create_no_follow(p) {
            Ok(f) => Some(std::io::BufWriter::with_capacity(64 * 1024, f)),
            Err(e) => {
                tracing::warn!("cannot write log {}: {e}", p.display());
                None
            }
        });
        LogFile {
            writer: Mutex::new(file),
            masker,
        }
    }

    /// Writes a line of any origin: sanitized and masked first.
    pub fn write_line(&self, line: &str) {
        self.write_clean(&self.masker.mask(crate::term::sanitize(line)));
    }

    /// Writes a line that is already sanitized and masked (a stage's output lines).
    pub fn write_clean(&self, line: &str) {
        if let Ok(mut guard) = self.writer.lock() {
            if let Some(w) = guard.as_mut() {
                if writeln!(w, "{line}").is_err() {
                    *guard = None;
                }
            }
        }
    }

    pub fn flush(&self) {
        if let Ok(mut guard) = self.writer.lock() {
            if let Some(w) = guard.as_mut() {
                let _ = w.flush();
            }
        }
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        self.flush();
    }
}
