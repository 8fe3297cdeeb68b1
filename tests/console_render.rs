//! The console's frames, rendered from real state into a real ratatui buffer: snapshots of the
//! main states and the colours of status glyphs.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use shipdeck::engine::event::StageKindName;
use shipdeck::engine::{CommitInfo, Event, PlannedStage, Stream};
use shipdeck::model::{RunStatus, StageStatus};
use shipdeck::ui::action::Action;
use shipdeck::ui::app::App;
use shipdeck::ui::envs::EnvSpec;
use shipdeck::ui::keymap::Keymap;
use shipdeck::ui::render::{render, Chrome};
use shipdeck::ui::theme::Theme;

use common::console::*;

fn chrome() -> Chrome {
    Chrome {
        theme: Theme::builtin("default").unwrap(),
        keymap: Keymap::default(),
        environments: vec![("staging".into(), false), ("production".into(), true)],
    }
}

fn plan(parallel: bool) -> Vec<PlannedStage> {
    let stage = |name: &str, needs: &[&str]| PlannedStage {
        name: name.into(),
        needs: needs.iter().map(|n| n.to_string()).collect(),
        kind: StageKindName::Run,
        image: "python:3.11-slim".into(),
    };
    if parallel {
        vec![
            stage("test", &[]),
            stage("lint", &[]),
            stage("build", &["test", "lint"]),
            stage("package", &["build"]),
        ]
    } else {
        vec![
            stage("test", &[]),
            stage("build", &["test"]),
            stage("package", &["build"]),
        ]
    }
}

fn commit(c: char, subject: &str) -> CommitInfo {
    CommitInfo {
        id: c.to_string().repeat(40),
        short: c.to_string().repeat(7),
        subject: subject.into(),
        author: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        time: 0,
        branch: Some("main".into()),
    }
}

/// A console that has read the repository and sees a running engine.
fn idle(parallel: bool) -> App {
    let mut app = App::new(plan(parallel), 1000);
    app.set_environments(EnvSpec::guessed(&chrome().environments));
    app.apply(Event::RepoState {
        app: "hello-py".into(),
        repo: "/home/ada/hello-py".into(),
        app_dir: String::new(),
        branch: Some("main".into()),
        head: Some(commit('a', "Add /health endpoint")),
        commits: vec![commit('a', "Add /health endpoint"), commit('b', "Initial commit")],
    });
    app.apply(Event::EngineStatus {
        connected: true,
        address: "unix:///var/run/docker.sock".into(),
        version: Some("20.10.24".into()),
        api_version: Some("1.41".into()),
        message: None,
    });
    app.now = at(0);
    app
}

fn queue(app: &mut App, parallel: bool) {
    app.apply(Event::RunQueued {
        run: 1,
        app: "hello-py".into(),
        commit: "a".repeat(40),
        short_commit: "aaaaaaa".into(),
        subject: "Add /health endpoint".into(),
        author: "Ada Lovelace".into(),
        branch: Some("main".into()),
        trigger: "manual".into(),
        at: at(0),
    });
    app.apply(Event::RunStarted {
        run: 1,
        stages: plan(parallel),
        at: at(0),
    });
}

fn log(app: &mut App, stage: &str, lines: &[&str]) {
    app.apply(Event::StageLog {
        run: 1,
        stage: stage.into(),
        stream: Stream::Stdout,
        lines: lines.iter().map(|l| l.to_string()).collect(),
    });
}

fn finish(app: &mut App, stage: &str, status: StageStatus, ms: i64) {
    app.apply(Event::StageFinished {
        run: 1,
        stage: stage.into(),
        status,
        exit_code: if status == StageStatus::Success {
            Some(0)
        } else {
            Some(1)
        },
        duration_ms: ms,
        message: (status == StageStatus::Failed).then(|| "exited with code 1".to_string()),
        at: at(ms / 1000),
    });
}

