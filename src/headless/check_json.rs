//! `shipdeck check --json`: whether release.toml is valid and, if so, the pipeline and the
//! environments it resolves to; if not, every diagnostic with its position and hint. Values
//! a user may keep secret (`env` tables, commands) are left out.

use serde::Serialize;

use crate::config::{Config, ConfigError, StageKind};

#[derive(Debug, Serialize)]
struct Valid<'a> {
    valid: bool,
    file: &'a str,
    app: &'a str,
    stages: Vec<Stage<'a>>,
    environments: Vec<Environment<'a>>,
    warnings: &'a [String],
}

#[derive(Debug, Serialize)]
struct Stage<'a> {
    name: &'a str,
    needs: &'a [String],
    /// `run` (commands in an image) or `package` (builds the release image).
    kind: &'static str,
    /// The image a run stage runs in; a package stage's Dockerfile.
    image: Option<&'a str>,
    dockerfile: Option<&'a str>,
    on_save: bool,
    timeout_ms: Option<u128>,
}

#[derive(Debug, Serialize)]
struct Environment<'a> {
    name: &'a str,
    publish: Option<&'a str>,
    promote_from: Option<&'a str>,
    approval: bool,
    auto_rollback: bool,
    smoke_checks: usize,
}

#[derive(Debug, Serialize)]
struct Invalid<'a> {
    valid: bool,
    file: &'a str,
    errors: Vec<Error<'a>>,
}

#[derive(Debug, Serialize)]
struct Error<'a> {
    file: &'a str,
    /// 1-based; 0 when the problem is the whole file (it cannot be read).
    line: usize,
    col: usize,
    message: &'a str,
    hint: Option<&'a str>,
}

/// The JSON document for a valid config at `file`, with the secret warnings `check` prints.
pub fn check_json(file: &str, config: &Config, warnings: &[String]) -> String {
    let stages = config
        .stages
        .iter()
        .map(|s| Stage {
            name: &s.name,
            needs: &s.needs,
            kind: match s.kind {
                StageKind::Run(_) => "run",
                StageKind::Package(_) => "package",
            },
            image: s.run_stage().map(|r| r.image.as_str()),
            dockerfile: s.package().map(|p| p.dockerfile.as_str()),
            on_save: s.on_save,
            timeout_ms: s.timeout.map(|t| t.as_millis()),
        })
        .collect();
    let environments = config
        .environments
        .iter()
        .map(|e| Environment {
            name: &e.name,
            publish: e.publish.as_deref(),
            promote_from: e.promote_from.as_deref(),
            approval: e.approval,
            auto_rollback: e.auto_rollback,
            smoke_checks: e.smoke.len(),
        })
        .collect();
    to_json(&Valid {
        valid: true,
        file,
        app: &config.app.name,
        stages,
        environments,
        warnings,
    })
}

/// The JSON document for a config at `file` that could not be loaded.
pub fn check_error_json(file: &str, error: &ConfigError) -> String {
    let errors = error
        .diagnostics
        .iter()
        .map(|d| Error {
            file: &d.file,
            line: d.line,
            col: d.col,
            message: &d.message,
            hint: d.hint.as_deref(),
        })
        .collect();
    to_json(&Invalid {
        valid: false,
        file,
        errors,
    })
}

/// Pretty JSON; serde_json escapes control characters, so text quoted from the file never
/// reaches a terminal as an escape sequence.
fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_config_lists_its_stages_and_environments() {
        let text =
            "[app]\nname = \"demo\"\n[stages.test]\nimage = \"python:3.11-slim\"\nrun = [\"true\"]\non_save = true\n\
                    [stages.package]\nneeds = [\"test\"]\ndockerfile = \"Dockerfile\"\n\
                    [environments.staging]\npublish = \"127.0.0.1:18080:8080\"\nenv = { TOKEN = \"s3cret\" }\n\
                    [environments.production]\npromote_from = \"staging\"\napproval = true\n";
        let config = crate::config::parse(text, "release.toml", None).unwrap();
        let json: serde_json::Value = serde_json::from_str(&check_json("release.toml", &config, &[])).unwrap();
        assert_eq!(json["valid"], true);
        assert_eq!(json["app"], "demo");
        assert_eq!(json["stages"][0]["name"], "test");
        assert_eq!(json["stages"][0]["image"], "python:3.11-slim");
        assert_eq!(json["stages"][1]["kind"], "package");
        assert_eq!(json["stages"][1]["needs"][0], "test");
        assert_eq!(json["environments"][1]["promote_from"], "staging");
        assert_eq!(json["environments"][1]["approval"], true);
        assert!(!json.to_string().contains("s3cret"), "env values stay out: {json}");
    }

    #[test]
    fn an_invalid_config_lists_every_error_with_its_place_and_hint() {
        let text = "[app]\nname = \"demo\"\n[stages.test]\nimage = \"x\"\nrun = [\"\\u001b]52;c;evil\\u0007\"]\nneds = [\"a\"]\n";
        let error = crate::config::parse(text, "release.toml", None).unwrap_err();
        let out = check_error_json("release.toml", &error);
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["valid"], false);
        let first = &json["errors"][0];
        assert_eq!(first["line"], 6, "{json}");
        assert!(first["message"].as_str().unwrap().contains("neds"), "{json}");
        assert!(first["hint"].as_str().unwrap().contains("needs"), "{json}");
    }
}
