//! Which log lines report a failure, so that they stand out and a key can jump between them:
//! a non-zero exit, test runners' `FAILED`, compilers' `error:`, panics and tracebacks.
//!
//! A line is judged by its visible text alone (SGR escapes stripped), and only by markers
//! that tools print at a fixed place, to keep ordinary words ("0 errors", "errors.py") out.

/// Whether the visible text of a log line reports a failure.
pub fn is_failure_line(plain: &str) -> bool {
    let line = plain.trim_start();
    exited_non_zero(line)
        || has_word(line, "FAILED")
        || has_word(line, "FAIL:")
        || error_marker(line)
        || line.starts_with("panic: ")
        || line.contains("panicked at ")
        || line.starts_with("Traceback (most recent call last)")
        || line.starts_with("fatal error:")
}

/// `exited with code N` for any N but 0.
fn exited_non_zero(line: &str) -> bool {
    line.match_indices("exited with code ").any(|(at, marker)| {
        let code: String = line[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        !code.is_empty() && code != "0"
    })
}

/// `error:` or `error[E0308]:` (any case: `ERROR:` from pip and pytest) opening the line, or
/// after a tag such as `[build] ` or `src/main.rs:3:1: `.
fn error_marker(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.match_indices("error").any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = &lower[at + "error".len()..];
        let starts_word = before.is_none_or(|c| c == ' ' || c == ']' || c == ':' || c == '>');
        let ends_as_marker = after.starts_with(':') || (after.starts_with('[') && after.contains("]:"));
        starts_word && ends_as_marker
    })
}

/// `word` as a whole word (not inside `UNFAILED` or `FAILED_TESTS`).
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
        boundary(before) && boundary(after)
    })
}

#[cfg(test)]
mod tests {
    use super::is_failure_line;

    #[test]
    fn failure_lines_of_common_tools() {
        for line in [
            "shipdeck: exited with code 1",
            "test exited with code 137 (killed)",
            "FAILED tests/test_app.py::test_health - AssertionError: 500 != 200",
            "test tests::it_works ... FAILED",
            "FAIL: test_health (tests.test_app.HealthTest)",
            "error: could not compile `hello` (bin \"hello\") due to 1 previous error",
            "error[E0308]: mismatched types",
            "ERROR: Could not find a version that satisfies the requirement flask==9",
            "src/main.go:3:1: error: expected declaration",
            "thread 'main' panicked at src/main.rs:2:5:",
            "panic: runtime error: index out of range [3] with length 3",
            "Traceback (most recent call last):",
            "  Traceback (most recent call last):",
        ] {
            assert!(is_failure_line(line), "{line:?} is a failure line");
        }
    }

    #[test]
    fn ordinary_lines_are_not() {
        for line in [
            "shipdeck: exited with code 0",
            "Ran 3 tests in 0.01s, 0 errors",
            "collected 3 items; errors.py ok",
            "test result: ok. 4 passed; 0 failed",
            "UNFAILED_COUNT=0",
            "handle_error: retrying",
            "terror: a word",
            "Compiling hello v0.1.0",
            "",
        ] {
            assert!(!is_failure_line(line), "{line:?} is not a failure line");
        }
    }
}
