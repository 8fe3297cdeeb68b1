//! A crash mid-operation never leaves an unchecked release that a retry calls fine (issue #9):
//! `kill -9` at random moments of `promote`, then what `status` says, what the lock says, and
//! what the same promote does when run again.

// Integration tests are test code: a failed setup step should stop them loudly, and the
// crate-wide unwrap/expect denial (Cargo.toml [lints]) is for the shipped library and binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::envs::*;

/// A small deterministic generator (the seed is printed, to replay a failure).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn kill_9_at_random_moments_of_promote_never_leaves_an_unverified_release_called_fine() {
    // Strategy `recreate`: there a failing release takes the previous one's place before its
    // checks, which a crash can interrupt. With the proxy (the default) it never serves:
    // tests/system/proxy.rs kills its switches.
    let envs = Envs::hello_py(|toml| {
        format!("{}within = \"3s\"\n", short_smoke(&toml))
            .replace(
                "env = { APP_ENV = \"staging\" }",
                "env = { APP_ENV = \"staging\" }\nstrategy = \"recreate\"",
            )
            .replace("auto_rollback = true", "auto_rollback = true\nstrategy = \"recreate\"")
    });
    let good = envs.build();
    envs.expect(0, &["deploy", "staging"]);
    envs.expect(0, &["promote", "production", "--yes"]);
    let good_image = envs.running_image("production");
    // Passes staging's checks, fails production's: what a crash must never leave "fine".
    envs.commit_health_failing_when("environ.get('SHIPDECK_ENV') == 'production'", "breaks production only");
    envs.build();
    envs.expect(0, &["deploy", "staging"]);
    let bad_image = envs.running_image("staging");
    assert_ne!(bad_image, good_image);

    let seed = std::env::var("SHIPDECK_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64);
    println!("kill loop seed: {seed} (SHIPDECK_KILL_SEED replays it)");
    let mut rng = Lcg(seed);
    let (mut kills, mut called_fine, mut left_unverified, mut left_stale_lock) = (0, 0, 0, 0);
    let mut attempts = 0;
    while kills < 12 {
        attempts += 1;
        assert!(attempts < 40, "the promote finished before the kill too often");
        let mut child = envs.app.spawn_silent(&["promote", "production", "--yes"]);
        // Anywhere from before the lock to the automatic rollback's own checks.
        let wait = Duration::from_millis(rng.below(7200));
        let started = Instant::now();
        while started.elapsed() < wait && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        if child.try_wait().unwrap().is_some() {
            // It ended on its own (refused or rolled back): put production back and retry.
            envs.expect(1, &["promote", "production", "--yes"]);
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;

        // What status reports: a release called fine is one whose smoke checks passed against
        // the container that runs now, so it answers them.
        let mut row = envs.status_row("production");
        let fine = |row: &serde_json::Value| row["smoke"] == true && row["deployed"]["state"] == "running";
        if fine(&row) {
            let (mut status, mut body) = health(envs.production);
            if status != 200 {
                // A stop the killed process asked for goes on in the engine: the container
                // was still "running" a moment ago. Read both again once it has settled.
                std::thread::sleep(Duration::from_secs(3));
                row = envs.status_row("production");
                (status, body) = health(envs.production);
            }
            let image = row["deployed"]["release"]["image_id"].as_str().unwrap_or("");
            if fine(&row) && (image == bad_image || status != 200) {
                called_fine += 1;
                println!("kill {kills} after {wait:?}: {image} reported fine but answers {status} {body}");
            }
        }
        let image = row["deployed"]["release"]["image_id"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let running = row["deployed"]["state"] == "running";
        let unverified_bad = image == bad_image && row["smoke"].is_null() && running;
        if unverified_bad {
            left_unverified += 1;
        }
        // A lock left by the crash names the interrupted operation.
        if !row["lock"].is_null() {
            left_stale_lock += 1;
            let doing = row["lock"]["doing"].as_str().unwrap_or_default();
            assert!(doing.starts_with("promote "), "{row}");
            assert_eq!(row["lock"]["stale"], true, "{row}");
            let refused = envs.expect(4, &["promote", "production", "--yes"]);
            assert!(refused.contains("INTERRUPTED"), "{refused}");
            envs.expect(0, &["unlock", "production"]);
        }

        // The same promote again (or, every other time the failing release was left running
        // unverified, `smoke`): never "nothing to do" with it unchecked; it verifies what
        // runs, fails, and puts the good release back (auto_rollback).
        let retry: &[&str] = if unverified_bad && kills % 2 == 0 {
            &["smoke", "production"]
        } else {
            &["promote", "production", "--yes"]
        };
        let said = envs.expect(1, retry);
        assert!(!said.contains("nothing to do"), "{said}");
        assert!(said.contains("ROLLED BACK"), "{said}");
        let (status, body) = health(envs.production);
        assert_eq!(
            status, 200,
            "kill {kills}: production does not answer after the retry: {body}\n{said}"
        );
        assert!(body.contains(&good), "{body}");
        assert_eq!(envs.running_image("production"), good_image);
        let row = envs.status_row("production");
        assert_eq!(row["smoke"], true, "{row}");
    }
    println!(
        "kill loop: {kills} kills of promote; {called_fine} unverified releases reported as fine; \
         {left_unverified} left the failing release running unverified (each verified and rolled back by the retry); \
         {left_stale_lock} left a stale lock naming the operation"
    );
    assert_eq!(called_fine, 0);
}
