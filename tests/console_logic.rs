//! The console's logic driven by actions and engine events, without a terminal.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shipdeck::engine::event::StageKindName;
use shipdeck::engine::{Command, CommitInfo, Event, PlannedStage, Stream};
use shipdeck::model::{RunStatus, StageStatus};
use shipdeck::ui::action::Action;
use shipdeck::ui::app::{App, Effect, Focus, Modal, ModalInput};
use shipdeck::ui::model::Row;

use common::console::*;

fn plan() -> Vec<PlannedStage> {
    let stage = |name: &str, needs: &[&str]| PlannedStage {
        name: name.into(),
        needs: needs.iter().map(|n| n.to_string()).collect(),
        kind: StageKindName::Run,
        image: "debian:bookworm-slim".into(),
    };
    vec![
        stage("test", &[]),
        stage("lint", &[]),
        stage("build", &["test", "lint"]),
    ]
}

fn commit(id: &str, subject: &str) -> CommitInfo {
    CommitInfo {
        id: id.repeat(40 / id.len()),
        short: id.repeat(7 / id.len() + 1)[..7].to_string(),
        subject: subject.into(),
        author: "Ada".into(),
        email: "ada@example.com".into(),
        time: 0,
        branch: None,
    }
}

fn app_with_repo() -> App {
    let mut app = App::new(plan(), 1000);
    app.apply(Event::RepoState {
        app: "demo".into(),
        repo: "/src/demo".into(),
        app_dir: String::new(),
        branch: Some("main".into()),
        head: Some(commit("a", "newest")),
        commits: vec![commit("a", "newest"), commit("b", "older")],
    });
    app
}

fn start_run(app: &mut App, number: i64, commit_id: &str) {
    app.apply(Event::RunQueued {
        run: number,
        app: "demo".into(),
        commit: commit_id.into(),
        short_commit: commit_id[..7].into(),
        subject: "newest".into(),
        author: "Ada".into(),
        branch: Some("main".into()),
        trigger: "manual".into(),
        at: at(0),
    });
    app.apply(Event::RunStarted {
        run: number,
        stages: plan(),
        at: at(0),
    });
}

#[test]
fn enter_on_a_commit_without_a_run_asks_the_engine_to_run_it() {
    let mut app = app_with_repo();
    assert_eq!(app.rows(), vec![Row::Commit(0), Row::Commit(1)]);
    app.update(Action::Down);
    let effects = app.update(Action::RunSelected);
    assert_eq!(
        effects,
        vec![Effect::Engine(Command::Run {
            rev: "b".repeat(40),
            trigger: "manual".into()
        })]
    );
}

#[test]
fn head_without_a_run_is_listed_first_so_enter_runs_it() {
    let mut app = app_with_repo();
    // A run of the older commit exists; HEAD ("a") has none.
    start_run(&mut app, 1, &"b".repeat(40));
    app.apply(Event::RunFinished {
        run: 1,
        status: RunStatus::Success,
        duration_ms: 1000,
        image_id: None,
        image_tag: None,
        at: at(1),
    });
    assert_eq!(app.rows(), vec![Row::Commit(0), Row::Run(0)]);
    app.selected = 0;
    assert_eq!(
        app.update(Action::RunSelected),
        vec![Effect::Engine(Command::Run {
            rev: "a".repeat(40),
            trigger: "manual".into()
        })]
    );
}

#[test]
fn live_events_fill_the_run_its_stages_and_logs() {
    let mut app = app_with_repo();
    start_run(&mut app, 1, &"a".repeat(40));
    assert_eq!(app.rows()[0], Row::Run(0));
    assert_eq!(app.rows().len(), 2, "the commit with a run is not listed twice");
    app.apply(Event::StageStarted {
        run: 1,
        stage: "test".into(),
        at: at(1),
        log_path: Some("/tmp/x".into()),
    });
    app.apply(Event::StageLog {
        run: 1,
        stage: "test".into(),
        stream: Stream::Stdout,
        lines: vec!["ok \x1b]0;title\x07done".into(), "second".into()],
    });
    let run = app.selected_run().unwrap();
    assert_eq!(run.status, RunStatus::Running);
    let test = &run.stages[0];
    assert_eq!(test.status, StageStatus::Running);
    assert_eq!(test.log.len(), 2);
    assert!(app.any_active());
    app.apply(Event::StageFinished {
        run: 1,
        stage: "test".into(),
        status: StageStatus::Failed,
        exit_code: Some(1),
        duration_ms: 1500,
        message: Some("exited with code 1".into()),
        at: at(2),
    });
    app.apply(Event::RunFinished {
        run: 1,
        status: RunStatus::Failed,
        duration_ms: 2000,
        image_id: None,
        image_tag: None,
        at: at(2),
    });
    let run = app.selected_run().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.stages[run.selected_stage].name, "test",
        "a failed run opens on its failed stage"
    );
    assert!(!app.any_active());
}

#[test]
fn quitting_during_a_run_asks_first_and_cancel_targets_the_selected_run() {
    let mut app = app_with_repo();
    start_run(&mut app, 7, &"a".repeat(40));
    assert_eq!(
        app.update(Action::CancelSelected),
        vec![Effect::Engine(Command::Cancel { run: 7 })]
    );
    assert_eq!(app.update(Action::Quit), Vec::<Effect>::new());
    assert_eq!(app.modal, Some(Modal::ConfirmQuit));
    assert_eq!(app.modal_input(ModalInput::Char('n')), Vec::<Effect>::new());
    assert_eq!(app.modal, None);
    app.update(Action::Quit);
    assert_eq!(app.modal_input(ModalInput::Char('y')), vec![Effect::Interrupt]);
}

#[test]
fn quitting_when_idle_needs_no_confirmation() {
    let mut app = app_with_repo();
    assert_eq!(app.update(Action::Quit), vec![Effect::Quit]);
}

#[test]
fn focus_cycles_and_help_toggles() {
    let mut app = app_with_repo();
    assert_eq!(app.focus, Focus::Runs);
    app.update(Action::FocusNext);
    assert_eq!(app.focus, Focus::Pipeline);
    app.update(Action::FocusNext);
    assert_eq!(app.focus, Focus::Log);
    app.update(Action::FocusPrev);
    assert_eq!(app.focus, Focus::Pipeline);
    app.update(Action::Help);
    assert_eq!(app.modal, Some(Modal::Help));
    app.update(Action::Down);
    assert_eq!(
        app.focus,
        Focus::Pipeline,
        "keys other than help do nothing under the overlay"
    );
    app.update(Action::Help);
    assert_eq!(app.modal, None);
}

#[test]
fn stage_selection_moves_along_the_pipeline() {
    let mut app = app_with_repo();
    start_run(&mut app, 1, &"a".repeat(40));
    app.update(Action::FocusNext);
    app.update(Action::Right);
    app.update(Action::Right);
    app.update(Action::Right);
    assert_eq!(app.selected_run().unwrap().selected_stage, 2);
    app.update(Action::Left);
    assert_eq!(app.selected_run().unwrap().selected_stage, 1);
}

