//! The console's memory for stage logs: one byte budget across every run, whatever the runs
//! print. Logs are files on disk; memory holds what is on show and what runs now. Over the
//! budget, finished runs' logs are let go (oldest run first, never the selected run's), and
//! are re-read from their files when opened again; then what is left (live stages, the
//! selected run) shares the budget, each keeping its newest lines.

use super::app::App;
use super::log_pane::{LogBuffer, LogView};
use super::model::LogSource;

/// Heap bytes all stage logs may hold together. With the rest of the console (frames,
/// history, events in flight) this keeps the whole process well under 256 MB.
pub const LOG_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// A buffer is never squeezed below this, however many share the budget.
const FLOOR_BYTES: usize = 2 * 1024 * 1024;

/// Bytes of log appended between two looks at the budget (each buffer is bounded by the
/// budget on its own in between).
const CHECK_EVERY: usize = 4 * 1024 * 1024;

impl App {
    /// Counts `bytes` of log lines just folded; looks at the budget once enough came in.
    pub(super) fn logged(&mut self, bytes: usize) {
        self.log_bytes_unchecked += bytes;
        if self.log_bytes_unchecked >= CHECK_EVERY {
            self.enforce_log_budget();
        }
    }

    /// Heap bytes held by every stage's log.
    pub fn log_bytes(&self) -> usize {
        self.runs
            .iter()
            .flat_map(|r| &r.stages)
            .map(|s| s.log.heap_bytes())
            .sum()
    }

    /// Brings the stage logs within [`LOG_BUDGET_BYTES`].
    pub fn enforce_log_budget(&mut self) {
        self.log_bytes_unchecked = 0;
        let mut total = self.log_bytes();
        if total <= LOG_BUDGET_BYTES {
            return;
        }
        let selected = self.selected_run().map(|r| r.number);
        // Finished runs, oldest first.
        let mut finished: Vec<usize> = (0..self.runs.len())
            .filter(|&i| !self.runs[i].is_active() && Some(self.runs[i].number) != selected)
            .collect();
        finished.sort_by_key(|&i| self.runs[i].number);
        'runs: for i in finished {
            for stage in &mut self.runs[i].stages {
                if total <= LOG_BUDGET_BYTES {
                    break 'runs;
                }
                if stage.log.is_empty() || !matches!(stage.source, LogSource::Live | LogSource::Loaded) {
                    continue;
                }
                total -= stage.log.heap_bytes();
                let tail = stage.log.capacity();
                stage.log = LogBuffer::with_capacity(tail);
                stage.log.set_max_bytes(LOG_BUDGET_BYTES);
                stage.view = LogView::new();
                // Opened again, it is read back from its file.
                stage.source = if stage.log_path.is_some() {
                    LogSource::OnDisk
                } else {
                    LogSource::Loaded
                };
            }
        }
        if total <= LOG_BUDGET_BYTES {
            return;
        }
        // What is left shares the budget: each keeps its newest lines.
        let holders = self
            .runs
            .iter()
            .flat_map(|r| &r.stages)
            .filter(|s| !s.log.is_empty())
            .count()
            .max(1);
        let share = (LOG_BUDGET_BYTES / holders).max(FLOOR_BYTES);
        for stage in self.runs.iter_mut().flat_map(|r| &mut r.stages) {
            if stage.log.heap_bytes() > share {
                stage.log.set_max_bytes(share);
                stage.view.sync(&stage.log);
            }
        }
    }
}

#[cfg(test)]
#[path = "log_budget_tests.rs"]
mod tests;
