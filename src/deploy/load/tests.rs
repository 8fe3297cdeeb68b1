//! The generator against a tiny real keep-alive HTTP server, and the verdicts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::generator::{self, Plan};
use super::*;

/// A keep-alive HTTP/1.1 server on 127.0.0.1: every request is answered by `answer(started)`
/// (status and a delay, from the server's start), in order, on its connection.
struct Server {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

async fn serve(answer: impl Fn(Duration) -> (u16, Duration) + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (connections, requests) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (c, r, answer) = (connections.clone(), requests.clone(), Arc::new(answer));
    let started = Instant::now();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let (r, answer) = (r.clone(), answer.clone());
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        r.fetch_add(1, Ordering::SeqCst);
                        let (status, delay) = answer(started.elapsed());
                        tokio::time::sleep(delay).await;
                        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok");
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => pending.extend_from_slice(&buf[..k]),
                    }
                }
            });
        }
    });
    Server {
        url,
        connections,
        requests,
    }
}

async fn run_plan(url: &str, rate: u32, duration: Duration, cap: usize) -> generator::Run {
    let target = Target::parse(url).unwrap();
    let plan = Plan {
        target: &target,
        via: &Via::Published,
        method: hyper::Method::GET,
        path: "/health".into(),
        rate,
        duration,
        in_flight_cap: cap,
    };
    generator::run(&plan, 2, &mut |_| {}).await
}

