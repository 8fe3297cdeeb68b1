//! The release keys: `d` deploys the selected run's release to the first environment, `s`
//! smoke-checks, `p` promotes along `promote_from` (through the approval modal), `r` opens the
//! rollback picker; and what the footer offers as the next step.

use super::EnvView;
use crate::deploy::OpAction;
use crate::engine::{Command, NoticeLevel};
use crate::model::RunStatus;
use crate::ui::action::Action;
use crate::ui::app::{App, Effect, Modal, ModalInput, PanelCommand};
use crate::ui::model::EngineState;

/// What the environments panel offers in the footer: the release keys below, then leaving.
pub(in crate::ui) const COMMANDS: &[PanelCommand] = &[
    PanelCommand::new(Action::Down),
    PanelCommand::new(Action::Smoke),
    PanelCommand::new(Action::Promote),
    PanelCommand::new(Action::Rollback),
    PanelCommand::new(Action::Deploy),
    PanelCommand::new(Action::FocusNext),
    PanelCommand::new(Action::Help),
    PanelCommand::new(Action::Quit),
];

impl App {
    /// `d`: the selected run's release to the first environment.
    pub(in crate::ui) fn deploy_selected(&mut self) -> Vec<Effect> {
        let Some(env) = self.envs.list.first().map(|e| e.name().to_string()) else {
            return self.no_environments();
        };
        let Some(run) = self.selected_run() else {
            self.hint("select a green run: d deploys the release it built");
            return Vec::new();
        };
        let (number, short) = (run.number, run.short.clone());
        let refusal = match (run.status, &run.image_tag) {
            (RunStatus::Success, Some(_)) => None,
            (RunStatus::Success, None) => Some(format!(
                "run #{number} built no image (no stage with a `dockerfile`): nothing to deploy"
            )),
            (RunStatus::Queued | RunStatus::Running, _) => {
                Some(format!("run #{number} is still running: deploy it once it is green"))
            }
            (status, _) => Some(format!(
                "run #{number} {}: only a green run's release can be deployed",
                status.as_str()
            )),
        };
        if let Some(why) = refusal {
            self.notify(NoticeLevel::Warning, why);
            return Vec::new();
        }
        // By run, not by commit: two runs of one commit are two releases (two images).
        self.request(
            0,
            format!("deploy {short}"),
            Command::Deploy {
                env,
                release: Some(format!("#{number}")),
                force: false,
                approval: None,
            },
        )
    }

    /// `s`: the selected environment's smoke checks against what runs there.
    pub(in crate::ui) fn smoke_selected(&mut self) -> Vec<Effect> {
        let Some(view) = self.envs.selected() else {
            return self.no_environments();
        };
        let env = view.name().to_string();
        if view.loaded && view.error.is_none() && view.deployed.is_none() {
            self.notify(
                NoticeLevel::Info,
                format!("nothing runs on {env}: deploy a release first"),
            );
            return Vec::new();
        }
        self.request(
            self.envs.selected,
            "smoke-checking".into(),
            Command::Smoke { env, force: false },
        )
    }

    /// `p`: asks the engine what promoting would change; its answer opens the modal.
    pub(in crate::ui) fn promote_next(&mut self) -> Vec<Effect> {
        if self.envs.list.is_empty() {
            return self.no_environments();
        }
        let Some(target) = self.envs.promote_target() else {
            let from = self.envs.selected().map(|e| e.name().to_string()).unwrap_or_default();
            self.notify(NoticeLevel::Info, format!("nothing to promote to from {from}"));
            return Vec::new();
        };
        if !self.engine_up() || self.refuse_busy(target) {
            return Vec::new();
        }
        let env = self.envs.list[target].name().to_string();
        self.envs.awaiting_preview = Some(env.clone());
        vec![Effect::Engine(Command::PreviewPromotion { env })]
    }

