//! The console's picture of environments: what release.toml says of each (name, promotion
//! chain, approval), what its engine says runs there (folded from `EnvironmentStatus`), and the
//! latest operation on it (folded from `Operation*` events into a log like a stage's).
//!
//! ```text
//! EnvironmentStatus ─► EnvView { deployed, lock, error }        (panel rows)
//! OperationStarted/Log/SmokeChecked/Finished ─► OpView { log }   (log pane, spinner, notices)
//! SwitchProgress ─► SwitchView { overlap, smoke, moved, drain }   (panel rows)
//! PromotionPreview ─► Modal::Promote     ReleasesListed ─► Modal::Rollback
//! ```

mod actions;
mod fold;
mod modals;
mod ops;
mod switch;

use chrono::{DateTime, Local, Utc};

pub(in crate::ui) use self::actions::COMMANDS;
pub use self::modals::{PromoteModal, RollbackPicker};
pub use self::ops::OpView;
pub use self::switch::SwitchView;
use crate::config::Config;
use crate::engine::event::{Deployed, LockHolder};
use crate::engine::OpId;

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
    /// The last smoke verdict known for a release there: from the history (with its status),
    /// or from the checks of an operation of this session.
    pub smoke: Option<SmokeVerdict>,
    /// Its accessories and the processes of its release, as its engine last said.
    pub accessories: Vec<crate::deploy::accessories::PartState>,
    pub processes: Vec<crate::deploy::accessories::PartState>,
    /// Its proxy (strategy `proxy`), as its engine last said.
    pub proxy: Option<crate::deploy::accessories::PartState>,
    /// The switch of the operation under way, step by step (strategy `proxy`).
    pub switch: Option<SwitchView>,
}

/// How a release's smoke checks went on an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeVerdict {
    /// The release's image ID (one commit may have several releases).
    pub image: String,
    pub passed: bool,
    /// The operation whose checks gave it (its checks add up), if one of this session did.
    pub op: Option<OpId>,
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
            smoke: None,
            accessories: Vec::new(),
            processes: Vec::new(),
            proxy: None,
            switch: None,
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

    /// A release runs there whose smoke checks never passed against its container (the
    /// engine has no verdict for it, nor has an operation of this session), and nothing is
    /// under way that would check it.
    pub fn unverified(&self) -> bool {
        self.loaded && self.error.is_none() && self.deployed.is_some() && self.smoke_passed().is_none() && !self.busy()
    }

    /// The image ID of the release running there, when known.
    pub fn image(&self) -> Option<&str> {
        self.deployed.as_ref().map(|d| d.release.image_id.as_str())
    }

    /// The smoke verdict on the release running there: passed, failed, or unknown.
    pub fn smoke_passed(&self) -> Option<bool> {
        let image = self.image()?;
        self.smoke.as_ref().filter(|v| v.image == image).map(|v| v.passed)
    }

    /// Folds one smoke check of operation `op` on the release with image `image`: the checks
    /// of one operation add up (one failure fails them all); another operation starts afresh.
    pub fn smoke_checked(&mut self, op: OpId, image: &str, passed: bool) {
        let before = self
            .smoke
            .as_ref()
            .filter(|v| v.op == Some(op) && v.image == image)
            .is_none_or(|v| v.passed);
        self.smoke = Some(SmokeVerdict {
            image: image.to_string(),
            passed: before && passed,
            op: Some(op),
        });
    }

    /// What the engine's status says of the smoke checks against the running container; with
    /// none (unverified) a verdict of this session's checks on the same release is kept (the
    /// engine's copy of it may have failed to be written), an earlier one the engine gave is not.
    pub fn status_smoke(&mut self, smoke: Option<bool>) {
        let Some(image) = self.image().map(str::to_string) else {
            self.smoke = None;
            return;
        };
        self.smoke = match smoke {
            Some(passed) => Some(SmokeVerdict {
                image,
                passed,
                op: None,
            }),
            None => self.smoke.take().filter(|v| v.image == image && v.op.is_some()),
        };
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
    /// selected one itself when it promotes from another; else nowhere.
    pub fn promote_target(&self) -> Option<usize> {
        let selected = self.selected()?;
        let from_selected = self
            .list
            .iter()
            .position(|e| e.spec.promote_from.as_deref() == Some(selected.name()));
        from_selected.or_else(|| selected.spec.promote_from.is_some().then_some(self.selected))
    }

    /// release.toml changed: the environments become those it names, in its order. Those
    /// still there keep what the console knows of them; the others go, and so do the
    /// previews and release lists asked for them. The selection stays on its environment
    /// when it is still there.
    pub fn reconcile(&mut self, specs: Vec<EnvSpec>) {
        let selected = self.selected().map(|e| e.name().to_string());
        let mut old = std::mem::take(&mut self.list);
        self.list = specs
            .into_iter()
            .map(|spec| match old.iter().position(|e| e.name() == spec.name) {
                Some(i) => {
                    let mut view = old.swap_remove(i);
                    view.spec = spec;
                    view
                }
                None => EnvView::new(spec),
            })
            .collect();
        self.selected = selected
            .and_then(|name| self.index(&name))
            .unwrap_or(self.selected)
            .min(self.list.len().saturating_sub(1));
        if self
            .awaiting_preview
            .as_deref()
            .is_some_and(|e| self.index(e).is_none())
        {
            self.awaiting_preview = None;
        }
        if self
            .awaiting_releases
            .as_deref()
            .is_some_and(|e| self.index(e).is_none())
        {
            self.awaiting_releases = None;
        }
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
        let mut alone = Environments::new(vec![spec("dev", None), spec("qa", None)]);
        alone.select(1);
        assert_eq!(alone.promote_target(), None, "nothing promotes from qa");
    }

    #[test]
    fn reconciling_keeps_what_is_still_there_and_the_selection() {
        let mut envs = Environments::new(vec![spec("dev", None), spec("staging", None), spec("qa", None)]);
        envs.list[1].loaded = true;
        envs.select(1);
        envs.awaiting_releases = Some("qa".into());
        envs.reconcile(vec![spec("staging", Some("dev")), spec("production", Some("staging"))]);
        let names: Vec<&str> = envs.list.iter().map(EnvView::name).collect();
        assert_eq!(names, ["staging", "production"]);
        assert!(envs.list[0].loaded, "staging keeps its state");
        assert_eq!(
            envs.list[0].spec.promote_from.as_deref(),
            Some("dev"),
            "and takes its new spec"
        );
        assert_eq!(envs.selected().unwrap().name(), "staging");
        assert_eq!(envs.awaiting_releases, None);
        envs.select(1);
        envs.reconcile(vec![spec("staging", None)]);
        assert_eq!(envs.selected, 0, "a removed selection falls back inside the list");
    }

    #[test]
    fn smoke_checks_of_one_operation_add_up_and_the_status_can_override() {
        let mut view = EnvView::new(spec("staging", None));
        assert_eq!(view.smoke_passed(), None);
        view.smoke_checked(1, "aaa", true);
        view.smoke_checked(1, "aaa", false);
        view.smoke_checked(1, "aaa", true);
        assert_eq!(view.smoke.as_ref().map(|v| v.passed), Some(false));
        view.smoke_checked(2, "aaa", true);
        assert_eq!(
            view.smoke.as_ref().map(|v| v.passed),
            Some(true),
            "a new operation starts afresh"
        );
        view.status_smoke(None);
        assert_eq!(view.smoke, None, "nothing runs there");
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
