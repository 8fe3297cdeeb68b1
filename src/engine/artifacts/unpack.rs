//! Unpacking an artifact's archive, as the engine streams it, into the run's artifacts
//! directory: never through a symlink, never outside the directory, within the run's size
//! budget, and with nothing left behind when it fails.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Buf, Bytes};

use crate::config::format_size;
use crate::engine::safe_dir::{plain_components, SafeDir, SafeDirError};

/// Why copying an artifact out failed.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("artifact `{artifact}` is larger than the run's artifact budget: {} copied by this run so far, over `max_artifacts` = {}\n  hint: raise `max_artifacts` in [app], or list fewer files in `artifacts`", format_size(*used), format_size(*cap))]
    OverBudget { artifact: String, used: u64, cap: u64 },
    #[error("artifact `{artifact}`: {source}")]
    Path {
        artifact: String,
        #[source]
        source: SafeDirError,
    },
    #[error("artifact `{artifact}`: reading its archive failed: {source}")]
    Archive {
        artifact: String,
        #[source]
        source: std::io::Error,
    },
}

/// The bytes of artifact file content one run may copy out (`[app] max_artifacts`), shared by
/// its stages, which may run in parallel.
#[derive(Debug)]
pub struct Budget {
    cap: u64,
    used: AtomicU64,
}

impl Budget {
    pub fn new(cap: u64) -> Budget {
        Budget {
            cap,
            used: AtomicU64::new(0),
        }
    }

    /// Takes `bytes` from the budget; on refusal returns what would have been used.
    fn take(&self, bytes: u64) -> Result<(), u64> {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.cap)
            })
            .map(|_| ())
            .map_err(|used| used.saturating_add(bytes))
    }

    fn give_back(&self, bytes: u64) {
        let _ = self.used.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
            Some(used.saturating_sub(bytes))
        });
    }
}

/// What one artifact added.
#[derive(Debug, Default)]
pub struct Unpacked {
    pub files: usize,
    pub bytes: u64,
}

/// Unpacks the archive read from `archive` into `into` (a directory below `root`, created
/// without following symlinks). Entries are named relative to `into`, as the engine names
/// them (from the artifact path's last component). A symlink in the archive is created as a
/// link; nothing is ever written through one. On failure, whatever this call created is
/// removed and its bytes are given back to the budget.
pub fn unpack(
    archive: impl Read,
    root: &SafeDir,
    into: &Path,
    artifact: &str,
    budget: &Budget,
) -> Result<Unpacked, ArtifactError> {
    let path_error = |source| ArtifactError::Path {
        artifact: artifact.to_string(),
        source,
    };
    let target = root.walk(into, true).map_err(path_error)?;
    let mut created: Vec<PathBuf> = Vec::new();
    let mut done = Unpacked::default();
    let result = unpack_entries(archive, &target, artifact, budget, &mut created, &mut done);
    if result.is_err() {
        budget.give_back(done.bytes);
        // Newest first, so files go before the directories created for them. Best effort:
        // the error being reported matters more than a failed clean-up.
        for path in created.iter().rev() {
            if let Some(name) = path.file_name() {
                let parent = path.parent().unwrap_or(Path::new(""));
                if let Ok(dir) = target.walk(parent, false) {
                    let _ = dir.remove(name);
                }
            }
        }
    }
    result.map(|()| done)
}

fn unpack_entries(
    archive: impl Read,
    target: &SafeDir,
    artifact: &str,
    budget: &Budget,
    created: &mut Vec<PathBuf>,
    done: &mut Unpacked,
) -> Result<(), ArtifactError> {
    let archive_error = |source| ArtifactError::Archive {
        artifact: artifact.to_string(),
        source,
    };
    let path_error = |source| ArtifactError::Path {
        artifact: artifact.to_string(),
        source,
    };
    let mut archive = tar::Archive::new(archive);
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        let path = entry.path().map_err(archive_error)?.into_owned();
        let Some(names) = plain_components(&path) else {
            return Err(path_error(SafeDirError::Escapes { path }));
        };
        let Some((name, parents)) = names.split_last() else {
            continue;
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            ensure_dir(target, &names, created).map_err(path_error)?;
            continue;
        }
        let parent = ensure_dir(target, parents, created).map_err(path_error)?;
        if kind.is_file() {
            let size = entry.header().size().map_err(archive_error)?;
            budget.take(size).map_err(|used| ArtifactError::OverBudget {
                artifact: artifact.to_string(),
                used,
                cap: budget.cap,
            })?;
            let mode = entry.header().mode().unwrap_or(0o644);
            let mut file = parent.create_file(name, mode).map_err(path_error)?;
            created.push(path.clone());
            done.bytes += size;
            done.files += 1;
            // `take`: the header's size is what the budget allowed, whatever follows.
            std::io::copy(&mut (&mut entry).take(size), &mut file).map_err(archive_error)?;
        } else if kind.is_symlink() {
            let link = entry.link_name().map_err(archive_error)?.unwrap_or_default();
            parent.create_symlink(name, &link).map_err(path_error)?;
            created.push(path.clone());
        } else if kind.is_hard_link() {
            // A hard link names an earlier entry of the same archive, relative to `target`.
            let existing = entry.link_name().map_err(archive_error)?.unwrap_or_default();
            let Some(existing_names) = plain_components(&existing) else {
                return Err(path_error(SafeDirError::Escapes {
                    path: existing.into_owned(),
                }));
            };
            let Some((existing_name, existing_parents)) = existing_names.split_last() else {
                continue;
            };
            let from = target
                .walk(&existing_parents.iter().collect::<PathBuf>(), false)
                .map_err(path_error)?;
            parent.hard_link(name, &from, existing_name).map_err(path_error)?;
            created.push(path.clone());
        }
        // Devices, FIFOs and other special files are not artifacts: skipped.
    }
    Ok(())
}

