//! A steady load of HTTP requests on a loopback port while something happens (a deploy, a
//! promotion): half the workers open a new connection per request, half keep one connection
//! alive across requests (HTTP/1.1), as browsers and API clients do. Every answer is counted;
//! a failed request is one that got no answer, a broken one, or a status other than 200.
//! Counts only: the tests assert on them, never on timings.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the load saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub ok: u64,
    pub failed: u64,
    /// The first failures, in words.
    pub failures: Vec<String>,
    /// How many 200 answers carried each `commit` of `/health`'s body.
    pub commits: BTreeMap<String, u64>,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    workers: Vec<JoinHandle<()>>,
}

impl Load {
    /// `workers` threads (half new connections, half kept alive), each sending GET `path`
    /// every `pause`.
    pub fn start(port: u16, path: &str, workers: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let workers = (0..workers)
            .map(|i| {
                let (stop, tally, path) = (stop.clone(), tally.clone(), path.to_string());
                std::thread::spawn(move || {
                    let keep_alive = i % 2 == 1;
                    let mut conn: Option<BufReader<TcpStream>> = None;
                    while !stop.load(Ordering::Relaxed) {
                        let answer = if keep_alive {
                            kept_alive(&mut conn, port, &path)
                        } else {
                            let mut fresh = None;
                            one_shot(&mut fresh, port, &path)
                        };
                        record(&tally, answer, keep_alive);
                        std::thread::sleep(pause);
                    }
                })
            })
            .collect();
        Load { stop, tally, workers }
    }

    /// What it saw so far.
    pub fn tally(&self) -> Tally {
        self.tally.lock().unwrap().clone()
    }

    /// Stops the workers; what they saw.
    pub fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            let _ = w.join();
        }
        let tally = self.tally.lock().unwrap().clone();
        tally
    }
}

fn record(tally: &Mutex<Tally>, answer: Result<(u16, String), String>, keep_alive: bool) {
    let mut t = tally.lock().unwrap();
    match answer {
        Ok((200, body)) => {
            t.ok += 1;
            let commit = serde_json::from_str::<serde_json::Value>(body.trim())
                .ok()
                .and_then(|v| v["commit"].as_str().map(str::to_string))
                .unwrap_or_default();
            *t.commits.entry(commit).or_default() += 1;
        }
        other => {
            t.failed += 1;
            if t.failures.len() < 20 {
                let how = if keep_alive { "kept-alive" } else { "new connection" };
                t.failures.push(format!("{how}: {other:?}"));
            }
        }
    }
}

fn one_shot(conn: &mut Option<BufReader<TcpStream>>, port: u16, path: &str) -> Result<(u16, String), String> {
    kept_alive(conn, port, path)
}

/// One request on the kept connection (opened when there is none). The connection is kept
/// unless the answer says `Connection: close`.
fn kept_alive(conn: &mut Option<BufReader<TcpStream>>, port: u16, path: &str) -> Result<(u16, String), String> {
    if conn.is_none() {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        *conn = Some(BufReader::new(stream));
    }
    let result = exchange(conn.as_mut().unwrap(), path);
    match &result {
        Ok((_, _, true)) | Err(_) => *conn = None,
        _ => {}
    }
    result.map(|(status, body, _)| (status, body))
}

/// (status, body, whether the server closes the connection).
fn exchange(conn: &mut BufReader<TcpStream>, path: &str) -> Result<(u16, String, bool), String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: shipdeck-load\r\n\r\n");
    conn.get_mut()
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut status_line = String::new();
    conn.read_line(&mut status_line).map_err(|e| format!("read: {e}"))?;
    if status_line.is_empty() {
        return Err("closed before an answer".into());
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    let mut close = status_line.starts_with("HTTP/1.0");
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).map_err(|e| format!("read headers: {e}"))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        if lower.starts_with("connection:") {
            close = lower.contains("close");
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            conn.read_exact(&mut body).map_err(|e| format!("read body: {e}"))?;
        }
        None => {
            conn.read_to_end(&mut body).map_err(|e| format!("read body: {e}"))?;
            close = true;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned(), close))
}

/// One GET of `path` that may take long (a slow request): (status, body).
pub fn slow_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut conn = None;
    kept_alive(&mut conn, port, path)
}
