//! A directory opened without following symlinks, and the operations shipdeck needs inside
//! it, each relative to the open directory (`openat`, `mkdirat`, … with `O_NOFOLLOW`).
//!
//! Why: a stage controls what its artifacts contain, including symlinks. Writing artifacts
//! by path name (`create_dir_all`, `File::create`) follows a symlink in any component, so
//! `link -> /home/me` followed by `link/.bashrc` wrote on the host. Here every component is
//! opened with `O_NOFOLLOW` from the directory before it, so a symlink anywhere on the way
//! is an error naming it, and a symlink can only ever be created (as a link), never written
//! through. Holding the directory open also means a rename of a parent after the walk
//! cannot redirect later writes.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// What went wrong inside a [`SafeDir`]; every variant names the path (relative to where
/// shipdeck started walking, so it reads like the artifact's own path).
#[derive(Debug, thiserror::Error)]
pub enum SafeDirError {
    #[error("`{}` is a symlink: shipdeck never reads or writes through a symlink there", path.display())]
    Symlink { path: PathBuf },
    #[error("`{}` is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("`{}` is not a plain relative path inside the directory (absolute, or with `..`)", path.display())]
    Escapes { path: PathBuf },
    #[error("`{}`: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl SafeDirError {
    fn io(path: &Path, errno: Errno) -> SafeDirError {
        SafeDirError::Io {
            path: path.to_path_buf(),
            source: errno.into(),
        }
    }
}

/// The kind of a directory entry, as it is (a symlink is a symlink, never its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
    Other,
}

impl From<FileType> for EntryKind {
    fn from(kind: FileType) -> EntryKind {
        match kind {
            FileType::Directory => EntryKind::Dir,
            FileType::RegularFile => EntryKind::File,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        }
    }
}

