//! The process's exit codes: one enum, and the one mapping from what happened to it. Scripts
//! and CI read these, so a value never changes meaning.

use crate::deploy::{OpOutcome, Refusal};

/// What a shipdeck command's exit status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// The run or operation succeeded (or there was nothing to do).
    Success = 0,
    /// A stage or an operation failed.
    Failed = 1,
    /// Bad input: release.toml, a revision, an unknown environment, a missing terminal.
    Usage = 2,
    /// A Docker engine cannot be reached (or an environment's engine cannot be read).
    Engine = 3,
    /// An operation was not attempted: no approval, a smoke gate, a lock held.
    Refused = 4,
    /// Interrupted (SIGINT, SIGTERM, SIGHUP), as shells report 128 + SIGINT.
    Cancelled = 130,
}

impl ExitCode {
    /// The numeric status.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit status of a finished environment operation: refusals by their kind.
    pub fn of_operation(outcome: OpOutcome, refusal: Option<Refusal>) -> ExitCode {
        match (outcome, refusal) {
            (OpOutcome::Succeeded | OpOutcome::Unchanged, _) => ExitCode::Success,
            (OpOutcome::Refused, Some(kind)) => ExitCode::of_refusal(kind),
            (OpOutcome::Refused, None) => ExitCode::Refused,
            _ => ExitCode::Failed,
        }
    }

    /// The exit status of an operation refused for this reason.
    pub fn of_refusal(kind: Refusal) -> ExitCode {
        match kind {
            Refusal::Usage => ExitCode::Usage,
            Refusal::Engine => ExitCode::Engine,
            Refusal::Approval
            | Refusal::SmokeGate
            | Refusal::ScanGate
            | Refusal::Gated
            | Refusal::Locked
            | Refusal::NoRelease => ExitCode::Refused,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> std::process::ExitCode {
        std::process::ExitCode::from(code.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_scripts_rely_on() {
        let all = [
            (ExitCode::Success, 0),
            (ExitCode::Failed, 1),
            (ExitCode::Usage, 2),
            (ExitCode::Engine, 3),
            (ExitCode::Refused, 4),
            (ExitCode::Cancelled, 130),
        ];
        for (code, value) in all {
            assert_eq!(code.code(), value, "{code:?}");
        }
    }

    #[test]
    fn refusals_map_by_kind() {
        assert_eq!(ExitCode::of_refusal(Refusal::Usage), ExitCode::Usage);
        assert_eq!(ExitCode::of_refusal(Refusal::Engine), ExitCode::Engine);
        for kind in [
            Refusal::Approval,
            Refusal::SmokeGate,
            Refusal::ScanGate,
            Refusal::Gated,
            Refusal::Locked,
            Refusal::NoRelease,
        ] {
            assert_eq!(ExitCode::of_refusal(kind), ExitCode::Refused, "{kind:?}");
        }
    }

    #[test]
    fn operations_map_by_outcome() {
        assert_eq!(ExitCode::of_operation(OpOutcome::Succeeded, None), ExitCode::Success);
        assert_eq!(ExitCode::of_operation(OpOutcome::Unchanged, None), ExitCode::Success);
        assert_eq!(ExitCode::of_operation(OpOutcome::Failed, None), ExitCode::Failed);
        assert_eq!(ExitCode::of_operation(OpOutcome::RolledBack, None), ExitCode::Failed);
        assert_eq!(
            ExitCode::of_operation(OpOutcome::Refused, Some(Refusal::Locked)),
            ExitCode::Refused
        );
        assert_eq!(
            ExitCode::of_operation(OpOutcome::Refused, Some(Refusal::Engine)),
            ExitCode::Engine
        );
    }
}
