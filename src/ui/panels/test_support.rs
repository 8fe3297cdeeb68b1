//! What each panel's own render tests share: a console state folded from real events, a
//! `TestBackend` terminal to draw one panel into, and ways to read the drawn cells back.
//! (Whole-screen snapshots live in tests/console_render.rs; these test one panel alone.)

use chrono::{DateTime, TimeZone, Utc};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;

use crate::deploy::{Deployed, ReleaseRef};
use crate::engine::event::StageKindName;
use crate::engine::{CommitInfo, Event, PlannedStage, Stream};
use crate::model::{RunStatus, StageStatus};
use crate::ui::app::App;
use crate::ui::envs::EnvSpec;
use crate::ui::theme::Theme;

pub fn theme() -> Theme {
    Theme::builtin("default").unwrap()
}

pub fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
}

/// Draws through a real ratatui `Terminal` on a `TestBackend` of `width`×`height`, with `panel`
/// given the whole frame; returns what the backend holds.
pub fn draw(width: u16, height: u16, panel: impl FnOnce(Rect, &mut Buffer)) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            let area = frame.area();
            panel(area, frame.buffer_mut());
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The drawn rows, right-trimmed.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

/// The cell where `needle` starts.
pub fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let rows = text(buf);
    for (y, row) in rows.lines().enumerate() {
        if let Some(byte) = row.find(needle) {
            return (row[..byte].chars().count() as u16, y as u16);
        }
    }
    panic!("`{needle}` not drawn:\n{rows}");
}

pub fn commit(c: char, subject: &str) -> CommitInfo {
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

pub fn release(c: char, subject: &str) -> ReleaseRef {
    ReleaseRef {
        commit: c.to_string().repeat(40),
        short_commit: c.to_string().repeat(7),
        subject: subject.into(),
        image_id: format!("sha256:{}", c.to_string().repeat(64)),
        image_tag: Some(format!("hello-py:{}", c.to_string().repeat(7))),
    }
}

pub fn deployed(c: char, subject: &str, status: &str) -> Deployed {
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

fn plan() -> Vec<PlannedStage> {
    let stage = |name: &str, needs: &[&str]| PlannedStage {
        name: name.into(),
        needs: needs.iter().map(|n| n.to_string()).collect(),
        kind: StageKindName::Run,
        image: "python:3.11-slim".into(),
    };
    vec![
        stage("test", &[]),
        stage("build", &["test"]),
        stage("package", &["build"]),
    ]
}

/// Stage `stage` of run #1 passed, after `ms`, at `at(secs)`.
fn passed(stage: &str, ms: i64, secs: i64) -> Event {
    Event::StageFinished {
        run: 1,
        stage: stage.into(),
        status: StageStatus::Success,
        exit_code: Some(0),
        duration_ms: ms,
        message: None,
        at: at(secs),
    }
}

/// A console that read the repository, sees a running engine and two environments
/// (production behind staging), and has no run yet.
pub fn idle() -> App {
    let mut app = App::new(plan(), 1000);
    app.set_environments(vec![
        EnvSpec {
            name: "staging".into(),
            production: false,
            promote_from: None,
            approval: false,
        },
        EnvSpec {
            name: "production".into(),
            production: true,
            promote_from: Some("staging".into()),
            approval: true,
        },
    ]);
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

/// Run #1 of `a`: test passed, build running with a coloured line in its log; staging runs `b`.
pub fn running() -> App {
    let mut app = idle();
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
        stages: plan(),
        at: at(0),
    });
    app.apply(Event::StageStarted {
        run: 1,
        stage: "test".into(),
        at: at(0),
        log_path: None,
    });
    app.apply(passed("test", 1200, 1));
    app.apply(Event::StageStarted {
        run: 1,
        stage: "build".into(),
        at: at(1),
        log_path: None,
    });
    app.apply(Event::StageLog {
        run: 1,
        stage: "build".into(),
        stream: Stream::Stdout,
        lines: vec![
            "$ python -m zipapp app".into(),
            "\x1b[32mbuilt\x1b[0m dist/hello.pyz".into(),
        ],
    });
    app.apply(Event::EnvironmentStatus {
        env: "staging".into(),
        deployed: Some(deployed('b', "Initial commit", "Up 2 minutes (healthy)")),
        lock: None,
        error: None,
        smoke: None,
    });
    app.apply(Event::EnvironmentStatus {
        env: "production".into(),
        deployed: None,
        lock: None,
        error: None,
        smoke: None,
    });
    app.now = at(3);
    app
}

/// [`running`], with the run finished green.
pub fn finished() -> App {
    let mut app = running();
    for stage in ["build", "package"] {
        app.apply(passed(stage, 1000, 2));
    }
    app.apply(Event::RunFinished {
        run: 1,
        status: RunStatus::Success,
        duration_ms: 3000,
        image_id: Some("sha256:1".into()),
        image_tag: Some("hello-py:aaaaaaa".into()),
        at: at(3),
    });
    app
}
