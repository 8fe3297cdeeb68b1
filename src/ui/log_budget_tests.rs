use chrono::{TimeZone, Utc};

use super::*;
use crate::engine::event::StageKindName;
use crate::engine::{Command, Event, PlannedStage, Stream};
use crate::model::{RunStatus, StageStatus};
use crate::ui::app::Effect;
use crate::ui::log_pane::{CUT_MARKER, MAX_LINE_BYTES};
use crate::ui::model::Row;

fn plan() -> Vec<PlannedStage> {
    vec![PlannedStage {
        name: "flood".into(),
        needs: Vec::new(),
        kind: StageKindName::Run,
        image: "debian:bookworm-slim".into(),
    }]
}

fn at(s: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
}

/// One run whose stage prints `lines` lines of `bytes` bytes, in batches as the engine sends
/// them; checks the bound after every batch.
fn flood(app: &mut App, run: i64, lines: usize, bytes: usize) {
    let commit = format!("{run:0>40}");
    app.apply(Event::RunQueued {
        run,
        app: "demo".into(),
        commit: commit.clone(),
        short_commit: commit[..7].into(),
        subject: "flood".into(),
        author: "Ada".into(),
        branch: None,
        trigger: "manual".into(),
        at: at(run),
    });
    app.apply(Event::RunStarted {
        run,
        stages: plan(),
        at: at(run),
    });
    app.apply(Event::StageStarted {
        run,
        stage: "flood".into(),
        at: at(run),
        log_path: Some(format!("/runs/{run}/flood.log")),
    });
    let line = "x".repeat(bytes);
    for _ in 0..lines / 20 {
        app.apply(Event::StageLog {
            run,
            stage: "flood".into(),
            stream: Stream::Stdout,
            lines: vec![line.clone(); 20],
        });
        // Between two looks at the budget: at most what came in since, plus a new chunk.
        let held = app.log_bytes();
        assert!(held <= LOG_BUDGET_BYTES + 16 * 1024 * 1024, "{held} bytes held");
    }
    app.apply(Event::StageFinished {
        run,
        stage: "flood".into(),
        status: StageStatus::Success,
        exit_code: Some(0),
        duration_ms: 1000,
        message: None,
        at: at(run + 1),
    });
    app.apply(Event::RunFinished {
        run,
        status: RunStatus::Success,
        duration_ms: 1000,
        image_id: None,
        image_tag: None,
        at: at(run + 1),
    });
}

#[test]
fn four_flooding_runs_stay_within_the_budget() {
    let mut app = App::new(plan(), 100_000);
    for run in 1..=4 {
        // 6,000 lines of 9 KB: 48 MB a run once cut to 8 KiB; 4 runs are 3 times the budget.
        flood(&mut app, run, 6_000, 9_000);
        assert!(
            app.log_bytes() <= LOG_BUDGET_BYTES,
            "after run {run}: {}",
            app.log_bytes()
        );
    }
    // The newest run, on show, keeps its newest lines, cut with the marker.
    let newest = app.runs.iter().find(|r| r.number == 4).unwrap();
    let log = &newest.stages[0].log;
    assert_eq!(log.end(), 6_000);
    let last = log.line(5_999).expect("the newest line is kept");
    assert!(last.text.len() < MAX_LINE_BYTES + 100 && last.text.contains(CUT_MARKER));
    // The oldest runs were let go, to be read again from their files.
    let oldest = app.runs.iter().find(|r| r.number == 1).unwrap();
    assert!(oldest.stages[0].log.is_empty());
    assert_eq!(oldest.stages[0].source, LogSource::OnDisk);
}

#[test]
fn a_let_go_run_is_read_again_from_its_file_when_opened() {
    let mut app = App::new(plan(), 100_000);
    for run in 1..=4 {
        flood(&mut app, run, 6_000, 9_000);
    }
    let index = app.runs.iter().position(|r| r.number == 1).unwrap();
    let row = app.rows().iter().position(|r| *r == Row::Run(index)).unwrap();
    app.selected = row;
    let effects = app.request_log();
    assert_eq!(
        effects,
        vec![Effect::Engine(Command::LoadLog {
            run: 1,
            stage: "flood".into(),
            lines: 100_000,
        })]
    );
    // What the file holds comes back (bounded by the reader), and is on show again.
    app.apply(Event::StageLogLoaded {
        run: 1,
        stage: "flood".into(),
        path: "/runs/1/flood.log".into(),
        lines: vec!["y".repeat(33_000); 400],
        skipped: 0,
    });
    let stage = &app.selected_run().unwrap().stages[0];
    assert_eq!(stage.source, LogSource::Loaded);
    assert_eq!(stage.log.len(), 400);
    assert!(stage.log.line(stage.log.start()).unwrap().text.starts_with("yyyy"));
    assert!(app.log_bytes() <= LOG_BUDGET_BYTES);
    // Now on show, run 1 stays when the budget is looked at again.
    app.enforce_log_budget();
    assert_eq!(app.selected_run().unwrap().stages[0].log.len(), 400);
}
