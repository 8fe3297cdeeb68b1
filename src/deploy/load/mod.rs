//! Load tests (`[[environments.X.load]]`): an open-loop HTTP load against a release before it
//! takes traffic, judged by its thresholds (p95, p99, error rate) and by its p99 against the
//! last release that passed the same test on the environment (`regression`).
//!
//! The requests take the path the pre-switch smoke checks take ([`Via`]): the published
//! address, or from inside the environment's network through the proxy container, on
//! kept-alive connections (see `generator`).

pub mod forwarder;
pub mod generator;

use std::time::Duration;

use serde::Serialize;

use crate::config::LoadTest;
use crate::deploy::smoke::http::Target;
use crate::deploy::smoke::{SmokeContext, Via};
use crate::text::count;

/// The result of one load test against one release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadResult {
    /// `GET /health`.
    pub check: String,
    /// Requests per second asked for, and for how long.
    pub rate: u32,
    pub duration_ms: u64,
    /// Requests sent (due and not refused by the in-flight cap).
    pub sent: u64,
    /// 4xx/5xx answers, no answer, and requests over the in-flight cap.
    pub errors: u64,
    /// Requests due per second of the schedule as it ran.
    pub achieved_rate: f64,
    /// Latencies from each request's due time, in microseconds.
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// The p99 of the last release that passed this test here, and that release.
    pub baseline_p99_us: Option<u64>,
    pub baseline_release: Option<String>,
    pub passed: bool,
    /// In words: "200 req/s for 10 s: p50 1.2 ms, p99 3.4 ms, 0 errors" or what failed.
    pub message: String,
}

// `achieved_rate` is never NaN (a count over a positive time): equality is total.
impl Eq for LoadResult {}

impl LoadResult {
    pub fn error_rate(&self) -> f64 {
        let due = self.sent.max(1) as f64;
        self.errors as f64 / due
    }
}

/// The last release that passed the same test on the environment: its p99 and short commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub p99_us: u64,
    pub release: String,
}

/// How many connections are opened before the clock starts: enough for a few milliseconds of
/// answers at the rate, at least 2.
fn warm_connections(rate: u32) -> usize {
    (rate as usize / 50).clamp(2, 32)
}

/// Runs one load test against `ctx.url` (or `via` a tunnel, or connecting to `connect_to`
/// instead of the URL's address) and judges it. `progress` hears a
/// line a second: `GET /health: 3 s, 600 sent, 0 errors, p99 2.1 ms so far`.
pub async fn run_load_test(
    test: &LoadTest,
    ctx: &SmokeContext,
    via: &Via,
    connect_to: Option<(&str, u16)>,
    baseline: Option<&Baseline>,
    progress: &mut (dyn FnMut(String) + Send),
) -> LoadResult {
    let refused = |message: String| LoadResult {
        check: test.http.clone(),
        rate: test.rate,
        duration_ms: millis(test.duration),
        sent: 0,
        errors: 0,
        achieved_rate: 0.0,
        p50_us: 0,
        p95_us: 0,
        p99_us: 0,
        max_us: 0,
        baseline_p99_us: baseline.map(|b| b.p99_us),
        baseline_release: baseline.map(|b| b.release.clone()),
        passed: false,
        message,
    };
    let Some((method, path)) = test.http_request() else {
        return refused(format!("`{}` is not a request", test.http));
    };
    let Ok(method) = hyper::Method::from_bytes(method.as_bytes()) else {
        return refused(format!("invalid HTTP method `{method}`"));
    };
    let mut target = match Target::parse(&ctx.url) {
        Ok(t) => t,
        Err(why) => return refused(why.to_string()),
    };
    // Through a forwarder: connect there, still naming the environment's address in `Host`.
    if let Some((host, port)) = connect_to {
        target.host = host.to_string();
        target.port = port;
    }
    let plan = generator::Plan {
        target: &target,
        via,
        method,
        path: ctx.fill(path),
        rate: test.rate,
        duration: test.duration,
        in_flight_cap: generator::IN_FLIGHT_CAP,
    };
    let label = test.http.clone();
    let mut tell = |p: generator::Progress| {
        progress(format!(
            "{label}: {} s, {} sent, {}, p99 {} so far",
            p.elapsed.as_secs(),
            p.due,
            count(p.errors as usize, "error"),
            micros(p.p99_us)
        ))
    };
    let run = generator::run(&plan, warm_connections(test.rate), &mut tell).await;
    judge(test, &run, baseline)
}

