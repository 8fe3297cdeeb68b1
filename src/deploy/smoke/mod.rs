//! HTTP smoke checks: a request to an environment's published port, retried until it passes
//! or the check's `within` runs out, judged by its expectations. Command checks are run
//! elsewhere; [`run_http_check`] refuses them.

mod expect;
pub mod http;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crate::config::SmokeCheck;
use crate::deploy::model::SmokeResult;

pub use expect::evaluate;

/// The longest one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest one attempt is given, even when `within` has less left.
const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// The pause between a failed attempt and the next.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// How many characters of a failing body the result keeps.
const EXCERPT_CHARS: usize = 300;

/// What placeholders in a check are filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeContext {
    /// `http://127.0.0.1:18080`, no trailing slash.
    pub url: String,
    pub commit: String,
    pub short_commit: String,
    pub env: String,
}

impl SmokeContext {
    /// Replaces `{commit}`, `{short_commit}`, `{env}` and `{url}`; other braces stay as written.
    pub fn fill(&self, text: &str) -> String {
        self.fill_with(text, |value| value.to_string())
    }

    /// [`SmokeContext::fill`], with each value passed through `encode` first (such as
    /// `regex::escape`). Text is scanned once: values are never filled again.
    pub(crate) fn fill_with(&self, text: &str, encode: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.split_once('}').and_then(|(name, _)| {
                let value = self.value(name)?;
                Some((name.len(), value))
            });
            match value {
                Some((name_len, value)) => {
                    out.push_str(&encode(value));
                    rest = &after[name_len + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn value(&self, name: &str) -> Option<&str> {
        match name {
            "commit" => Some(&self.commit),
            "short_commit" => Some(&self.short_commit),
            "env" => Some(&self.env),
            "url" => Some(&self.url),
            _ => None,
        }
    }
}

/// How a check's requests reach the release.
#[derive(Debug, Clone)]
pub enum Via {
    /// A TCP connection to `ctx.url` (the published address: the proxy, or the release).
    Published,
    /// A TCP connection to `host:port` made from inside `container` on the environment's
    /// network (`docker exec CONTAINER socat - TCP:HOST:PORT`), carried by the engine's API:
    /// a release that publishes nothing, reached the same on local and remote engines. The
    /// request still names `ctx.url`'s host, as users' requests do.
    Inside {
        docker: Box<crate::docker::Docker>,
        container: String,
        host: String,
        port: u16,
    },
}

/// Runs one HTTP check against `ctx.url`: [`run_http_check_via`] the published address.
pub async fn run_http_check(check: &SmokeCheck, ctx: &SmokeContext, progress: impl FnMut(&str)) -> SmokeResult {
    run_http_check_via(check, ctx, &Via::Published, progress).await
}

/// Runs one HTTP check against `ctx.url` (or `via` a tunnel), retrying until it passes or `within` has elapsed
/// (one attempt when `within` is `None`). Each attempt may take min(5 s, time left), but at
/// least 1 s; failed attempts are 250 ms apart. `progress` hears each failed attempt in one
/// line (`attempt 3: connection refused`). Placeholders are filled in the path too.
///
/// A check without `http` (a command check) is not run: the result fails with 0 attempts.
/// The future holds no resources beyond itself, so it may be dropped at any await point.
pub async fn run_http_check_via(
    check: &SmokeCheck,
    ctx: &SmokeContext,
    via: &Via,
    mut progress: impl FnMut(&str),
) -> SmokeResult {
    let label = check.http.clone().unwrap_or_else(|| {
        check
            .command
            .as_ref()
            .map(|c| c.display())
            .unwrap_or_else(|| "smoke check".to_string())
    });
    let refused = |message: String| SmokeResult {
        check: label.clone(),
        passed: false,
        attempts: 0,
        latency_ms: 0,
        status: None,
        excerpt: None,
        message,
    };
    let Some((method, path)) = check.http_request() else {
        return refused("not an HTTP check".to_string());
    };
    let method = match hyper::Method::from_bytes(method.as_bytes()) {
        Ok(m) => m,
        Err(_) => return refused(format!("invalid HTTP method `{method}`")),
    };
    let target = match http::Target::parse(&ctx.url) {
        Ok(t) => t,
        Err(why) => return refused(why.to_string()),
    };
    let path = ctx.fill(path);
    let deadline = check.within.map(|within| Instant::now() + within);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let timeout = attempt_timeout(deadline, Instant::now());
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout, http::fetch(&target, via, method.clone(), &path)).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, excerpt, message) = match outcome {
            Err(_) => (None, None, format!("no answer within {}", seconds(timeout))),
            Ok(Err(why)) => (None, None, why.to_string()),
            Ok(Ok(answer)) => match expect::matches(check, ctx, answer.status, &answer.body) {
                Ok(matched) => {
                    return SmokeResult {
                        check: label,
                        passed: true,
                        attempts,
                        latency_ms,
                        status: Some(answer.status),
                        excerpt: None,
                        message: expect::summary(answer.status, Some(latency_ms), &matched),
                    }
                }
                Err(reason) => (Some(answer.status), Some(body_excerpt(&answer.body)), reason),
            },
        };
        progress(&format!("attempt {attempts}: {message}"));
        let again = deadline.is_some_and(|d| Instant::now() + RETRY_PAUSE < d);
        if !again {
            return SmokeResult {
                check: label,
                passed: false,
                attempts,
                latency_ms,
                status,
                excerpt,
                message,
            };
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// min(5 s, time left before the deadline), but at least 1 s.
fn attempt_timeout(deadline: Option<Instant>, now: Instant) -> Duration {
    match deadline {
        None => ATTEMPT_TIMEOUT,
        Some(d) => d
            .saturating_duration_since(now)
            .clamp(MIN_ATTEMPT_TIMEOUT, ATTEMPT_TIMEOUT),
    }
}

/// `5 s`, `1.3 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The first 300 characters of a body, with control characters other than newline and tab
/// replaced by `�` so that it cannot drive a terminal.
fn body_excerpt(body: &str) -> String {
    body.chars()
        .take(EXCERPT_CHARS)
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}
