//! BuildKit's progress (a stream of protobuf `StatusResponse`s: vertexes, their logs and
//! warnings) turned into the plain lines `docker build --progress=plain` prints:
//! `#3 [2/4] RUN make`, then `#3 <output line>`, then `#3 DONE 1.2s` (or `CACHED`, `ERROR: …`).
//! The engine sends a vertex again each time its state changes; each state is printed once.

use std::collections::HashMap;

use bollard::moby::buildkit::v1::{StatusResponse, Vertex};

/// Output lines kept per step, for the error of the step that failed.
const KEPT_LINES: usize = 12;

#[derive(Default)]
pub(super) struct StatusLines {
    steps: HashMap<String, Step>,
    /// The number the next new vertex gets (`#1`, `#2`, … in order of appearance).
    next: usize,
}

#[derive(Default)]
struct Step {
    number: usize,
    name: String,
    announced: bool,
    finished: bool,
    /// Output not yet ended by a newline.
    partial: Vec<u8>,
    /// The step's last output lines.
    tail: std::collections::VecDeque<String>,
    error: Option<String>,
}

/// A step that failed: its name (`[2/4] RUN make`), the engine's error and its last lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    pub name: String,
    pub error: String,
    pub tail: Vec<String>,
}

impl Step {
    fn line(&mut self, text: &str, out: &mut Vec<String>) {
        let text = text.trim_end_matches('\r');
        if self.tail.len() == KEPT_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(text.to_string());
        out.push(format!("#{} {text}", self.number));
    }

    fn flush(&mut self, out: &mut Vec<String>) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.line(&String::from_utf8_lossy(&rest), out);
        }
    }
}

impl StatusLines {
    /// The lines one status update adds.
    pub(super) fn update(&mut self, status: &StatusResponse) -> Vec<String> {
        let mut out = Vec::new();
        for vertex in &status.vertexes {
            self.vertex(vertex, &mut out);
        }
        for log in &status.logs {
            let step = self.step(&log.vertex);
            step.partial.extend_from_slice(&log.msg);
            while let Some(end) = step.partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = step.partial.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                step.line(&text, &mut out);
            }
        }
        for warning in &status.warnings {
            let step = self.step(&warning.vertex);
            let text = format!("WARNING: {}", String::from_utf8_lossy(&warning.short));
            out.push(format!("#{} {text}", step.number));
        }
        out
    }

    fn step(&mut self, digest: &str) -> &mut Step {
        let next = &mut self.next;
        self.steps.entry(digest.to_string()).or_insert_with(|| {
            *next += 1;
            Step {
                number: *next,
                ..Step::default()
            }
        })
    }

    fn vertex(&mut self, vertex: &Vertex, out: &mut Vec<String>) {
        let step = self.step(&vertex.digest);
        if step.name.is_empty() {
            step.name = vertex.name.clone();
        }
        if !step.announced && (vertex.started.is_some() || vertex.cached || !vertex.error.is_empty()) {
            step.announced = true;
            out.push(format!("#{} {}", step.number, step.name));
        }
        if step.finished {
            return;
        }
        if !vertex.error.is_empty() {
            step.flush(out);
            step.finished = true;
            step.error = Some(vertex.error.clone());
            out.push(format!("#{} ERROR: {}", step.number, vertex.error));
        } else if vertex.cached {
            step.finished = true;
            out.push(format!("#{} CACHED", step.number));
        } else if let (Some(started), Some(completed)) = (&vertex.started, &vertex.completed) {
            step.flush(out);
            step.finished = true;
            let seconds =
                (completed.seconds - started.seconds) as f64 + f64::from(completed.nanos - started.nanos) / 1e9;
            out.push(format!("#{} DONE {seconds:.1}s", step.number));
        }
    }

    /// The step that failed, if one did. A canceled step (BuildKit cancels the others when one
    /// fails) is not the cause: the first step with another error is.
    pub(super) fn failed(&self) -> Option<FailedStep> {
        let mut failed: Vec<&Step> = self
            .steps
            .values()
            .filter(|s| s.error.as_deref().is_some_and(|e| !e.contains("context canceled")))
            .collect();
        failed.sort_by_key(|s| s.number);
        failed.first().map(|s| FailedStep {
            name: s.name.clone(),
            error: s.error.clone().unwrap_or_default(),
            tail: s.tail.iter().cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::VertexLog;

    fn vertex(digest: &str, name: &str) -> Vertex {
        Vertex {
            digest: digest.into(),
            name: name.into(),
            ..Vertex::default()
        }
    }

    /// Sets a protobuf timestamp (its type is not re-exported by bollard).
    macro_rules! at {
        ($slot:expr, $seconds:expr, $nanos:expr) => {{
            let mut t = $slot.clone().unwrap_or_default();
            t.seconds = $seconds;
            t.nanos = $nanos;
            $slot = Some(t);
        }};
    }

    #[test]
    fn prints_each_state_of_a_step_once_and_its_output_by_line() {
        let mut lines = StatusLines::default();
        let mut run = vertex("sha256:a", "[2/3] RUN make");
        assert!(lines
            .update(&StatusResponse {
                vertexes: vec![run.clone()],
                ..Default::default()
            })
            .is_empty());
        at!(run.started, 10, 0);
        let log = |msg: &str| VertexLog {
            vertex: "sha256:a".into(),
            msg: msg.as_bytes().to_vec(),
            ..VertexLog::default()
        };
        let out = lines.update(&StatusResponse {
            vertexes: vec![run.clone()],
            logs: vec![log("one\ntw"), log("o\nthree")],
            ..Default::default()
        });
        assert_eq!(out, ["#1 [2/3] RUN make", "#1 one", "#1 two"]);
        at!(run.completed, 11, 500_000_000);
        let out = lines.update(&StatusResponse {
            vertexes: vec![run.clone(), run],
            ..Default::default()
        });
        assert_eq!(out, ["#1 three", "#1 DONE 1.5s"]);
        let mut cached = vertex("sha256:b", "[1/3] FROM base");
        cached.cached = true;
        let out = lines.update(&StatusResponse {
            vertexes: vec![cached],
            ..Default::default()
        });
        assert_eq!(out, ["#2 [1/3] FROM base", "#2 CACHED"]);
        assert_eq!(lines.failed(), None);
    }

    #[test]
    fn the_failed_step_is_the_first_error_that_is_no_cancellation() {
        let mut lines = StatusLines::default();
        let mut other = vertex("sha256:o", "[a 2/2] RUN sleep 9");
        at!(other.started, 1, 0);
        let mut bad = vertex("sha256:b", "[b 2/2] RUN exit 3");
        at!(bad.started, 1, 0);
        lines.update(&StatusResponse {
            vertexes: vec![other.clone(), bad.clone()],
            ..Default::default()
        });
        lines.update(&StatusResponse {
            logs: vec![VertexLog {
                vertex: "sha256:b".into(),
                msg: b"no such file".to_vec(),
                ..VertexLog::default()
            }],
            ..Default::default()
        });
        other.error = "context canceled".into();
        bad.error = "executor failed running [/bin/sh -c exit 3]: exit code: 3".into();
        let out = lines.update(&StatusResponse {
            vertexes: vec![other, bad],
            ..Default::default()
        });
        assert_eq!(out[0], "#1 ERROR: context canceled");
        assert_eq!(out[1], "#2 no such file");
        let failed = lines.failed().expect("a failed step");
        assert_eq!(failed.name, "[b 2/2] RUN exit 3");
        assert_eq!(failed.tail, ["no such file"]);
    }
}
