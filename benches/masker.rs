//! Secret masker figures: 20 secrets over 1,000,000 log lines, the search shipdeck used before
//! (`str::contains` per pattern, then `replace`) against the aho-corasick one it uses now.
//! `cargo bench --bench masker`; prints the median and spread (min–max) of several rounds.
//!
//! Rows:
//! - `before`: the masker as it was (4 encodings per secret, a `contains` per pattern), copied
//!   here verbatim so it can still be measured;
//! - `contains, all forms`: the same `contains`-per-pattern search over today's full set of
//!   forms (every base64 alignment, URL, hex, JSON), so the search method is compared on the
//!   same patterns;
//! - `aho-corasick`: `SecretMasker::mask` as shipped (one automaton pass, escape-aware,
//!   fragments at line ends);
//! - `LineBuffer`: the whole stage path: line assembly, sanitizing, masking.

// Benchmark harnesses are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use shipdeck::mask::{LineBuffer, SecretMasker};

const LINES: usize = 1_000_000;
const SECRETS: usize = 20;

fn secrets() -> Vec<String> {
    (0..SECRETS)
        .map(|i| {
            format!(
                "sk-live-{i:02}-{:016x}-Zq",
                (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            )
        })
        .collect()
}

/// Line `i` of a plausible stage log; one in a thousand carries a secret or an encoding of one.
fn lines(secrets: &[String]) -> Vec<String> {
    (0..LINES)
        .map(|i| {
            let s = &secrets[i % SECRETS];
            match i % 1000 {
                0 => format!("export TOKEN={s} # from the vault"),
                500 => format!(
                    "Authorization: Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("user:{s}"))
                ),
                n if n % 10 == 3 => format!("\x1b[32m✔\x1b[0m worker-{} job {i} \x1b[1mdone\x1b[0m", i % 7),
                _ => format!(
                    "12:00:{:02}.{:03} INFO worker-{} processed job {i} ok",
                    i % 60,
                    i % 1000,
                    i % 7
                ),
            }
        })
        .collect()
}

/// The masker as it was before aho-corasick (src/mask.rs at ef07f6f), for comparison.
mod before {
    use base64::Engine as _;

    pub struct Masker {
        patterns: Vec<String>,
    }

    impl Masker {
        pub fn new(values: &[String]) -> Masker {
            let mut patterns = Vec::new();
            for value in values {
                for part in value.lines().filter(|p| p.len() >= 4) {
                    patterns.push(part.to_string());
                }
                let bytes = value.as_bytes();
                patterns.push(base64::engine::general_purpose::STANDARD.encode(bytes));
                patterns.push(base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes));
                patterns.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
                patterns.push(percent_encode(value));
            }
            patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            patterns.dedup();
            Masker { patterns }
        }

        pub fn len(&self) -> usize {
            self.patterns.len()
        }

        pub fn from_patterns(patterns: &[String]) -> Masker {
            Masker {
                patterns: patterns.to_vec(),
            }
        }

        pub fn mask(&self, line: String) -> String {
            if self.patterns.iter().all(|p| !line.contains(p.as_str())) {
                return line;
            }
            let mut line = line;
            for p in &self.patterns {
                if line.contains(p.as_str()) {
                    line = line.replace(p.as_str(), "***");
                }
            }
            line
        }
    }

    fn percent_encode(value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// Runs `f` over all lines `rounds` times; returns each round's time.
fn measure(rounds: usize, lines: &[String], mut f: impl FnMut(&str) -> usize) -> Vec<Duration> {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            let mut masked = 0;
            for line in lines {
                masked += f(line);
            }
            black_box(masked);
            start.elapsed()
        })
        .collect()
}

fn report(name: &str, patterns: usize, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let median = times[times.len() / 2];
    let (min, max) = (times[0], times[times.len() - 1]);
    let per_line = median.as_nanos() as f64 / LINES as f64;
    println!(
        "  {name:<22} {patterns:>4} patterns  median {:>8.1} ms  ({per_line:>6.0} ns/line)  spread {:.1}–{:.1} ms  n={}",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        times.len()
    );
    median
}

fn main() {
    let rounds: usize = std::env::var("MASKER_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let secrets = secrets();
    let lines = lines(&secrets);
    let bytes: usize = lines.iter().map(String::len).sum();
    println!(
        "masker: {SECRETS} secrets, {LINES} lines ({:.1} MB), {rounds} rounds",
        bytes as f64 / 1e6
    );
    let old = before::Masker::new(&secrets);
    let new = SecretMasker::new(&secrets);
    let naive_all = before::Masker::from_patterns(new.all_patterns());
    // All three must agree that the secrets are gone before their speed means anything.
    for line in lines.iter().filter(|l| l.contains("TOKEN")).take(3) {
        assert!(!new.mask(line.clone()).contains("sk-live"), "{line}");
        assert!(!old.mask(line.clone()).contains("sk-live"), "{line}");
    }
    let masked = |s: String, line: &str| usize::from(s.len() != line.len());
    let t_old = report(
        "before",
        old.len(),
        measure(rounds, &lines, |l| masked(old.mask(l.to_string()), l)),
    );
    let t_naive = report(
        "contains, all forms",
        new.all_patterns().len(),
        measure(rounds, &lines, |l| masked(naive_all.mask(l.to_string()), l)),
    );
    let t_new = report(
        "aho-corasick",
        new.all_patterns().len(),
        measure(rounds, &lines, |l| masked(new.mask(l.to_string()), l)),
    );
    let joined = [lines.join("\n")];
    let t_buf = report(
        "LineBuffer (whole path)",
        new.all_patterns().len(),
        measure(rounds, &joined, |all| {
            let mut buffer = LineBuffer::new(new.clone());
            let mut n = 0;
            buffer.push(all.as_bytes(), |_| n += 1);
            buffer.finish(|_| n += 1);
            n
        }),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "  aho-corasick is {:.1}× faster than before, {:.1}× faster than contains over the same forms; the whole stage path costs {:.0} ns/line",
        ratio(t_old, t_new),
        ratio(t_naive, t_new),
        t_buf.as_nanos() as f64 / LINES as f64
    );
}