/// An open directory; `shown` is its path for messages.
#[derive(Debug)]
pub struct SafeDir {
    fd: OwnedFd,
    shown: PathBuf,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl SafeDir {
    /// Opens `base` as usual (it is the caller's trusted starting point, e.g. the app
    /// directory the user runs shipdeck in), then each component of `relative` without
    /// following symlinks, creating missing directories when `create` is set. Errors on the
    /// way name paths relative to `base`; errors inside the opened directory name paths
    /// relative to it.
    pub fn open(base: &Path, relative: &Path, create: bool) -> Result<SafeDir, SafeDirError> {
        let fd = rustix::fs::open(
            base,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| SafeDirError::io(base, e))?;
        let root = SafeDir {
            fd,
            shown: PathBuf::new(),
        };
        let dir = root.walk(relative, create)?;
        Ok(SafeDir {
            fd: dir.fd,
            shown: PathBuf::new(),
        })
    }

    fn child_shown(&self, name: &OsStr) -> PathBuf {
        self.shown.join(name)
    }

    /// Opens the directory at `relative` below this one, one component at a time, never
    /// following a symlink; creates missing directories when `create` is set.
    pub fn walk(&self, relative: &Path, create: bool) -> Result<SafeDir, SafeDirError> {
        let mut names = Vec::new();
        for component in relative.components() {
            match component {
                Component::Normal(name) => names.push(name),
                Component::CurDir => {}
                _ => {
                    return Err(SafeDirError::Escapes {
                        path: self.shown.join(relative),
                    })
                }
            }
        }
        let mut current: Option<SafeDir> = None;
        for name in names {
            let parent = current.as_ref().unwrap_or(self);
            current = Some(parent.child_dir(name, create)?);
        }
        match current {
            Some(dir) => Ok(dir),
            None => self.reopen(),
        }
    }

    fn reopen(&self) -> Result<SafeDir, SafeDirError> {
        let fd = rustix::fs::openat(&self.fd, ".", DIR_FLAGS, Mode::empty())
            .map_err(|e| SafeDirError::io(&self.shown, e))?;
        Ok(SafeDir {
            fd,
            shown: self.shown.clone(),
        })
    }

    /// Opens the directory `name` directly inside this one, never through a symlink.
    pub fn child_dir(&self, name: &OsStr, create: bool) -> Result<SafeDir, SafeDirError> {
        let shown = self.child_shown(name);
        let open = || rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty());
        let fd = match open() {
            Ok(fd) => fd,
            Err(Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(SafeDirError::io(&shown, e)),
                }
                open().map_err(|e| self.classify(name, e))?
            }
            Err(e) => return Err(self.classify(name, e)),
        };
        Ok(SafeDir { fd, shown })
    }

    /// Turns an open failure into the error a user understands: a symlink, not a directory.
    fn classify(&self, name: &OsStr, errno: Errno) -> SafeDirError {
        let path = self.child_shown(name);
        match self.kind(name) {
            Ok(Some(EntryKind::Symlink)) => SafeDirError::Symlink { path },
            Ok(Some(EntryKind::File | EntryKind::Other)) => SafeDirError::NotADirectory { path },
            _ => SafeDirError::io(&path, errno),
        }
    }

    /// The kind of `name` in this directory, without following it; `None` if it is absent.
    pub fn kind(&self, name: &OsStr) -> Result<Option<EntryKind>, SafeDirError> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode).into())),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(SafeDirError::io(&self.child_shown(name), e)),
        }
    }

    /// Removes whatever non-directory `name` is (a file, a link: the link itself), so that
    /// a new entry can take its place; a directory there is an error.
    fn clear(&self, name: &OsStr) -> Result<(), SafeDirError> {
        match self.kind(name)? {
            None => Ok(()),
            Some(EntryKind::Dir) => Err(SafeDirError::Io {
                path: self.child_shown(name),
                source: std::io::Error::other("a directory is in the way"),
            }),
            Some(_) => rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
                .map_err(|e| SafeDirError::io(&self.child_shown(name), e)),
        }
    }

    /// Creates (or replaces) the regular file `name` for writing; `O_EXCL | O_NOFOLLOW`, so
    /// the file written is always the one just created here.
    pub fn create_file(&self, name: &OsStr, mode: u32) -> Result<File, SafeDirError> {
        self.clear(name)?;
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        // No set-uid, set-gid or sticky bits from a stage's archive.
        let mode = Mode::from_raw_mode(mode & 0o777);
        let fd = rustix::fs::openat(&self.fd, name, flags, mode)
            .map_err(|e| SafeDirError::io(&self.child_shown(name), e))?;
        Ok(File::from(fd))
    }

    /// Opens the file `name` for reading, never through a symlink. Non-blocking, so that a
    /// FIFO put in its place cannot hang the caller; callers check that it is a regular file.
    pub fn open_file(&self, name: &OsStr) -> Result<File, SafeDirError> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(File::from(fd)),
            Err(e) => Err(match self.kind(name) {
                Ok(Some(EntryKind::Symlink)) => SafeDirError::Symlink {
                    path: self.child_shown(name),
                },
                _ => SafeDirError::io(&self.child_shown(name), e),
            }),
        }
    }

    /// Creates (or replaces) the symlink `name` pointing at `target`. The link is stored as
    /// is; nothing ever follows it.
    pub fn create_symlink(&self, name: &OsStr, target: &Path) -> Result<(), SafeDirError> {
        self.clear(name)?;
        rustix::fs::symlinkat(target, &self.fd, name).map_err(|e| SafeDirError::io(&self.child_shown(name), e))
    }

    /// Creates (or replaces) `name` as a hard link to `existing` in `from` (without
    /// following `existing` if it is a symlink).
    pub fn hard_link(&self, name: &OsStr, from: &SafeDir, existing: &OsStr) -> Result<(), SafeDirError> {
        self.clear(name)?;
        rustix::fs::linkat(&from.fd, existing, &self.fd, name, AtFlags::empty())
            .map_err(|e| SafeDirError::io(&self.child_shown(name), e))
    }

    /// The target of the symlink `name`.
    pub fn read_link(&self, name: &OsStr) -> Result<PathBuf, SafeDirError> {
        let target = rustix::fs::readlinkat(&self.fd, name, Vec::new())
            .map_err(|e| SafeDirError::io(&self.child_shown(name), e))?;
        Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
    }

    /// The entries of this directory (without `.` and `..`), sorted by name, each with its
    /// own kind (a symlink is reported as one).
    pub fn entries(&self) -> Result<Vec<(OsString, EntryKind)>, SafeDirError> {
        let io = |e| SafeDirError::io(&self.shown, e);
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Unknown => self.kind(name)?.unwrap_or(EntryKind::Other),
                known => known.into(),
            };
            out.push((name.to_os_string(), kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Removes `name`: a file or link, or a directory and everything in it (never following
    /// a symlink inside). Absent is fine.
    pub fn remove(&self, name: &OsStr) -> Result<(), SafeDirError> {
        match self.kind(name)? {
            None => Ok(()),
            Some(EntryKind::Dir) => {
                let dir = self.child_dir(name, false)?;
                for (child, _) in dir.entries()? {
                    dir.remove(&child)?;
                }
                rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)
                    .map_err(|e| SafeDirError::io(&self.child_shown(name), e))
            }
            Some(_) => rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())
                .map_err(|e| SafeDirError::io(&self.child_shown(name), e)),
        }
    }
}

