//! Every text an event carries, cleaned in one place: the recorder passes each event through
//! [`clean`] before it is stored or shown, so no text from a repository, an engine, an app or
//! a stage reaches the history, NDJSON, a log or a terminal with a secret in it or with an
//! escape sequence other than colour (and log lines only keep colour).

use std::borrow::Cow;

use super::event::{Event, PastRun, ReleaseChoice};
use crate::deploy::{Deployed, ReleaseRef, SmokeResult};
use crate::engine::event::LockHolder;
use crate::mask::SecretMasker;
use crate::source::CommitInfo;
use crate::term::{plain_text, sanitize_text};

/// What a field is, which decides what it may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A line of output (a stage, a release's log, a response body): colour may stay.
    Log,
    /// Anything else: plain text only.
    Plain,
}

/// Sanitizes every text of `event` per its kind, without masking: what a view does to each
/// event it receives, as a second line of defence behind the recorder.
pub fn sanitize(event: &mut Event) {
    clean(event, &SecretMasker::default());
}

/// Sanitizes (per its kind) and masks every text of `event`.
pub fn clean(event: &mut Event, masker: &SecretMasker) {
    visit(event, &mut |kind, text| {
        let cleaned = match kind {
            TextKind::Log => sanitize_text(text),
            TextKind::Plain => plain_text(text),
        };
        if let Cow::Owned(c) = cleaned {
            *text = c;
        }
        if !masker.is_empty() {
            *text = masker.mask(std::mem::take(text));
        }
    });
}

/// Calls `f` with every text field of `event` and its kind.
pub fn visit(event: &mut Event, f: &mut impl FnMut(TextKind, &mut String)) {
    use TextKind::{Log, Plain};
    match event {
        Event::RunQueued {
            app,
            commit,
            short_commit,
            subject,
            author,
            branch,
            trigger,
            ..
        } => {
            for t in [app, commit, short_commit, subject, author, trigger] {
                f(Plain, t);
            }
            opt(f, Plain, branch);
        }
        Event::RunStarted { stages, .. } => planned_stages(f, stages),
        Event::CommitPlanned {
            commit, stages, error, ..
        } => {
            f(Plain, commit);
            planned_stages(f, stages);
            opt(f, Plain, error);
        }
        Event::ImagePull {
            image,
            status,
            progress,
            ..
        } => {
            f(Plain, image);
            f(Plain, status);
            opt(f, Plain, progress);
        }
        Event::StageStarted { stage, log_path, .. } => {
            f(Plain, stage);
            opt(f, Plain, log_path);
        }
        Event::StageLog { stage, lines, .. } | Event::StageLogLoaded { stage, lines, .. } => {
            f(Plain, stage);
            lines.iter_mut().for_each(|l| f(Log, l));
        }
        Event::StageFinished { stage, message, .. } => {
            f(Plain, stage);
            opt(f, Plain, message);
        }
        Event::ServiceStatus {
            stage,
            service,
            image,
            message,
            ..
        } => {
            for t in [stage, service, image] {
                f(Plain, t);
            }
            opt(f, Plain, message);
        }
        Event::ArtifactsCopied { stage, dir, .. } => {
            f(Plain, stage);
            f(Plain, dir);
        }
        Event::ScanFinished { stage, verdict, .. } => {
            f(Plain, stage);
            for id in &mut verdict.expired {
                f(Plain, id);
            }
            for finding in &mut verdict.findings {
                for t in [&mut finding.id, &mut finding.location, &mut finding.message] {
                    f(Plain, t);
                }
                for a in &mut finding.aliases {
                    f(Plain, a);
                }
            }
        }
        Event::ImageBuilt {
            stage, image_id, tag, ..
        } => {
            for t in [stage, image_id, tag] {
                f(Plain, t);
            }
        }
        Event::RunFinished {
            image_id, image_tag, ..
        } => {
            opt(f, Plain, image_id);
            opt(f, Plain, image_tag);
        }
        Event::RunRejected { rev, message } => {
            f(Plain, rev);
            f(Plain, message);
        }
        Event::EngineStatus {
            address,
            version,
            api_version,
            message,
            ..
        } => {
            f(Plain, address);
            for t in [version, api_version, message] {
                opt(f, Plain, t);
            }
        }
        Event::RepoState {
            app,
            repo,
            app_dir,
            branch,
            head,
            commits,
        } => {
            for t in [app, repo, app_dir] {
                f(Plain, t);
            }
            opt(f, Plain, branch);
            head.iter_mut()
                .chain(commits.iter_mut())
                .for_each(|c| commit_info(f, c));
        }
        Event::HistoryLoaded { runs } | Event::RunsElsewhere { runs } => runs.iter_mut().for_each(|r| past_run(f, r)),
        Event::WatchStatus { last_trigger, .. } => opt(f, Plain, last_trigger),
        Event::ConfigReloaded { error, .. } => opt(f, Plain, error),
        Event::OperationStarted {
            app,
            env,
            from,
            to,
            approval,
            ..
        } => {
            f(Plain, app);
            f(Plain, env);
            from.iter_mut().chain(to.iter_mut()).for_each(|r| release(f, r));
            opt(f, Plain, approval);
        }
        Event::OperationLog { env, lines, .. } => {
            f(Plain, env);
            lines.iter_mut().for_each(|l| f(Log, l));
        }
        Event::SwitchProgress { env, step, .. } => {
            f(Plain, env);
            step.texts_mut().into_iter().for_each(|t| f(Plain, t));
        }
        Event::SmokeChecked {
            env,
            release: r,
            result,
            ..
        } => {
            f(Plain, env);
            release(f, r);
            smoke(f, result);
        }
        Event::LoadTested {
            env,
            release: r,
            result,
            ..
        } => {
            f(Plain, env);
            release(f, r);
            f(Plain, &mut result.check);
            f(Plain, &mut result.message);
            opt(f, Plain, &mut result.baseline_release);
        }
        Event::OperationFinished { env, message, logs, .. } => {
            f(Plain, env);
            f(Plain, message);
            logs.iter_mut().for_each(|l| f(Log, l));
        }
        Event::EnvironmentStatus {
            env,
            deployed,
            lock,
            error,
            ..
        } => {
            f(Plain, env);
            if let Some(d) = deployed {
                deployed_fields(f, d);
            }
            if let Some(l) = lock {
                lock_fields(f, l);
            }
            opt(f, Plain, error);
        }
        Event::EnvironmentParts {
            env,
            accessories,
            processes,
            proxy,
        } => {
            f(Plain, env);
            for part in accessories
                .iter_mut()
                .chain(processes.iter_mut())
                .chain(proxy.iter_mut())
            {
                f(Plain, &mut part.name);
                opt(f, Plain, &mut part.container);
                f(Plain, &mut part.state);
                f(Plain, &mut part.health);
                f(Plain, &mut part.image);
            }
        }
        Event::PromotionPreview {
            env,
            source,
            current,
            candidate,
            commits,
            blocked,
            ..
        } => {
            f(Plain, env);
            f(Plain, source);
            current
                .iter_mut()
                .chain(candidate.iter_mut())
                .for_each(|r| release(f, r));
            commits.iter_mut().for_each(|c| commit_info(f, c));
            opt(f, Plain, blocked);
        }
        Event::ReleasesListed { env, releases, .. } => {
            f(Plain, env);
            releases.iter_mut().for_each(|c| choice(f, c));
        }
        Event::Notice { message, .. } => f(Plain, message),
        Event::Notification {
            channel,
            kind,
            env,
            message,
            ..
        } => {
            for t in [channel, kind, message] {
                f(Plain, t);
            }
            if let Some(env) = env {
                f(Plain, env);
            }
        }
    }
}