#[test]
fn a_history_run_loads_its_log_once_when_selected() {
    // No repository state yet: the history runs are the only rows.
    let mut app = App::new(plan(), 1000);
    let record = |number: i64| shipdeck::engine::PastRun {
        run: shipdeck::store::RunRecord {
            number,
            app: "demo".into(),
            commit: "c".repeat(40),
            short_commit: "ccccccc".into(),
            branch: None,
            subject: "old".into(),
            author: "Ada".into(),
            trigger: "manual".into(),
            status: RunStatus::Success,
            queued_at: at(0),
            started_at: Some(at(0)),
            finished_at: Some(at(3)),
            duration_ms: Some(3000),
            image_id: None,
            image_tag: None,
            owner: "h/1/1".into(),
            scans: Vec::new(),
        },
        stages: vec![shipdeck::store::StageRecord {
            run: number,
            name: "test".into(),
            position: 0,
            status: StageStatus::Success,
            exit_code: Some(0),
            started_at: Some(at(0)),
            finished_at: Some(at(1)),
            duration_ms: Some(1000),
            message: None,
            image_id: None,
        }],
        log_paths: vec![("test".into(), "/logs/test.log".into())],
    };
    let effects = app.apply(Event::HistoryLoaded {
        runs: vec![record(2), record(3)],
    });
    assert_eq!(app.runs[0].number, 3, "newest first");
    assert_eq!(
        effects,
        vec![Effect::Engine(Command::LoadLog {
            run: 3,
            stage: "test".into(),
            lines: 1000
        })]
    );
    assert_eq!(
        app.update(Action::Down),
        vec![Effect::Engine(Command::LoadLog {
            run: 2,
            stage: "test".into(),
            lines: 1000
        })]
    );
    assert_eq!(app.update(Action::Up), Vec::<Effect>::new(), "asked once");
    assert_eq!(
        app.update(Action::OpenPager),
        vec![Effect::OpenPager("/logs/test.log".into())]
    );
}

#[test]
fn search_typed_in_the_prompt_finds_matches_in_the_log() {
    let mut app = app_with_repo();
    start_run(&mut app, 1, &"a".repeat(40));
    app.apply(Event::StageStarted {
        run: 1,
        stage: "test".into(),
        at: at(1),
        log_path: None,
    });
    app.apply(Event::StageLog {
        run: 1,
        stage: "test".into(),
        stream: Stream::Stdout,
        lines: vec![
            "alpha".into(),
            "beta error".into(),
            "gamma".into(),
            "ERROR again".into(),
        ],
    });
    app.update(Action::Search);
    for c in "error".chars() {
        app.modal_input(ModalInput::Char(c));
    }
    app.modal_input(ModalInput::Enter);
    assert_eq!(app.modal, None);
    assert_eq!(app.focus, Focus::Log);
    let summary = app.selected_run().unwrap().stages[0].search_summary().unwrap();
    assert!(summary.contains("2"), "two matches (smart case): {summary}");
}

#[test]
fn an_engine_that_is_down_refuses_runs_with_a_notice() {
    let mut app = app_with_repo();
    app.apply(Event::EngineStatus {
        connected: false,
        address: "unix:///var/run/docker.sock".into(),
        version: None,
        api_version: None,
        message: Some("connection refused".into()),
    });
    assert_eq!(app.update(Action::RunSelected), Vec::<Effect>::new());
    assert!(app.notice.as_ref().unwrap().1.contains("not reachable"));
}

