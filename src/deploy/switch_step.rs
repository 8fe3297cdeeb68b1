//! The steps of a switch (strategy `proxy`), as the console draws them: both releases during
//! the overlap, the pre-switch smoke checks' answer, the moment traffic moved, the drain
//! counting down. The switch also says each in its log; these carry the figures.

use chrono::{DateTime, Utc};

/// One step of a switch. Releases are named by their short commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SwitchStep {
    /// The new release was created beside the one that serves (`serving`; none on a first
    /// deploy, or when it was stopped for the proxy to own the address).
    Overlap { serving: Option<String>, new: String },
    /// The new release is ready (`how`: "healthy", "answering", "running").
    Ready { how: String },
    /// Its smoke checks, run against it directly, before any request reached it.
    Smoked { passed: bool, summary: String },
    /// The proxy sends it the traffic, from this moment.
    Moved { at: DateTime<Utc> },
    /// The old release has `in_flight` requests left and `left_secs` of `drain`.
    Draining { in_flight: u64, left_secs: u64 },
    /// The old release is out of the proxy: drained, or `cut` requests cut at the end of
    /// `drain`.
    Drained { cut: u64 },
    /// The old release stopped and was removed: the switch is over.
    Retired,
    /// The new release was removed before the switch (not ready, smoke failed, the proxy
    /// could not be pointed at it): it never served a request.
    Abandoned { why: String },
}

impl SwitchStep {
    /// Its text fields, for the engine to mask and clean like any event's text.
    pub fn texts_mut(&mut self) -> Vec<&mut String> {
        match self {
            SwitchStep::Overlap { serving, new } => serving.iter_mut().chain(std::iter::once(new)).collect(),
            SwitchStep::Ready { how } => vec![how],
            SwitchStep::Smoked { summary, .. } => vec![summary],
            SwitchStep::Abandoned { why } => vec![why],
            SwitchStep::Moved { .. }
            | SwitchStep::Draining { .. }
            | SwitchStep::Drained { .. }
            | SwitchStep::Retired => Vec::new(),
        }
    }
}

/// Where a switch tells its steps; the engine turns them into events.
pub type StepSink<'a> = &'a (dyn Fn(SwitchStep) + Send + Sync);
