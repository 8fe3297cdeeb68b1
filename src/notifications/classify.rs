//! Which recorded events are news, and what they say: the recorder calls [`Tap::observe`] on
//! every event after recording it (so the history already holds the run that just finished),
//! and the tap queues a [`Notification`] for the outbox without waiting.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc;

use super::{Job, Notification};
use crate::config::{Config, NotifyEvent};
use crate::deploy::{OpAction, OpOutcome, Operator, ReleaseRef};
use crate::engine::{Event, OpId};
use crate::model::{RunStatus, StageStatus};
use crate::store::Store;

/// What an operation was, from its start, until it finishes.
struct OpStart {
    env: String,
    action: OpAction,
    to: Option<ReleaseRef>,
    from: Option<ReleaseRef>,
    by: Operator,
    run: Option<crate::store::RunNumber>,
}

/// The recorder's side: classifies events, queues notifications.
pub struct Tap {
    app: String,
    outbox: mpsc::Sender<Job>,
    ops: HashMap<OpId, OpStart>,
    /// Set when a notification had to be dropped, so the warning is said once per burst.
    dropped: bool,
}

impl Tap {
    pub fn new(app: String, outbox: mpsc::Sender<Job>) -> Tap {
        Tap {
            app,
            outbox,
            ops: HashMap::new(),
            dropped: false,
        }
    }

    /// Looks at one recorded event; queues what channels may want of it. Returns a warning
    /// when a notification could not be queued (the outbox is full or gone).
    pub fn observe(&mut self, store: &Store, event: &Event) -> Option<String> {
        if let Event::ConfigReloaded {
            config: Some(config), ..
        } = event
        {
            self.app = config.app.name.clone();
            return self.queue(Job::Configure(config.clone()));
        }
        let notification = match event {
            Event::RunFinished { run, status, .. } => self.run_finished(store, *run, *status),
            Event::OperationStarted {
                op,
                env,
                action,
                from,
                to,
                run,
                by,
                ..
            } => {
                let start = OpStart {
                    env: env.clone(),
                    action: *action,
                    to: to.clone(),
                    from: from.clone(),
                    by: by.clone(),
                    run: *run,
                };
                self.ops.insert(*op, start);
                None
            }
            Event::OperationFinished {
                op, outcome, message, ..
            } => self
                .ops
                .remove(op)
                .and_then(|start| self.operation(start, *outcome, message)),
            Event::PromotionPreview {
                env,
                candidate: Some(candidate),
                approval: true,
                blocked: None,
                source,
                ..
            } => Some(self.note(
                NotifyEvent::ApprovalWaiting,
                Some(env),
                format!(
                    "{}: promotion of {} from {source} to {env} waits for approval",
                    self.app, candidate.short_commit
                ),
                format!(
                    "{} \"{}\" is ready to promote; someone is asked to approve it in the console",
                    candidate.short_commit, candidate.subject
                ),
            )),
            _ => None,
        }?;
        self.queue(Job::Send(Box::new(notification)))
    }

    fn queue(&mut self, job: Job) -> Option<String> {
        match self.outbox.try_send(job) {
            Ok(()) => {
                self.dropped = false;
                None
            }
            Err(_) if self.dropped => None,
            Err(_) => {
                self.dropped = true;
                Some("notifications are behind: one was dropped (the channels answer too slowly)".into())
            }
        }
    }

    fn note(&self, event: NotifyEvent, env: Option<&str>, title: String, text: String) -> Notification {
        Notification {
            event,
            app: self.app.clone(),
            environment: env.map(str::to_string),
            title,
            text,
            run: None,
            commit: None,
            branch: None,
            by: None,
            at: Utc::now(),
            test: false,
        }
    }

