//! The console's frames, rendered from real state into a real ratatui buffer: snapshots of the
//! main states and the colours of status glyphs.

use chrono::{TimeZone, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use shipdeck::engine::event::StageKindName;
use shipdeck::engine::{CommitInfo, Event, PlannedStage, Stream};
use shipdeck::store::{RunStatus, StageStatus};
use shipdeck::ui::action::Action;
use shipdeck::ui::app::App;
use shipdeck::ui::keymap::Keymap;
use shipdeck::ui::render::{render, Chrome};
use shipdeck::ui::theme::Theme;

fn at(s: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
}

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

fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The cell where `needle` starts on screen.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let rows = text(buf);
    for (y, row) in rows.lines().enumerate() {
        if let Some(byte) = row.find(needle) {
            return (row[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("`{needle}` not on screen:\n{rows}");
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
    let (x, y) = find(&buf, "✓ test");
    assert_eq!(buf[(x, y)].fg, theme.success.fg.unwrap());
    let (x, y) = find(&buf, " build 2.0s");
    assert_eq!(buf[(x - 1, y)].fg, theme.running.fg.unwrap());
    // SGR colours from the stage's output reach the pane.
    let (x, y) = find(&buf, "built dist/hello.pyz");
    assert_eq!(buf[(x, y)].fg, ratatui::style::Color::Green);
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
    let (x, y) = find(&buf, "✗ test");
    assert_eq!(buf[(x, y)].fg, theme.failure.fg.unwrap());
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
        "quit (asks while a run is active)",
        "saves run on_save stages: on/off",
        "suspend (fg resumes)",
        "Keys can be changed",
    ] {
        assert!(screen.contains(key), "`{key}` is cut off:\n{screen}");
    }
    insta::assert_snapshot!(screen);
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
