//! `release.toml`: types, loading, validation, and diagnostics with `file:line:col`.
//!
//! [`parse`] checks a whole file and either returns a [`Config`] that is valid in every
//! respect the file alone can tell, or a [`ConfigError`] listing every problem found, sorted
//! by position, each with a hint when one helps (usually the closest valid name).
//!
//! Lists of strings (`run`, `needs`, `cache`, `artifacts`, `ignore`) also accept a lone
//! string as a list of one: `run = "make test"` is `run = ["make test"]`. The exec-form
//! `command` and `entrypoint` of an environment do not, since splitting a string into words
//! is a guess; smoke `command` and healthcheck `cmd` take a string as a shell command.

mod describe;
mod diagnostic;
mod duration;
mod env_parts;
mod environments;
mod graph;
mod hint;
mod limits;
mod lookup;
pub(crate) use crate::text::closest as closest_name;
mod load;
mod model;
mod needs;
mod notifications;
mod reader;
mod rules;
mod scan;
mod secret_check;
mod sections;
mod services;
mod size;
mod smoke;
mod stages;
#[cfg(test)]
mod tests;

use std::path::Path;

use toml::de::DeTable;

pub use diagnostic::{ConfigError, Diagnostic};
pub use duration::parse_duration;
pub use env_parts::{AccessoryConfig, ProcessConfig};
pub use lookup::UnknownEnvironment;
pub use model::*;
pub use rules::{is_valid_app_name, is_valid_env_name, suggest_app_name, Publish, PLACEHOLDERS};
pub use services::is_valid_service_name;
pub use size::{format_size, parse_size};

use diagnostic::Sink;
use reader::Table;

/// The file shipdeck reads in a repository.
pub const CONFIG_FILE: &str = "release.toml";

/// How long a stage without `timeout` may run before it is stopped, so that a hung stage
/// cannot hold a pipeline forever.
pub const DEFAULT_STAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Parses and checks a configuration. `file_name` is what diagnostics show; `app_dir`, when
/// given, is the directory holding the file, against which Dockerfiles are looked up.
pub fn parse(text: &str, file_name: &str, app_dir: Option<&Path>) -> Result<Config, ConfigError> {
    let mut sink = Sink::new(text, file_name);
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // After the first syntax error the parser's recovery cascades (one missing `]` gave
        // a hundred lines): report the first, and any duplicate keys, which are independent.
        let first = errors.first().map(|e| e.span());
        for error in errors
            .into_iter()
            .filter(|e| e.span() == first.clone().flatten() || e.message() == "duplicate key")
        {
            let span = error.span().unwrap_or(0..0);
            let (message, hint) = match error.message() {
                "duplicate key" => {
                    let key = text.get(span.clone()).unwrap_or("").trim();
                    (
                        format!("duplicate key `{key}`"),
                        Some("each key and table may be defined only once".to_string()),
                    )
                }
                other => (other.to_string(), None),
            };
            sink.error(span.start, format!("invalid TOML: {message}"), hint);
        }
        return Err(sink.into_error());
    }
    let root = Table::new("the top level", document.span(), document.get_ref());
    let misspelt = sections::check_top_level(&mut sink, &root);
    let app = sections::read_app(&mut sink, &root, misspelt.contains(&"app"));
    let watch = sections::read_watch(&mut sink, &root);
    let defaults = app.as_ref().map_or(StageLimits::DEFAULT, |a| a.limits);
    let parsed_stages = stages::read_stages(&mut sink, &root, app_dir, misspelt.contains(&"stages"), defaults);
    let secrets = sections::read_secrets(&mut sink, &root);
    let (parsed_envs, envs_span) = environments::read_environments(&mut sink, &root, &secrets);
    let parsed_services = services::read_services(&mut sink, &root);
    let notify = notifications::read_notify(&mut sink, &root, &secrets, &parsed_envs);

    env_parts::check_stage_secrets(&mut sink, &parsed_stages, &secrets);
    check_package_stages(&mut sink, &parsed_stages, envs_span.filter(|_| !parsed_envs.is_empty()));
    services::check_stage_services(&mut sink, &parsed_stages, &parsed_services);
    let stages = needs::order_stages(&mut sink, parsed_stages);
    environments::check_promotions(&mut sink, &parsed_envs);
    environments::check_published_addresses(&mut sink, &parsed_envs);

    match app {
        Some(app) if sink.is_empty() => Ok(Config {
            app,
            watch,
            stages,
            environments: parsed_envs.into_iter().filter_map(|e| e.config).collect(),
            secrets,
            services: parsed_services.into_iter().filter_map(|s| s.config).collect(),
            notify,
        }),
        _ => Err(sink.into_error()),
    }
}

/// At most one stage builds the release image, and environments need one to deploy.
fn check_package_stages(sink: &mut Sink<'_>, stages: &[stages::ParsedStage], envs_at: Option<std::ops::Range<usize>>) {
    let packages: Vec<&stages::ParsedStage> = stages
        .iter()
        .filter(|s| s.config.as_ref().is_some_and(|c| c.package().is_some()))
        .collect();
    if let [first, rest @ ..] = packages.as_slice() {
        for extra in rest {
            sink.error(
                extra.header.start,
                format!(
                    "more than one stage builds an image: `{}` and `{}`",
                    first.name, extra.name
                ),
                Some("the stage with `dockerfile` builds the release image; keep one".into()),
            );
        }
    }
    let has_unreadable = stages.iter().any(|s| s.config.is_none());
    if let (Some(span), true, false) = (envs_at, packages.is_empty(), has_unreadable) {
        sink.error(
            span.start,
            "environments are defined, but no stage builds a release image",
            Some("add a stage with dockerfile = \"Dockerfile\" that needs your build stages".into()),
        );
    }
}

/// Reads and checks a file. Diagnostics name the path as given; Dockerfiles are looked up
/// next to it.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::whole_file(&shown, format!("cannot read: {e}")))?;
    let app_dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    parse(&text, &shown, Some(app_dir))
}
