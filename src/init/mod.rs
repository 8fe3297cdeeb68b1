//! `shipdeck init`: a first release.toml for a repository that has none. It looks at the
//! files at the app directory's top to tell what the app is built with, and writes a
//! commented release.toml (test stage, package stage, staging and production) that passes
//! `shipdeck check` as written, plus a Dockerfile when there is none (the package stage needs
//! one). Nothing is overwritten.

mod templates;

use std::path::{Path, PathBuf};

pub use templates::{dockerfile, release_toml};

/// What the app is built with, as far as its top-level files tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    Python,
    Rust,
    Node,
    Go,
    /// Only a Dockerfile: the pipeline builds it, with no test stage of its own.
    Docker,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Python => "Python",
            Stack::Rust => "Rust",
            Stack::Node => "Node.js",
            Stack::Go => "Go",
            Stack::Docker => "a Dockerfile",
        }
    }
}

/// What `init` found in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub stack: Stack,
    /// The file that told (`Cargo.toml`, …).
    pub marker: &'static str,
    pub has_dockerfile: bool,
    /// Python: a requirements.txt to install before the tests.
    pub has_requirements: bool,
    /// Node: a package-lock.json, so `npm ci` can install exactly.
    pub has_lockfile: bool,
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} already exists: shipdeck init never overwrites it (`shipdeck check` says whether it is valid)")]
    Exists(PathBuf),
    #[error(
        "no app found in {0}: expected a pyproject.toml, requirements.txt or setup.py (Python), Cargo.toml (Rust), \
         package.json (Node.js), go.mod (Go) or a Dockerfile; write release.toml by hand (see the README's release.toml section)"
    )]
    NothingFound(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The stack of the app in `dir`, from its top-level files (symlinks are not followed: a
/// marker must be a regular file of the repository).
pub fn detect(dir: &Path) -> Option<Detected> {
    let has = |name: &str| {
        std::fs::symlink_metadata(dir.join(name))
            .map(|m| m.file_type().is_file())
            .unwrap_or(false)
    };
    let markers: [(&'static str, Stack); 7] = [
        ("Cargo.toml", Stack::Rust),
        ("go.mod", Stack::Go),
        ("package.json", Stack::Node),
        ("pyproject.toml", Stack::Python),
        ("requirements.txt", Stack::Python),
        ("setup.py", Stack::Python),
        ("Dockerfile", Stack::Docker),
    ];
    let (marker, stack) = markers.into_iter().find(|(name, _)| has(name))?;
    Some(Detected {
        stack,
        marker,
        has_dockerfile: has("Dockerfile"),
        has_requirements: has("requirements.txt"),
        has_lockfile: has("package-lock.json"),
    })
}

/// The files `init` wrote, in order.
#[derive(Debug)]
pub struct Written {
    pub detected: Detected,
    pub files: Vec<PathBuf>,
}

/// Writes release.toml (and a Dockerfile when there is none) into `dir`, for an app named
/// after the directory. Files are created new (`create_new`): one that appears meanwhile, or
/// a symlink planted in its place, is never written through.
pub fn init(dir: &Path) -> Result<Written, InitError> {
    let config = dir.join("release.toml");
    if std::fs::symlink_metadata(&config).is_ok() {
        return Err(InitError::Exists(config));
    }
    let detected = detect(dir).ok_or_else(|| InitError::NothingFound(dir.to_path_buf()))?;
    let name = app_name(dir);
    let mut files = Vec::new();
    if !detected.has_dockerfile {
        let path = dir.join("Dockerfile");
        create_new(&path, &dockerfile(&detected))?;
        files.push(path);
    }
    create_new(&config, &release_toml(&name, &detected))?;
    files.push(config);
    Ok(Written { detected, files })
}

/// The directory's name as a valid app name, or `app`.
fn app_name(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.file_name()
        .and_then(|n| n.to_str())
        .and_then(crate::config::suggest_app_name)
        .unwrap_or_else(|| "app".to_string())
}

fn create_new(path: &Path, text: &str) -> Result<(), InitError> {
    use std::io::Write;
    let io = |source| InitError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}