/// The result of a finished run against the test's thresholds and the baseline.
pub fn judge(test: &LoadTest, run: &generator::Run, baseline: Option<&Baseline>) -> LoadResult {
    let t = &run.tally;
    let mut sorted = t.latencies_us.clone();
    sorted.sort_unstable();
    let p = |q: f64| generator::percentile(&sorted, q);
    let (p50, p95, p99, max) = (p(0.50), p(0.95), p(0.99), p(1.0));
    let due = t.due();
    let achieved_rate = due as f64 / run.scheduled_for.as_secs_f64().max(0.001);
    let error_rate = t.errors() as f64 / due.max(1) as f64;
    let mut failed = Vec::new();
    if due == 0 {
        failed.push("no request was due: rate × duration is below 1".to_string());
    }
    if t.ok == 0 && due > 0 {
        failed.push(format!(
            "no request succeeded ({})",
            t.first_error.as_deref().unwrap_or("no answer")
        ));
    }
    if let Some(limit) = test.p95 {
        if p95 > micros_of(limit) {
            failed.push(format!("p95 {} over {}", micros(p95), micros(micros_of(limit))));
        }
    }
    if let Some(limit) = test.p99 {
        if p99 > micros_of(limit) {
            failed.push(format!("p99 {} over {}", micros(p99), micros(micros_of(limit))));
        }
    }
    let max_error_rate = test.max_error_rate.unwrap_or(0.0);
    if t.errors() > 0 && error_rate > max_error_rate {
        failed.push(format!(
            "error rate {} over {} ({} of {due}: {}{})",
            percent(error_rate),
            percent(max_error_rate),
            t.errors(),
            t.first_error.as_deref().unwrap_or("errors"),
            over_cap_note(t.over_cap)
        ));
    }
    if let (Some(bound), Some(base)) = (test.regression, baseline) {
        let allowed = (base.p99_us as f64 * (1.0 + bound)).ceil() as u64;
        if p99 > allowed {
            failed.push(format!(
                "p99 {} is more than {} above {} of {}, the last release that passed here",
                micros(p99),
                percent(bound),
                micros(base.p99_us),
                base.release
            ));
        }
    }
    let measured = format!(
        "{} req/s for {} s ({:.0} achieved): p50 {}, p95 {}, p99 {}, max {}, {}",
        test.rate,
        test.duration.as_secs_f64(),
        achieved_rate,
        micros(p50),
        micros(p95),
        micros(p99),
        micros(max),
        count(t.errors() as usize, "error")
    );
    let message = if failed.is_empty() {
        match baseline {
            Some(b) => format!("{measured}; p99 was {} on {}", micros(b.p99_us), b.release),
            None => measured,
        }
    } else {
        format!("{}; {measured}", failed.join("; "))
    };
    LoadResult {
        check: test.http.clone(),
        rate: test.rate,
        duration_ms: millis(test.duration),
        sent: t.sent,
        errors: t.errors(),
        achieved_rate,
        p50_us: p50,
        p95_us: p95,
        p99_us: p99,
        max_us: max,
        baseline_p99_us: baseline.map(|b| b.p99_us),
        baseline_release: baseline.map(|b| b.release.clone()),
        passed: failed.is_empty(),
        message,
    }
}

fn over_cap_note(over_cap: u64) -> String {
    match over_cap {
        0 => String::new(),
        n => format!("; {n} not sent: the cap on requests in flight was reached"),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn micros_of(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `850 µs`, `3.4 ms`, `1.25 s`.
pub fn micros(us: u64) -> String {
    match us {
        0..=999 => format!("{us} µs"),
        1_000..=999_999 => format!("{:.1} ms", us as f64 / 1000.0),
        _ => format!("{:.2} s", us as f64 / 1_000_000.0),
    }
}

/// `1%`, `0.5%`.
fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

#[cfg(test)]
mod tests;
