//! The files `shipdeck init` writes: a commented release.toml and, when the app has none, a
//! Dockerfile for its stack.

use super::{Detected, Stack};

/// How a stack is tested in a container: its image, commands and what to keep across runs.
struct TestStage {
    image: &'static str,
    run: Vec<&'static str>,
    cache: &'static [&'static str],
}

fn test_stage(detected: &Detected) -> Option<TestStage> {
    Some(match detected.stack {
        Stack::Python => TestStage {
            image: "python:3.11-slim",
            run: if detected.has_requirements {
                vec!["pip install -r requirements.txt", "python -m unittest discover -v"]
            } else {
                vec!["python -m unittest discover -v"]
            },
            cache: &["/root/.cache/pip"],
        },
        Stack::Rust => TestStage {
            image: "rust:1-slim-bookworm",
            run: vec!["cargo test"],
            cache: &["/usr/local/cargo/registry"],
        },
        Stack::Node => TestStage {
            image: "node:20-bookworm-slim",
            run: vec![if detected.has_lockfile { "npm ci" } else { "npm install" }, "npm test"],
            cache: &["/root/.npm"],
        },
        Stack::Go => TestStage {
            image: "golang:1.22-bookworm",
            run: vec!["go test ./..."],
            cache: &["/root/go/pkg/mod", "/root/.cache/go-build"],
        },
        Stack::Docker => return None,
    })
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A release.toml for app `name`: a test stage (unless only a Dockerfile was found), a package
/// stage building the Dockerfile, staging, and production promoted from staging with approval.
pub fn release_toml(name: &str, detected: &Detected) -> String {
    let mut out = format!(
        "# release.toml for {name}, written by `shipdeck init` ({} app: found {}).\n\
         # `shipdeck check` validates it; `shipdeck` opens the console; the README's release.toml\n\
         # section lists every key.\n\n\
         [app]\n\
         name = {}                  # image repository and label value\n\n\
         [watch]\n\
         on = \"commit\"                # run the pipeline on each commit (\"save\" or \"both\": also on saved files)\n",
        detected.stack.name(),
        detected.marker,
        quoted(name),
    );
    let package_needs = match test_stage(detected) {
        Some(test) => {
            out.push_str(&format!(
                "\n# Runs in a fresh container on the commit's files.\n\
                 [stages.test]\n\
                 image = {}\n\
                 run = {}\n\
                 on_save = true               # in save mode, also on the working tree\n\
                 timeout = \"10m\"\n\
                 cache = {}   # kept across runs\n",
                quoted(test.image),
                list(&test.run),
                list(test.cache),
            ));
            "needs = [\"test\"]\n"
        }
        None => "",
    };
    out.push_str(&format!(
        "\n# Builds the release image from the Dockerfile: what the environments run.\n\
         [stages.package]\n\
         {package_needs}\
         dockerfile = \"Dockerfile\"\n\
         context = \".\"\n\n\
         # Deploy with `d` in the console or `shipdeck deploy staging`. The app must listen on\n\
         # port 8080 in its container (or change the port after the last colon).\n\
         [environments.staging]\n\
         publish = \"127.0.0.1:18080:8080\"  # host address:port → container port\n\
         env = {{ APP_ENV = \"staging\" }}\n\
         [[environments.staging.smoke]]     # must pass before a promotion\n\
         http = \"GET /\"\n\
         expect_status = 200\n\
         within = \"30s\"\n\n\
         # Only releases that passed staging's smoke checks, after typing its name.\n\
         [environments.production]\n\
         publish = \"127.0.0.1:18081:8080\"\n\
         env = {{ APP_ENV = \"production\" }}\n\
         promote_from = \"staging\"\n\
         approval = true\n\
         auto_rollback = true               # failed smoke checks put the previous release back\n\
         [[environments.production.smoke]]\n\
         http = \"GET /\"\n\
         expect_status = 200\n\
         within = \"30s\"\n"
    ));
    out
}

/// A Dockerfile for the stack, for an app that has none: a starting point whose `CMD` the
/// user completes (it says so).
pub fn dockerfile(detected: &Detected) -> String {
    let body = match detected.stack {
        Stack::Python => {
            let install = if detected.has_requirements {
                "RUN pip install --no-cache-dir -r requirements.txt\n"
            } else {
                ""
            };
            format!(
                "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n{install}EXPOSE 8080\n\
                 # The command that starts your web server on port 8080:\n\
                 CMD [\"python\", \"-m\", \"http.server\", \"8080\"]\n"
            )
        }
        Stack::Rust => "FROM rust:1-slim-bookworm AS build\nWORKDIR /src\nCOPY . .\nRUN cargo build --release\n\n\
             FROM debian:bookworm-slim\nCOPY --from=build /src/target/release/ /app/\nEXPOSE 8080\n\
             # The binary that starts your web server on port 8080 (under /app/):\n\
             CMD [\"sh\", \"-c\", \"echo 'set CMD in the Dockerfile' >&2; exit 1\"]\n"
            .to_string(),
        Stack::Node => "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN npm install --omit=dev\nEXPOSE 8080\n\
             # The command that starts your web server on port 8080:\n\
             CMD [\"npm\", \"start\"]\n"
            .to_string(),
        Stack::Go => {
            "FROM golang:1.22-bookworm AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app ./...\n\n\
             FROM debian:bookworm-slim\nCOPY --from=build /app /app\nEXPOSE 8080\n\
             # The binary that starts your web server on port 8080:\n\
             CMD [\"/app\"]\n"
                .to_string()
        }
        Stack::Docker => String::new(),
    };
    format!("# Written by `shipdeck init`: the release image the environments run.\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(stack: Stack) -> Detected {
        Detected {
            stack,
            marker: "x",
            has_dockerfile: true,
            has_requirements: true,
            has_lockfile: false,
        }
    }

    #[test]
    fn every_stack_gives_a_config_that_parses_with_staging_and_production() {
        for stack in [Stack::Python, Stack::Rust, Stack::Node, Stack::Go, Stack::Docker] {
            let text = release_toml("demo", &detected(stack));
            let config =
                crate::config::parse(&text, "release.toml", None).unwrap_or_else(|e| panic!("{stack:?}:\n{e}\n{text}"));
            let envs: Vec<&str> = config.environments.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(envs, ["staging", "production"], "{stack:?}");
            assert!(config.environment("production").unwrap().approval);
            assert_eq!(
                config.stages.len(),
                if stack == Stack::Docker { 1 } else { 2 },
                "{stack:?}"
            );
        }
    }

    #[test]
    fn a_name_with_quotes_stays_one_toml_string() {
        let text = release_toml("a\"b", &detected(Stack::Go));
        assert!(text.contains("name = \"a\\\"b\""), "{text}");
    }
}
