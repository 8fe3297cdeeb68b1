//! The open-loop generator: request `i` is due at `start + i / rate`, whatever happened to
//! the ones before it, and its latency is counted from that due time, not from when it was
//! sent. A server that stalls therefore shows its stall in every request it held up (no
//! coordinated omission), as wrk2 and hdrhistogram's corrected mode do.
//!
//! Each request is a task of its own, so concurrency follows the server, not the rate; a cap
//! on requests in flight bounds memory and sockets, and a request due while the cap is reached
//! is not sent and counts as an error (`over_cap`). Connections are kept alive and reused;
//! when none is idle a new one is opened (its setup time is part of that request's latency).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;

use crate::deploy::smoke::http::{self, Conn, Target};
use crate::deploy::smoke::Via;

/// Requests in flight at most; one more due is an error, not a wait.
pub const IN_FLIGHT_CAP: usize = 1024;
/// How long one request may take before it counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often progress is told.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What to send, and how.
pub struct Plan<'a> {
    pub target: &'a Target,
    pub via: &'a Via,
    pub method: hyper::Method,
    pub path: String,
    pub rate: u32,
    pub duration: Duration,
    /// Requests in flight at most ([`IN_FLIGHT_CAP`] in a release's load test).
    pub in_flight_cap: usize,
}

/// Every latency of answered requests (microseconds, from each request's due time) and the
/// counts. All samples are kept (rate × duration is bounded by the config), so percentiles are
/// exact.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub sent: u64,
    /// Answered with a status below 400.
    pub ok: u64,
    /// Answered 4xx or 5xx.
    pub bad_status: u64,
    /// No answer: connection refused, reset, timed out.
    pub failed: u64,
    /// Due while [`IN_FLIGHT_CAP`] requests were in flight: not sent.
    pub over_cap: u64,
    pub latencies_us: Vec<u32>,
    /// The first reason a request failed, in words.
    pub first_error: Option<String>,
}

impl Tally {
    pub fn errors(&self) -> u64 {
        self.bad_status + self.failed + self.over_cap
    }

    /// Every request that was due: sent or refused by the cap.
    pub fn due(&self) -> u64 {
        self.sent + self.over_cap
    }

    fn note_error(&mut self, why: String) {
        if self.first_error.is_none() {
            self.first_error = Some(why);
        }
    }
}

/// Progress while it runs: time since the start, requests due, answered, errors, and the p99
/// of what was answered so far (microseconds).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub elapsed: Duration,
    pub due: u64,
    pub answered: u64,
    pub errors: u64,
    pub p99_us: u64,
}

/// The whole run: the tally and how long it took from the first due time to the last answer.
pub struct Run {
    pub tally: Tally,
    /// From the start to the last due time (the schedule's own length).
    pub scheduled_for: Duration,
    /// From the start until every request was answered or given up on.
    pub took: Duration,
}

struct Shared {
    tally: Mutex<Tally>,
    idle: Mutex<Vec<Conn>>,
}