    /// `r`: asks for the releases the selected environment can go back to.
    pub(in crate::ui) fn rollback_selected(&mut self) -> Vec<Effect> {
        let Some(view) = self.envs.selected() else {
            return self.no_environments();
        };
        let env = view.name().to_string();
        if !self.engine_up() || self.refuse_busy(self.envs.selected) {
            return Vec::new();
        }
        self.envs.awaiting_releases = Some(env.clone());
        vec![Effect::Engine(Command::LoadReleases { env })]
    }

    /// Keys typed in the approval modal.
    pub(in crate::ui) fn promote_input(&mut self, input: ModalInput) -> Vec<Effect> {
        let Some(Modal::Promote(modal)) = &mut self.modal else {
            return Vec::new();
        };
        match input {
            ModalInput::Esc => self.modal = None,
            ModalInput::Char(c) if modal.needs_name() => {
                modal.typed.push(c);
                modal.mismatch = false;
            }
            ModalInput::Backspace => {
                modal.typed.pop();
                modal.mismatch = false;
            }
            ModalInput::Enter if modal.needs_name() && modal.typed != modal.env => modal.mismatch = true,
            ModalInput::Enter if modal.ready() => {
                let env = modal.env.clone();
                let approval = modal.approval.then(|| format!("typed {env}"));
                let short = modal
                    .candidate
                    .as_ref()
                    .map(|c| c.short_commit.clone())
                    .unwrap_or_default();
                self.modal = None;
                let index = self.envs.index(&env).unwrap_or(self.envs.selected);
                return self.request(
                    index,
                    format!("promote {short}"),
                    Command::Promote {
                        env,
                        force: false,
                        approval,
                    },
                );
            }
            _ => {}
        }
        Vec::new()
    }

    /// Keys in the rollback picker; on an environment that wants an approval, a chosen release
    /// waits for the environment's name.
    pub(in crate::ui) fn rollback_input(&mut self, input: ModalInput) -> Vec<Effect> {
        let Some(Modal::Rollback(picker)) = &mut self.modal else {
            return Vec::new();
        };
        if picker.confirming {
            match input {
                ModalInput::Esc => {
                    picker.confirming = false;
                    picker.typed.clear();
                    picker.mismatch = false;
                }
                ModalInput::Char(c) => {
                    picker.typed.push(c);
                    picker.mismatch = false;
                }
                ModalInput::Backspace => {
                    picker.typed.pop();
                    picker.mismatch = false;
                }
                ModalInput::Enter if picker.typed != picker.env => picker.mismatch = true,
                ModalInput::Enter => return self.roll_back_to_chosen(),
                ModalInput::Up | ModalInput::Down => {}
            }
            return Vec::new();
        }
        match input {
            ModalInput::Esc | ModalInput::Char('q') => self.modal = None,
            ModalInput::Up | ModalInput::Char('k') => picker.step(false),
            ModalInput::Down | ModalInput::Char('j') => picker.step(true),
            ModalInput::Enter if picker.chosen().is_none() => {}
            ModalInput::Enter if picker.approval => picker.confirming = true,
            ModalInput::Enter => return self.roll_back_to_chosen(),
            _ => {}
        }
        Vec::new()
    }

    /// Sends the rollback to the picker's chosen release.
    fn roll_back_to_chosen(&mut self) -> Vec<Effect> {
        let Some(Modal::Rollback(picker)) = &self.modal else {
            return Vec::new();
        };
        let Some(chosen) = picker.chosen() else {
            return Vec::new();
        };
        // By image ID: the exact release chosen, whatever other releases its commit has.
        let (env, image, short) = (
            picker.env.clone(),
            chosen.release.image_id.clone(),
            chosen.release.short_commit.clone(),
        );
        // The name was typed to confirm it (environments with `approval`).
        let approval = picker.approval.then(|| format!("typed {env}"));
        self.modal = None;
        let index = self.envs.index(&env).unwrap_or(self.envs.selected);
        self.request(
            index,
            format!("roll back to {short}"),
            Command::Rollback {
                env,
                to: Some(image),
                force: false,
                approval,
            },
        )
    }

