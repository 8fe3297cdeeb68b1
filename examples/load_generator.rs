//! shipdeck's load-test generator on its own, for bench/load.sh: an open-loop GET at RATE
//! per second for SECONDS against URL (a loopback address), printing one line:
//! `sent=N errors=N achieved=R p50_us=N p99_us=N max_us=N`.
//!
//! Usage: cargo run --release --example load_generator -- http://127.0.0.1:PORT/health RATE SECONDS

use std::time::Duration;

use shipdeck::deploy::load::generator::{self, Plan, IN_FLIGHT_CAP};
use shipdeck::deploy::smoke::http::Target;
use shipdeck::deploy::smoke::Via;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, rate, seconds] = args.as_slice() else {
        eprintln!("usage: load_generator URL RATE SECONDS");
        std::process::exit(2);
    };
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let base = format!(
        "http://{}",
        &parsed[url::Position::BeforeHost..url::Position::AfterPort]
    );
    let target = Target::parse(&base).unwrap_or_else(|e| panic!("{e}"));
    let rate: u32 = rate.parse().unwrap_or_else(|e| panic!("RATE: {e}"));
    let seconds: f64 = seconds.parse().unwrap_or_else(|e| panic!("SECONDS: {e}"));
    let plan = Plan {
        target: &target,
        via: &Via::Published,
        method: hyper::Method::GET,
        path: parsed.path().to_string(),
        rate,
        duration: Duration::from_secs_f64(seconds),
        in_flight_cap: IN_FLIGHT_CAP,
    };
    let run = generator::run(&plan, 4, &mut |_| {}).await;
    let mut sorted = run.tally.latencies_us.clone();
    sorted.sort_unstable();
    println!(
        "sent={} errors={} achieved={:.1} p50_us={} p99_us={} max_us={}",
        run.tally.sent,
        run.tally.errors(),
        run.tally.due() as f64 / run.scheduled_for.as_secs_f64(),
        generator::percentile(&sorted, 0.5),
        generator::percentile(&sorted, 0.99),
        generator::percentile(&sorted, 1.0),
    );
}
