//! A switch under way on an environment (strategy `proxy`), folded from the engine's
//! `SwitchProgress` steps: which release serves, which one starts beside it, the pre-switch
//! smoke checks' answer, when traffic moved, and the drain counting down.

use chrono::{DateTime, Utc};

use crate::deploy::switch_step::SwitchStep;
use crate::engine::OpId;

/// What the environments panel draws of a switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchView {
    /// The operation whose switch it is (an automatic rollback's own switch replaces it).
    pub op: OpId,
    /// The release that served when the new one was created (short commit).
    pub old: Option<String>,
    pub new: String,
    /// The new release is ready: how ("healthy", "answering", "running").
    pub ready: Option<String>,
    /// The pre-switch smoke checks: passed, and their summary.
    pub smoke: Option<(bool, String)>,
    /// When the proxy moved the traffic to the new release.
    pub moved: Option<DateTime<Utc>>,
    /// The old release's drain: requests in flight, seconds of `drain` left.
    pub draining: Option<(u64, u64)>,
    /// The drain ended: requests cut at its end (0: drained).
    pub drained: Option<u64>,
    pub retired: bool,
    /// The new release was removed before the switch: why.
    pub abandoned: Option<String>,
}

impl SwitchView {
    /// Folds a step of operation `op`. An overlap starts a new picture; any other step
    /// without one (a console that opened mid-switch) is dropped.
    pub fn fold(current: &mut Option<SwitchView>, op: OpId, step: SwitchStep) {
        if let SwitchStep::Overlap { serving, new } = step {
            *current = Some(SwitchView {
                op,
                old: serving,
                new,
                ready: None,
                smoke: None,
                moved: None,
                draining: None,
                drained: None,
                retired: false,
                abandoned: None,
            });
            return;
        }
        let Some(view) = current.as_mut().filter(|v| v.op == op) else {
            return;
        };
        match step {
            SwitchStep::Overlap { .. } => {}
            SwitchStep::Ready { how } => view.ready = Some(how),
            SwitchStep::Smoked { passed, summary } => view.smoke = Some((passed, summary)),
            SwitchStep::Moved { at } => view.moved = Some(at),
            SwitchStep::Draining { in_flight, left_secs } => view.draining = Some((in_flight, left_secs)),
            SwitchStep::Drained { cut } => {
                view.draining = None;
                view.drained = Some(cut);
            }
            SwitchStep::Retired => {
                view.draining = None;
                view.retired = true;
            }
            SwitchStep::Abandoned { why } => view.abandoned = Some(why),
        }
    }
}
