//! The whole console, not only its log pane: 1,000,000 log lines folded into the app state as
//! the engine sends them (batches, through the sanitizer), then full 200×60 frames drawn with
//! that scrollback. Prints figures; run with `cargo bench --bench console_frame`.

// Benchmark harnesses are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::Utc;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use shipdeck::engine::event::StageKindName;
use shipdeck::engine::{Event, PlannedStage, Stream};
use shipdeck::ui::app::App;
use shipdeck::ui::keymap::Keymap;
use shipdeck::ui::log_pane::DEFAULT_TAIL_LINES;
use shipdeck::ui::render::{render, Chrome};
use shipdeck::ui::theme::Theme;

#[path = "support/stats.rs"]
mod stats;
use stats::Spread;

const LINES: usize = 1_000_000;
const BATCH: usize = 100;

/// Repetitions of the ingestion figure (each on a fresh console).
const ROUNDS: usize = 3;

/// A console with one running stage, and the batches the engine would send it.
fn console_and_batches() -> (App, Vec<Vec<String>>) {
    let plan = vec![PlannedStage {
        name: "test".into(),
        needs: Vec::new(),
        kind: StageKindName::Run,
        image: "debian:bookworm-slim".into(),
    }];
    let mut app = App::new(plan.clone(), DEFAULT_TAIL_LINES);
    app.apply(Event::RunQueued {
        run: 1,
        app: "bench".into(),
        commit: "a".repeat(40),
        short_commit: "aaaaaaa".into(),
        subject: "bench".into(),
        author: "bench".into(),
        branch: None,
        trigger: "bench".into(),
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

    let batches: Vec<Vec<String>> = (0..LINES / BATCH)
        .map(|b| {
            (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    if n.is_multiple_of(10) {
                        format!("\x1b[32mok\x1b[0m test_case_{n:07} ... passed in 0.{:03}s", n % 1000)
                    } else {
                        format!("test_case_{n:07} the quick brown fox jumps over it")
                    }
                })
                .collect()
        })
        .collect();
    (app, batches)
}

fn main() {
    let mut took = Vec::new();
    let mut rss_growth = Vec::new();
    let mut last = None;
    for _ in 0..ROUNDS {
        let (mut app, batches) = console_and_batches();
        let rss_before = rss_kib();
        let started = Instant::now();
        for lines in batches {
            app.apply(Event::StageLog {
                run: 1,
                stage: "test".into(),
                stream: Stream::Stdout,
                lines,
            });
        }
        took.push(started.elapsed());
        rss_growth.push(rss_kib().saturating_sub(rss_before) as f64 / 1024.0);
        last = Some(app);
    }
    let app = last.unwrap();
    let ms = Spread::of_ms(&took).unwrap();
    println!(
        "console: {LINES} lines folded into the app state (sanitizer included), batches of {BATCH}, {ROUNDS} rounds"
    );
    let stage = &app.runs[0].stages[0];
    println!(
        "  {}, {:.2} M lines/s at the median; {} lines kept, {:.1} MiB held by the stage's log (target: under 64 MB); VmRSS growth {}",
        ms.show(" ms"),
        LINES as f64 / (ms.median / 1e3) / 1e6,
        stage.log.len(),
        stage.log.heap_bytes() as f64 / (1024.0 * 1024.0),
        Spread::of(&rss_growth).unwrap().show(" MiB")
    );

    let chrome = Chrome {
        theme: Theme::builtin("default").expect("built-in theme"),
        keymap: Keymap::default(),
        environments: vec![("staging".into(), false), ("production".into(), true)],
    };
    let area = Rect::new(0, 0, 200, 60);
    let mut times = Vec::new();
    for _ in 0..500 {
        let mut buf = Buffer::empty(area);
        let t = Instant::now();
        render(&app, &chrome, area, &mut buf);
        times.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(&buf);
    }
    let spread = Spread::of(&times).unwrap();
    times.sort_by(f64::total_cmp);
    println!(
        "  full 200×60 frame with that scrollback: {}, p99 {:.0} µs (target: median under 2 ms)",
        spread.show(" µs"),
        times[times.len() * 99 / 100]
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
