//! The two dialogs of environments: a promotion about to be made (with the approval that
//! wants the environment's name typed), and the rollback picker (with the same approval on an
//! environment that wants one).

use crate::engine::event::{CommitInfo, ReleaseChoice, ReleaseRef};

/// A promotion about to be made: what the engine's preview said, and what the user typed.
#[derive(Debug, Clone, PartialEq)]
pub struct PromoteModal {
    pub env: String,
    pub source: String,
    pub current: Option<ReleaseRef>,
    pub candidate: Option<ReleaseRef>,
    /// Newest first.
    pub commits: Vec<CommitInfo>,
    /// The user must type the environment's name.
    pub approval: bool,
    /// The smoke gate refuses: why.
    pub blocked: Option<String>,
    pub typed: String,
    /// Enter was pressed with a name that is not the environment's.
    pub mismatch: bool,
}

impl PromoteModal {
    /// The environment already runs the candidate: there is nothing to do.
    pub fn same(&self) -> bool {
        matches!((&self.current, &self.candidate), (Some(a), Some(b)) if a.image_id == b.image_id)
    }

    /// The promotion can be made at all (the name aside).
    pub fn possible(&self) -> bool {
        self.blocked.is_none() && self.candidate.is_some() && !self.same()
    }

    /// The environment's name is asked for.
    pub fn needs_name(&self) -> bool {
        self.approval && self.possible()
    }

    /// Whether Enter promotes now.
    pub fn ready(&self) -> bool {
        self.possible() && (!self.approval || self.typed == self.env)
    }
}

/// The releases an environment can go back to, one of them selected; on an environment that
/// wants an approval, the chosen one waits for its name to be typed.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackPicker {
    pub env: String,
    /// Newest first.
    pub releases: Vec<ReleaseChoice>,
    /// Never a `current` one.
    pub selected: usize,
    /// The environment wants its name typed before a rollback.
    pub approval: bool,
    /// A release was chosen: its name is being typed.
    pub confirming: bool,
    pub typed: String,
    /// Enter was pressed with a name that is not the environment's.
    pub mismatch: bool,
}

impl RollbackPicker {
    /// `None` when no release but the current one is offered.
    pub fn new(env: String, releases: Vec<ReleaseChoice>, approval: bool) -> Option<RollbackPicker> {
        let selected = releases.iter().position(|r| !r.current)?;
        Some(RollbackPicker {
            env,
            releases,
            selected,
            approval,
            confirming: false,
            typed: String::new(),
            mismatch: false,
        })
    }

    /// Moves the selection by one, over the current release.
    pub fn step(&mut self, down: bool) {
        let mut i = self.selected;
        loop {
            i = match (down, i) {
                (true, i) if i + 1 < self.releases.len() => i + 1,
                (false, i) if i > 0 => i - 1,
                _ => return,
            };
            if !self.releases[i].current {
                self.selected = i;
                return;
            }
        }
    }

    pub fn chosen(&self) -> Option<&ReleaseChoice> {
        self.releases.get(self.selected).filter(|r| !r.current)
    }
}

/// The releases of an environment as the picker lists them: the one running there (when the
/// console knows it) is marked current, and listed even when the engine's list left it out.
pub fn with_current(mut releases: Vec<ReleaseChoice>, running: Option<ReleaseChoice>) -> Vec<ReleaseChoice> {
    if releases.iter().any(|r| r.current) {
        return releases;
    }
    let Some(running) = running else {
        return releases;
    };
    match releases.iter_mut().find(|r| r.release.commit == running.release.commit) {
        Some(listed) => listed.current = true,
        None => releases.insert(0, running),
    }
    releases
}
