//! Log pane figures: ingestion rate, frame times, memory. `cargo bench --bench log_pane`.
//!
//! Memory is measured as the VmRSS delta of this process (/proc/self/status) around filling a
//! buffer, next to the buffer's own count of heap capacity (`LogBuffer::heap_bytes`).

// Benchmark harnesses are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use shipdeck::ui::log_pane::{render, LineKind, LogBuffer, LogPane, LogStyles, LogView};

#[path = "support/stats.rs"]
mod stats;
use stats::Spread;

const LINES: u64 = 1_000_000;
const BATCH: u64 = 100;
const FRAMES: usize = 2_000;
/// Repetitions of each ingestion figure.
const ROUNDS: usize = 5;

/// Line `i` of a plausible stage log: ~50 chars, every 10th with SGR colour.
fn line(i: u64) -> String {
    let worker = i % 7;
    let ms = (i * 37) % 1000;
    if i % 10 == 3 {
        format!("\x1b[32m✔\x1b[0m worker-{worker} job {i} \x1b[1mdone\x1b[0m in {ms} ms (cached)")
    } else if i % 50 == 7 {
        format!("ERROR worker-{worker}: job {i} failed, retrying ({ms})")
    } else {
        format!("12:00:{:02}.{ms:03} INFO worker-{worker} processed job {i} ok", i % 60)
    }
}

fn batch(from: u64) -> Vec<String> {
    (from..from + BATCH).map(line).collect()
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

fn filled() -> LogBuffer {
    let mut buf = LogBuffer::new();
    for from in (0..LINES).step_by(BATCH as usize) {
        buf.push_lines(LineKind::Stdout, batch(from));
    }
    buf
}

fn memory() {
    let before = rss_kib();
    let buf = filled();
    let after = rss_kib();
    println!("memory after {LINES} lines (default tail {} lines):", buf.capacity());
    if let (Some(b), Some(a)) = (before, after) {
        println!("  VmRSS delta            {}", mib(a.saturating_sub(b) as f64 * 1024.0));
    }
    println!("  LogBuffer::heap_bytes  {}", mib(buf.heap_bytes() as f64));
    let avg: f64 = (0..1000).map(|i| line(i).len() as f64).sum::<f64>() / 1000.0;
    println!("  (average line {avg:.1} bytes incl. escapes)");
    black_box(buf);
}

fn ingestion() {
    println!("ingestion of {LINES} lines in batches of {BATCH}, {ROUNDS} rounds each:");
    let mut plain = Vec::new();
    let mut building = Vec::new();
    let mut searching = Vec::new();
    let mut matches = 0;
    for _ in 0..ROUNDS {
        // Batches built beforehand: the timed loop is push_lines alone (it also frees the Strings).
        let batches: Vec<Vec<String>> = (0..LINES).step_by(BATCH as usize).map(batch).collect();
        let mut buf = LogBuffer::new();
        let t = Instant::now();
        for b in batches {
            buf.push_lines(LineKind::Stdout, b);
        }
        plain.push(t.elapsed());
        black_box(&buf);

        // Including formatting/allocating the batch, as the engine would.
        let mut buf = LogBuffer::new();
        let t = Instant::now();
        for from in (0..LINES).step_by(BATCH as usize) {
            buf.push_lines(LineKind::Stdout, batch(from));
        }
        building.push(t.elapsed());
        black_box(&buf);

        // A pane with an active search: new lines are searched as they arrive.
        let batches: Vec<Vec<String>> = (0..LINES).step_by(BATCH as usize).map(batch).collect();
        let mut pane = LogPane::default();
        pane.search("error");
        let t = Instant::now();
        for b in batches {
            pane.push_lines(LineKind::Stdout, b);
        }
        searching.push(t.elapsed());
        matches = pane.view.match_count();
    }
    report("push_lines", &plain);
    report("building batches + push_lines", &building);
    report("push_lines + incremental search", &searching);
    println!("    ({matches} matching lines retained)");
}

/// Milliseconds per round, and the median rate.
fn report(what: &str, took: &[Duration]) {
    let ms = Spread::of_ms(took).unwrap();
    println!(
        "  {what:<34} {}  ({:.2} M lines/s at the median)",
        ms.show(" ms"),
        LINES as f64 / (ms.median / 1e3) / 1e6
    );
}

/// Renders `FRAMES` frames, calling `between` before each (untimed); prints the median, the
/// spread and p99.
fn frames(
    name: &str,
    buffer: &mut LogBuffer,
    view: &mut LogView,
    mut between: impl FnMut(&mut LogBuffer, &mut LogView),
) {
    let styles = LogStyles::default();
    let area = Rect::new(0, 0, 200, 60);
    let mut out = Buffer::empty(area);
    render(buffer, view, &styles, area, &mut out);
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        between(buffer, view);
        out.reset();
        let t = Instant::now();
        render(buffer, view, &styles, area, &mut out);
        times.push(t.elapsed());
        black_box(&out);
    }
    let micros: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e6).collect();
    times.sort_unstable();
    let p99 = times[((times.len() - 1) as f64 * 0.99) as usize].as_secs_f64() * 1e6;
    let spread = Spread::of(&micros).unwrap();
    println!("  {name:<44} {}   p99 {p99:.1} µs", spread.show(" µs"));
}

fn rendering() {
    println!(
        "frame time, 200×60 pane, {LINES} lines appended ({} retained):",
        LogBuffer::new().capacity()
    );
    let mut next = LINES;
    let mut buffer = filled();
    for wrap in [false, true] {
        let mode = if wrap { "wrap on " } else { "wrap off" };
        let mut view = LogView::new();
        if wrap {
            view.toggle_wrap(&buffer);
        }
        frames(
            &format!("following, {mode}, +100 lines/frame"),
            &mut buffer,
            &mut view,
            |b, v| {
                b.push_lines(LineKind::Stdout, batch(next));
                next += BATCH;
                v.sync(b);
            },
        );
        view.top(&buffer);
        view.scroll_down(&buffer, buffer.len() / 2);
        frames(&format!("middle, {mode}"), &mut buffer, &mut view, |_, _| {});
        frames(
            &format!("middle, {mode}, scrolling 1 row/frame"),
            &mut buffer,
            &mut view,
            |b, v| v.scroll_up(b, 1),
        );
        view.search(&buffer, "worker-3");
        frames(
            &format!("middle, {mode}, search highlight"),
            &mut buffer,
            &mut view,
            |_, _| {},
        );
    }

    // Worst case for wrapping: 100k long lines (300+ columns, CJK and colour), paging.
    let mut long = LogBuffer::new();
    for from in (0..100_000u64).step_by(BATCH as usize) {
        long.push_lines(
            LineKind::Stdout,
            (from..from + BATCH)
                .map(|i| format!("{i} \x1b[33m{}\x1b[0m {}", "日本語のログ ".repeat(10), "x".repeat(200))),
        );
    }
    let mut view = LogView::new();
    view.toggle_wrap(&long);
    frames("long lines, wrap on, following", &mut long, &mut view, |_, _| {});
    view.top(&long);
    view.scroll_down(&long, 150_000);
    frames(
        "long lines, wrap on, middle, page up/frame",
        &mut long,
        &mut view,
        |b, v| v.page_up(b),
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    memory();
    ingestion();
    rendering();
}