fn test(p99: Option<u64>, max_error_rate: Option<f64>, regression: Option<f64>) -> LoadTest {
    LoadTest {
        http: "GET /health".into(),
        rate: 200,
        duration: Duration::from_secs(1),
        p95: None,
        p99: p99.map(Duration::from_millis),
        max_error_rate,
        regression,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_loop_sends_at_its_rate_on_kept_alive_connections() {
    let server = serve(|_| (200, Duration::ZERO)).await;
    let run = run_plan(&server.url, 200, Duration::from_secs(1), 1024).await;
    assert_eq!(run.tally.sent, 200);
    assert_eq!(server.requests.load(Ordering::SeqCst), 200);
    assert_eq!(run.tally.errors(), 0, "{:?}", run.tally.first_error);
    assert_eq!(run.tally.latencies_us.len(), 200);
    // The schedule's last request is due at 995 ms: it did not run slow or fast.
    assert!(
        run.scheduled_for >= Duration::from_millis(990),
        "{:?}",
        run.scheduled_for
    );
    assert!(
        run.scheduled_for < Duration::from_millis(1100),
        "{:?}",
        run.scheduled_for
    );
    // Kept alive: far fewer connections than requests.
    let conns = server.connections.load(Ordering::SeqCst);
    assert!(conns < 50, "{conns} connections for 200 requests");
    let result = judge(&test(Some(50), None, None), &run, None);
    assert!(result.passed, "{}", result.message);
    assert!((result.achieved_rate - 200.0).abs() < 20.0, "{}", result.achieved_rate);
}

/// A server that stalls every request for 300 ms of a 1 s run: an open loop keeps sending,
/// and every request due in the stall counts the wait from its due time. A closed loop (or
/// latency from the send time on a blocked connection) would show one slow request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_every_request_it_held_up() {
    let stall = (Duration::from_millis(300), Duration::from_millis(600));
    let server = serve(move |at| {
        let wait = if at >= stall.0 && at < stall.1 {
            stall.1 - at
        } else {
            Duration::ZERO
        };
        (200, wait)
    })
    .await;
    let run = run_plan(&server.url, 200, Duration::from_secs(1), 1024).await;
    assert_eq!(run.tally.sent, 200);
    let result = judge(&test(Some(50), None, None), &run, None);
    assert!(!result.passed, "{}", result.message);
    assert!(result.message.contains("p99"), "{}", result.message);
    // About 60 of 200 requests were due in the stall: the p95 is well inside it.
    assert!(result.p95_us > 100_000, "p95 {} µs", result.p95_us);
    assert!(result.p50_us < 20_000, "p50 {} µs", result.p50_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_count_against_the_error_rate() {
    let n = Arc::new(AtomicUsize::new(0));
    let server = serve(move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        (if i.is_multiple_of(10) { 503 } else { 200 }, Duration::ZERO)
    })
    .await;
    let run = run_plan(&server.url, 100, Duration::from_secs(1), 1024).await;
    assert_eq!(run.tally.bad_status, 10);
    let strict = judge(&test(None, Some(0.05), None), &run, None);
    assert!(!strict.passed);
    assert!(
        strict
            .message
            .starts_with("error rate 10% over 5% (10 of 100: answered 503)"),
        "{}",
        strict.message
    );
    let lenient = judge(&test(None, Some(0.2), None), &run, None);
    assert!(lenient.passed, "{}", lenient.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_in_flight_cap_are_errors_not_waits() {
    // Every answer takes 2 s: with 5 in flight at most, the rest are refused at their due time.
    let server = serve(|_| (200, Duration::from_secs(2))).await;
    let started = Instant::now();
    let run = run_plan(&server.url, 50, Duration::from_secs(1), 5).await;
    assert_eq!(run.tally.sent, 5);
    assert_eq!(run.tally.over_cap, 45);
    // The schedule did not wait for answers.
    assert!(
        run.scheduled_for < Duration::from_millis(1100),
        "{:?}",
        run.scheduled_for
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    let result = judge(&test(None, Some(0.5), None), &run, None);
    assert!(!result.passed);
    assert!(
        result.message.contains("the cap on requests in flight was reached"),
        "{}",
        result.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_fails_with_the_reason() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let run = run_plan(&url, 20, Duration::from_millis(500), 1024).await;
    assert_eq!(run.tally.failed, 10);
    let result = judge(&test(Some(50), Some(0.5), None), &run, None);
    assert!(!result.passed);
    assert!(
        result.message.contains("no request succeeded (connection refused)"),
        "{}",
        result.message
    );
}

fn finished(latencies_ms: &[u32]) -> generator::Run {
    let tally = generator::Tally {
        sent: latencies_ms.len() as u64,
        ok: latencies_ms.len() as u64,
        latencies_us: latencies_ms.iter().map(|ms| ms * 1000).collect(),
        ..Default::default()
    };
    generator::Run {
        tally,
        scheduled_for: Duration::from_secs(1),
        took: Duration::from_secs(1),
    }
}

#[test]
fn a_p99_above_the_last_passing_release_by_more_than_the_bound_fails() {
    let run = finished(&[10; 100]);
    let base = |us: u64| Baseline {
        p99_us: us,
        release: "a1b2c3d".into(),
    };
    let within = judge(&test(None, None, Some(0.10)), &run, Some(&base(9_100)));
    assert!(within.passed, "{}", within.message);
    assert!(
        within.message.ends_with("p99 was 9.1 ms on a1b2c3d"),
        "{}",
        within.message
    );
    let over = judge(&test(None, None, Some(0.10)), &run, Some(&base(9_000)));
    assert!(!over.passed);
    assert!(
        over.message
            .starts_with("p99 10.0 ms is more than 10% above 9.0 ms of a1b2c3d, the last release that passed here"),
        "{}",
        over.message
    );
    // Without a bound the baseline is told, not judged.
    assert!(judge(&test(None, None, None), &run, Some(&base(1_000))).passed);
    // Without a baseline (the first release) there is nothing to regress from.
    assert!(judge(&test(None, None, Some(0.0)), &run, None).passed);
}

#[test]
fn percentiles_are_nearest_rank() {
    let sorted: Vec<u32> = (1..=100).collect();
    assert_eq!(generator::percentile(&sorted, 0.5), 50);
    assert_eq!(generator::percentile(&sorted, 0.99), 99);
    assert_eq!(generator::percentile(&sorted, 1.0), 100);
    assert_eq!(generator::percentile(&[], 0.99), 0);
    assert_eq!(generator::percentile(&[7], 0.01), 7);
}