fn opt(f: &mut impl FnMut(TextKind, &mut String), kind: TextKind, text: &mut Option<String>) {
    if let Some(t) = text {
        f(kind, t);
    }
}

fn planned_stages(f: &mut impl FnMut(TextKind, &mut String), stages: &mut [super::event::PlannedStage]) {
    for s in stages {
        f(TextKind::Plain, &mut s.name);
        f(TextKind::Plain, &mut s.image);
        s.needs.iter_mut().for_each(|n| f(TextKind::Plain, n));
    }
}

fn commit_info(f: &mut impl FnMut(TextKind, &mut String), c: &mut CommitInfo) {
    for t in [&mut c.id, &mut c.short, &mut c.subject, &mut c.author, &mut c.email] {
        f(TextKind::Plain, t);
    }
    opt(f, TextKind::Plain, &mut c.branch);
}

fn release(f: &mut impl FnMut(TextKind, &mut String), r: &mut ReleaseRef) {
    for t in [&mut r.commit, &mut r.short_commit, &mut r.subject, &mut r.image_id] {
        f(TextKind::Plain, t);
    }
    opt(f, TextKind::Plain, &mut r.image_tag);
}

fn smoke(f: &mut impl FnMut(TextKind, &mut String), s: &mut SmokeResult) {
    f(TextKind::Plain, &mut s.check);
    f(TextKind::Plain, &mut s.message);
    opt(f, TextKind::Log, &mut s.excerpt);
}

fn deployed_fields(f: &mut impl FnMut(TextKind, &mut String), d: &mut Deployed) {
    release(f, &mut d.release);
    for t in [
        &mut d.container_id,
        &mut d.container,
        &mut d.deployed_by,
        &mut d.deployed_at,
        &mut d.action,
        &mut d.state,
        &mut d.status,
    ] {
        f(TextKind::Plain, t);
    }
}

