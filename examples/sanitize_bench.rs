//! Throughput of `sanitize` on typical log lines: ASCII ~50 chars, 10% with SGR colours.
//!
//! cargo run --release --example sanitize_bench [LINES]

// Benchmark harnesses are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shipdeck::term::{sanitize, sanitize_cow, to_line, visible_width};
use std::hint::black_box;
use std::time::Instant;

#[path = "../benches/support/stats.rs"]
mod stats;
use stats::Spread;

fn lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 10 == 0 {
                format!("\x1b[1;32m   Compiling\x1b[0m shipdeck-core v0.1.{i} (/src/x)")
            } else {
                format!("2024-05-01T12:00:00Z INFO step {i:>7} finished in 12ms ok")
            }
        })
        .collect()
}

/// Rounds of each figure: the median and spread are printed, never one timing.
const ROUNDS: usize = 5;

/// M lines/s of `f` over `input`, once.
fn rate(input: &[String], f: &mut impl FnMut(&str) -> usize) -> f64 {
    let start = Instant::now();
    let mut sink = 0usize;
    for line in input {
        sink = sink.wrapping_add(f(black_box(line)));
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(sink);
    input.len() as f64 / secs / 1e6
}

fn measure(name: &str, input: &[String], mut f: impl FnMut(&str) -> usize) {
    let rates: Vec<f64> = (0..ROUNDS).map(|_| rate(input, &mut f)).collect();
    let spread = Spread::of(&rates).unwrap();
    println!(
        "{name:<14} {}  ({:.0} ns/line at the median)",
        spread.show(" M lines/s"),
        1e3 / spread.median
    );
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let input = lines(n);
    let avg = input.iter().map(String::len).sum::<usize>() / n.max(1);
    println!("{n} lines, {avg} bytes on average, 10% with SGR; {ROUNDS} rounds each");
    measure("sanitize", &input, |l| sanitize(l).len());
    measure("sanitize_cow", &input, |l| sanitize_cow(l).len());
    measure("visible_width", &input, visible_width);
    measure("to_line", &input, |l| to_line(l, Default::default()).spans.len());
}