/// Splits a relative path into its plain components; `None` if it is absolute or has `..`.
pub fn plain_components(path: &Path) -> Option<Vec<&OsStr>> {
    let mut out = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::symlink;

    #[test]
    fn refuses_a_symlink_in_any_component_and_writes_nothing_through_it() {
        let tmp = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("victim.txt"), "original").unwrap();
        std::fs::create_dir_all(tmp.path().join("a")).unwrap();
        symlink(host.path(), tmp.path().join("a/link")).unwrap();

        let err = SafeDir::open(tmp.path(), Path::new("a/link/deeper"), true).unwrap_err();
        assert!(
            matches!(&err, SafeDirError::Symlink { path } if path == Path::new("a/link")),
            "{err}"
        );
        let a = SafeDir::open(tmp.path(), Path::new("a"), false).unwrap();
        let err = a.child_dir(OsStr::new("link"), true).unwrap_err();
        assert!(err.to_string().contains("`link` is a symlink"), "{err}");
        // A file named through the link is refused; the link itself is replaced, not followed.
        let mut file = a.create_file(OsStr::new("link"), 0o644).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(
            std::fs::read_to_string(host.path().join("victim.txt")).unwrap(),
            "original"
        );
        assert!(!host.path().join("deeper").exists());
        assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 1);
        assert!(tmp.path().join("a/link").symlink_metadata().unwrap().is_file());
    }

    #[test]
    fn reading_a_symlinked_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("secret"), "x").unwrap();
        symlink(tmp.path().join("secret"), tmp.path().join("link")).unwrap();
        let dir = SafeDir::open(tmp.path(), Path::new(""), false).unwrap();
        assert!(matches!(
            dir.open_file(OsStr::new("link")),
            Err(SafeDirError::Symlink { .. })
        ));
        let kinds: Vec<EntryKind> = dir.entries().unwrap().into_iter().map(|(_, k)| k).collect();
        assert_eq!(kinds, [EntryKind::Symlink, EntryKind::File]);
    }

    #[test]
    fn refuses_parent_and_absolute_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SafeDir::open(tmp.path(), Path::new(""), false).unwrap();
        for bad in ["../x", "a/../../x", "/etc"] {
            assert!(
                matches!(dir.walk(Path::new(bad), true), Err(SafeDirError::Escapes { .. })),
                "{bad}"
            );
        }
        assert!(plain_components(Path::new("a/../b")).is_none());
        assert_eq!(plain_components(Path::new("./a/b")).unwrap(), ["a", "b"]);
    }

    #[test]
    fn remove_deletes_links_not_their_targets() {
        let tmp = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("keep"), "x").unwrap();
        std::fs::create_dir_all(tmp.path().join("d/e")).unwrap();
        symlink(host.path(), tmp.path().join("d/e/out")).unwrap();
        let dir = SafeDir::open(tmp.path(), Path::new(""), false).unwrap();
        dir.remove(OsStr::new("d")).unwrap();
        assert!(!tmp.path().join("d").exists());
        assert!(host.path().join("keep").is_file());
    }
}
