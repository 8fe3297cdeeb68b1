//! Why an operation on an environment does not go ahead, or a read for one fails. The kind
//! of refusal travels with the words, so that exit codes and `--json` never parse messages.

use crate::config::UnknownEnvironment;
use crate::deploy::Refusal;
use crate::docker::DockerError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// The operation is not attempted, for this kind of reason (a gate, a lock, bad input).
    #[error("{message}")]
    Refused { kind: Refusal, message: String },
    /// The working copy's release.toml is invalid, so no environment is known.
    #[error("release.toml is not valid: fix it first (`shipdeck check`)")]
    InvalidConfig,
    #[error(transparent)]
    UnknownEnvironment(#[from] UnknownEnvironment),
    /// A revision the repository does not know and that is no commit id.
    #[error("`{0}` is not a commit of this repository (nor a commit id)")]
    UnknownRevision(String),
    /// An environment's engine cannot be reached; the words say which and what to check.
    #[error("{0}")]
    Unreachable(String),
    /// An environment's engine answered with an error.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// The local history cannot be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking read died (it panicked or the runtime shut down).
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

impl OperationError {
    pub fn refused(kind: Refusal, message: impl Into<String>) -> OperationError {
        OperationError::Refused {
            kind,
            message: message.into(),
        }
    }

    /// The refusal this error means when it stops an operation: bad input is a usage error,
    /// an engine or history that cannot be read is the engine's.
    pub fn kind(&self) -> Refusal {
        match self {
            OperationError::Refused { kind, .. } => *kind,
            OperationError::InvalidConfig
            | OperationError::UnknownEnvironment(_)
            | OperationError::UnknownRevision(_) => Refusal::Usage,
            OperationError::Unreachable(_)
            | OperationError::Docker(_)
            | OperationError::Store(_)
            | OperationError::Task(_) => Refusal::Engine,
        }
    }

    /// The same words with `notes` appended (what the gates' policy noted), same kind.
    pub fn with_notes(self, notes: &[String]) -> OperationError {
        if notes.is_empty() {
            return self;
        }
        OperationError::refused(self.kind(), format!("{self}\n  {}", notes.join("\n  ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_are_usage_and_engine_errors_are_the_engines() {
        let unknown = UnknownEnvironment {
            env: "qa".into(),
            defined: vec!["staging".into()],
        };
        assert_eq!(OperationError::from(unknown).kind(), Refusal::Usage);
        assert_eq!(OperationError::InvalidConfig.kind(), Refusal::Usage);
        assert_eq!(OperationError::UnknownRevision("zz".into()).kind(), Refusal::Usage);
        assert_eq!(OperationError::Unreachable("down".into()).kind(), Refusal::Engine);
        assert_eq!(OperationError::refused(Refusal::Locked, "held").kind(), Refusal::Locked);
    }

    #[test]
    fn notes_keep_the_kind_and_the_words() {
        let why = OperationError::refused(Refusal::Approval, "production needs an approval");
        let noted = why.with_notes(&["an uncommitted gate change was not applied".into()]);
        assert_eq!(noted.kind(), Refusal::Approval);
        assert_eq!(
            noted.to_string(),
            "production needs an approval\n  an uncommitted gate change was not applied"
        );
        let plain = OperationError::UnknownRevision("zz".into()).with_notes(&[]);
        assert!(matches!(plain, OperationError::UnknownRevision(_)), "{plain:?}");
    }
}
