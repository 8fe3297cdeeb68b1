//! A scan stage's report: copied out of its finished container like an artifact (into
//! `.shipdeck/runs/<n>/artifacts/scans/<stage>/`, never through a symlink, within the run's
//! `max_artifacts`), then read back without following a symlink, at most
//! [`scan::MAX_REPORT_BYTES`], and judged by the stage's `scan` settings.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::stage::RunShared;
use crate::config::format_size;
use crate::config::ScanConfig;
use crate::scan::{self, ScanVerdict};

/// Reads and judges the report of `stage`'s finished container `id`.
pub(super) async fn judge(
    shared: &RunShared,
    stage: &str,
    config: &ScanConfig,
    id: &str,
    cancel: &CancellationToken,
) -> Result<ScanVerdict, String> {
    let relative = config.report.trim_start_matches("./");
    let path = Path::new(relative);
    let (Some(file), Some(parent)) = (path.file_name(), super::artifacts::unpack_dir(relative)) else {
        return Err(format!(
            "scan report `{}` is not a plain path inside the workspace: refused",
            config.report
        ));
    };
    let into: PathBuf = Path::new("scans").join(stage).join(parent);
    let what = format!("scan report `{}`", config.report);
    super::artifacts::copy_one(shared, id, &what, relative, &into, cancel).await?;
    let root = shared.artifacts_root().map_err(|e| format!("{what}: {e}"))?;
    let file = file.to_os_string();
    let bytes = tokio::task::spawn_blocking(move || read_capped(&root, &into, &file))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{what}: {e}"))?;
    let findings = scan::parse(config.format, &bytes).map_err(|e| format!("{what}: {e}"))?;
    Ok(scan::judge(findings, config, chrono::Utc::now().date_naive()))
}

/// The file's bytes, opened without following a symlink, refused when it is no regular file
/// or larger than the cap (read no further than the cap: a huge report is never held).
fn read_capped(root: &super::safe_dir::SafeDir, into: &Path, name: &OsStr) -> Result<Vec<u8>, String> {
    let dir = root.walk(into, false).map_err(|e| e.to_string())?;
    let file = dir.open_file(name).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    let cap = scan::MAX_REPORT_BYTES;
    let too_big = || {
        format!(
            "is larger than {} (shipdeck reads at most that much of a report)",
            format_size(cap)
        )
    };
    if meta.len() > cap {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(bytes)
}
