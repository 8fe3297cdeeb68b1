//! Folding the engine's environment events into the console: what runs where, operations and
//! their logs, and the previews and release lists that open the modals.

use std::sync::Arc;

use super::modals::with_current;
use super::ops::{Finished, Started};
use super::{parse_time, EnvSpec, OpView, PromoteModal, RollbackPicker, SwitchView};
use crate::config::Config;
use crate::deploy::{OpAction, OpOutcome, Refusal};
use crate::engine::event::ReleaseChoice;
use crate::engine::{Command, Event, EventGroup, NoticeLevel};
use crate::text::first_line;
use crate::ui::app::{App, Effect, Modal};
use crate::ui::model::EngineState;

impl App {
    /// Folds an environment event. Only what changes what is drawn marks the app dirty, so
    /// the periodic status reads do not redraw an idle console.
    pub(in crate::ui) fn apply_environment(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::EnvironmentStatus { .. } => self.apply_environment_status(event),
            Event::EnvironmentParts {
                env,
                accessories,
                processes,
                proxy,
            } => {
                if let Some(index) = self.envs.index(&env) {
                    let view = &mut self.envs.list[index];
                    self.dirty |= view.accessories != accessories || view.processes != processes || view.proxy != proxy;
                    view.accessories = accessories;
                    view.processes = processes;
                    view.proxy = proxy;
                }
            }
            Event::PromotionPreview { .. } | Event::ReleasesListed { .. } => self.apply_modal_answer(event),
            _ if event.group() == EventGroup::Operation => self.apply_operation(event),
            other => tracing::warn!("not an environment event: {other:?}"),
        }
        Vec::new()
    }

    /// What runs on an environment, its lock and its last smoke checks, as read from its engine.
    fn apply_environment_status(&mut self, event: Event) {
        let Event::EnvironmentStatus {
            env,
            deployed,
            lock,
            error,
            smoke,
        } = event
        else {
            return;
        };
        // One release.toml no longer names (a read under way when it changed): gone.
        let Some(index) = self.envs.index(&env) else {
            return;
        };
        let view = &mut self.envs.list[index];
        let smoke_before = view.smoke_passed();
        let changed = !view.loaded || view.deployed != deployed || view.lock != lock || view.error != error;
        view.loaded = true;
        view.deployed = deployed;
        view.lock = lock;
        view.error = error;
        if view.error.is_none() {
            view.status_smoke(smoke);
        }
        self.dirty |= changed || smoke_before != view.smoke_passed();
    }

    /// An operation on an environment starts, logs, smoke-checks or ends.
    fn apply_operation(&mut self, event: Event) {
        match event {
            Event::OperationStarted {
                op,
                env,
                action,
                from,
                to,
                by,
                approval,
                forced,
                at,
                ..
            } => {
                let started = Started {
                    op,
                    env: &env,
                    action,
                    from: from.as_ref(),
                    to: to.as_ref(),
                    by: &by,
                    approval: approval.as_deref(),
                    forced,
                    at,
                };
                let view = self.envs.get_or_add(&env);
                view.requested = None;
                match view.op.as_mut().filter(|o| o.is_running()) {
                    Some(running) => running.nest(&started),
                    None => {
                        view.op = Some(OpView::start(&started));
                        view.switch = None;
                    }
                }
                self.dirty = true;
            }
            Event::OperationLog { op, env, lines } => {
                if let Some(view) = self.op_mut(&env, op) {
                    view.progress(&lines);
                    self.dirty = true;
                }
            }
            // Only a step of this console's operation there (or the rollback inside it).
            Event::SwitchProgress { op, env, step } if self.op_mut(&env, op).is_some() => {
                if let Some(index) = self.envs.index(&env) {
                    SwitchView::fold(&mut self.envs.list[index].switch, op, step);
                    self.dirty = true;
                }
            }
            Event::SmokeChecked {
                op,
                env,
                release,
                result,
                ..
            } => {
                if let Some(view) = self.op_mut(&env, op) {
                    view.smoke(&result);
                    self.dirty = true;
                }
                if let Some(index) = self.envs.index(&env) {
                    self.envs.list[index].smoke_checked(op, &release.image_id, result.passed);
                }
            }
            Event::LoadTested { op, env, result, .. } => {
                if let Some(view) = self.op_mut(&env, op) {
                    view.progress(&[crate::deploy::phrases::load_line(&result)]);
                    self.dirty = true;
                }
            }
            Event::OperationFinished {
                op,
                env,
                action,
                outcome,
                message,
                logs,
                refusal,
                duration_ms,
                ..
            } => {
                let finished = Finished {
                    op,
                    action,
                    outcome,
                    message: &message,
                    logs: &logs,
                    duration_ms,
                };
                let ended = self
                    .op_mut(&env, op)
                    .and_then(|view| view.finish(&finished).then(|| view.rollback_notice(&env)));
                match ended {
                    Some(Some(loud)) => self.notify(NoticeLevel::Error, loud),
                    Some(None) => self.notify_finished(&env, action, outcome, refusal, &message),
                    // Refused before it started in this console's view: still said.
                    None if outcome == OpOutcome::Refused => {
                        if let Some(index) = self.envs.index(&env) {
                            self.envs.list[index].requested = None;
                        }
                        self.notify_finished(&env, action, outcome, refusal, &message);
                    }
                    None => {}
                }
                self.dirty = true;
            }
            _ => {}
        }
    }

    /// The answers that open a modal: a promotion's preview, the releases to roll back to.
    fn apply_modal_answer(&mut self, event: Event) {
        match event {
            Event::PromotionPreview {
                env,
                source,
                current,
                candidate,
                commits,
                approval,
                blocked,
            } => {
                let Some(index) = self.envs.index(&env) else {
                    return;
                };
                // The engine knows the chain: the console's guess gives way to it.
                let view = &mut self.envs.list[index];
                view.spec.promote_from = Some(source.clone()).filter(|s| !s.is_empty());
                view.spec.approval = approval;
                if self.envs.awaiting_preview.as_deref() == Some(env.as_str()) {
                    self.envs.awaiting_preview = None;
                    if source.is_empty() {
                        self.notify(NoticeLevel::Info, format!("nothing to promote to from {env}"));
                    } else if self.modal.is_none() {
                        self.modal = Some(Modal::Promote(Box::new(PromoteModal {
                            env,
                            source,
                            current,
                            candidate,
                            commits,
                            approval,
                            blocked,
                            typed: String::new(),
                            mismatch: false,
                        })));
                        self.dirty = true;
                    }
                }
            }
            Event::ReleasesListed {
                env,
                releases,
                approval,
            } if self.envs.awaiting_releases.as_deref() == Some(env.as_str()) => {
                self.envs.awaiting_releases = None;
                // The engine knows the gates (HEAD's): the console's guess gives way to it.
                if let Some(index) = self.envs.index(&env) {
                    self.envs.list[index].spec.approval = approval;
                }
                let releases = match self.envs.get(&env) {
                    Some(view) => {
                        let running = view.deployed.as_ref().map(|d| ReleaseChoice {
                            release: d.release.clone(),
                            deployed_at: parse_time(&d.deployed_at),
                            by: Some(d.deployed_by.clone()),
                            smoke: view.smoke_passed(),
                            current: true,
                            run: None,
                            schema_behind: false,
                        });
                        with_current(releases, running)
                    }
                    None => releases,
                };
                match RollbackPicker::new(env.clone(), releases, approval) {
                    Some(picker) if self.modal.is_none() => self.modal = Some(Modal::Rollback(picker)),
                    Some(_) => {}
                    None => self.notify(NoticeLevel::Info, format!("no earlier release of {env} on its engine")),
                }
                self.dirty = true;
            }
            _ => {}
        }
    }

    /// The operation view an event of operation `op` on `env` belongs to.
    fn op_mut(&mut self, env: &str, op: crate::engine::OpId) -> Option<&mut OpView> {
        let index = self.envs.index(env)?;
        self.envs.list[index]
            .op
            .as_mut()
            .filter(|o| o.id == op || o.running.contains(&op))
    }

    /// release.toml changed and is valid: the environments become those it names, and what
    /// runs on them is read again at once.
    pub(in crate::ui) fn reload_environments(&mut self, config: &Arc<Config>) -> Vec<Effect> {
        self.envs.reconcile(EnvSpec::from_config(config));
        let gone = |env: &str| self.envs.index(env).is_none();
        let modal_gone = match &self.modal {
            Some(Modal::Promote(m)) => gone(&m.env),
            Some(Modal::Rollback(p)) => gone(&p.env),
            _ => false,
        };
        if modal_gone {
            self.modal = None;
        }
        self.dirty = true;
        match self.engine {
            EngineState::Up { .. } if !self.envs.list.is_empty() => vec![Effect::Engine(Command::LoadEnvironments)],
            _ => Vec::new(),
        }
    }

    /// A notice when an operation ends (an automatic rollback has its own, see
    /// [`OpView::rollback_notice`]); a refusal in the failure colour, with why.
    fn notify_finished(
        &mut self,
        env: &str,
        action: OpAction,
        outcome: OpOutcome,
        refusal: Option<Refusal>,
        message: &str,
    ) {
        let action = action.as_str().replace('_', "-");
        let message = first_line(message);
        let (level, text) = match outcome {
            OpOutcome::Succeeded | OpOutcome::Unchanged => (NoticeLevel::Info, format!("✓ {action} {env}: {message}")),
            OpOutcome::Refused => {
                let why = match refusal {
                    Some(Refusal::Locked) => " (locked)",
                    Some(Refusal::SmokeGate) => " (smoke gate)",
                    Some(Refusal::ScanGate) => " (scan gate)",
                    Some(Refusal::Approval) => " (needs approval)",
                    Some(Refusal::Gated) => " (promotion only)",
                    Some(Refusal::Engine) => " (engine unreachable)",
                    Some(Refusal::NoRelease) => " (nothing to do)",
                    Some(Refusal::Usage) | None => "",
                };
                (NoticeLevel::Error, format!("⊘ {action} {env} refused{why}: {message}"))
            }
            OpOutcome::RolledBack => (
                NoticeLevel::Error,
                format!("⚠ {env} ROLLED BACK automatically: {message}"),
            ),
            OpOutcome::Failed | OpOutcome::Interrupted | OpOutcome::Running => {
                (NoticeLevel::Error, format!("✗ {action} {env} failed: {message}"))
            }
        };
        self.notify(level, text);
    }
}
