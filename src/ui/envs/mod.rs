//! The console's picture of environments: what release.toml says of each (name, promotion
//! chain, approval), what its engine says runs there (folded from `EnvironmentStatus`), and the
//! latest operation on it (folded from `Operation*` events into a log like a stage's).
//!
//! ```text
//! EnvironmentStatus ─► EnvView { deployed, lock, error }        (panel rows)
//! OperationStarted/Log/SmokeChecked/Finished ─► OpView { log }   (log pane, spinner, notices)
//! PromotionPreview ─► Modal::Promote     ReleasesListed ─► Modal::Rollback
//! ```

mod actions;
mod fold;
mod ops;

use chrono::{DateTime, Local, Utc};

pub use self::ops::OpView;
use crate::config::Config;
use crate::engine::event::{CommitInfo, Deployed, LockHolder, ReleaseChoice, ReleaseRef};

/// How often the console re-reads what runs on each environment, so that what another
/// shipdeck process (or another operator) did shows up.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// What release.toml says of an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSpec {
    pub name: String,
    /// Shown in the theme's `production` style.
    pub production: bool,
    /// The environment it promotes from.
    pub promote_from: Option<String>,
    /// Promoting to it needs an approval (typing its name).
    pub approval: bool,
}

impl EnvSpec {
    /// Every environment of a release.toml, in its order.
    pub fn from_config(config: &Config) -> Vec<EnvSpec> {
        config
            .environments
            .iter()
            .map(|e| EnvSpec {
                name: e.name.clone(),
                production: e.approval || e.name == "production",
                promote_from: e.promote_from.clone(),
                approval: e.approval,
            })
            .collect()
    }

    /// A best guess from names and production flags alone (what `Chrome` knows): each
    /// environment promotes from the one before it; production ones need an approval. The
    /// engine's `PromotionPreview` corrects the guess.
    pub fn guessed(environments: &[(String, bool)]) -> Vec<EnvSpec> {
        environments
            .iter()
            .enumerate()
            .map(|(i, (name, production))| EnvSpec {
                name: name.clone(),
                production: *production,
                promote_from: i.checked_sub(1).map(|p| environments[p].0.clone()),
                approval: *production,
            })
            .collect()
    }
}

/// One environment as the console knows it.
#[derive(Debug)]
pub struct EnvView {
    pub spec: EnvSpec,
    /// The engine has answered for it at least once.
    pub loaded: bool,
    pub deployed: Option<Deployed>,
    pub lock: Option<LockHolder>,
    /// Its engine could not be asked: why.
    pub error: Option<String>,
    /// Asked of the engine, not started yet: "deploy a1b2c3d".
    pub requested: Option<String>,
    /// The latest operation on it in this session.
    pub op: Option<OpView>,
}

