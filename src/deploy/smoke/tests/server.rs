//! Whole checks against a tiny real HTTP server: retries, timeouts, refused and closed
//! connections, chunked and large bodies, cancellation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::super::*;
use super::*;
use crate::config::CommandSpec;

// ---- against a real server ----

/// A tiny HTTP server: connection `n` (from 0) gets `respond(n)`, written as is, then the
/// connection is closed; `None` keeps the connection open without answering.
struct Server {
    url: String,
    port: u16,
    connections: Arc<AtomicUsize>,
    /// Connections left unanswered that the client has since closed.
    closed: Arc<AtomicUsize>,
    /// The request heads received, lower-cased.
    requests: Arc<Mutex<Vec<String>>>,
}

async fn serve(respond: impl Fn(usize) -> Option<Vec<u8>> + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(AtomicUsize::new(0));
    let respond = Arc::new(respond);
    let (count, seen, gone) = (connections.clone(), requests.clone(), closed.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let respond = respond.clone();
            let seen = seen.clone();
            let gone = gone.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                seen.lock().unwrap().push(String::from_utf8_lossy(&head).to_lowercase());
                match respond(n) {
                    Some(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                        let _ = socket.shutdown().await;
                    }
                    None => {
                        while let Ok(1..) = socket.read(&mut buf).await {}
                        gone.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    Server {
        url: format!("http://127.0.0.1:{port}"),
        port,
        connections,
        closed,
        requests,
    }
}

fn response(status_line: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status_line}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn passes_on_a_200_and_sends_the_expected_request() {
    let server = serve(|_| Some(response("200 OK", "build a1b2c3d"))).await;
    let c = SmokeCheck {
        expect_body: Some("{short_commit}".into()),
        ..check("GET /health")
    };
    let mut seen = Vec::new();
    let result = run_http_check(&c, &ctx(&server.url), |line| seen.push(line.to_string())).await;
    assert!(result.passed, "{result:?}");
    assert_eq!(result.check, "GET /health");
    assert_eq!(result.attempts, 1);
    assert_eq!(result.status, Some(200));
    assert_eq!(result.excerpt, None);
    assert!(result.message.starts_with("200 OK in "), "{}", result.message);
    assert!(
        result.message.ends_with(" ms, body contains \"a1b2c3d\""),
        "{}",
        result.message
    );
    assert!(seen.is_empty());

    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let head = &requests[0];
    assert!(head.starts_with("get /health http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("host: 127.0.0.1:{}\r\n", server.port)), "{head}");
    assert!(head.contains("user-agent: shipdeck-smoke\r\n"), "{head}");
    assert!(head.contains("connection: close\r\n"), "{head}");
}

#[tokio::test]
async fn method_and_path_placeholders_are_sent() {
    let server = serve(|_| Some(response("200 OK", ""))).await;
    let c = check("HEAD /releases/{short_commit}");
    let result = run_http_check(&c, &ctx(&server.url), |_| {}).await;
    assert!(result.passed, "{result:?}");
    let head = server.requests.lock().unwrap()[0].clone();
    assert!(head.starts_with("head /releases/a1b2c3d http/1.1\r\n"), "{head}");
}

#[tokio::test]
async fn retries_until_the_service_is_up() {
    let server = serve(|n| {
        Some(if n < 2 {
            response("503 Service Unavailable", "starting")
        } else {
            response("200 OK", r#"{"status":"ok"}"#)
        })
    })
    .await;
    let c = SmokeCheck {
        within: Some(Duration::from_secs(10)),
        ..json_check(&[("/status", JsonScalar::String("ok".into()))])
    };
    let mut seen = Vec::new();
    let started = Instant::now();
    let result = run_http_check(&c, &ctx(&server.url), |line| seen.push(line.to_string())).await;
    assert!(result.passed, "{result:?}");
    assert_eq!(result.attempts, 3);
    assert_eq!(result.status, Some(200));
    assert!(result.message.ends_with(", /status = \"ok\""), "{}", result.message);
    assert_eq!(
        seen,
        [
            "attempt 1: expected a 2xx status, got 503",
            "attempt 2: expected a 2xx status, got 503"
        ]
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    // Two pauses of 250 ms: no busy loop, no long waits.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn a_failing_answer_keeps_status_and_excerpt() {
    let server = serve(|_| Some(response("500 Internal Server Error", "boom\x1b[2J\r\nstack"))).await;
    let result = run_http_check(&check("GET /health"), &ctx(&server.url), |_| {}).await;
    assert!(!result.passed);
    assert_eq!(result.attempts, 1);
    assert_eq!(result.status, Some(500));
    assert_eq!(result.message, "expected a 2xx status, got 500");
    assert_eq!(result.excerpt.as_deref(), Some("boom\u{FFFD}[2J\u{FFFD}\nstack"));
}

#[tokio::test]
async fn retries_stop_when_within_elapses() {
    let server = serve(|_| Some(response("503 Service Unavailable", "down"))).await;
    let c = SmokeCheck {
        within: Some(Duration::from_millis(1500)),
        ..check("GET /health")
    };
    let mut calls = 0u32;
    let started = Instant::now();
    let result = run_http_check(&c, &ctx(&server.url), |_| calls += 1).await;
    let elapsed = started.elapsed();
    assert!(!result.passed);
    assert!(result.attempts > 1, "{result:?}");
    assert_eq!(calls, result.attempts);
    assert_eq!(result.status, Some(503));
    assert_eq!(result.excerpt.as_deref(), Some("down"));
    assert!(elapsed >= Duration::from_millis(1200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn connection_refused_is_retried_and_reported() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let c = SmokeCheck {
        within: Some(Duration::from_millis(1500)),
        ..check("GET /health")
    };
    let mut seen = Vec::new();
    let started = Instant::now();
    let result = run_http_check(&c, &ctx(&format!("http://127.0.0.1:{port}")), |l| {
        seen.push(l.to_string())
    })
    .await;
    let elapsed = started.elapsed();
    assert!(!result.passed);
    assert!(result.attempts > 1, "{result:?}");
    assert_eq!(result.message, "connection refused");
    assert_eq!(result.status, None);
    assert_eq!(result.excerpt, None);
    assert_eq!(seen[0], "attempt 1: connection refused");
    assert_eq!(seen.len() as u32, result.attempts);
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn one_attempt_without_within() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let result = run_http_check(&check("GET /"), &ctx(&format!("http://127.0.0.1:{port}")), |_| {}).await;
    assert!(!result.passed);
    assert_eq!(result.attempts, 1);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = serve(|_| None).await;
    let c = SmokeCheck {
        within: Some(Duration::from_secs(1)),
        ..check("GET /health")
    };
    let started = Instant::now();
    let result = run_http_check(&c, &ctx(&server.url), |_| {}).await;
    let elapsed = started.elapsed();
    assert!(!result.passed);
    assert_eq!(result.attempts, 1);
    assert_eq!(result.message, "no answer within 1 s");
    assert_eq!(result.status, None);
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn a_closed_connection_is_a_failure() {
    let server = serve(|_| Some(Vec::new())).await;
    let result = run_http_check(&check("GET /health"), &ctx(&server.url), |_| {}).await;
    assert!(!result.passed);
    assert_eq!(result.status, None);
    assert!(result.message.contains("connection closed"), "{}", result.message);
}

#[tokio::test]
async fn chunked_bodies_are_read() {
    let server = serve(|_| {
        Some(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
              7\r\n{\"statu\r\n8\r\ns\":\"ok\"}\r\n0\r\n\r\n"
                .to_vec(),
        )
    })
    .await;
    let result = run_http_check(
        &json_check(&[("/status", JsonScalar::String("ok".into()))]),
        &ctx(&server.url),
        |_| {},
    )
    .await;
    assert!(result.passed, "{result:?}");
}

#[tokio::test]
async fn bodies_are_read_up_to_one_mib() {
    let mut body = "start ".to_string();
    body.push_str(&"x".repeat(2 * 1024 * 1024));
    body.push_str(" end");
    let canned = response("200 OK", &body);
    let server = serve(move |_| Some(canned.clone())).await;
    let starts = SmokeCheck {
        expect_body: Some("start".into()),
        ..check("GET /big")
    };
    let result = run_http_check(&starts, &ctx(&server.url), |_| {}).await;
    assert!(result.passed, "{}", result.message);
    let ends = SmokeCheck {
        expect_body: Some("end".into()),
        ..check("GET /big")
    };
    let result = run_http_check(&ends, &ctx(&server.url), |_| {}).await;
    assert!(!result.passed);
    assert_eq!(result.excerpt.map(|e| e.chars().count()), Some(300));
}

#[tokio::test]
async fn checks_that_cannot_run_fail_without_attempts() {
    let command = SmokeCheck {
        http: None,
        command: Some(CommandSpec::Shell("true".into())),
        ..check("GET /")
    };
    let result = run_http_check(&command, &ctx("http://127.0.0.1:1"), |_| {}).await;
    assert!(!result.passed);
    assert_eq!(result.attempts, 0);
    assert_eq!(result.check, "true");
    assert_eq!(result.message, "not an HTTP check");

    let result = run_http_check(&check("GET /"), &ctx("https://127.0.0.1:8443"), |_| {}).await;
    assert!(!result.passed);
    assert_eq!(result.attempts, 0);
    assert!(result.message.contains("plain http only"), "{}", result.message);
}

#[tokio::test]
async fn a_dropped_check_leaves_no_connection_behind() {
    let server = serve(|_| None).await;
    let c = check("GET /health");
    let url = server.url.clone();
    let outcome = tokio::time::timeout(Duration::from_millis(200), async {
        run_http_check(&c, &ctx(&url), |_| {}).await
    })
    .await;
    assert!(outcome.is_err());
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    // The server sees the connection close once the dropped attempt released it.
    let started = Instant::now();
    while server.closed.load(Ordering::SeqCst) == 0 && started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.closed.load(Ordering::SeqCst), 1);
}