/// Opens (creating what is missing, never through a symlink) the directory `names` below
/// `target`, recording each directory it creates.
fn ensure_dir(target: &SafeDir, names: &[&OsStr], created: &mut Vec<PathBuf>) -> Result<SafeDir, SafeDirError> {
    let mut current = target.walk(Path::new(""), false)?;
    for (i, name) in names.iter().enumerate() {
        let absent = current.kind(name)?.is_none();
        current = current.child_dir(name, true)?;
        if absent {
            created.push(names[..=i].iter().collect());
        }
    }
    Ok(current)
}

/// A blocking reader over chunks sent from the async side: lets the tar reader run on a
/// blocking thread while the engine's archive streams in, one chunk in memory at a time.
pub struct ChunkReader {
    chunks: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl ChunkReader {
    pub fn new(chunks: tokio::sync::mpsc::Receiver<Result<Bytes, String>>) -> ChunkReader {
        ChunkReader {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(message)) => return Err(std::io::Error::other(message)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// The directory an artifact's archive unpacks into, relative to the artifacts directory:
/// the artifact path's parent. `None` when the path is absolute or climbs with `..`.
pub fn unpack_dir(relative: &str) -> Option<PathBuf> {
    let names = plain_components(Path::new(relative))?;
    let (_, parents) = names.split_last()?;
    Some(parents.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }

    #[test]
    fn a_symlink_is_kept_as_a_link_and_never_written_through() {
        let out = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("victim.txt"), "original").unwrap();
        let root = SafeDir::open(out.path(), Path::new(""), false).unwrap();
        let budget = Budget::new(1 << 20);
        let tar = archive(|b| link(b, "link", host.path().to_str().unwrap()));
        unpack(tar.as_slice(), &root, Path::new(""), "link", &budget).unwrap();
        assert!(out
            .path()
            .join("link")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink());
        // The engine names `link/victim.txt`'s entry `victim.txt`, to unpack under `link`.
        let tar = archive(|b| file(b, "victim.txt", b"pwned"));
        let err = unpack(tar.as_slice(), &root, Path::new("link"), "link/victim.txt", &budget).unwrap_err();
        assert!(err.to_string().contains("`link` is a symlink"), "{err}");
        // And a single archive that makes a link, then writes below it.
        let tar = archive(|b| {
            link(b, "d/l", host.path().to_str().unwrap());
            file(b, "d/l/x", b"pwned");
        });
        let err = unpack(tar.as_slice(), &root, Path::new(""), "d", &budget).unwrap_err();
        assert!(err.to_string().contains("`d/l` is a symlink"), "{err}");
        assert_eq!(
            std::fs::read_to_string(host.path().join("victim.txt")).unwrap(),
            "original"
        );
        assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 1);
        // The failed archive left nothing.
        assert!(!out.path().join("d").exists());
    }

    #[test]
    fn entries_that_climb_out_are_refused() {
        let out = tempfile::tempdir().unwrap();
        let root = SafeDir::open(out.path(), Path::new("inner"), true).unwrap();
        let mut tar = Vec::new();
        {
            // tar's Builder refuses `..` itself: write the raw header.
            let mut h = tar::Header::new_gnu();
            h.as_gnu_mut().unwrap().name[..6].copy_from_slice(b"../esc");
            h.set_size(1);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            tar.extend_from_slice(h.as_bytes());
            tar.extend_from_slice(&[b'x'; 512]);
            tar.extend_from_slice(&[0; 1024]);
        }
        let err = unpack(tar.as_slice(), &root, Path::new(""), "a", &Budget::new(100)).unwrap_err();
        assert!(err.to_string().contains("`../esc`"), "{err}");
        assert!(!out.path().join("esc").exists());
        assert!(unpack_dir("../x").is_none());
        assert_eq!(unpack_dir("dist/app.pyz").unwrap(), Path::new("dist"));
    }

    #[test]
    fn the_budget_is_shared_and_a_refused_artifact_leaves_nothing() {
        let out = tempfile::tempdir().unwrap();
        let root = SafeDir::open(out.path(), Path::new(""), false).unwrap();
        let budget = Budget::new(10);
        let small = archive(|b| file(b, "a/one", b"123456"));
        unpack(small.as_slice(), &root, Path::new(""), "a", &budget).unwrap();
        let big = archive(|b| {
            file(b, "b/two", b"12");
            file(b, "b/three", b"123");
        });
        let err = unpack(big.as_slice(), &root, Path::new(""), "b", &budget).unwrap_err();
        assert_eq!(err.to_string().lines().next().unwrap(), "artifact `b` is larger than the run's artifact budget: 11B copied by this run so far, over `max_artifacts` = 10B");
        assert!(!out.path().join("b").exists(), "partial output left");
        assert!(out.path().join("a/one").is_file());
        // What the failed artifact took was given back.
        let fits = archive(|b| file(b, "c", b"1234"));
        unpack(fits.as_slice(), &root, Path::new(""), "c", &budget).unwrap();
    }
}
