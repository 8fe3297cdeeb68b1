//! Why a run is rejected before it starts: the commit, its tree or its pipeline cannot be read.
//! The words are what the views show in `RunRejected`.

use tokio::task::JoinError;

use crate::config::{ConfigError, CONFIG_FILE};
use crate::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("reading the commit failed: {0}")]
    CommitTask(JoinError),
    #[error("reading the working tree failed: {0}")]
    WorkingTreeTask(JoinError),
    #[error("reading release.toml from the commit failed: {0}")]
    ConfigTask(JoinError),
    /// The revision, its tree or the working tree cannot be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The release.toml committed with the commit is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The same, for a commit that was read: it is recorded as a failed run.
    #[error("{error}")]
    InvalidCommitted {
        commit: Box<crate::source::CommitInfo>,
        error: ConfigError,
    },
    #[error("{short} has no committed {file}, and the working copy's {file} is not valid (run `shipdeck check`)", file = CONFIG_FILE)]
    NoPipeline { short: String },
    #[error("the working copy's {file} is not valid (run `shipdeck check`)", file = CONFIG_FILE)]
    InvalidWorkingCopy,
    #[error("no stage has `on_save = true`, so saves run nothing (mark the quick stages, e.g. tests)")]
    NothingOnSave,
}

#[cfg(test)]
mod tests {
    use super::RunError;

    #[test]
    fn the_words_name_the_file_and_what_to_do() {
        assert_eq!(
            RunError::NoPipeline { short: "a1b2c3d".into() }.to_string(),
            "a1b2c3d has no committed release.toml, and the working copy's release.toml is not valid (run `shipdeck check`)"
        );
        assert_eq!(
            RunError::InvalidWorkingCopy.to_string(),
            "the working copy's release.toml is not valid (run `shipdeck check`)"
        );
    }
}