fn lock_fields(f: &mut impl FnMut(TextKind, &mut String), l: &mut LockHolder) {
    for t in [&mut l.env, &mut l.holder, &mut l.doing, &mut l.process] {
        f(TextKind::Plain, t);
    }
}

fn choice(f: &mut impl FnMut(TextKind, &mut String), c: &mut ReleaseChoice) {
    release(f, &mut c.release);
    opt(f, TextKind::Plain, &mut c.by);
}

fn past_run(f: &mut impl FnMut(TextKind, &mut String), p: &mut PastRun) {
    let r = &mut p.run;
    for t in [
        &mut r.app,
        &mut r.commit,
        &mut r.short_commit,
        &mut r.subject,
        &mut r.author,
        &mut r.trigger,
        &mut r.owner,
    ] {
        f(TextKind::Plain, t);
    }
    for t in [&mut r.branch, &mut r.image_id, &mut r.image_tag] {
        opt(f, TextKind::Plain, t);
    }
    for s in &mut p.stages {
        f(TextKind::Plain, &mut s.name);
        opt(f, TextKind::Plain, &mut s.message);
    }
    for (stage, path) in &mut p.log_paths {
        f(TextKind::Plain, stage);
        f(TextKind::Plain, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::NoticeLevel;

    #[test]
    fn a_notification_line_is_plain_and_masked() {
        // An error answer's excerpt is the receiver's text; the URL is a secret.
        let url = "https://hooks.example.com/services/T0/B0/TOKEN123456";
        let masker = SecretMasker::new([url]);
        let mut event = Event::Notification {
            channel: "team\x1b]2;pwn\x07".into(),
            kind: "webhook".into(),
            about: crate::config::NotifyEvent::Deployed,
            env: Some("staging".into()),
            status: crate::notifications::DeliveryStatus::Retrying,
            attempt: 1,
            message: format!("webhook failed: HTTP 404: no such hook {url} \x1b[2J\x1b[31mred (retrying in 2s)"),
            at: chrono::Utc::now(),
        };
        clean(&mut event, &masker);
        let Event::Notification { channel, message, .. } = &event else {
            unreachable!()
        };
        assert_eq!(channel, "team");
        assert_eq!(
            message,
            "webhook failed: HTTP 404: no such hook *** red (retrying in 2s)"
        );
    }

    #[test]
    fn subjects_lose_every_escape_and_log_lines_keep_colour_and_secrets_go() {
        let masker = SecretMasker::new(["hunter2-secret"]);
        let mut queued = Event::RunQueued {
            run: 1,
            app: "a".into(),
            commit: "c".into(),
            short_commit: "c".into(),
            subject: "fix \x1b]52;c;aGk=\x07\x1b[2J\x1b[?1049h\x1b]2;pwn\x07\x1b[31mred\x1b[0m hunter2-secret".into(),
            author: "Eve \x1b]2;title\x07".into(),
            branch: None,
            trigger: "manual".into(),
            at: chrono::Utc::now(),
        };
        clean(&mut queued, &masker);
        let Event::RunQueued { subject, author, .. } = &queued else {
            unreachable!()
        };
        assert_eq!(subject, "fix red ***");
        assert_eq!(author, "Eve ");
        let mut log = Event::OperationLog {
            op: 1,
            env: "staging".into(),
            lines: vec!["\x1b[32mok\x1b[0m \x1b]0;t\x07hunter2-\x1b[Ksecret".into()],
        };
        clean(&mut log, &masker);
        let Event::OperationLog { lines, .. } = &log else {
            unreachable!()
        };
        assert_eq!(lines, &["\x1b[32mok\x1b[0m ***"]);
        let mut notice = Event::Notice {
            level: NoticeLevel::Error,
            message: "line one hunter2-secret\nline \x1b[2Jtwo".into(),
        };
        clean(&mut notice, &masker);
        assert_eq!(
            notice,
            Event::Notice {
                level: NoticeLevel::Error,
                message: "line one ***\nline two".into()
            }
        );
        // A service's readiness answer is the service's own text: plain, and masked.
        let mut service = Event::ServiceStatus {
            run: 1,
            stage: "test".into(),
            service: "db".into(),
            image: "postgres:15".into(),
            state: crate::engine::event::ServiceState::Failed,
            duration_ms: None,
            message: Some("last answer: \x1b[31mhunter2-secret\x1b[0m\x1b]52;c;aGk=\x07".into()),
            at: chrono::Utc::now(),
        };
        clean(&mut service, &masker);
        let Event::ServiceStatus { message, .. } = &service else {
            unreachable!()
        };
        assert_eq!(message.as_deref(), Some("last answer: ***"));
    }
}
