//! The scan gate: a release reaches an environment (deploy, promote, rollback) only when the
//! run that built its image passed every scan stage; `--force` passes it, and the audit says
//! which verdict was overridden.

use super::{with_store, OperationError};
use crate::config::Config;
use crate::deploy::Refusal;
use crate::deploy::ReleaseRef;
use crate::engine::Engine;

/// The gate as deploy, promote and rollback pass it: `Ok(None)` when the image may go on,
/// `Ok(Some(what was overridden))` when only `--force` let it, else the refusal (`verb` is
/// what the operation does: "deploy", "promote", "roll back").
pub(super) async fn gate(
    engine: &Engine,
    config: &Config,
    release: &ReleaseRef,
    env: &str,
    verb: &str,
    force: bool,
) -> Result<Option<String>, OperationError> {
    match check(engine, config, release).await {
        Ok(()) => Ok(None),
        Err(why) if force => Ok(Some(format!("the scan gate: {why}"))),
        Err(why) => {
            let does = match verb.split_once(' ') {
                Some((word, rest)) => format!("{word}s {rest}"),
                None => format!("{verb}s"),
            };
            Err(OperationError::refused(
                Refusal::ScanGate,
                format!("refusing to {verb} to {env}: {why}; --force {does} anyway (the audit records it)"),
            ))
        }
    }
}

/// `Ok` when the image may go on; else why not, in words.
pub(super) async fn check(engine: &Engine, config: &Config, release: &ReleaseRef) -> Result<(), String> {
    let stages: Vec<String> = config
        .stages
        .iter()
        .filter(|s| s.run_stage().is_some_and(|r| r.scan.is_some()))
        .map(|s| s.name.clone())
        .collect();
    let (app, image, wanted) = (config.app.name.clone(), release.image_id.clone(), stages.clone());
    let rows = with_store(engine, move |s| s.scans_of_image(&app, &image, &wanted))
        .await
        .map_err(|e: OperationError| format!("the scan verdicts cannot be read ({e})"))?;
    let release = release.describe();
    if let Some((run, stage, Some(v))) = rows.iter().find(|(_, _, v)| v.as_ref().is_some_and(|v| !v.passed)) {
        return Err(format!(
            "{release} failed scan `{stage}` in run #{run} ({})",
            v.summary()
        ));
    }
    for stage in &stages {
        let passed = rows
            .iter()
            .any(|(_, s, v)| s == stage && v.as_ref().is_some_and(|v| v.passed));
        if !passed {
            return Err(match rows.iter().find(|(_, s, _)| s == stage) {
                Some((run, _, _)) => {
                    format!("{release} has no passing verdict of scan `{stage}` (run #{run} did not finish it)")
                }
                None => format!(
                    "{release} was never scanned by `{stage}` (no run in this history built it with that stage)"
                ),
            });
        }
    }
    Ok(())
}
