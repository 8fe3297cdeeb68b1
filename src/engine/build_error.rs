//! A failed build's error, pointed at the user's Dockerfile: the engine only knows the
//! generated one (with shipdeck's `LABEL` lines in it) and names steps, not lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::docker::FailedStep;

/// The engine's message, with its `line N` (of the generated Dockerfile) turned into the
/// user's line, and where the build failed: `at Dockerfile:5: RUN make` and the step's last
/// output lines.
pub(super) fn locate(message: &str, failed: Option<&FailedStep>, dockerfile: &str, name: &str) -> String {
    static LINE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?i)\bline (\d+)").ok());
    let mut at = None;
    let mut text = message.to_string();
    if let Some(line) = LINE.as_ref() {
        text = line
            .replace_all(message, |c: &regex::Captures<'_>| {
                let generated: usize = c[1].parse().unwrap_or(0);
                let user = super::package::user_line(dockerfile, generated);
                at.get_or_insert(user);
                format!("line {user}")
            })
            .into_owned();
    }
    if let Some(step) = failed {
        if let Some(line) = instruction_line(dockerfile, &step.name) {
            at = Some(line);
        }
    }
    if let Some(line) = at {
        let source = dockerfile
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or_default()
            .trim();
        text.push_str(&format!("\n  at {name}:{line}: {source}"));
    }
    if let Some(step) = failed.filter(|s| !s.tail.is_empty()) {
        text.push_str("\n  its last output:");
        for line in &step.tail {
            text.push_str(&format!("\n    {line}"));
        }
    }
    if dockerfile
        .lines()
        .next()
        .is_some_and(|l| l.trim_start().starts_with('#') && l.to_lowercase().contains("syntax="))
        && (message.contains("docker/dockerfile") || message.contains("resolve image config"))
    {
        // Not a missing base image: the frontend image is what could not be pulled.
        text = text
            .lines()
            .filter(|l| !l.starts_with("  hint: the Dockerfile's base image"))
            .collect::<Vec<_>>()
            .join("\n");
        text.push_str("\n  hint: a `# syntax=` line asks for a frontend image, which cannot be pulled without a registry: remove the line to use the engine's built-in Dockerfile frontend (it supports `RUN --mount`)");
    }
    if message.contains("unknown instruction") && dockerfile.lines().any(|l| l.contains("<<")) {
        text.push_str("\n  hint: heredocs (`RUN <<EOF`) need Dockerfile syntax 1.4; the engine's built-in frontend is older (Docker 20.10: syntax 1.2): write the commands in the RUN line, or a script file to COPY");
    }
    text
}

/// The 1-based line of the user's Dockerfile where the instruction a BuildKit step names
/// (`[build 2/4] RUN cargo build …`) starts.
pub(super) fn instruction_line(dockerfile: &str, step: &str) -> Option<usize> {
    let instruction = step.trim_start();
    let instruction = match instruction.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.1,
        None => instruction,
    };
    let wanted = squeeze(instruction);
    if wanted.is_empty() {
        return None;
    }
    let lines: Vec<&str> = dockerfile.lines().collect();
    (0..lines.len()).find_map(|i| {
        let first = lines[i].trim();
        if first.is_empty() || first.starts_with('#') {
            return None;
        }
        // The instruction with its continuation lines, as the engine shows it: one line.
        let joined: String = lines[i..]
            .iter()
            .take(50)
            .map(|l| l.trim().trim_end_matches('\\'))
            .collect::<Vec<_>>()
            .join(" ");
        let have = squeeze(&joined);
        let n = wanted.len().min(60);
        (have.len() >= n && have.get(..n) == wanted.get(..n)).then_some(i + 1)
    })
}

/// `text` with every run of whitespace one space, lower case for the instruction word.
fn squeeze(text: &str) -> String {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or_default().to_uppercase();
    std::iter::once(first.as_str())
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "FROM base AS build\nRUN make \\\n    all\n\nFROM base\nRUN exit 3\n";

    #[test]
    fn finds_the_line_of_a_step() {
        assert_eq!(instruction_line(FILE, "[build 2/2] RUN make      all"), Some(2));
        assert_eq!(instruction_line(FILE, "[stage-1 2/2] RUN exit 3"), Some(6));
        assert_eq!(instruction_line(FILE, "[internal] load metadata"), None);
    }

    #[test]
    fn names_the_users_line_and_the_steps_output() {
        let step = FailedStep {
            name: "[stage-1 2/2] RUN exit 3".into(),
            error: "exit code: 3".into(),
            tail: vec!["boom".into()],
        };
        let text = locate("exit code: 3", Some(&step), FILE, "Dockerfile");
        assert_eq!(
            text,
            "exit code: 3\n  at Dockerfile:6: RUN exit 3\n  its last output:\n    boom"
        );
        // Line 8 of the generated file (two LABEL lines above it) is the user's line 6.
        let text = locate(
            "dockerfile parse error line 8: unknown instruction",
            None,
            FILE,
            "Dockerfile",
        );
        assert!(text.starts_with("dockerfile parse error line 6: unknown"), "{text}");
        assert!(text.ends_with("at Dockerfile:6: RUN exit 3"), "{text}");
    }

    #[test]
    fn a_syntax_line_and_a_heredoc_get_their_own_hints() {
        let message = "failed to solve with frontend gateway.v0: failed to do request: Head \"https://registry-1.docker.io/v2/docker/dockerfile/manifests/1.4\"\n  hint: the Dockerfile's base image (FROM) must be on the engine";
        let text = locate(message, None, "# syntax=docker/dockerfile:1.4\nFROM x\n", "Dockerfile");
        assert!(!text.contains("base image"), "{text}");
        assert!(text.contains("remove the line"), "{text}");
        let text = locate(
            "dockerfile parse error line 4: unknown instruction: ECHO",
            None,
            "FROM x\nRUN <<EOF\necho hi\nEOF\n",
            "Dockerfile",
        );
        assert!(text.contains("at Dockerfile:3: echo hi"), "{text}");
        assert!(text.contains("heredocs"), "{text}");
    }
}
