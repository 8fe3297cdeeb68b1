//! Running an environment's smoke checks: HTTP checks against the published port
//! (`smoke::run_http_check`), command checks inside the release container with the app's URL
//! in `SHIPDECK_URL`, each retried until its `within` elapses.

use std::time::{Duration, Instant};

use crate::config::SmokeCheck;
use crate::deploy::model::SmokeResult;
use crate::deploy::smoke::{run_http_check_via, SmokeContext, Via};
use crate::deploy::target::{Deployed, Target};

/// Runs every smoke check of the target against what is deployed, in order; `progress` gets
/// a line per failed attempt (the results are the caller's to report).
pub async fn run_checks(
    target: &Target,
    deployed: &Deployed,
    progress: &mut (dyn FnMut(String) + Send),
) -> Vec<SmokeResult> {
    run_checks_via(target, deployed, &Via::Published, progress).await
}

/// [`run_checks`], with HTTP checks carried `via` a tunnel (to a release that publishes
/// nothing, before the proxy sends it any request).
pub async fn run_checks_via(
    target: &Target,
    deployed: &Deployed,
    via: &Via,
    progress: &mut (dyn FnMut(String) + Send),
) -> Vec<SmokeResult> {
    let ctx = SmokeContext {
        url: target.url().unwrap_or_default(),
        commit: deployed.release.commit.clone(),
        short_commit: deployed.release.short_commit.clone(),
        env: target.env.name.clone(),
    };
    let mut results = Vec::new();
    for check in &target.env.smoke {
        // A check failing the same way 100 times says so once.
        let mut last_reason: Option<String> = None;
        let mut quiet = |line: String| {
            // "GET /health: attempt 7: expected status 200, got 503" → the part after the attempt.
            let reason = match line.find("attempt ") {
                Some(i) => line[i..].split_once(": ").map_or(&line[i..], |(_, r)| r),
                None => line.as_str(),
            }
            .to_string();
            if last_reason.as_deref() != Some(reason.as_str()) {
                progress(line);
                last_reason = Some(reason);
            }
        };
        let result = if check.http.is_some() {
            let label = check.http.clone().unwrap_or_default();
            run_http_check_via(check, &ctx, via, |line| quiet(format!("{label}: {line}"))).await
        } else {
            run_command_check(target, deployed, check, &ctx, &mut quiet).await
        };
        results.push(result);
    }
    results
}

async fn run_command_check(
    target: &Target,
    deployed: &Deployed,
    check: &SmokeCheck,
    ctx: &SmokeContext,
    progress: &mut (dyn FnMut(String) + Send),
) -> SmokeResult {
    let Some(command) = &check.command else {
        return failed(
            String::new(),
            0,
            0,
            "a smoke check needs `http` or `command`".into(),
            None,
        );
    };
    let label = command.display();
    let argv: Vec<String> = command.argv().iter().map(|a| ctx.fill(a)).collect();
    let env = vec![
        format!("SHIPDECK_URL={}", target.inner_url().unwrap_or_default()),
        format!("SHIPDECK_COMMIT={}", ctx.commit),
        format!("SHIPDECK_SHORT_COMMIT={}", ctx.short_commit),
        format!("SHIPDECK_ENV={}", ctx.env),
    ];
    let deadline = Instant::now() + check.within.unwrap_or_default();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let started = Instant::now();
        let outcome = target
            .docker
            .exec(&deployed.container_id, argv.clone(), env.clone())
            .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let (reason, excerpt) = match outcome {
            Ok(out) if out.exit_code == Some(0) => {
                return SmokeResult {
                    check: label,
                    passed: true,
                    attempts,
                    latency_ms,
                    status: None,
                    excerpt: None,
                    message: format!("exit code 0 in {latency_ms} ms"),
                }
            }
            Ok(out) => {
                let code = out
                    .exit_code
                    .map_or("no exit code".into(), |c| format!("exit code {c}"));
                (code, Some(excerpt_of(&out.output)))
            }
            Err(e) => (e.to_string(), None),
        };
        if Instant::now() >= deadline {
            return failed(label, attempts, latency_ms, reason, excerpt);
        }
        progress(format!("{label}: attempt {attempts}: {reason}"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn failed(check: String, attempts: u32, latency_ms: u64, message: String, excerpt: Option<String>) -> SmokeResult {
    SmokeResult {
        check,
        passed: false,
        attempts,
        latency_ms,
        status: None,
        excerpt,
        message,
    }
}

/// The end of a command's output (where errors are), at most 300 characters.
fn excerpt_of(output: &str) -> String {
    let chars: Vec<char> = output.trim().chars().collect();
    let start = chars.len().saturating_sub(300);
    chars[start..].iter().collect()
}
