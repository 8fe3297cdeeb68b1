//! Running an environment's load tests against a release (before the switch where the
//! proxy allows it, else right after the deploy): each compared with the last release that
//! passed it there, reported live in the operation's log, its result an event the history
//! keeps.

use super::flows::Context;
use super::{with_store, Op};
use crate::deploy::load::{forwarder, run_load_test, Baseline};
use crate::deploy::smoke::{SmokeContext, Via};
use crate::deploy::{Deployed, Target};
use crate::engine::event::Event;

/// Runs every load test of the target against `deployed`, in order; `Ok` with a summary when
/// all passed, else the failures in words. A failed test does not stop the ones after it:
/// the history gets every figure.
pub(super) async fn run(
    cx: &Context,
    op: &Op,
    target: &Target,
    deployed: &Deployed,
    via: &Via,
) -> Result<String, Vec<String>> {
    let tests = &target.env.load;
    let ctx = SmokeContext {
        url: target.url().unwrap_or_default(),
        commit: deployed.release.commit.clone(),
        short_commit: deployed.release.short_commit.clone(),
        env: target.env.name.clone(),
    };
    op.log(format!(
        "running {} against {} before it counts as verified",
        crate::text::count(tests.len(), "load test"),
        deployed.container
    ));
    let forwarder = match via {
        Via::Inside { host, port, .. } if target.env.docker_host.is_none() => {
            match forwarder::open(target, host, *port).await {
                Ok(f) => {
                    op.log(format!(
                        "load path: {} forwards to {} on the environment's network (it serves nobody yet)",
                        f.url, deployed.container
                    ));
                    Some(f)
                }
                Err(why) => {
                    op.log(format!(
                        "no load forwarder ({why}): requests go through `docker exec` in the proxy container, one exec per connection"
                    ));
                    None
                }
            }
        }
        Via::Inside { .. } => {
            op.log("load path: `docker exec` in the proxy container (a remote engine), one exec per connection");
            None
        }
        Via::Published => None,
    };
    let connect_to = forwarder.as_ref().map(|f| ("127.0.0.1", f.port));
    let via = match &forwarder {
        Some(_) => &Via::Published,
        None => via,
    };
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for (position, test) in tests.iter().enumerate() {
        let baseline = baseline(cx, target, &test.http, test.rate, &deployed.release.image_id).await;
        match &baseline {
            Ok(Some(b)) => op.log(format!(
                "load {} at {} req/s for {} s; compared with {} (p99 {})",
                test.http,
                test.rate,
                test.duration.as_secs_f64(),
                b.release,
                crate::deploy::load::micros(b.p99_us)
            )),
            Ok(None) => op.log(format!(
                "load {} at {} req/s for {} s; no earlier release passed it here to compare with",
                test.http,
                test.rate,
                test.duration.as_secs_f64()
            )),
            Err(why) => op.log(format!(
                "load {}: the last release that passed it cannot be read ({why}): not compared",
                test.http
            )),
        }
        let mut log = op.logger();
        let result = run_load_test(test, &ctx, via, connect_to, baseline.ok().flatten().as_ref(), &mut log).await;
        op.send(Event::LoadTested {
            op: op.id,
            env: op.env.clone(),
            release: deployed.release.clone(),
            position: position as u32,
            result: result.clone(),
        });
        if result.passed {
            passed.push(format!(
                "{} p99 {}",
                result.check,
                crate::deploy::load::micros(result.p99_us)
            ));
        } else {
            failures.push(format!("load {}: {}", result.check, result.message));
        }
    }
    if let Some(f) = forwarder {
        if let Err(why) = f.close(target).await {
            op.log(format!("the load forwarder could not be removed: {why}"));
        }
    }
    if failures.is_empty() {
        Ok(format!("load passed ({})", passed.join(", ")))
    } else {
        Err(failures)
    }
}

/// The last release other than this one that passed the same test at the same rate here.
async fn baseline(
    cx: &Context,
    target: &Target,
    check: &str,
    rate: u32,
    image_id: &str,
) -> Result<Option<Baseline>, String> {
    let (app, env, check, image) = (
        target.app.clone(),
        target.env.name.clone(),
        check.to_string(),
        image_id.to_string(),
    );
    with_store(&cx.engine, move |s| s.load_baseline(&app, &env, &check, rate, &image))
        .await
        .map_err(|e| e.to_string())
}