    /// `run_failed`, or `run_fixed` when the branch's previous finished run had failed. Runs
    /// of saved files (the working tree, not a commit) are not news.
    fn run_finished(&self, store: &Store, run: crate::store::RunNumber, status: RunStatus) -> Option<Notification> {
        let record = store.run(run).ok().flatten()?;
        if record.trigger.starts_with("save") {
            return None;
        }
        let event = match status {
            RunStatus::Failed => NotifyEvent::RunFailed,
            RunStatus::Success => {
                let previous = store
                    .previous_finished_run(&record.app, record.branch.as_deref(), run)
                    .ok()
                    .flatten();
                if previous != Some(RunStatus::Failed) {
                    return None;
                }
                NotifyEvent::RunFixed
            }
            _ => return None,
        };
        let on = record.branch.as_deref().map(|b| format!(" on {b}")).unwrap_or_default();
        let verb = if event == NotifyEvent::RunFailed {
            "failed"
        } else {
            "fixed"
        };
        let mut n = self.note(
            event,
            None,
            format!("{}: run #{run}{on} {verb} ({})", record.app, record.short_commit),
            format!("{} \"{}\" by {}", record.short_commit, record.subject, record.author),
        );
        if event == NotifyEvent::RunFailed {
            if let Ok(stages) = store.stages(run) {
                let failed: Vec<String> = stages
                    .iter()
                    .filter(|s| matches!(s.status, StageStatus::Failed | StageStatus::TimedOut))
                    .map(|s| match &s.message {
                        Some(m) => format!("{}: {m}", s.name),
                        None => s.name.clone(),
                    })
                    .collect();
                if !failed.is_empty() {
                    n.text.push_str(&format!("\nfailed: {}", failed.join("; ")));
                }
            }
        }
        n.app = record.app;
        n.run = Some(run);
        n.commit = Some(record.commit);
        n.branch = record.branch;
        Some(n)
    }

    fn operation(&self, start: OpStart, outcome: OpOutcome, message: &str) -> Option<Notification> {
        use OpAction as A;
        use OpOutcome as O;
        let event = match (start.action, outcome) {
            (A::Smoke, O::Refused) | (A::Deploy | A::Promote | A::Rollback | A::AutoRollback, O::Refused) => {
                NotifyEvent::Refused
            }
            (A::Smoke, _) => return None,
            (A::AutoRollback, O::Succeeded | O::Failed | O::Interrupted | O::RolledBack) => NotifyEvent::AutoRollback,
            (A::Deploy | A::Promote, O::Succeeded) => NotifyEvent::Deployed,
            (A::Rollback, O::Succeeded) => NotifyEvent::RolledBack,
            (_, O::Failed | O::Interrupted | O::RolledBack) => NotifyEvent::DeployFailed,
            (_, O::Unchanged | O::Running) => return None,
        };
        let release = start
            .to
            .as_ref()
            .or(start.from.as_ref())
            .map(|r| r.short_commit.clone())
            .unwrap_or_else(|| "a release".into());
        let env = &start.env;
        let what = match (start.action, event) {
            (_, NotifyEvent::Refused) => format!("{} of {release} to {env} refused", start.action.as_str()),
            (A::AutoRollback, _) if outcome == O::Succeeded => format!("{env} rolled back to {release} automatically"),
            (A::AutoRollback, _) => format!("automatic rollback of {env} to {release} failed"),
            (A::Promote, NotifyEvent::Deployed) => format!("promoted {release} to {env}"),
            (_, NotifyEvent::Deployed) => format!("deployed {release} to {env}"),
            (_, NotifyEvent::RolledBack) => format!("{env} rolled back to {release}"),
            (action, _) if outcome == O::RolledBack => {
                format!(
                    "{} of {release} to {env} failed; the previous release was put back",
                    action.as_str()
                )
            }
            (action, _) => format!("{} of {release} to {env} failed", action.as_str()),
        };
        let mut n = self.note(event, Some(env), format!("{}: {what}", self.app), message.to_string());
        n.run = start.run;
        n.commit = start.to.map(|r| r.commit);
        n.by = Some(start.by.display());
        Some(n)
    }
}