fn running() -> App {
    let mut app = idle(false);
    queue(&mut app, false);
    app.apply(Event::StageStarted {
        run: 1,
        stage: "test".into(),
        at: at(0),
        log_path: None,
    });
    log(&mut app, "test", &["$ python -m unittest discover -v"]);
    finish(&mut app, "test", StageStatus::Success, 1200);
    app.apply(Event::StageStarted {
        run: 1,
        stage: "build".into(),
        at: at(1),
        log_path: None,
    });
    log(
        &mut app,
        "build",
        &[
            "$ mkdir -p dist",
            "$ python -m zipapp app -o dist/hello.pyz",
            "\x1b[32mbuilt\x1b[0m dist/hello.pyz",
        ],
    );
    app.now = at(3);
    app
}

fn draw(app: &App, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    render(app, &chrome(), area, &mut buf);
    buf
}

#[test]
fn idle_console() {
    insta::assert_snapshot!(text(&draw(&idle(false), 100, 28)));
}

#[test]
fn running_with_live_logs() {
    let app = running();
    let buf = draw(&app, 100, 28);
    insta::assert_snapshot!(text(&buf));
    // The finished stage's glyph is drawn in the theme's success colour, the running one in
    // the running colour.
    let theme = Theme::builtin("default").unwrap();
    assert_eq!(fg_at(&buf, "✓ test"), theme.success.fg.unwrap());
    let (x, y) = find(&buf, " build 2.0s");
    assert_eq!(buf[(x - 1, y)].fg, theme.running.fg.unwrap());
    // SGR colours from the stage's output reach the pane.
    assert_eq!(fg_at(&buf, "built dist/hello.pyz"), ratatui::style::Color::Green);
}

#[test]
fn failed_stage() {
    let mut app = idle(false);
    queue(&mut app, false);
    app.apply(Event::StageStarted {
        run: 1,
        stage: "test".into(),
        at: at(0),
        log_path: None,
    });
    log(
        &mut app,
        "test",
        &[
            "FAIL: test_health (tests.test_app.Health)",
            "AssertionError: 500 != 200",
        ],
    );
    finish(&mut app, "test", StageStatus::Failed, 900);
    for stage in ["build", "package"] {
        app.apply(Event::StageFinished {
            run: 1,
            stage: stage.into(),
            status: StageStatus::Skipped,
            exit_code: None,
            duration_ms: 0,
            message: Some("needs `test`, which failed".into()),
            at: at(1),
        });
    }
    app.apply(Event::RunFinished {
        run: 1,
        status: RunStatus::Failed,
        duration_ms: 1000,
        image_id: None,
        image_tag: None,
        at: at(1),
    });
    let buf = draw(&app, 100, 28);
    insta::assert_snapshot!(text(&buf));
    let theme = Theme::builtin("default").unwrap();
    assert_eq!(fg_at(&buf, "✗ test"), theme.failure.fg.unwrap());
    // The stage's own failure lines stand out; an ordinary one keeps the text colour.
    assert_eq!(fg_at(&buf, "FAIL: test_health"), theme.failure.fg.unwrap());
    assert_ne!(fg_at(&buf, "AssertionError: 500"), theme.failure.fg.unwrap());
}

#[test]
fn parallel_stages_split() {
    let mut app = idle(true);
    queue(&mut app, true);
    for stage in ["test", "lint"] {
        app.apply(Event::StageStarted {
            run: 1,
            stage: stage.into(),
            at: at(0),
            log_path: None,
        });
    }
    log(&mut app, "test", &["test_a ... ok", "test_b ... ok"]);
    log(&mut app, "lint", &["checking 12 files", "all clean"]);
    app.update(Action::ToggleSplit);
    app.now = at(2);
    insta::assert_snapshot!(text(&draw(&app, 110, 28)));
}

#[test]
fn help_overlay() {
    let mut app = idle(false);
    app.update(Action::Help);
    insta::assert_snapshot!(text(&draw(&app, 100, 34)));
}

