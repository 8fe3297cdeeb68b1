//! Errors of [`Watcher::start`](super::Watcher::start): each says what failed and where.

use std::path::PathBuf;

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// `repo_root` is not a git repository (or cannot be read).
    #[error("cannot open the git repository at {repo_root}: {source}")]
    OpenRepo {
        repo_root: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// The repository is bare: there is no working tree to watch.
    #[error("the git repository at {repo_root} has no working tree (bare repository)")]
    Bare { repo_root: PathBuf },
    /// `app_dir` (or the repository's working directory) cannot be read.
    #[error("cannot read the directory {path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `app_dir` is not inside the repository's working tree.
    #[error("the app directory {app_dir} is not inside the repository's working tree {workdir}")]
    AppDirOutsideRepo { app_dir: PathBuf, workdir: PathBuf },
    /// A `[watch].ignore` glob does not parse.
    #[error("invalid [watch].ignore glob {glob:?}: {source}")]
    IgnoreGlob {
        glob: String,
        #[source]
        source: ignore::Error,
    },
    /// HEAD could not be read.
    #[error("cannot resolve HEAD in {git_dir}: {source}")]
    Head {
        git_dir: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// The operating system's file watcher could not be created or refused a path.
    #[error("cannot watch {path}: {source}")]
    Notify {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    /// The background thread could not be started.
    #[error("cannot start the watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}