/// For the engine: a tap and its outbox for `config`'s channels, or `None` without any.
pub fn start(config: Option<&Arc<Config>>, sink: &crate::engine::EventSink) -> Option<Tap> {
    let config = config?;
    let outbox = super::outbox::spawn(config.clone(), sink.clone());
    Some(Tap::new(config.app.name.clone(), outbox))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{operator, release};

    fn started(op: OpId, env: &str, action: OpAction) -> Event {
        Event::OperationStarted {
            op,
            app: "shop".into(),
            env: env.into(),
            action,
            from: Some(release("aaaa1111")),
            to: Some(release("bbbb2222")),
            run: None,
            by: operator(),
            approval: None,
            forced: false,
            overridden: None,
            policy: None,
            at: Utc::now(),
        }
    }

    fn finished(op: OpId, env: &str, action: OpAction, outcome: OpOutcome) -> Event {
        Event::OperationFinished {
            op,
            env: env.into(),
            action,
            outcome,
            message: "what happened".into(),
            logs: Vec::new(),
            refusal: None,
            duration_ms: 1,
            at: Utc::now(),
        }
    }

    /// The event each operation's end is news as (`None`: no news).
    #[test]
    fn operations_map_to_their_events() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let mut tap = Tap::new("shop".into(), tx);
        let cases = [
            (OpAction::Deploy, OpOutcome::Succeeded, Some(NotifyEvent::Deployed)),
            (OpAction::Promote, OpOutcome::Succeeded, Some(NotifyEvent::Deployed)),
            (OpAction::Deploy, OpOutcome::Failed, Some(NotifyEvent::DeployFailed)),
            (OpAction::Deploy, OpOutcome::RolledBack, Some(NotifyEvent::DeployFailed)),
            (OpAction::Rollback, OpOutcome::Failed, Some(NotifyEvent::DeployFailed)),
            (OpAction::Promote, OpOutcome::Refused, Some(NotifyEvent::Refused)),
            (OpAction::Smoke, OpOutcome::Refused, Some(NotifyEvent::Refused)),
            (OpAction::Rollback, OpOutcome::Succeeded, Some(NotifyEvent::RolledBack)),
            (
                OpAction::AutoRollback,
                OpOutcome::Succeeded,
                Some(NotifyEvent::AutoRollback),
            ),
            (
                OpAction::AutoRollback,
                OpOutcome::Failed,
                Some(NotifyEvent::AutoRollback),
            ),
            (OpAction::Deploy, OpOutcome::Unchanged, None),
            (OpAction::Smoke, OpOutcome::Succeeded, None),
            (OpAction::Smoke, OpOutcome::Failed, None),
        ];
        for (i, (action, outcome, expected)) in cases.into_iter().enumerate() {
            let op = i as OpId;
            assert_eq!(tap.observe(&store, &started(op, "production", action)), None);
            assert_eq!(tap.observe(&store, &finished(op, "production", action, outcome)), None);
            let got = match rx.try_recv() {
                Ok(Job::Send(n)) => {
                    assert_eq!(n.environment.as_deref(), Some("production"));
                    assert!(n.title.starts_with("shop: "), "{}", n.title);
                    assert_eq!(n.text, "what happened");
                    Some(n.event)
                }
                Ok(Job::Configure(_)) => panic!("unexpected reconfiguration"),
                Err(_) => None,
            };
            assert_eq!(got, expected, "{action:?} {outcome:?}");
        }
    }

    #[test]
    fn a_promotion_waiting_for_approval_is_news_and_a_blocked_one_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let mut tap = Tap::new("shop".into(), tx);
        let preview = |blocked: Option<String>, approval: bool| Event::PromotionPreview {
            env: "production".into(),
            source: "staging".into(),
            current: None,
            candidate: Some(release("cccc3333")),
            commits: Vec::new(),
            approval,
            blocked,
        };
        tap.observe(&store, &preview(Some("smoke gate closed".into()), true));
        tap.observe(&store, &preview(None, false));
        assert!(rx.try_recv().is_err());
        tap.observe(&store, &preview(None, true));
        let Ok(Job::Send(n)) = rx.try_recv() else {
            panic!("approval_waiting expected")
        };
        assert_eq!(n.event, NotifyEvent::ApprovalWaiting);
        assert!(n.title.contains("waits for approval"), "{}", n.title);
    }

    #[test]
    fn a_full_outbox_drops_with_one_warning_and_never_blocks() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (tx, _rx) = mpsc::channel(1);
        let mut tap = Tap::new("shop".into(), tx);
        let mut warnings = 0;
        for op in 0..5 {
            tap.observe(&store, &started(op, "staging", OpAction::Deploy));
            let finished = finished(op, "staging", OpAction::Deploy, OpOutcome::Succeeded);
            warnings += usize::from(tap.observe(&store, &finished).is_some());
        }
        assert_eq!(warnings, 1, "one warning per burst");
    }
}