/// Runs the plan; `progress` hears about it every second. `warm` connections are opened
/// before the clock starts (wrk does the same), so that the first requests do not pay for
/// setting them up; a tunnel that is slow to open is then measured only when traffic needs
/// more connections than that.
pub async fn run(plan: &Plan<'_>, warm: usize, progress: &mut (dyn FnMut(Progress) + Send)) -> Run {
    let shared = Arc::new(Shared {
        tally: Mutex::new(Tally::default()),
        idle: Mutex::new(Vec::new()),
    });
    for _ in 0..warm {
        if let Ok(Ok(conn)) = tokio::time::timeout(REQUEST_TIMEOUT, http::open(plan.target, plan.via)).await {
            lock(&shared.idle).push(conn);
        }
    }
    let total = u64::from(plan.rate) * plan.duration.as_millis() as u64 / 1000;
    let interval = Duration::from_secs_f64(1.0 / f64::from(plan.rate.max(1)));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(plan.in_flight_cap));
    let mut tasks = tokio::task::JoinSet::new();
    let start = Instant::now();
    let mut next_note = start + PROGRESS_EVERY;
    let mut i = 0u64;
    while i < total {
        let now = Instant::now();
        // Every request due by now goes out now: a late timer never thins the schedule.
        while i < total {
            let due = start + interval.mul_f64(i as f64);
            if due > now {
                break;
            }
            i += 1;
            match in_flight.clone().try_acquire_owned() {
                Ok(permit) => {
                    lock(&shared.tally).sent += 1;
                    let (shared, target, via) = (shared.clone(), plan.target.clone(), plan.via.clone());
                    let request = http::request(plan.target, plan.method.clone(), &plan.path, "shipdeck-load", true);
                    tasks.spawn(async move {
                        let _permit = permit;
                        one(&shared, &target, &via, request, due).await;
                    });
                }
                Err(_) => {
                    let mut t = lock(&shared.tally);
                    t.over_cap += 1;
                    t.note_error(format!("{} requests in flight: not sent", plan.in_flight_cap));
                }
            }
        }
        // Finished tasks are reaped as it goes, so the set stays as large as what is in flight.
        while tasks.try_join_next().is_some() {}
        if now >= next_note {
            progress(snapshot(&shared, now - start));
            next_note += PROGRESS_EVERY;
        }
        if i < total {
            let due = start + interval.mul_f64(i as f64);
            tokio::time::sleep_until(due.min(next_note).into()).await;
        }
    }
    let scheduled_for = start.elapsed();
    // Each task gives up by itself after REQUEST_TIMEOUT.
    while tasks.join_next().await.is_some() {}
    let took = start.elapsed();
    progress(snapshot(&shared, took));
    let tally = lock(&shared.tally).clone();
    lock(&shared.idle).clear();
    Run {
        tally,
        scheduled_for,
        took,
    }
}

/// One request: an idle connection or a new one, the answer read whole, the latency from `due`.
async fn one(
    shared: &Shared,
    target: &Target,
    via: &Via,
    request: Result<hyper::Request<http_body_util::Empty<bytes::Bytes>>, http::FetchError>,
    due: Instant,
) {
    let attempt = async {
        let request = request?;
        let idle = lock(&shared.idle).pop();
        let mut conn = match idle {
            Some(c) => c,
            None => http::open(target, via).await?,
        };
        // An idle connection the server closed is found out here: one new one replaces it.
        if conn.sender.ready().await.is_err() {
            conn = http::open(target, via).await?;
        }
        let response = conn
            .sender
            .send_request(request)
            .await
            .map_err(http::FetchError::Http)?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            frame.map_err(|error| http::FetchError::Body { status, error })?;
        }
        Ok::<_, http::FetchError>((status, conn))
    };
    let outcome = tokio::time::timeout(REQUEST_TIMEOUT, attempt).await;
    let latency = due.elapsed();
    match outcome {
        Ok(Ok((status, conn))) => {
            if !conn.sender.is_closed() {
                lock(&shared.idle).push(conn);
            }
            let mut t = lock(&shared.tally);
            t.latencies_us
                .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
            if status >= 400 {
                t.bad_status += 1;
                t.note_error(format!("answered {status}"));
            } else {
                t.ok += 1;
            }
        }
        Ok(Err(why)) => {
            let mut t = lock(&shared.tally);
            t.failed += 1;
            t.note_error(why.to_string());
        }
        Err(_) => {
            let mut t = lock(&shared.tally);
            t.failed += 1;
            t.note_error(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()));
        }
    }
}

fn snapshot(shared: &Shared, elapsed: Duration) -> Progress {
    let t = lock(&shared.tally);
    let mut sorted = t.latencies_us.clone();
    sorted.sort_unstable();
    Progress {
        elapsed,
        due: t.due(),
        answered: t.ok + t.bad_status,
        errors: t.errors(),
        p99_us: percentile(&sorted, 0.99),
    }
}

/// The value at quantile `q` of sorted samples (nearest rank); 0 when there are none.
pub fn percentile(sorted: &[u32], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    u64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A poisoned lock (a panicked request task) still holds good counts.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