#[test]
fn help_overlay_in_a_short_terminal_uses_two_columns() {
    let mut app = idle(false);
    app.update(Action::Help);
    let screen = text(&draw(&app, 120, 24));
    for key in [
        "quit (asks while a run or deploy is on)",
        "saves run stages on/off",
        "suspend (fg resumes)",
        "Keys can be changed",
    ] {
        assert!(screen.contains(key), "`{key}` is cut off:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn the_pipeline_strip_ends_cut_text_with_an_ellipsis() {
    let mut app = idle(false);
    queue(&mut app, false);
    for stage in ["test", "build", "package"] {
        app.apply(Event::StageStarted {
            run: 1,
            stage: stage.into(),
            at: at(0),
            log_path: None,
        });
        finish(&mut app, stage, StageStatus::Success, 754_000);
    }
    let buf = draw(&app, 80, 24);
    let (_, y) = find(&buf, "✓ test");
    let row: String = (0..80).map(|x| buf[(x, y)].symbol().to_string()).collect();
    assert!(row.trim_end().trim_end_matches('│').trim_end().ends_with('…'), "{row}");
}

#[test]
fn too_small_terminal() {
    insta::assert_snapshot!(text(&draw(&idle(false), 60, 12)));
}

#[test]
fn engine_down() {
    let mut app = idle(false);
    app.apply(Event::EngineStatus {
        connected: false,
        address: "unix:///var/run/docker.sock".into(),
        version: None,
        api_version: None,
        message: Some("connection refused".into()),
    });
    let buf = draw(&app, 100, 28);
    insta::assert_snapshot!(text(&buf));
    let theme = Theme::builtin("default").unwrap();
    let (x, y) = find(&buf, "docker ✗ unreachable");
    assert_eq!(buf[(x, y)].bg, theme.alert.bg.unwrap());
}

// ---------------------------------------------------------------------------------------------
// Environments: the panel, the approval modal, the rollback picker, an operation's log.

mod environments {
    use super::*;
    use shipdeck::deploy::{Deployed, OpAction, OpOutcome, Operator, ReleaseRef, SmokeResult};
    use shipdeck::engine::ReleaseChoice;
    use shipdeck::ui::app::Modal;

    /// Times on screen are local: the snapshots are taken in UTC.
    fn utc() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| std::env::set_var("TZ", "UTC"));
    }

    fn release(c: char, subject: &str) -> ReleaseRef {
        release_of("hello-py", c, subject)
    }

    fn deployed(c: char, subject: &str, status: &str) -> Deployed {
        Deployed {
            container_id: "0123456789ab".into(),
            container: "hello-py-staging".into(),
            release: release(c, subject),
            deployed_by: "ada@box (Ada Lovelace <ada@example.com>)".into(),
            deployed_at: "2023-11-14T22:13:25+00:00".into(),
            action: "deploy".into(),
            state: "running".into(),
            status: status.into(),
        }
    }

    /// What the engine says of an environment; a release there is verified (its smoke checks
    /// passed against the running container), as after any operation that ended well.
    fn status(app: &mut App, env: &str, deployed: Option<Deployed>) {
        app.apply(Event::EnvironmentStatus {
            env: env.into(),
            smoke: deployed.as_ref().map(|_| true),
            deployed,
            lock: None,
            error: None,
        });
    }

    /// A green run #1 of `a`, staging running `b` (healthy), production empty.
    fn console() -> App {
        utc();
        let mut app = idle(false);
        app.set_environments(specs());
        queue(&mut app, false);
        for stage in ["test", "build", "package"] {
            finish(&mut app, stage, StageStatus::Success, 1000);
        }
        app.apply(Event::RunFinished {
            run: 1,
            status: RunStatus::Success,
            duration_ms: 3000,
            image_id: Some("sha256:1".into()),
            image_tag: Some("hello-py:aaaaaaa".into()),
            at: at(3),
        });
        status(
            &mut app,
            "staging",
            Some(deployed('b', "Initial commit", "Up 2 minutes (healthy)")),
        );
        status(&mut app, "production", None);
        app.now = at(10);
        app
    }

    #[test]
    fn environments_panel_with_a_deployed_staging_and_an_empty_production() {
        let app = console();
        let buf = draw(&app, 100, 28);
        insta::assert_snapshot!(text(&buf));
        let theme = Theme::builtin("default").unwrap();
        assert_eq!(fg_at(&buf, "● healthy"), theme.success.fg.unwrap());
        assert_eq!(fg_at(&buf, "production ○"), theme.production.fg.unwrap());
        // The footer offers the next step.
        let (x, y) = find(&buf, "deploy aaaaaaa → staging");
        assert_eq!(y, 27);
        assert_eq!(buf[(x, y)].fg, theme.success.fg.unwrap());
    }

    #[test]
    fn an_unverified_release_is_shown_in_the_alert_colour_but_an_unhealthy_one_stays_unhealthy() {
        let mut app = console();
        // No verdict for the running container: an operation died before its smoke checks.
        app.apply(Event::EnvironmentStatus {
            env: "staging".into(),
            deployed: Some(deployed('b', "Initial commit", "Up 2 minutes (healthy)")),
            lock: None,
            error: None,
            smoke: None,
        });
        let buf = draw(&app, 100, 28);
        let theme = Theme::builtin("default").unwrap();
        assert_eq!(fg_at(&buf, "? unverified"), theme.alert.fg.unwrap());
        app.apply(Event::EnvironmentStatus {
            env: "staging".into(),
            deployed: Some(deployed('b', "Initial commit", "Up 1 minute (unhealthy)")),
            lock: None,
            error: None,
            smoke: None,
        });
        let buf = draw(&app, 100, 28);
        assert_eq!(fg_at(&buf, "✗ unhealthy"), theme.failure.fg.unwrap());
    }

    #[test]
    fn an_unhealthy_release_a_lock_and_an_unreachable_engine_are_shown() {
        let mut app = console();
        status(
            &mut app,
            "staging",
            Some(deployed('b', "Initial commit", "Up 1 minute (unhealthy)")),
        );
        app.apply(Event::EnvironmentStatus {
            env: "production".into(),
            deployed: None,
            lock: Some(shipdeck::engine::event::LockHolder {
                env: "production".into(),
                holder: "bob@ops (Bob <bob@example.com>)".into(),
                doing: "rollback ccccccc".into(),
                since: Some(at(5)),
                process: "ops/42/1".into(),
                stale: false,
            }),
            error: None,
            smoke: None,
        });
        let buf = draw(&app, 100, 28);
        let theme = Theme::builtin("default").unwrap();
        assert_eq!(fg_at(&buf, "✗ unhealthy"), theme.failure.fg.unwrap());
        assert_eq!(
            fg_at(&buf, "locked by bob@ops since"),
            theme.awaiting_approval.fg.unwrap()
        );
        find(&buf, "22:13:25 (rollback");

        app.apply(Event::EnvironmentStatus {
            env: "staging".into(),
            deployed: None,
            lock: None,
            error: Some("cannot reach the engine of staging: connection refused".into()),
            smoke: None,
        });
        let buf = draw(&app, 100, 28);
        assert_eq!(fg_at(&buf, "✗ unreachable"), theme.failure.fg.unwrap());
        find(&buf, "cannot reach the engine");
    }

    #[test]
    fn an_operation_under_way_spins_in_the_panel_and_fills_the_log() {
        let mut app = console();
        app.update(Action::Deploy);
        app.apply(Event::OperationStarted {
            op: 1,
            app: "hello-py".into(),
            env: "staging".into(),
            action: OpAction::Deploy,
            from: Some(release('b', "Initial commit")),
            to: Some(release('a', "Add /health endpoint")),
            run: Some(1),
            by: Operator {
                git_user: Some("Ada Lovelace <ada@example.com>".into()),
                os_user: "ada".into(),
                host: "box".into(),
            },
            approval: None,
            forced: false,
            overridden: None,
            policy: None,
            at: at(11),
        });
        app.apply(Event::OperationLog {
            op: 1,
            env: "staging".into(),
            lines: vec!["starting hello-py-staging-aaaaaaa".into()],
        });
        let screen = text(&draw(&app, 100, 28));
        assert!(screen.contains("⠋ deploying aaaaaaa…"), "{screen}");
        assert!(screen.contains("Log · ⠋ deploy staging"), "{screen}");
        assert!(screen.contains("· starting hello-py-staging-aaaaaaa"), "{screen}");
    }

    #[test]
    fn an_automatic_rollback_is_loud_in_the_log() {
        let mut app = console();
        app.update(Action::FocusPrev);
        app.update(Action::Down);
        let by = Operator {
            git_user: None,
            os_user: "ada".into(),
            host: "box".into(),
        };
        app.apply(Event::OperationStarted {
            op: 4,
            app: "hello-py".into(),
            env: "production".into(),
            action: OpAction::Promote,
            from: Some(release('b', "Initial commit")),
            to: Some(release('a', "Add /health endpoint")),
            run: None,
            by,
            approval: Some("typed production".into()),
            forced: false,
            overridden: None,
            policy: None,
            at: at(11),
        });
        app.apply(Event::SmokeChecked {
            op: 4,
            env: "production".into(),
            release: release('a', "Add /health endpoint"),
            position: 0,
            result: SmokeResult {
                check: "GET /health".into(),
                passed: false,
                attempts: 5,
                latency_ms: 4,
                status: Some(503),
                excerpt: Some("service unavailable".into()),
                message: "expected status 200, got 503".into(),
            },
        });
        app.apply(Event::OperationStarted {
            op: 5,
            app: "hello-py".into(),
            env: "production".into(),
            action: OpAction::AutoRollback,
            from: Some(release('a', "Add /health endpoint")),
            to: Some(release('b', "Initial commit")),
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
            at: at(18),
        });
        app.apply(Event::OperationFinished {
            op: 5,
            env: "production".into(),
            action: OpAction::AutoRollback,
            outcome: OpOutcome::Succeeded,
            message: "bbbbbbb (bbbbbbbbbbbb) restored; smoke passed (1 check)".into(),
            logs: Vec::new(),
            refusal: None,
            duration_ms: 2100,
            at: at(20),
        });
        app.apply(Event::OperationFinished {
            op: 4,
            env: "production".into(),
            action: OpAction::Promote,
            outcome: OpOutcome::RolledBack,
            message: "SMOKE CHECKS FAILED on production: ROLLED BACK automatically to bbbbbbb".into(),
            logs: Vec::new(),
            refusal: None,
            duration_ms: 9100,
            at: at(20),
        });
        let buf = draw(&app, 100, 28);
        insta::assert_snapshot!(text(&buf));
        let theme = Theme::builtin("default").unwrap();
        let (x, y) = find(&buf, "⚠ promote ROLLED BACK automatically");
        assert_eq!(buf[(x, y)].bg, theme.alert.bg.unwrap());
        assert_eq!(fg_at(&buf, "✗ smoke GET /health"), theme.failure.fg.unwrap());
        let (x, y) = find(&buf, "⚠ ROLLED BACK");
        assert_eq!(buf[(x, y)].bg, theme.alert.bg.unwrap(), "the panel says so too");
        assert!(
            !text(&buf).contains("deploy aaaaaaa"),
            "the release that just failed smoke is not offered again"
        );
    }

    /// A deploy with strategy `proxy` under way on staging: both releases during the overlap
    /// with the pre-switch smoke answer, then the moment traffic moved and the drain counting
    /// down; the proxy on its own row with what it serves.
    #[test]
    fn a_switch_under_way_shows_both_releases_then_the_traffic_move_and_the_drain() {
        use shipdeck::deploy::accessories::PartState;
        use shipdeck::deploy::switch_step::SwitchStep;
        let mut app = console();
        app.apply(Event::EnvironmentParts {
            env: "staging".into(),
            accessories: Vec::new(),
            processes: Vec::new(),
            proxy: Some(PartState {
                name: "proxy".into(),
                container: Some("shipdeck-proxy-hello-py-staging-1a2b".into()),
                state: "running".into(),
                health: "serving hello-py-staging-bbbbbbb-1a2b (172.18.0.3:8080) on 127.0.0.1:18080".into(),
                image: "shipdeck/proxy:bookworm".into(),
            }),
        });
        app.apply(Event::OperationStarted {
            op: 9,
            app: "hello-py".into(),
            env: "staging".into(),
            action: OpAction::Deploy,
            from: Some(release('b', "Initial commit")),
            to: Some(release('a', "Add /health endpoint")),
            run: Some(1),
            by: Operator {
                git_user: None,
                os_user: "ada".into(),
                host: "box".into(),
            },
            approval: None,
            forced: false,
            overridden: None,
            policy: None,
            at: at(11),
        });
        let step = |app: &mut App, step: SwitchStep| {
            app.apply(Event::SwitchProgress {
                op: 9,
                env: "staging".into(),
                step,
            });
        };
        step(
            &mut app,
            SwitchStep::Overlap {
                serving: Some("bbbbbbb".into()),
                new: "aaaaaaa".into(),
            },
        );
        step(&mut app, SwitchStep::Ready { how: "healthy".into() });
        step(
            &mut app,
            SwitchStep::Smoked {
                passed: true,
                summary: "smoke passed (2 checks)".into(),
            },
        );
        let overlap = draw(&app, 100, 28);
        let theme = Theme::builtin("default").unwrap();
        assert_eq!(fg_at(&overlap, "bbbbbbb ● serving"), theme.success.fg.unwrap());
        assert_eq!(fg_at(&overlap, "aaaaaaa ● ready (healthy)"), theme.success.fg.unwrap());
        assert_eq!(fg_at(&overlap, "✓ smoke passed (2 checks)"), theme.success.fg.unwrap());
        assert_eq!(fg_at(&overlap, "● serving hello"), theme.success.fg.unwrap());
        insta::assert_snapshot!("switch_overlap", text(&overlap));
        step(&mut app, SwitchStep::Moved { at: at(14) });
        step(
            &mut app,
            SwitchStep::Draining {
                in_flight: 2,
                left_secs: 28,
            },
        );
        let draining = draw(&app, 100, 28);
        assert_eq!(fg_at(&draining, "traffic→aaaaaaa 22:13:34"), theme.accent.fg.unwrap());
        assert_eq!(fg_at(&draining, "bbbbbbb ◐ drain 2 · 28s"), theme.running.fg.unwrap());
        insta::assert_snapshot!("switch_draining", text(&draining));
    }

    #[test]
    fn approval_modal() {
        let mut app = console();
        app.update(Action::Promote);
        app.apply(Event::PromotionPreview {
            env: "production".into(),
            source: "staging".into(),
            current: Some(release('b', "Initial commit")),
            candidate: Some(release('a', "Add /health endpoint")),
            commits: vec![commit('a', "Add /health endpoint"), commit('c', "Log requests")],
            approval: true,
            blocked: None,
        });
        for c in "produ".chars() {
            app.modal_input(shipdeck::ui::app::ModalInput::Char(c));
        }
        assert!(matches!(app.modal, Some(Modal::Promote(_))));
        let buf = draw(&app, 100, 28);
        insta::assert_snapshot!(text(&buf));
        let theme = Theme::builtin("default").unwrap();
        let (x, y) = find(&buf, "Enter promote");
        assert_eq!(
            buf[(x + 1, y)].fg,
            theme.muted.fg.unwrap(),
            "Enter is dimmed until the name is typed"
        );
        for c in "ction".chars() {
            app.modal_input(shipdeck::ui::app::ModalInput::Char(c));
        }
        let buf = draw(&app, 100, 28);
        let (x, y) = find(&buf, "Enter promote");
        assert_eq!(buf[(x + 1, y)].fg, theme.accent.fg.unwrap());
    }

    #[test]
    fn approval_modal_when_the_smoke_gate_refuses() {
        let mut app = console();
        app.update(Action::Promote);
        app.apply(Event::PromotionPreview {
            env: "production".into(),
            source: "staging".into(),
            current: None,
            candidate: Some(release('b', "Initial commit")),
            commits: vec![commit('b', "Initial commit")],
            approval: true,
            blocked: Some("bbbbbbb (bbbbbbbbbbbb) has not passed staging's smoke checks (never run there: `shipdeck smoke staging`)".into()),
        });
        let buf = draw(&app, 100, 28);
        let screen = text(&buf);
        assert!(screen.contains("the smoke gate refuses"), "{screen}");
        assert!(screen.contains("shipdeck promote production --force"), "{screen}");
        assert!(screen.contains("nothing runs on production"), "{screen}");
        assert!(
            !screen.contains("to approve"),
            "no prompt when Enter cannot promote:\n{screen}"
        );
    }

    #[test]
    fn rollback_picker() {
        let mut app = console();
        app.update(Action::Rollback);
        let choice = |c: char, subject: &str, current: bool, smoke: Option<bool>, s: i64| ReleaseChoice {
            release: release(c, subject),
            deployed_at: Some(at(s)),
            by: Some("ada@box (Ada Lovelace <ada@example.com>)".into()),
            smoke,
            current,
            run: (c != 'd').then_some(c as i64),
            schema_behind: false,
        };
        app.apply(Event::ReleasesListed {
            env: "staging".into(),
            releases: vec![
                choice('b', "Initial commit", true, Some(true), 0),
                choice('c', "Log requests", false, Some(false), -3600),
                choice('d', "First release", false, None, -90_000),
            ],
            approval: false,
        });
        let buf = draw(&app, 100, 28);
        insta::assert_snapshot!(text(&buf));
        let theme = Theme::builtin("default").unwrap();
        let (x, y) = find(&buf, "▌ ccccccc");
        assert_eq!(
            buf[(x + 2, y)].bg,
            theme.selection.bg.unwrap(),
            "the first earlier release is selected"
        );
        let (_, y) = find(&buf, "Log requests");
        let row: String = (0..100).map(|x| buf[(x, y)].symbol().to_string()).collect();
        let cross = row.find('✗').map(|b| row[..b].chars().count() as u16).unwrap();
        assert_eq!(buf[(cross, y)].fg, theme.failure.fg.unwrap());
    }

    fn smoke_status(app: &mut App, env: &str, deployed: Deployed, smoke: Option<bool>) {
        app.apply(Event::EnvironmentStatus {
            env: env.into(),
            deployed: Some(deployed),
            lock: None,
            error: None,
            smoke,
        });
    }

    #[test]
    fn a_failed_smoke_verdict_survives_an_80_column_terminal() {
        let mut app = console();
        smoke_status(
            &mut app,
            "staging",
            deployed('b', "Initial commit with a long subject", "Up 2 minutes"),
            Some(false),
        );
        smoke_status(
            &mut app,
            "production",
            deployed('c', "Older release", "Up 3 hours"),
            Some(true),
        );
        let buf = draw(&app, 80, 24);
        let screen = text(&buf);
        insta::assert_snapshot!(screen);
        let theme = Theme::builtin("default").unwrap();
        let (x, y) = find(&buf, "✗ smoke failed");
        assert_eq!(
            buf[(x, y)].fg,
            theme.failure.fg.unwrap(),
            "no green dot: a failure mark"
        );
        assert!(screen.contains("✓ smok"), "a passed verdict shows (cut last): {screen}");
        // No offer to promote a release that failed its smoke checks.
        assert!(!screen.contains("promote bbbbbbb"), "{screen}");
    }

    #[test]
    fn help_fits_an_80_by_24_terminal_and_scrolls() {
        let mut app = console();
        app.update(Action::Help);
        let screen = text(&draw(&app, 80, 24));
        insta::assert_snapshot!(screen);
        assert!(screen.contains("quit (asks while a run or deploy is on)"), "{screen}");
        assert!(screen.contains("↓ more"), "{screen}");
        for _ in 0..30 {
            app.update(Action::Down);
        }
        let screen = text(&draw(&app, 80, 24));
        assert!(screen.contains("roll the env back"), "{screen}");
        assert!(screen.contains("↑ more"), "{screen}");
    }

    fn preview(app: &mut App, current: char, candidate: char) {
        app.apply(Event::PromotionPreview {
            env: "production".into(),
            source: "staging".into(),
            current: Some(release(current, "Initial commit")),
            candidate: Some(release(candidate, "Initial commit")),
            commits: vec![],
            approval: true,
            blocked: None,
        });
    }

    #[test]
    fn promoting_what_already_runs_there_asks_nothing() {
        let mut app = console();
        app.update(Action::Promote);
        preview(&mut app, 'b', 'b');
        let screen = text(&draw(&app, 100, 28));
        assert!(
            screen.contains("production already runs this release: nothing to do"),
            "{screen}"
        );
        assert!(!screen.contains("to approve") && !screen.contains("Enter"), "{screen}");
    }

    #[test]
    fn a_mistyped_name_is_said_in_the_dialog() {
        let mut app = console();
        app.update(Action::Promote);
        preview(&mut app, 'c', 'b');
        for c in "prodution".chars() {
            app.modal_input(shipdeck::ui::app::ModalInput::Char(c));
        }
        app.modal_input(shipdeck::ui::app::ModalInput::Enter);
        let buf = draw(&app, 100, 28);
        let screen = text(&buf);
        assert!(
            screen.contains("the name does not match: type `production`"),
            "{screen}"
        );
        let theme = Theme::builtin("default").unwrap();
        assert_eq!(fg_at(&buf, "the name does not match"), theme.failure.fg.unwrap());
        assert!(!screen.contains("Enter promote ·"), "Enter is not offered:\n{screen}");
    }

    #[test]
    fn rolling_production_back_asks_for_its_name() {
        let mut app = console();
        smoke_status(
            &mut app,
            "production",
            deployed('c', "Log requests", "Up 3 hours"),
            None,
        );
        app.update(Action::FocusPrev);
        app.update(Action::Down);
        app.update(Action::Rollback);
        app.apply(Event::ReleasesListed {
            env: "production".into(),
            releases: vec![ReleaseChoice {
                release: release('b', "Initial commit"),
                deployed_at: Some(at(0)),
                by: Some("ada@box".into()),
                smoke: Some(true),
                current: false,
                run: None,
                schema_behind: false,
            }],
            approval: true,
        });
        app.modal_input(shipdeck::ui::app::ModalInput::Enter);
        for c in "prod".chars() {
            app.modal_input(shipdeck::ui::app::ModalInput::Char(c));
        }
        let screen = text(&draw(&app, 100, 28));
        insta::assert_snapshot!(screen);
        assert!(screen.contains("type production to confirm: prod"), "{screen}");
        assert!(screen.contains("current"), "what runs there is listed:\n{screen}");
    }
}

