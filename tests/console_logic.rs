//! The console's logic driven by actions and engine events, without a terminal.

use chrono::{TimeZone, Utc};

use shipdeck::engine::event::StageKindName;
use shipdeck::engine::{Command, CommitInfo, Event, PlannedStage, Stream};
use shipdeck::store::{RunStatus, StageStatus};
use shipdeck::ui::action::Action;
use shipdeck::ui::app::{App, Effect, Focus, Modal, ModalInput};
use shipdeck::ui::model::Row;

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

fn at(s: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
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
    for action in Action::ALL {
        assert!(
            readme.contains(&format!("`{}`", action.name())),
            "README does not list the action `{}`",
            action.name()
        );
    }
}