impl EnvView {
    pub fn new(spec: EnvSpec) -> EnvView {
        EnvView {
            spec,
            loaded: false,
            deployed: None,
            lock: None,
            error: None,
            requested: None,
            op: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// An operation of this console on it is asked for or running.
    pub fn busy(&self) -> bool {
        self.requested.is_some() || self.op.as_ref().is_some_and(OpView::is_running)
    }

    /// The commit running there, when known.
    pub fn commit(&self) -> Option<&str> {
        self.deployed.as_ref().map(|d| d.release.commit.as_str())
    }
}

/// The environments panel's model.
#[derive(Debug, Default)]
pub struct Environments {
    pub list: Vec<EnvView>,
    /// The selected row of the panel (`s` and `r` act on it, `p` promotes from it).
    pub selected: usize,
    /// `p` was pressed for this environment: its preview opens the approval modal.
    pub awaiting_preview: Option<String>,
    /// `r` was pressed for this environment: its releases open the picker.
    pub awaiting_releases: Option<String>,
}

impl Environments {
    pub fn new(specs: Vec<EnvSpec>) -> Environments {
        Environments {
            list: specs.into_iter().map(EnvView::new).collect(),
            ..Environments::default()
        }
    }

    pub fn get(&self, name: &str) -> Option<&EnvView> {
        self.list.iter().find(|e| e.name() == name)
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|e| e.name() == name)
    }

    /// The environment of an event; one release.toml did not name (it was edited since the
    /// console started) is added at the end.
    pub fn get_or_add(&mut self, name: &str) -> &mut EnvView {
        let i = match self.index(name) {
            Some(i) => i,
            None => {
                self.list.push(EnvView::new(EnvSpec {
                    name: name.to_string(),
                    production: name == "production",
                    promote_from: None,
                    approval: false,
                }));
                self.list.len() - 1
            }
        };
        &mut self.list[i]
    }

    pub fn selected(&self) -> Option<&EnvView> {
        self.list.get(self.selected)
    }

    pub fn selected_mut(&mut self) -> Option<&mut EnvView> {
        self.list.get_mut(self.selected)
    }

    pub fn select(&mut self, index: usize) {
        if !self.list.is_empty() {
            self.selected = index.min(self.list.len() - 1);
        }
    }

    /// Any operation asked for or running, for the spinner.
    pub fn busy(&self) -> bool {
        self.list.iter().any(EnvView::busy)
    }

    /// Where `p` promotes to: the environment that promotes from the selected one; else the
    /// selected one itself when it promotes from another; else the first that promotes at all.
    pub fn promote_target(&self) -> Option<usize> {
        let selected = self.selected()?;
        let from_selected = self
            .list
            .iter()
            .position(|e| e.spec.promote_from.as_deref() == Some(selected.name()));
        from_selected
            .or_else(|| selected.spec.promote_from.is_some().then_some(self.selected))
            .or_else(|| self.list.iter().position(|e| e.spec.promote_from.is_some()))
    }
}

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
}

impl PromoteModal {
    /// Whether Enter promotes now.
    pub fn ready(&self) -> bool {
        self.blocked.is_none() && self.candidate.is_some() && (!self.approval || self.typed == self.env)
    }
}

/// The releases an environment can go back to, one of them selected.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackPicker {
    pub env: String,
    /// Newest first.
    pub releases: Vec<ReleaseChoice>,
    /// Never a `current` one.
    pub selected: usize,
}

impl RollbackPicker {
    /// `None` when no release but the current one is offered.
    pub fn new(env: String, releases: Vec<ReleaseChoice>) -> Option<RollbackPicker> {
        let selected = releases.iter().position(|r| !r.current)?;
        Some(RollbackPicker {
            env,
            releases,
            selected,
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

/// `14:02:11` today, else `2024-03-01 14:02`, in local time.
pub fn local_time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (at, now) = (at.with_timezone(&Local), now.with_timezone(&Local));
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// An RFC 3339 label value as a time.
pub fn parse_time(rfc3339: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `alice@box (Alice <a@x>)` → `alice@box`: who, short enough for a panel.
pub fn short_operator(display: &str) -> &str {
    display.split(" (").next().unwrap_or(display)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, from: Option<&str>) -> EnvSpec {
        EnvSpec {
            name: name.into(),
            production: false,
            promote_from: from.map(String::from),
            approval: false,
        }
    }

    #[test]
    fn promote_follows_the_chain_from_the_selected_environment() {
        let mut envs = Environments::new(vec![
            spec("dev", None),
            spec("staging", Some("dev")),
            spec("production", Some("staging")),
        ]);
        assert_eq!(envs.promote_target(), Some(1), "dev → staging");
        envs.select(1);
        assert_eq!(envs.promote_target(), Some(2), "staging → production");
        envs.select(2);
        assert_eq!(
            envs.promote_target(),
            Some(2),
            "the end of the chain promotes into itself"
        );
    }

    #[test]
    fn guessed_specs_chain_environments_in_order() {
        let specs = EnvSpec::guessed(&[("staging".into(), false), ("production".into(), true)]);
        assert_eq!(specs[0].promote_from, None);
        assert_eq!(specs[1].promote_from.as_deref(), Some("staging"));
        assert!(specs[1].approval);
    }

    #[test]
    fn operators_are_shortened_to_user_at_host() {
        assert_eq!(short_operator("ada@box (Ada <ada@x>)"), "ada@box");
        assert_eq!(short_operator("ada@box"), "ada@box");
    }
}
