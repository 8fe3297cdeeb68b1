//! Runs of other shipdeck processes on the same app (a `shipdeck run` in another shell, a
//! second console, `shipdeck watch`), followed live from the history: new ones appear, the
//! ones shown are brought up to date, and a user watching the newest run goes on watching the
//! newest one.

use super::app::{App, Effect};
use super::model::{Row, RunView};
use crate::engine::PastRun;

impl App {
    /// Folds [`crate::engine::Event::RunsElsewhere`] in.
    pub(super) fn follow_elsewhere(&mut self, runs: Vec<PastRun>) -> Vec<Effect> {
        let tail = self.tail_lines;
        let selected = self.selected_run().map(|r| r.number);
        let newest = self.runs.first().map(|r| r.number);
        // On the newest run (or on nothing yet): the user follows what happens.
        let following = selected.is_none() || selected == newest;
        let mut arrived = None;
        for past in runs {
            let view = RunView::from_past(&past, &self.plan, tail);
            match self.runs.iter_mut().find(|r| r.number == view.number) {
                Some(shown) => {
                    let keep = shown.selected_stage;
                    *shown = view;
                    shown.selected_stage = keep.min(shown.stages.len().saturating_sub(1));
                }
                None => {
                    arrived = arrived.max(Some(view.number));
                    self.runs.push(view);
                }
            }
        }
        self.runs.sort_by_key(|r| std::cmp::Reverse(r.number));
        let target = match arrived {
            Some(n) if following && newest.is_none_or(|old| n > old) => Some(n),
            _ => selected,
        };
        if let Some(i) = target.and_then(|n| self.runs.iter().position(|r| r.number == n)) {
            if let Some(row) = self.rows().iter().position(|r| *r == Row::Run(i)) {
                self.selected = row;
            }
        }
        self.request_log()
    }
}