#[test]
fn the_readme_lists_every_action_for_the_keys_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for action in Action::all() {
        assert!(
            readme.contains(&format!("`{}`", action.name())),
            "README does not list the action `{}`",
            action.name()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Environments: the panel's model, the release keys, the modals and the operation log.

pub mod environments {
    use super::*;
    use shipdeck::deploy::{Deployed, OpAction, OpOutcome, Operator, ReleaseRef, SmokeResult};
    use shipdeck::engine::event::LockHolder;
    use shipdeck::engine::{NoticeLevel, ReleaseChoice};
    use shipdeck::ui::log_pane::LineKind;

    pub fn release(c: char, subject: &str) -> ReleaseRef {
        release_of("demo", c, subject)
    }

    pub fn deployed(c: char, status: &str) -> Deployed {
        Deployed {
            container_id: "0123456789ab".into(),
            container: "demo-staging".into(),
            release: release(c, "newest"),
            deployed_by: "ada@box (Ada <ada@example.com>)".into(),
            deployed_at: "2023-11-14T22:13:20+00:00".into(),
            action: "deploy".into(),
            state: "running".into(),
            status: status.into(),
        }
    }

    fn operator() -> Operator {
        Operator {
            git_user: Some("Ada <ada@example.com>".into()),
            os_user: "ada".into(),
            host: "box".into(),
        }
    }

    fn connected(app: &mut App) -> Vec<Effect> {
        app.apply(Event::EngineStatus {
            connected: true,
            address: "unix:///var/run/docker.sock".into(),
            version: Some("27.0".into()),
            api_version: Some("1.46".into()),
            message: None,
        })
    }

    /// A console with staging and production, connected, both read: staging runs `b`.
    fn envs_app() -> App {
        let mut app = app_with_repo();
        app.set_environments(specs());
        connected(&mut app);
        status(&mut app, "staging", Some(deployed('b', "Up 2 minutes (healthy)")));
        status(&mut app, "production", None);
        app
    }

    fn status(app: &mut App, env: &str, deployed: Option<Deployed>) {
        app.apply(Event::EnvironmentStatus {
            env: env.into(),
            deployed,
            lock: None,
            error: None,
            smoke: None,
        });
    }

    /// Run #1 of commit `a`, finished with `status`, with an image or not.
    fn finished_run(app: &mut App, status: RunStatus, image: bool) {
        start_run(app, 1, &"a".repeat(40));
        app.apply(Event::RunFinished {
            run: 1,
            status,
            duration_ms: 2000,
            image_id: image.then(|| "sha256:1".to_string()),
            image_tag: image.then(|| "demo:aaaaaaa".to_string()),
            at: at(2),
        });
    }

    fn started(op: u64, env: &str, action: OpAction, to: Option<ReleaseRef>) -> Event {
        Event::OperationStarted {
            op,
            app: "demo".into(),
            env: env.into(),
            action,
            from: Some(release('b', "older")),
            to,
            run: None,
            by: operator(),
            approval: (action == OpAction::Promote).then(|| "typed production".to_string()),
            forced: false,
            overridden: None,
            policy: None,
            at: at(10),
        }
    }

    fn finished(op: u64, env: &str, action: OpAction, outcome: OpOutcome, message: &str) -> Event {
        Event::OperationFinished {
            op,
            env: env.into(),
            action,
            outcome,
            message: message.into(),
            logs: Vec::new(),
            refusal: None,
            duration_ms: 4200,
            at: at(14),
        }
    }

    fn log_of(app: &App, env: &str) -> Vec<(LineKind, String)> {
        let op = app.envs.get(env).and_then(|e| e.op.as_ref()).expect("an operation");
        op.log
            .lines(op.log.start(), op.log.end())
            .map(|l| (l.kind, l.text.to_string()))
            .collect()
    }

    fn preview(blocked: Option<&str>, approval: bool) -> Event {
        Event::PromotionPreview {
            env: "production".into(),
            source: "staging".into(),
            current: Some(release('b', "older")),
            candidate: Some(release('a', "newest")),
            commits: vec![commit("a", "newest")],
            approval,
            blocked: blocked.map(String::from),
        }
    }

    #[test]
    fn connecting_reads_the_environments_once_then_the_poll_rereads_them() {
        let mut app = app_with_repo();
        app.set_environments(specs());
        assert_eq!(app.poll_environments(), vec![], "no engine yet: nothing to ask");
        assert_eq!(connected(&mut app), vec![Effect::Engine(Command::LoadEnvironments)]);
        assert_eq!(connected(&mut app), vec![], "already connected");
        assert_eq!(app.poll_environments(), vec![Effect::Engine(Command::LoadEnvironments)]);
    }

    #[test]
    fn environment_status_folds_into_the_panel_model() {
        let mut app = envs_app();
        let staging = app.envs.get("staging").unwrap();
        assert!(staging.loaded);
        assert_eq!(staging.commit(), Some("b".repeat(40).as_str()));
        assert_eq!(staging.deployed.as_ref().unwrap().health(), "healthy");
        let production = app.envs.get("production").unwrap();
        assert!(production.loaded && production.deployed.is_none());

        // The same answer again does not redraw an idle console.
        app.dirty = false;
        status(&mut app, "staging", Some(deployed('b', "Up 2 minutes (healthy)")));
        assert!(!app.dirty, "an unchanged status is not a change");

        // A lock held by another operator, and an engine that cannot be reached.
        let lock = LockHolder {
            env: "production".into(),
            holder: "bob@other (Bob <bob@x>)".into(),
            doing: "deploy ccccccc".into(),
            since: Some(at(5)),
            process: "other/42/1".into(),
            stale: false,
        };
        app.apply(Event::EnvironmentStatus {
            env: "production".into(),
            deployed: None,
            lock: Some(lock.clone()),
            error: None,
            smoke: None,
        });
        assert!(app.dirty);
        assert_eq!(app.envs.get("production").unwrap().lock, Some(lock));
        app.apply(Event::EnvironmentStatus {
            env: "staging".into(),
            deployed: None,
            lock: None,
            error: Some("cannot reach the engine of staging: connection refused".into()),
            smoke: None,
        });
        assert!(app.envs.get("staging").unwrap().error.is_some());
    }

    #[test]
    fn d_on_a_green_run_deploys_its_release_by_run_to_the_first_environment() {
        let mut app = envs_app();
        finished_run(&mut app, RunStatus::Success, true);
        assert_eq!(
            app.next_step(),
            Some((Action::Deploy, "deploy aaaaaaa → staging".to_string())),
            "the footer offers the deploy"
        );
        assert_eq!(
            app.update(Action::Deploy),
            vec![Effect::Engine(Command::Deploy {
                env: "staging".into(),
                release: Some("#1".to_string()),
                force: false,
                approval: None,
            })]
        );
        assert!(app.envs.get("staging").unwrap().busy(), "the spinner shows at once");
        assert!(app.shows_env_log(), "the log pane follows the deploy");
        assert_eq!(app.next_step(), None, "no offer while it runs");
        assert_eq!(
            app.update(Action::Deploy),
            vec![],
            "a second deploy while one is under way is refused"
        );
    }

    #[test]
    fn d_on_a_failed_run_or_one_without_an_image_only_says_why() {
        let mut app = envs_app();
        finished_run(&mut app, RunStatus::Failed, false);
        assert_eq!(app.update(Action::Deploy), vec![]);
        let (level, message) = app.notice.clone().unwrap();
        assert_eq!(level, NoticeLevel::Warning);
        assert!(message.contains("only a green run"), "{message}");
        assert_eq!(app.next_step(), None);

        let mut app = envs_app();
        finished_run(&mut app, RunStatus::Success, false);
        assert_eq!(app.update(Action::Deploy), vec![]);
        assert!(app.notice.clone().unwrap().1.contains("built no image"));
    }

    #[test]
    fn promote_asks_for_a_preview_and_enter_needs_the_typed_name() {
        let mut app = envs_app();
        assert_eq!(
            app.update(Action::Promote),
            vec![Effect::Engine(Command::PreviewPromotion {
                env: "production".into()
            })]
        );
        assert_eq!(app.modal, None, "the modal opens on the engine's answer");
        app.apply(preview(None, true));
        assert!(matches!(app.modal, Some(Modal::Promote(_))));
        assert!(app.wants_text(), "keys go to the modal, not to the keymap");

        for c in "prod".chars() {
            assert_eq!(app.modal_input(ModalInput::Char(c)), vec![]);
        }
        assert_eq!(
            app.modal_input(ModalInput::Enter),
            vec![],
            "a wrong name keeps Enter disabled"
        );
        assert!(matches!(app.modal, Some(Modal::Promote(_))), "and the modal open");
        for c in "uctiom".chars() {
            app.modal_input(ModalInput::Char(c));
        }
        assert_eq!(
            app.modal_input(ModalInput::Enter),
            vec![],
            "productiom is not production"
        );
        app.modal_input(ModalInput::Backspace);
        app.modal_input(ModalInput::Char('n'));
        assert_eq!(
            app.modal_input(ModalInput::Enter),
            vec![Effect::Engine(Command::Promote {
                env: "production".into(),
                force: false,
                approval: Some("typed production".into()),
            })]
        );
        assert_eq!(app.modal, None);
        assert_eq!(app.envs.selected().unwrap().name(), "production");
    }

    #[test]
    fn esc_cancels_the_promotion() {
        let mut app = envs_app();
        app.update(Action::Promote);
        app.apply(preview(None, true));
        for c in "production".chars() {
            app.modal_input(ModalInput::Char(c));
        }
        assert_eq!(app.modal_input(ModalInput::Esc), vec![]);
        assert_eq!(app.modal, None);
        assert!(!app.envs.busy());
    }

    #[test]
    fn a_blocked_promotion_is_never_forced_from_the_console() {
        let mut app = envs_app();
        app.update(Action::Promote);
        app.apply(preview(Some("aaaaaaa has not passed staging's smoke checks"), true));
        for c in "production".chars() {
            app.modal_input(ModalInput::Char(c));
        }
        assert_eq!(app.modal_input(ModalInput::Enter), vec![]);
        assert!(matches!(app.modal, Some(Modal::Promote(_))));
    }

    #[test]
    fn without_an_approval_the_preview_is_a_plain_confirm() {
        let mut app = envs_app();
        app.update(Action::Promote);
        app.apply(preview(None, false));
        assert_eq!(
            app.modal_input(ModalInput::Enter),
            vec![Effect::Engine(Command::Promote {
                env: "production".into(),
                force: false,
                approval: None,
            })]
        );
    }

    #[test]
    fn a_preview_nobody_asked_for_opens_nothing() {
        let mut app = envs_app();
        app.apply(preview(None, true));
        assert_eq!(app.modal, None);
    }

    fn choice(c: char, current: bool, smoke: Option<bool>) -> ReleaseChoice {
        ReleaseChoice {
            release: release(c, "a release"),
            deployed_at: Some(at(0)),
            by: Some("ada@box (Ada <ada@x>)".into()),
            smoke,
            current,
            run: None,
            schema_behind: false,
        }
    }

    #[test]
    fn the_rollback_picker_sends_the_chosen_commit() {
        let mut app = envs_app();
        assert_eq!(
            app.update(Action::Rollback),
            vec![Effect::Engine(Command::LoadReleases { env: "staging".into() })]
        );
        app.apply(Event::ReleasesListed {
            env: "staging".into(),
            releases: vec![
                choice('b', true, Some(true)),
                choice('c', false, Some(false)),
                choice('d', false, None),
            ],
            approval: false,
        });
        let Some(Modal::Rollback(picker)) = &app.modal else {
            panic!("no picker: {:?}", app.modal);
        };
        assert_eq!(picker.selected, 1, "the current release cannot be chosen");
        app.modal_input(ModalInput::Up);
        app.modal_input(ModalInput::Char('j'));
        assert_eq!(
            app.modal_input(ModalInput::Enter),
            vec![Effect::Engine(Command::Rollback {
                env: "staging".into(),
                to: Some(format!("sha256:{}", "d".repeat(64))),
                force: false,
                approval: None,
            })]
        );
        assert_eq!(app.modal, None);
        assert!(app.envs.get("staging").unwrap().busy());
    }

    #[test]
    fn esc_closes_the_picker_and_an_empty_list_is_a_notice() {
        let mut app = envs_app();
        app.update(Action::Rollback);
        app.apply(Event::ReleasesListed {
            env: "staging".into(),
            releases: vec![choice('b', true, None), choice('c', false, None)],
            approval: false,
        });
        assert_eq!(app.modal_input(ModalInput::Esc), vec![]);
        assert_eq!(app.modal, None);

        app.update(Action::Rollback);
        app.apply(Event::ReleasesListed {
            env: "staging".into(),
            releases: vec![],
            approval: false,
        });
        assert_eq!(app.modal, None);
        assert_eq!(
            app.notice.clone().unwrap().1,
            "no earlier release of staging on its engine"
        );
    }

    /// A switch's steps fold into the environment's picture: both releases during the
    /// overlap, the pre-switch smoke answer, the moment traffic moved, the drain counting down;
    /// a step of another operation changes nothing, and the next operation starts afresh.
    #[test]
    fn a_switch_folds_step_by_step_and_the_next_operation_starts_afresh() {
        use shipdeck::deploy::switch_step::SwitchStep;
        let mut app = envs_app();
        app.apply(started(3, "staging", OpAction::Deploy, Some(release('a', "newest"))));
        let step = |app: &mut App, op: u64, step: SwitchStep| {
            app.apply(Event::SwitchProgress {
                op,
                env: "staging".into(),
                step,
            });
        };
        // Before an overlap there is nothing to draw: a stray step is dropped.
        step(&mut app, 3, SwitchStep::Ready { how: "healthy".into() });
        assert_eq!(app.envs.get("staging").unwrap().switch, None);
        step(
            &mut app,
            3,
            SwitchStep::Overlap {
                serving: Some("bbbbbbb".into()),
                new: "aaaaaaa".into(),
            },
        );
        step(&mut app, 3, SwitchStep::Ready { how: "healthy".into() });
        step(
            &mut app,
            3,
            SwitchStep::Smoked {
                passed: true,
                summary: "smoke passed (2 checks)".into(),
            },
        );
        // Another operation's step (not one of this console's on staging) is not folded.
        step(&mut app, 99, SwitchStep::Moved { at: at(11) });
        let sw = app.envs.get("staging").unwrap().switch.clone().unwrap();
        assert_eq!((sw.old.as_deref(), sw.new.as_str()), (Some("bbbbbbb"), "aaaaaaa"));
        assert_eq!(sw.ready.as_deref(), Some("healthy"));
        assert_eq!(sw.smoke, Some((true, "smoke passed (2 checks)".into())));
        assert_eq!(sw.moved, None);
        step(&mut app, 3, SwitchStep::Moved { at: at(12) });
        step(
            &mut app,
            3,
            SwitchStep::Draining {
                in_flight: 2,
                left_secs: 28,
            },
        );
        let sw = app.envs.get("staging").unwrap().switch.clone().unwrap();
        assert_eq!(sw.moved, Some(at(12)));
        assert_eq!(sw.draining, Some((2, 28)));
        step(&mut app, 3, SwitchStep::Drained { cut: 0 });
        step(&mut app, 3, SwitchStep::Retired);
        let sw = app.envs.get("staging").unwrap().switch.clone().unwrap();
        assert_eq!((sw.draining, sw.drained, sw.retired), (None, Some(0), true));
        app.apply(finished(
            3,
            "staging",
            OpAction::Deploy,
            OpOutcome::Succeeded,
            "deployed",
        ));
        // The next operation's picture starts empty.
        app.apply(started(4, "staging", OpAction::Deploy, Some(release('c', "next"))));
        assert_eq!(app.envs.get("staging").unwrap().switch, None);
        // A release removed before the switch says so, and why.
        step(
            &mut app,
            4,
            SwitchStep::Overlap {
                serving: Some("aaaaaaa".into()),
                new: "ccccccc".into(),
            },
        );
        step(
            &mut app,
            4,
            SwitchStep::Abandoned {
                why: "its smoke checks failed".into(),
            },
        );
        let sw = app.envs.get("staging").unwrap().switch.clone().unwrap();
        assert_eq!(sw.abandoned.as_deref(), Some("its smoke checks failed"));
        assert_eq!(sw.moved, None);
    }

    #[test]
    fn operation_events_fill_its_log_and_an_automatic_rollback_is_loud() {
        let mut app = envs_app();
        app.apply(started(
            7,
            "production",
            OpAction::Promote,
            Some(release('a', "newest")),
        ));
        assert!(app.envs.get("production").unwrap().busy());
        app.apply(Event::OperationLog {
            op: 7,
            env: "production".into(),
            lines: vec!["container demo-production-aaaaaaa started".into()],
        });
        app.apply(Event::SmokeChecked {
            op: 7,
            env: "production".into(),
            release: release('a', "newest"),
            position: 0,
            result: SmokeResult {
                check: "GET /health".into(),
                passed: false,
                attempts: 3,
                latency_ms: 12,
                status: Some(500),
                excerpt: Some("Internal Server Error".into()),
                message: "expected status 200, got 500".into(),
            },
        });
        app.apply(started(
            8,
            "production",
            OpAction::AutoRollback,
            Some(release('b', "older")),
        ));
        app.apply(finished(
            8,
            "production",
            OpAction::AutoRollback,
            OpOutcome::Succeeded,
            "bbbbbbb restored",
        ));
        assert!(app.envs.get("production").unwrap().busy(), "the promote still runs");
        app.apply(finished(
            7,
            "production",
            OpAction::Promote,
            OpOutcome::RolledBack,
            "SMOKE CHECKS FAILED on production: ROLLED BACK automatically to bbbbbbb",
        ));
        assert!(!app.envs.get("production").unwrap().busy());

        let log = log_of(&app, "production");
        let has = |kind: LineKind, text: &str| log.iter().any(|(k, l)| *k == kind && l.contains(text));
        assert!(has(LineKind::Stdout, "▶ promoting aaaaaaa"), "{log:#?}");
        assert!(has(LineKind::System, "approved: typed production"), "{log:#?}");
        assert!(
            has(LineKind::Stdout, "container demo-production-aaaaaaa started"),
            "{log:#?}"
        );
        assert!(
            has(
                LineKind::Failure,
                "✗ smoke GET /health: expected status 200, got 500 (attempt 3, answered in 12 ms)"
            ),
            "{log:#?}"
        );
        assert!(has(LineKind::Stderr, "| Internal Server Error"), "{log:#?}");
        assert!(has(LineKind::Alert, "AUTOMATIC ROLLBACK to bbbbbbb"), "{log:#?}");
        assert!(
            has(LineKind::Alert, "⚠ promote ROLLED BACK automatically in 4.2s"),
            "{log:#?}"
        );
        let (level, message) = app.notice.clone().unwrap();
        assert_eq!(level, NoticeLevel::Error);
        assert!(message.contains("production ROLLED BACK automatically"), "{message}");
    }

    #[test]
    fn after_a_good_deploy_on_staging_the_footer_offers_the_promotion() {
        let mut app = envs_app();
        app.apply(started(3, "staging", OpAction::Deploy, Some(release('a', "newest"))));
        app.apply(Event::SmokeChecked {
            op: 3,
            env: "staging".into(),
            release: release('a', "newest"),
            position: 0,
            result: SmokeResult {
                check: "GET /health".into(),
                passed: true,
                attempts: 1,
                latency_ms: 3,
                status: Some(200),
                excerpt: None,
                message: "200, body contains aaaaaaaa".into(),
            },
        });
        app.apply(finished(
            3,
            "staging",
            OpAction::Deploy,
            OpOutcome::Succeeded,
            "staging runs aaaaaaa",
        ));
        status(&mut app, "staging", Some(deployed('a', "Up 1 second (healthy)")));
        assert_eq!(
            app.notice.clone().unwrap(),
            (NoticeLevel::Info, "✓ deploy staging: staging runs aaaaaaa".to_string())
        );
        assert_eq!(
            app.next_step(),
            Some((Action::Promote, "promote aaaaaaa → production".to_string()))
        );
        let log = log_of(&app, "staging");
        assert!(log
            .iter()
            .any(|(k, l)| *k == LineKind::Success && l.starts_with("✓ smoke GET /health")));
        assert!(log
            .iter()
            .any(|(k, l)| *k == LineKind::Success && l.starts_with("✓ deploy succeeded")));
    }

    #[test]
    fn the_environments_panel_takes_the_focus_and_the_log_follows_it() {
        let mut app = envs_app();
        start_run(&mut app, 1, &"a".repeat(40));
        app.update(Action::FocusPrev);
        assert_eq!(app.focus, Focus::Environments);
        assert!(app.shows_env_log());
        app.update(Action::Down);
        assert_eq!(app.envs.selected().unwrap().name(), "production");
        app.update(Action::Down);
        assert_eq!(
            app.envs.selected().unwrap().name(),
            "production",
            "stays on the last one"
        );
        assert_eq!(
            app.update(Action::Smoke),
            vec![],
            "nothing runs on production: nothing to smoke-check"
        );
        app.update(Action::Up);
        assert_eq!(
            app.update(Action::Smoke),
            vec![Effect::Engine(Command::Smoke {
                env: "staging".into(),
                force: false
            })]
        );
        app.update(Action::Right);
        assert_eq!(app.focus, Focus::Log);
        assert!(app.shows_env_log(), "the log still shows the environment");
        app.update(Action::FocusNext);
        app.update(Action::FocusNext);
        assert_eq!(app.focus, Focus::Runs);
        assert!(!app.shows_env_log(), "back on the runs, the log shows stages");
    }

    #[test]
    fn quitting_while_an_operation_runs_asks_first() {
        let mut app = envs_app();
        app.apply(started(3, "staging", OpAction::Deploy, Some(release('a', "newest"))));
        assert_eq!(app.update(Action::Quit), vec![]);
        assert_eq!(app.modal, Some(Modal::ConfirmQuit));
    }
}

// ---------------------------------------------------------------------------------------------
// Environments after a fresh-eyes review: a reloaded release.toml, smoke verdicts, Enter on the
// environments, the promote and rollback dialogs, stale hints and refusals.

mod environments_review {
    use std::sync::Arc;

    use super::environments::{deployed, release};
    use super::*;
    use shipdeck::deploy::{OpAction, OpOutcome, Operator, Refusal, SmokeResult};
    use shipdeck::engine::{NoticeLevel, ReleaseChoice};

    fn connected_app() -> App {
        let mut app = app_with_repo();
        app.set_environments(specs());
        app.apply(Event::EngineStatus {
            connected: true,
            address: "unix:///var/run/docker.sock".into(),
            version: Some("27.0".into()),
            api_version: Some("1.46".into()),
            message: None,
        });
        status(&mut app, "staging", Some(deployed('b', "Up 2 minutes (healthy)")), None);
        status(&mut app, "production", Some(deployed('c', "Up 1 hour")), None);
        app
    }

    fn status(app: &mut App, env: &str, deployed: Option<shipdeck::deploy::Deployed>, smoke: Option<bool>) {
        app.apply(Event::EnvironmentStatus {
            env: env.into(),
            deployed,
            lock: None,
            error: None,
            smoke,
        });
    }

    fn config(text: &str) -> Arc<shipdeck::config::Config> {
        let base = "[app]\nname = \"demo\"\n[stages.package]\ndockerfile = \"Dockerfile\"\n";
        Arc::new(shipdeck::config::parse(&format!("{base}{text}"), "release.toml", None).expect("a valid config"))
    }

    fn smoke_checked(op: u64, env: &str, c: char, passed: bool) -> Event {
        Event::SmokeChecked {
            op,
            env: env.into(),
            release: release(c, "newest"),
            position: 0,
            result: SmokeResult {
                check: "GET /health".into(),
                passed,
                attempts: 1,
                latency_ms: 3,
                status: Some(if passed { 200 } else { 500 }),
                excerpt: None,
                message: "checked".into(),
            },
        }
    }

    fn op_started(op: u64, env: &str, action: OpAction, c: char) -> Event {
        Event::OperationStarted {
            op,
            app: "demo".into(),
            env: env.into(),
            action,
            from: None,
            to: Some(release(c, "newest")),
            run: None,
            by: Operator {
                git_user: None,
                os_user: "ada".into(),
                host: "box".into(),
            },
            approval: None,
            forced: false,
            overridden: None,
            policy: None,
            at: at(10),
        }
    }

    fn op_finished(op: u64, env: &str, action: OpAction, outcome: OpOutcome, refusal: Option<Refusal>) -> Event {
        Event::OperationFinished {
            op,
            env: env.into(),
            action,
            outcome,
            message: "it ended".into(),
            logs: Vec::new(),
            refusal,
            duration_ms: 1000,
            at: at(11),
        }
    }

    fn type_in(app: &mut App, text: &str) {
        for c in text.chars() {
            app.modal_input(ModalInput::Char(c));
        }
    }

    #[test]
    fn a_reloaded_release_toml_rebuilds_the_environments_and_rereads_them() {
        let mut app = connected_app();
        app.update(Action::FocusPrev);
        app.update(Action::Down);
        assert_eq!(app.envs.selected().unwrap().name(), "production");
        let effects = app.apply(Event::ConfigReloaded {
            error: None,
            config: Some(config(
                "[environments.staging]\npublish = \"127.0.0.1:18080:8080\"\n\
                 [environments.qa]\npublish = \"127.0.0.1:18082:8080\"\npromote_from = \"staging\"\n",
            )),
        });
        assert_eq!(effects, vec![Effect::Engine(Command::LoadEnvironments)]);
        let names: Vec<&str> = app.envs.list.iter().map(|e| e.name()).collect();
        assert_eq!(names, ["staging", "qa"], "production is gone, qa is new");
        assert!(app.envs.get("staging").unwrap().loaded, "staging keeps what was read");
        assert!(app.envs.selected().is_some(), "the selection stays inside the list");
        // A read that was under way when release.toml changed does not bring production back.
        status(&mut app, "production", Some(deployed('c', "Up 1 hour")), None);
        assert!(app.envs.get("production").is_none());
        // `d` targets the first environment of the new file.
        app.apply(Event::ConfigReloaded {
            error: None,
            config: Some(config("[environments.dev]\npublish = \"127.0.0.1:18083:8080\"\n")),
        });
        super::start_run(&mut app, 1, &"a".repeat(40));
        app.apply(Event::RunFinished {
            run: 1,
            status: RunStatus::Success,
            duration_ms: 1,
            image_id: Some("sha256:1".into()),
            image_tag: Some("demo:aaaaaaa".into()),
            at: at(2),
        });
        let effects = app.update(Action::Deploy);
        assert!(
            matches!(&effects[..], [Effect::Engine(Command::Deploy { env, .. })] if env == "dev"),
            "{effects:?}"
        );
        // An invalid file keeps the environments.
        app.apply(Event::ConfigReloaded {
            error: Some("release.toml:1:1: bad".into()),
            config: None,
        });
        assert_eq!(app.envs.list.len(), 1);
    }

    #[test]
    fn an_invalid_release_toml_opens_its_whole_diagnostic_and_fixing_it_closes_it() {
        let mut app = connected_app();
        let error = "release.toml:6:1: unknown key `neds` in [stages.build]\n  hint: did you mean `needs`?";
        app.apply(Event::ConfigReloaded {
            error: Some(error.into()),
            config: None,
        });
        assert!(
            matches!(app.modal, Some(Modal::ConfigError { scroll: 0 })),
            "{:?}",
            app.modal
        );
        // Keys of the panels do nothing under it; `e` and Esc close it, `e` opens it again.
        assert_eq!(app.update(Action::Deploy), Vec::<Effect>::new());
        app.update(Action::ShowConfigError);
        assert!(app.modal.is_none());
        app.update(Action::ShowConfigError);
        assert!(matches!(app.modal, Some(Modal::ConfigError { .. })));
        app.modal_input(ModalInput::Esc);
        assert!(app.modal.is_none());
        app.update(Action::ShowConfigError);
        app.apply(Event::ConfigReloaded {
            error: None,
            config: Some(config("[environments.staging]\npublish = \"127.0.0.1:18080:8080\"\n")),
        });
        assert!(app.modal.is_none(), "the fixed file closes the diagnostic");
        assert_eq!(app.config_error, None);
        app.update(Action::ShowConfigError);
        assert!(app.modal.is_none(), "nothing to show for a valid file");
    }

    #[test]
    fn a_failed_smoke_verdict_shows_and_changes_the_footer_offer() {
        let mut app = connected_app();
        status(
            &mut app,
            "staging",
            Some(deployed('b', "Up 2 minutes (healthy)")),
            Some(false),
        );
        assert_eq!(app.envs.get("staging").unwrap().smoke_passed(), Some(false));
        assert_eq!(
            app.next_step(),
            Some((Action::Rollback, "roll back staging".to_string())),
            "a release that failed its smoke checks is offered a rollback, not a promotion"
        );
        status(
            &mut app,
            "staging",
            Some(deployed('b', "Up 2 minutes (healthy)")),
            Some(true),
        );
        assert_eq!(app.envs.get("staging").unwrap().smoke_passed(), Some(true));
        // A verdict of this session's operation.
        app.apply(op_started(4, "staging", OpAction::Smoke, 'b'));
        app.apply(smoke_checked(4, "staging", 'b', false));
        app.apply(op_finished(4, "staging", OpAction::Smoke, OpOutcome::Failed, None));
        assert_eq!(app.envs.get("staging").unwrap().smoke_passed(), Some(false));
        // The next unknown status keeps it; another release there forgets it.
        status(&mut app, "staging", Some(deployed('b', "Up 2 minutes (healthy)")), None);
        assert_eq!(app.envs.get("staging").unwrap().smoke_passed(), Some(false));
        status(&mut app, "staging", Some(deployed('a', "Up 1 second")), None);
        assert_eq!(app.envs.get("staging").unwrap().smoke_passed(), None);
    }

    #[test]
    fn a_release_the_engine_has_no_verdict_for_shows_as_unverified() {
        let mut app = connected_app();
        // The engine has no verdict for the running container: an operation died before its
        // smoke checks.
        status(&mut app, "staging", Some(deployed('b', "Up 2 minutes")), None);
        assert!(app.envs.get("staging").unwrap().unverified());
        status(&mut app, "staging", Some(deployed('b', "Up 2 minutes")), Some(false));
        assert!(
            !app.envs.get("staging").unwrap().unverified(),
            "failed is not unverified"
        );
        status(&mut app, "staging", Some(deployed('a', "Up 1 second")), None);
        assert!(app.envs.get("staging").unwrap().unverified());
        // Checks of this session that pass verify it.
        app.apply(op_started(5, "staging", OpAction::Smoke, 'a'));
        assert!(
            !app.envs.get("staging").unwrap().unverified(),
            "not while it is being checked"
        );
        app.apply(smoke_checked(5, "staging", 'a', true));
        app.apply(op_finished(5, "staging", OpAction::Smoke, OpOutcome::Succeeded, None));
        assert!(!app.envs.get("staging").unwrap().unverified());
        status(&mut app, "staging", None, None);
        assert!(!app.envs.get("staging").unwrap().unverified(), "nothing runs");
    }

    #[test]
    fn a_release_that_just_failed_smoke_on_staging_is_not_offered_again() {
        let mut app = connected_app();
        super::start_run(&mut app, 1, &"a".repeat(40));
        app.apply(Event::RunFinished {
            run: 1,
            status: RunStatus::Success,
            duration_ms: 1,
            image_id: Some("sha256:1".into()),
            image_tag: Some("demo:aaaaaaa".into()),
            at: at(2),
        });
        app.apply(op_started(5, "staging", OpAction::Deploy, 'a'));
        app.apply(smoke_checked(5, "staging", 'a', false));
        app.apply(op_finished(5, "staging", OpAction::Deploy, OpOutcome::Failed, None));
        status(&mut app, "staging", Some(deployed('a', "Up 3 seconds")), None);
        assert_eq!(
            app.next_step(),
            Some((Action::Rollback, "roll back staging (aaaaaaa failed)".to_string()))
        );
    }

    #[test]
    fn a_release_rolled_back_automatically_is_not_offered_for_deploy_again() {
        let mut app = connected_app();
        super::start_run(&mut app, 1, &"a".repeat(40));
        app.apply(Event::RunFinished {
            run: 1,
            status: RunStatus::Success,
            duration_ms: 1,
            image_id: Some("sha256:1".into()),
            image_tag: Some("demo:aaaaaaa".into()),
            at: at(2),
        });
        assert_eq!(
            app.next_step().map(|(a, _)| a),
            Some(Action::Deploy),
            "a green run is offered to staging"
        );
        app.apply(op_started(5, "staging", OpAction::Deploy, 'a'));
        app.apply(smoke_checked(5, "staging", 'a', false));
        app.apply(op_started(6, "staging", OpAction::AutoRollback, 'b'));
        app.apply(op_finished(
            6,
            "staging",
            OpAction::AutoRollback,
            OpOutcome::Succeeded,
            None,
        ));
        app.apply(op_finished(5, "staging", OpAction::Deploy, OpOutcome::RolledBack, None));
        // Staging runs `b` again, verified before.
        status(
            &mut app,
            "staging",
            Some(deployed('b', "Up 2 minutes (healthy)")),
            Some(true),
        );
        let next = app.next_step();
        assert!(
            !matches!(next, Some((Action::Deploy, _)) | Some((Action::Promote, _))),
            "the release that just failed smoke is offered nothing: {next:?}"
        );
    }

    #[test]
    fn enter_on_the_environments_runs_nothing() {
        let mut app = connected_app();
        app.update(Action::FocusPrev);
        assert_eq!(app.focus, Focus::Environments);
        assert_eq!(app.update(Action::RunSelected), vec![]);
        let (_, message) = app.notice.clone().unwrap();
        assert!(
            message.contains("d deploy · s smoke · p promote · r rollback"),
            "{message}"
        );
        app.update(Action::FocusNext);
        app.update(Action::FocusNext);
        assert!(
            matches!(
                &app.update(Action::RunSelected)[..],
                [Effect::Engine(Command::Run { .. })]
            ),
            "from the runs, Enter still runs"
        );
    }

    fn promote_preview(current: char, candidate: char, blocked: Option<&str>) -> Event {
        Event::PromotionPreview {
            env: "production".into(),
            source: "staging".into(),
            current: Some(release(current, "older")),
            candidate: Some(release(candidate, "newest")),
            commits: vec![],
            approval: true,
            blocked: blocked.map(String::from),
        }
    }

    #[test]
    fn a_wrong_name_says_so_and_a_refusing_gate_takes_no_name() {
        let mut app = connected_app();
        app.update(Action::Promote);
        app.apply(promote_preview('c', 'b', None));
        type_in(&mut app, "prodution");
        assert_eq!(app.modal_input(ModalInput::Enter), vec![]);
        let Some(Modal::Promote(modal)) = &app.modal else {
            panic!()
        };
        assert!(modal.mismatch && !modal.ready());
        app.modal_input(ModalInput::Backspace);
        let Some(Modal::Promote(modal)) = &app.modal else {
            panic!()
        };
        assert!(!modal.mismatch, "typing again clears the complaint");

        let mut app = connected_app();
        app.update(Action::Promote);
        app.apply(promote_preview(
            'c',
            'b',
            Some("bbbbbbb has not passed staging's smoke checks"),
        ));
        type_in(&mut app, "production");
        let Some(Modal::Promote(modal)) = &app.modal else {
            panic!()
        };
        assert!(
            modal.typed.is_empty() && !modal.needs_name(),
            "a refused promotion asks no name"
        );
    }

    #[test]
    fn p_follows_the_chain_and_says_when_there_is_nothing_to_promote() {
        let mut app = connected_app();
        app.update(Action::FocusPrev);
        assert_eq!(
            app.update(Action::Promote),
            vec![Effect::Engine(Command::PreviewPromotion {
                env: "production".into()
            })],
            "staging → production"
        );
        app.envs.awaiting_preview = None;
        app.update(Action::Down);
        assert_eq!(
            app.update(Action::Promote),
            vec![Effect::Engine(Command::PreviewPromotion {
                env: "production".into()
            })],
            "production promotes from staging into itself"
        );
        // Production already runs the candidate: nothing to do, no name asked.
        app.apply(promote_preview('b', 'b', None));
        let Some(Modal::Promote(modal)) = &app.modal else {
            panic!()
        };
        assert!(modal.same() && !modal.needs_name() && !modal.ready());
        type_in(&mut app, "production");
        assert_eq!(app.modal_input(ModalInput::Enter), vec![]);
        app.modal_input(ModalInput::Esc);

        // Two environments without a chain: nothing to promote to.
        let mut app = app_with_repo();
        let mut lone = specs();
        lone[1].promote_from = None;
        app.set_environments(lone);
        app.update(Action::FocusPrev);
        app.update(Action::Down);
        assert_eq!(app.update(Action::Promote), vec![]);
        assert_eq!(app.notice.clone().unwrap().1, "nothing to promote to from production");
    }

    fn choice(c: char, current: bool) -> ReleaseChoice {
        ReleaseChoice {
            release: release(c, "a release"),
            deployed_at: Some(at(0)),
            by: Some("ada@box".into()),
            smoke: None,
            current,
            run: None,
            schema_behind: false,
        }
    }

    #[test]
    fn rolling_production_back_asks_for_its_name() {
        let mut app = connected_app();
        app.update(Action::FocusPrev);
        app.update(Action::Down);
        app.update(Action::Rollback);
        // The engine's list left out what runs there: the console lists it, as current.
        app.apply(Event::ReleasesListed {
            env: "production".into(),
            releases: vec![choice('d', false), choice('e', false)],
            approval: true,
        });
        let Some(Modal::Rollback(picker)) = &app.modal else {
            panic!("{:?}", app.modal)
        };
        assert!(picker.releases[0].current && picker.releases[0].release.commit == "c".repeat(40));
        assert_eq!(picker.selected, 1);
        assert_eq!(
            app.modal_input(ModalInput::Enter),
            vec![],
            "Enter asks for the name first"
        );
        let Some(Modal::Rollback(picker)) = &app.modal else {
            panic!()
        };
        assert!(picker.confirming);
        type_in(&mut app, "prod");
        assert_eq!(app.modal_input(ModalInput::Enter), vec![]);
        let Some(Modal::Rollback(picker)) = &app.modal else {
            panic!()
        };
        assert!(picker.mismatch);
        type_in(&mut app, "uction");
        assert_eq!(
            app.modal_input(ModalInput::Enter),
            vec![Effect::Engine(Command::Rollback {
                env: "production".into(),
                to: Some(format!("sha256:{}", "d".repeat(64))),
                force: false,
                approval: Some("typed production".into()),
            })]
        );
    }

    #[test]
    fn r_during_an_operation_on_the_environment_is_refused_up_front() {
        let mut app = connected_app();
        app.update(Action::FocusPrev);
        app.apply(op_started(6, "staging", OpAction::Deploy, 'a'));
        assert_eq!(app.update(Action::Rollback), vec![]);
        assert!(app.notice.clone().unwrap().1.contains("already under way"));
        assert_eq!(app.envs.awaiting_releases, None);
    }

    #[test]
    fn the_select_a_green_run_hint_gives_way_to_a_run_and_to_the_next_step() {
        let mut app = connected_app();
        app.update(Action::Deploy);
        assert!(app.current_notice().unwrap().1.contains("select a green run"));
        super::start_run(&mut app, 1, &"a".repeat(40));
        assert_eq!(app.current_notice(), None, "a run is going: the hint is stale");
        app.apply(Event::RunFinished {
            run: 1,
            status: RunStatus::Success,
            duration_ms: 1,
            image_id: Some("sha256:1".into()),
            image_tag: Some("demo:aaaaaaa".into()),
            at: at(2),
        });
        assert!(app.next_step().is_some());
        assert_eq!(app.current_notice(), None, "the footer offers the deploy itself");
    }

    #[test]
    fn a_refused_operation_is_a_failure_notice_that_says_why() {
        let mut app = connected_app();
        app.apply(op_started(7, "production", OpAction::Promote, 'b'));
        app.apply(op_finished(
            7,
            "production",
            OpAction::Promote,
            OpOutcome::Refused,
            Some(Refusal::Locked),
        ));
        let (level, message) = app.notice.clone().unwrap();
        assert_eq!(level, NoticeLevel::Error);
        assert_eq!(message, "⊘ promote production refused (locked): it ended");
    }

    #[test]
    fn help_scrolls_when_it_does_not_fit() {
        let mut app = connected_app();
        app.update(Action::Help);
        app.update(Action::Down);
        app.update(Action::Down);
        assert_eq!(app.help_scroll, 2);
        app.update(Action::Up);
        assert_eq!(app.help_scroll, 1);
        assert_eq!(app.modal, Some(Modal::Help));
    }
}

#[test]
fn a_failed_run_opens_on_its_failed_stage_at_the_failure_and_next_failure_walks_on() {
    let mut app = App::new(plan(), 1000);
    let stage = |name: &str, position: usize, status: StageStatus| shipdeck::store::StageRecord {
        run: 4,
        name: name.into(),
        position,
        status,
        exit_code: status.is_failure().then_some(1),
        started_at: (status != StageStatus::Skipped).then(|| at(0)),
        finished_at: Some(at(1)),
        duration_ms: Some(1000),
        message: None,
        image_id: None,
    };
    let failed = shipdeck::engine::PastRun {
        run: shipdeck::store::RunRecord {
            number: 4,
            app: "demo".into(),
            commit: "c".repeat(40),
            short_commit: "ccccccc".into(),
            branch: None,
            subject: "broken".into(),
            author: "Ada".into(),
            trigger: "manual".into(),
            status: RunStatus::Failed,
            queued_at: at(0),
            started_at: Some(at(0)),
            finished_at: Some(at(3)),
            duration_ms: Some(3000),
            image_id: None,
            image_tag: None,
            owner: "h/1/1".into(),
            scans: Vec::new(),
        },
        // Drawn test, lint, build: lint failed, build never ran.
        stages: vec![
            stage("test", 0, StageStatus::Success),
            stage("lint", 1, StageStatus::Failed),
            stage("build", 2, StageStatus::Skipped),
        ],
        log_paths: vec![
            ("test".into(), "/logs/test.log".into()),
            ("lint".into(), "/logs/lint.log".into()),
        ],
    };
    let effects = app.apply(Event::HistoryLoaded { runs: vec![failed] });
    assert_eq!(
        app.runs[0].selected().unwrap().name,
        "lint",
        "the failed stage is selected"
    );
    assert_eq!(
        effects,
        vec![Effect::Engine(Command::LoadLog {
            run: 4,
            stage: "lint".into(),
            lines: 1000
        })]
    );
    let mut lines: Vec<String> = (0..300).map(|i| format!("checking file_{i}.py ... ok")).collect();
    lines[40] = "error: line too long (E501)".into();
    lines[200] = "Traceback (most recent call last):".into();
    lines[299] = "shipdeck: exited with code 1".into();
    app.apply(Event::StageLogLoaded {
        run: 4,
        stage: "lint".into(),
        path: "/logs/lint.log".into(),
        lines,
        skipped: 0,
    });
    let view = |app: &App| {
        let s = app.runs[0].selected().unwrap();
        (
            s.view.following(),
            s.view.current_failure(),
            s.view.top_position(&s.log).line,
        )
    };
    let (following, failure, top) = view(&app);
    assert!(!following, "the view stays at the failure, not the tail");
    assert_eq!(failure, Some(40));
    assert!(top <= 40, "line 40 is on screen from {top}");

    app.focus = Focus::Log;
    app.update(Action::NextFailure);
    assert_eq!(view(&app).1, Some(200));
    app.update(Action::NextFailure);
    assert_eq!(view(&app).1, Some(299));
    app.update(Action::NextFailure);
    assert_eq!(view(&app).1, Some(40), "wraps around");
    assert!(app.notice.is_none());

    // Once the user moved on, selecting the stage again does not jump back.
    app.update(Action::Follow);
    app.update(Action::Left);
    app.update(Action::Right);
    assert_eq!(app.runs[0].selected().unwrap().name, "lint");
    assert!(view(&app).0, "still following the tail");

    // A log without failure lines says so.
    app.update(Action::Left);
    assert_eq!(app.runs[0].selected().unwrap().name, "test");
    app.update(Action::NextFailure);
    assert!(
        app.notice.as_ref().unwrap().1.contains("no failure line"),
        "{:?}",
        app.notice
    );
}

#[test]
fn a_live_run_that_fails_selects_its_failed_stage_at_the_failure() {
    let mut app = app_with_repo();
    start_run(&mut app, 1, &"a".repeat(40));
    for (stage, status) in [("test", StageStatus::Failed), ("lint", StageStatus::Success)] {
        app.apply(Event::StageStarted {
            run: 1,
            stage: stage.into(),
            at: at(1),
            log_path: None,
        });
        let mut lines: Vec<String> = (0..100).map(|i| format!("{stage} line {i}")).collect();
        if status.is_failure() {
            lines[10] = "thread 'main' panicked at src/lib.rs:3:5:".into();
        }
        app.apply(Event::StageLog {
            run: 1,
            stage: stage.into(),
            stream: Stream::Stdout,
            lines,
        });
        app.apply(Event::StageFinished {
            run: 1,
            stage: stage.into(),
            status,
            exit_code: Some(if status.is_failure() { 101 } else { 0 }),
            duration_ms: 1000,
            message: None,
            at: at(2),
        });
    }
    assert_eq!(app.runs[0].selected().unwrap().name, "lint", "the last stage to start");
    app.apply(Event::RunFinished {
        run: 1,
        status: RunStatus::Failed,
        duration_ms: 2000,
        image_id: None,
        image_tag: None,
        at: at(3),
    });
    let stage = app.runs[0].selected().unwrap();
    assert_eq!(stage.name, "test");
    assert_eq!(stage.view.current_failure(), Some(10));
    assert!(!stage.view.following());
}

/// #14 item 8: a commit without a run is planned by the engine, asked once per commit (the
/// view reads no git itself); a config reload forgets plans taken from the working copy.
#[test]
fn selecting_a_commit_without_a_run_asks_its_plan_once() {
    let mut app = App::new(plan(), 1000);
    let effects = app.apply(Event::RepoState {
        app: "demo".into(),
        repo: "/src/demo".into(),
        app_dir: String::new(),
        branch: Some("main".into()),
        head: Some(commit("a", "newest")),
        commits: vec![commit("a", "newest"), commit("b", "older")],
    });
    let ask = |c: &str| vec![Effect::Engine(Command::PlanCommit { commit: c.repeat(40) })];
    assert_eq!(effects, ask("a"), "the console opens on HEAD and plans it");
    assert_eq!(app.update(Action::Down), ask("b"));
    assert_eq!(app.update(Action::Up), Vec::new(), "asked already");
    app.apply(Event::CommitPlanned {
        commit: "a".repeat(40),
        stages: plan(),
        source: shipdeck::engine::PlanSource::WorkingCopy,
        error: None,
    });
    let (_, planned) = app.selected_commit_plan().unwrap();
    let names: Vec<&str> = planned.unwrap().stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, plan().iter().map(|p| p.name.as_str()).collect::<Vec<_>>());
    assert!(planned.unwrap().stages.iter().all(|s| s.status == StageStatus::Pending));
    // Nothing about a plan is a run: Enter still runs the commit.
    assert_eq!(
        app.update(Action::RunSelected),
        vec![Effect::Engine(Command::Run {
            rev: "a".repeat(40),
            trigger: "manual".into()
        })]
    );
    app.apply(Event::ConfigReloaded {
        error: None,
        config: None,
    });
    // An unanswered ask may have been answered from the old file: asked again too.
    assert_eq!(app.update(Action::Down), ask("b"));
    assert_eq!(
        app.update(Action::Up),
        ask("a"),
        "the working copy's plan was forgotten"
    );
}

/// #14 item 11: a click focuses the panel under it; on a row of the runs list it selects that
/// row (and asks what the row needs, like the keys do); modal dialogs keep clicks out.
#[test]
fn a_click_focuses_a_panel_and_selects_a_run_row() {
    let mut app = app_with_repo();
    app.focus_on(Focus::Log);
    let effects = app.click(Focus::Runs, Some(1), 10);
    assert_eq!((app.focus, app.selected), (Focus::Runs, 1));
    assert_eq!(
        effects,
        vec![Effect::Engine(Command::PlanCommit { commit: "b".repeat(40) })]
    );
    // Below the last row, and on the border: focus only.
    assert_eq!(app.click(Focus::Runs, Some(5), 10), Vec::new());
    assert_eq!(app.selected, 1);
    app.click(Focus::Environments, None, 10);
    assert_eq!(app.focus, Focus::Environments);
    app.update(Action::Help);
    app.click(Focus::Runs, Some(0), 10);
    assert_eq!((app.focus, app.selected), (Focus::Environments, 1));
}

/// #14 item 11: `y` copies the selected commit's id, `Y` the run's image, ctrl-y the log line
/// at the failure; the text is handed on as it is (the loop cleans it into OSC 52), and the
/// notice that says what was copied is plain.
#[test]
fn copy_keys_copy_the_commit_the_image_and_the_failure_line() {
    let mut app = app_with_repo();
    assert_eq!(app.update(Action::CopyCommit), vec![Effect::Copy("a".repeat(40))]);
    start_run(&mut app, 1, &"a".repeat(40));
    assert_eq!(app.update(Action::CopyImage), Vec::new(), "no image yet");
    app.apply(Event::StageLog {
        run: 1,
        stage: plan()[0].name.clone(),
        stream: Stream::Stderr,
        lines: vec![
            "ok".into(),
            "error: boom \x1b]52;c;ZXZpbA==\x07 here".into(),
            "after".into(),
        ],
    });
    app.apply(Event::StageFinished {
        run: 1,
        stage: plan()[0].name.clone(),
        status: StageStatus::Failed,
        exit_code: Some(1),
        duration_ms: 5,
        message: None,
        at: at(1),
    });
    app.apply(Event::RunFinished {
        run: 1,
        status: RunStatus::Failed,
        duration_ms: 5,
        image_id: None,
        image_tag: Some("demo:run-1".into()),
        at: at(1),
    });
    assert_eq!(app.update(Action::CopyImage), vec![Effect::Copy("demo:run-1".into())]);
    let copied = app.update(Action::CopyLine);
    let [Effect::Copy(line)] = copied.as_slice() else {
        panic!("{copied:?}")
    };
    assert!(line.starts_with("error: boom"), "{line:?}");
    assert!(!line.contains('\x1b'), "the view folded a sanitized line: {line:?}");
    let (_, notice) = app.notice.clone().unwrap();
    assert!(notice.starts_with("copied error: boom"), "{notice}");
}
