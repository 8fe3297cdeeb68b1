//! Folding the engine's environment events into the console: what runs where, operations and
//! their logs, and the previews and release lists that open the modals.

use super::ops::{Finished, Started};
use super::{OpView, PromoteModal, RollbackPicker};
use crate::deploy::{OpAction, OpOutcome};
use crate::engine::{Event, NoticeLevel};
use crate::ui::app::{first_line, App, Effect, Modal};

impl App {
    /// Folds an environment event. Only what changes what is drawn marks the app dirty, so
    /// the periodic status reads do not redraw an idle console.
    pub(in crate::ui) fn apply_environment(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::EnvironmentStatus {
                env,
                deployed,
                lock,
                error,
                ..
            } => {
                let view = self.envs.get_or_add(&env);
                let changed = !view.loaded || view.deployed != deployed || view.lock != lock || view.error != error;
                view.loaded = true;
                view.deployed = deployed;
                view.lock = lock;
                view.error = error;
                self.dirty |= changed;
            }
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
                    None => view.op = Some(OpView::start(&started)),
                }
                self.dirty = true;
            }
            Event::OperationLog { op, env, lines } => {
                if let Some(view) = self.op_mut(&env, op) {
                    view.progress(&lines);
                    self.dirty = true;
                }
            }
            Event::SmokeChecked { op, env, result, .. } => {
                if let Some(view) = self.op_mut(&env, op) {
                    view.smoke(&result);
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
                    Some(None) => self.notify_finished(&env, action, outcome, &message),
                    None => {}
                }
                self.dirty = true;
            }
            Event::PromotionPreview {
                env,
                source,
                current,
                candidate,
                commits,
                approval,
                blocked,
            } => {
                // The engine knows the chain: the console's guess gives way to it.
                let view = self.envs.get_or_add(&env);
                view.spec.promote_from = Some(source.clone());
                view.spec.approval = approval;
                if self.envs.awaiting_preview.as_deref() == Some(env.as_str()) {
                    self.envs.awaiting_preview = None;
                    if self.modal.is_none() {
                        self.modal = Some(Modal::Promote(Box::new(PromoteModal {
                            env,
                            source,
                            current,
                            candidate,
                            commits,
                            approval,
                            blocked,
                            typed: String::new(),
                        })));
                        self.dirty = true;
                    }
                }
            }
            Event::ReleasesListed { env, releases } => {
                if self.envs.awaiting_releases.as_deref() == Some(env.as_str()) {
                    self.envs.awaiting_releases = None;
                    match RollbackPicker::new(env.clone(), releases) {
                        Some(picker) if self.modal.is_none() => self.modal = Some(Modal::Rollback(picker)),
                        Some(_) => {}
                        None => self.notify(NoticeLevel::Info, format!("no earlier release of {env} on its engine")),
                    }
                    self.dirty = true;
                }
            }
            other => {
                tracing::warn!("not an environment event: {other:?}");
            }
        }
        Vec::new()
    }

    /// The operation view an event of operation `op` on `env` belongs to.
    fn op_mut(&mut self, env: &str, op: crate::engine::OpId) -> Option<&mut OpView> {
        let index = self.envs.index(env)?;
        self.envs.list[index]
            .op
            .as_mut()
            .filter(|o| o.id == op || o.running.contains(&op))
    }

    /// A notice when an operation ends (an automatic rollback has its own, see
    /// [`OpView::rollback_notice`]).
    fn notify_finished(&mut self, env: &str, action: OpAction, outcome: OpOutcome, message: &str) {
        let action = action.as_str().replace('_', "-");
        let message = first_line(message);
        let (level, text) = match outcome {
            OpOutcome::Succeeded | OpOutcome::Unchanged => (NoticeLevel::Info, format!("✓ {action} {env}: {message}")),
            OpOutcome::Refused => (NoticeLevel::Warning, format!("⊘ {action} {env} refused: {message}")),
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
