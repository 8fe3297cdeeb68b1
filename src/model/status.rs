//! Run and stage statuses: snake_case text in the database, the events and the views.

use std::fmt;
use std::str::FromStr;

/// A status text that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} status {value:?}")]
pub struct UnknownStatus {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every status, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database and shown to users (same as serde's).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownStatus { kind: $kind, value: s.to_string() }),
                }
            }
        }
    };
}

status_enum!(
    /// Where a run is.
    RunStatus, "run", {
        Queued => "queued",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

status_enum!(
    /// Where a stage of a run is.
    StageStatus, "stage", {
        Pending => "pending",
        Running => "running",
        Success => "success",
        Failed => "failed",
        TimedOut => "timed_out",
        Cancelled => "cancelled",
        Skipped => "skipped",
    }
);

impl RunStatus {
    /// Queued or Running: the run has not ended.
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

impl StageStatus {
    /// Pending or Running: the stage has not ended.
    pub fn is_active(self) -> bool {
        matches!(self, StageStatus::Pending | StageStatus::Running)
    }

    /// Failed or TimedOut: the stage is why its run failed.
    pub fn is_failure(self) -> bool {
        matches!(self, StageStatus::Failed | StageStatus::TimedOut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;
    use serde::Deserialize;

    fn from_serde<'a, T: Deserialize<'a>>(s: &'a str) -> T {
        let de: StrDeserializer<'a, DeError> = s.into_deserializer();
        T::deserialize(de).unwrap()
    }

    #[test]
    fn text_round_trips_and_matches_serde() {
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>().unwrap(), *s);
            assert_eq!(from_serde::<RunStatus>(s.as_str()), *s);
            assert_eq!(s.to_string(), s.as_str());
        }
        for s in StageStatus::ALL {
            assert_eq!(s.as_str().parse::<StageStatus>().unwrap(), *s);
            assert_eq!(from_serde::<StageStatus>(s.as_str()), *s);
        }
        assert_eq!(StageStatus::TimedOut.as_str(), "timed_out");
        let err = "done".parse::<RunStatus>().unwrap_err();
        assert_eq!(err.to_string(), "unknown run status \"done\"");
    }
}