    /// The next step of a release, for the footer: deploy a green run's release to the first
    /// environment (or, when it just failed its smoke checks there, roll that back), or promote
    /// what passed on one environment to the next.
    pub fn next_step(&self) -> Option<(Action, String)> {
        if self.envs.busy() || self.modal.is_some() {
            return None;
        }
        let first = self.envs.list.first()?;
        if let Some(run) = self
            .selected_run()
            .filter(|r| r.status == RunStatus::Success && r.image_tag.is_some())
        {
            // Where the run's release just failed (its smoke checks, or the operation that put
            // it there), it is never offered again, to that environment or the first: where it
            // still runs and is selected, rolling back is the step.
            let failed_on = |env: &EnvView| {
                env.smoke.as_ref().is_some_and(|v| {
                    env.commit() == Some(run.commit.as_str()) && env.image() == Some(v.image.as_str()) && !v.passed
                }) || env.op.as_ref().is_some_and(|op| {
                    !op.outcome.is_ok()
                        && !op.is_running()
                        && op.release.as_ref().is_some_and(|r| r.commit == run.commit)
                })
            };
            if self.envs.list.iter().any(failed_on) {
                return self
                    .envs
                    .selected()
                    .filter(|env| failed_on(env) && env.commit() == Some(run.commit.as_str()))
                    .map(|env| {
                        (
                            Action::Rollback,
                            format!("roll back {} ({} failed)", env.name(), run.short),
                        )
                    });
            }
            if first.loaded && first.commit() != Some(run.commit.as_str()) {
                return Some((Action::Deploy, format!("deploy {} → {}", run.short, first.name())));
            }
        }
        // A release that failed its smoke checks on the selected environment: roll it back.
        if let Some(env) = self.envs.selected().filter(|e| e.smoke_passed() == Some(false)) {
            return Some((Action::Rollback, format!("roll back {}", env.name())));
        }
        // After a deploy or smoke check went well on an environment whose successor in the
        // chain runs another release: promote.
        self.envs.list.iter().find_map(|source| {
            let op = source.op.as_ref()?;
            let went_well =
                op.outcome.is_ok() && !op.rolled_back && !op.is_running() && source.smoke_passed() != Some(false);
            let step = matches!(op.action, OpAction::Deploy | OpAction::Smoke | OpAction::Promote);
            let release = &source.deployed.as_ref().filter(|_| went_well && step)?.release;
            let target = self
                .envs
                .list
                .iter()
                .find(|t| t.spec.promote_from.as_deref() == Some(source.name()))?;
            (target.loaded && target.commit() != Some(release.commit.as_str())).then(|| {
                (
                    Action::Promote,
                    format!("promote {} → {}", release.short_commit, target.name()),
                )
            })
        })
    }

    /// Refuses up front an operation on an environment that has one under way.
    fn refuse_busy(&mut self, index: usize) -> bool {
        let Some(view) = self.envs.list.get(index).filter(|v| v.busy()) else {
            return false;
        };
        let env = view.name().to_string();
        self.notify(
            NoticeLevel::Info,
            format!("an operation on {env} is already under way: wait for it to finish"),
        );
        true
    }

    /// Sends an operation's command, selecting its environment and showing its log.
    fn request(&mut self, index: usize, what: String, command: Command) -> Vec<Effect> {
        if !self.engine_up() {
            return Vec::new();
        }
        if index >= self.envs.list.len() || self.refuse_busy(index) {
            return Vec::new();
        }
        self.envs.list[index].requested = Some(what);
        self.envs.select(index);
        self.env_log = true;
        vec![Effect::Engine(command)]
    }

    fn engine_up(&mut self) -> bool {
        if matches!(self.engine, EngineState::Down { .. }) {
            self.notify(NoticeLevel::Error, "the Docker engine is not reachable: see the header");
            return false;
        }
        true
    }

    fn no_environments(&mut self) -> Vec<Effect> {
        let why = if self.config_error.is_some() {
            "release.toml is invalid: fix it to deploy (see the header)"
        } else {
            "release.toml defines no environment: add [environments.staging]"
        };
        self.notify(NoticeLevel::Info, why);
        Vec::new()
    }
}
