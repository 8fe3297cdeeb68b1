//! How an operation on an environment is told in words: the same sentences in the console's
//! operation log (`ui/envs/ops.rs`) and in the headless lines (`headless/ops.rs`). The views
//! add what is theirs (a time prefix, a mark of their own for an automatic rollback) and
//! sanitize what they print.

use super::model::{OpAction, OpOutcome, ReleaseRef, SmokeResult};
use crate::text::duration::DurationStyle;

/// `deploying`, `rolling back to`, …: what the operation does to the release it names.
pub fn verb(action: OpAction) -> &'static str {
    match action {
        OpAction::Deploy => "deploying",
        OpAction::Promote => "promoting",
        OpAction::Rollback => "rolling back to",
        OpAction::AutoRollback => "AUTOMATIC ROLLBACK to",
        OpAction::Smoke => "smoke-checking",
    }
}

/// The action as a command word: `deploy`, `auto-rollback`.
pub fn action_word(action: OpAction) -> String {
    action.as_str().replace('_', "-")
}

/// What a started operation does with `to`: `deploying a1b2c3d (sha256:…) "subject"`.
pub fn doing(action: OpAction, to: &ReleaseRef) -> String {
    match action {
        OpAction::Smoke => format!("{} {}", verb(action), to.describe()),
        _ => format!("{} {} \"{}\"", verb(action), to.describe(), to.subject),
    }
}

/// What it replaces: ` (now a1b2c3d (sha256:…))`, or nothing for a smoke check or an empty
/// environment.
pub fn replacing(action: OpAction, from: Option<&ReleaseRef>) -> String {
    match (action, from) {
        (OpAction::Smoke, _) | (_, None) => String::new(),
        (_, Some(from)) => format!(" (now {})", from.describe()),
    }
}

/// One smoke check's result: `✓ smoke GET /health: 200 (answered in 12 ms)`, or with the
/// attempt it ended on: `✗ smoke GET /health: expected status 200, got 500 (attempt 3,
/// answered in 12 ms)` — the time is the last answer's, never the whole wait's.
pub fn smoke_line(result: &SmokeResult) -> String {
    let mark = if result.passed { "✓" } else { "✗" };
    let attempt = match result.attempts {
        0 => return format!("{mark} smoke {}: {} (not attempted)", result.check, result.message),
        1 => None,
        n => Some(format!("attempt {n}")),
    };
    // An HTTP answer's words already say how long it took ("200 OK in 7 ms").
    let said = result.message.contains(&format!("in {} ms", result.latency_ms));
    let time = (!said).then(|| format!("answered in {} ms", result.latency_ms));
    let detail: Vec<String> = attempt.into_iter().chain(time).collect();
    if detail.is_empty() {
        format!("{mark} smoke {}: {}", result.check, result.message)
    } else {
        format!(
            "{mark} smoke {}: {} ({})",
            result.check,
            result.message,
            detail.join(", ")
        )
    }
}

/// `✓ load GET /health: 200 req/s for 10 s (200 achieved): p50 1.1 ms, …`.
pub fn load_line(result: &crate::deploy::load::LoadResult) -> String {
    let mark = if result.passed { "✓" } else { "✗" };
    format!("{mark} load {}: {}", result.check, result.message)
}

/// The mark of how an operation ended: ✓ done (or nothing to do), ⊘ refused, ✗ otherwise.
pub fn outcome_mark(outcome: OpOutcome) -> &'static str {
    match outcome {
        OpOutcome::Succeeded | OpOutcome::Unchanged => "✓",
        OpOutcome::Refused => "⊘",
        _ => "✗",
    }
}

/// How it ended in words: `succeeded`, `rolled back`.
pub fn outcome_word(outcome: OpOutcome) -> String {
    outcome.as_str().replace('_', " ")
}

/// The end of an operation: `deploy succeeded in 4.2s: <message>` (`word` is how it ended).
pub fn ended(action: OpAction, word: &str, duration_ms: i64, message: &str) -> String {
    format!(
        "{} {word} in {}: {message}",
        action_word(action),
        DurationStyle::Table.format_ms(duration_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(c: char) -> ReleaseRef {
        ReleaseRef {
            commit: c.to_string().repeat(40),
            short_commit: c.to_string().repeat(7),
            subject: "fix the build".into(),
            image_id: format!("sha256:{}", c.to_string().repeat(64)),
            image_tag: None,
        }
    }

    #[test]
    fn a_start_names_the_release_and_what_it_replaces() {
        let (a, b) = (release('a'), release('b'));
        assert_eq!(
            doing(OpAction::Deploy, &a),
            format!("deploying {} \"fix the build\"", a.describe())
        );
        assert_eq!(doing(OpAction::Smoke, &a), format!("smoke-checking {}", a.describe()));
        assert_eq!(
            replacing(OpAction::Promote, Some(&b)),
            format!(" (now {})", b.describe())
        );
        assert_eq!(replacing(OpAction::Smoke, Some(&b)), "");
        assert_eq!(replacing(OpAction::Deploy, None), "");
    }

    #[test]
    fn smoke_lines_say_the_attempt_and_the_answer_time_and_ends_say_how() {
        let mut result = SmokeResult {
            check: "GET /health".into(),
            passed: true,
            attempts: 1,
            latency_ms: 12,
            status: Some(200),
            excerpt: None,
            message: "200".into(),
        };
        assert_eq!(smoke_line(&result), "✓ smoke GET /health: 200 (answered in 12 ms)");
        result.passed = false;
        result.attempts = 3;
        assert_eq!(
            smoke_line(&result),
            "✗ smoke GET /health: 200 (attempt 3, answered in 12 ms)"
        );
        result.attempts = 0;
        assert_eq!(smoke_line(&result), "✗ smoke GET /health: 200 (not attempted)");
        result.attempts = 2;
        result.message = "200 OK in 12 ms".into();
        assert_eq!(smoke_line(&result), "✗ smoke GET /health: 200 OK in 12 ms (attempt 2)");
        assert_eq!(
            ended(OpAction::AutoRollback, &outcome_word(OpOutcome::RolledBack), 4200, "m"),
            "auto-rollback rolled back in 4.2s: m"
        );
        assert_eq!(outcome_mark(OpOutcome::Unchanged), "✓");
        assert_eq!(outcome_mark(OpOutcome::Refused), "⊘");
        assert_eq!(outcome_mark(OpOutcome::Interrupted), "✗");
    }
}
