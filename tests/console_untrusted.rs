//! The console draws text from repositories, engines and apps: none of it may put a control
//! character into a cell (ratatui writes cell symbols to the terminal as they are).

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use shipdeck::engine::event::StageKindName;
use shipdeck::engine::{CommitInfo, Event, PlannedStage, Stream};
use shipdeck::ui::app::App;
use shipdeck::ui::envs::EnvSpec;
use shipdeck::ui::keymap::Keymap;
use shipdeck::ui::render::{render, Chrome};
use shipdeck::ui::theme::Theme;

const EVIL: &str = "\x1b]52;c;cHduZWQ=\x07\x1b]2;pwned\x07\x1b[2J\x1b[?1049h\u{9b}2J";

fn evil_commit(c: char) -> CommitInfo {
    CommitInfo {
        id: c.to_string().repeat(40),
        short: c.to_string().repeat(7),
        subject: format!("fix {EVIL}the build"),
        author: format!("Eve {EVIL}Mallory"),
        email: format!("eve{EVIL}@example.com"),
        time: 0,
        branch: Some(format!("main{EVIL}")),
    }
}

#[test]
fn no_cell_of_the_console_holds_a_control_character_from_untrusted_text() {
    let chrome = Chrome {
        theme: Theme::builtin("default").unwrap(),
        keymap: Keymap::default(),
        environments: vec![("staging".into(), false)],
    };
    let plan = vec![PlannedStage {
        name: "test".into(),
        needs: vec![],
        kind: StageKindName::Run,
        image: format!("python{EVIL}"),
    }];
    let mut app = App::new(plan.clone(), 1000);
    app.set_environments(EnvSpec::guessed(&chrome.environments));
    app.apply(Event::RepoState {
        app: "hello".into(),
        repo: "/repo".into(),
        app_dir: String::new(),
        branch: Some(format!("main{EVIL}")),
        head: Some(evil_commit('a')),
        commits: vec![evil_commit('a'), evil_commit('b')],
    });
    app.apply(Event::RunQueued {
        run: 1,
        app: "hello".into(),
        commit: "a".repeat(40),
        short_commit: "aaaaaaa".into(),
        subject: format!("fix {EVIL}the build"),
        author: format!("Eve {EVIL}Mallory"),
        branch: Some("main".into()),
        trigger: "manual".into(),
        at: Utc::now(),
    });
    app.apply(Event::RunStarted {
        run: 1,
        stages: plan,
        at: Utc::now(),
    });
    app.apply(Event::StageStarted {
        run: 1,
        stage: "test".into(),
        at: Utc::now(),
        log_path: None,
    });
    app.apply(Event::StageLog {
        run: 1,
        stage: "test".into(),
        stream: Stream::Stdout,
        lines: vec![format!("out {EVIL}put \x1b[32mgreen\x1b[0m")],
    });
    app.apply(Event::Notice {
        level: shipdeck::engine::NoticeLevel::Warning,
        message: format!("engine says {EVIL}hi"),
    });
    // An environment's parts as a hostile engine labels them (a process of another name).
    let part = |name: &str| shipdeck::deploy::accessories::PartState {
        name: format!("{name}{EVIL}"),
        container: Some(format!("c{EVIL}")),
        state: format!("running{EVIL}"),
        health: format!("exited{EVIL}"),
        image: format!("img{EVIL}"),
    };
    app.apply(Event::EnvironmentParts {
        env: "staging".into(),
        accessories: vec![part("db")],
        processes: vec![part("worker")],
        proxy: Some(part("proxy")),
    });
    let area = Rect::new(0, 0, 160, 40);
    let mut buf = Buffer::empty(area);
    render(&app, &chrome, area, &mut buf);
    let mut screen = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            let symbol = buf[(x, y)].symbol();
            assert!(
                !symbol.chars().any(|c| c.is_control()),
                "cell ({x}, {y}) holds a control character: {symbol:?}"
            );
            screen.push_str(symbol);
        }
        screen.push('\n');
    }
    assert!(!screen.contains("pwned") && !screen.contains("cHduZWQ"), "{screen}");
    assert!(
        screen.contains("fix the build"),
        "the subject is still shown:\n{screen}"
    );
    assert!(screen.contains("worker"), "the parts are shown:\n{screen}");
}