/// #14 item 8: HEAD has no run yet; the pipeline strip shows its stages as planned (from the
/// release.toml committed with it) and the log pane lists them with their needs.
#[test]
fn a_commit_without_a_run_shows_its_planned_stages() {
    let mut app = idle(true);
    app.apply(Event::CommitPlanned {
        commit: "a".repeat(40),
        stages: plan(true),
        source: shipdeck::engine::PlanSource::Committed,
        error: None,
    });
    insta::assert_snapshot!(text(&draw(&app, 100, 28)));
}

/// An invalid release.toml at that commit: the strip says so, the log pane holds the whole
/// diagnostic (every error, its place and hint).
#[test]
fn a_commit_with_an_invalid_release_toml_shows_the_diagnostic() {
    let mut app = idle(false);
    let diagnostic = "release.toml (as committed in aaaaaaa):12:1: unknown key `neds` in [stages.package]\n  hint: did you mean `needs`?\nrelease.toml (as committed in aaaaaaa):3:9: wrong type for `image`: expected a string\n  hint: image = \"python:3.12-slim\"";
    app.apply(Event::CommitPlanned {
        commit: "a".repeat(40),
        stages: Vec::new(),
        source: shipdeck::engine::PlanSource::Committed,
        error: Some(diagnostic.into()),
    });
    let screen = text(&draw(&app, 100, 28));
    assert!(screen.contains("not runnable (2 errors)"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// #14 item 11: the runs panel widens with the terminal, so a wide one shows whole subjects.
#[test]
fn the_runs_panel_widens_with_the_terminal() {
    let subject = "Move the health endpoint behind the proxy";
    let mut app = idle(false);
    queue(&mut app, false);
    app.runs[0].subject = subject.into();
    let narrow = text(&draw(&app, 100, 28));
    assert!(!narrow.contains(subject), "{narrow}");
    let wide = text(&draw(&app, 200, 40));
    assert!(wide.contains(subject), "{wide}");
    let areas = shipdeck::ui::render::layout(&app, &chrome(), Rect::new(0, 0, 200, 40));
    assert_eq!(areas.runs.width, 80);
}
