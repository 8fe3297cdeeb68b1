//! The command line: `shipdeck [--repo PATH] [COMMAND]`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "shipdeck",
    version,
    about = "A terminal release console for backend applications: pipelines in Docker, live.",
    long_about = "shipdeck runs a repository's pipeline (test, build, package, …), as described in its \
release.toml, inside Docker containers on the local engine (or DOCKER_HOST), for one exact commit.\n\n\
Without a command, on a terminal, it opens the release console: runs, a live pipeline strip and \
log panes, driven by the keyboard (press ? inside for the keys). When stdout is not a terminal it \
runs the pipeline for HEAD headless instead, as `shipdeck run` does.",
    after_help = "Exit codes: 0 success, 1 pipeline failed, 2 configuration or usage error, \
3 Docker engine unreachable, 130 cancelled (Ctrl-C or SIGTERM)."
)]
pub struct Cli {
    /// The app directory (holding release.toml) or any directory inside it; default: the current one.
    #[arg(
        long = "repo",
        short = 'C',
        global = true,
        value_name = "PATH",
        visible_alias = "app"
    )]
    pub repo: Option<PathBuf>,

    /// The console's colour theme: default, light, high-contrast, mono, or a user theme
    /// (~/.config/shipdeck/themes/NAME.toml). NO_COLOR selects mono unless this is given.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the release console (the default on a terminal).
    Console(ConsoleArgs),
    /// Run the pipeline for one commit, headless: stage-prefixed lines, or NDJSON with --json.
    Run(RunArgs),
    /// Watch the repository, headless: each new commit runs the pipeline; with saves on
    /// (`[watch].on = "save"` or `"both"`, or --saves), saved files run the `on_save` stages on
    /// the working tree. Ctrl-C stops.
    Watch(WatchArgs),
    /// Validate release.toml and print the resolved pipeline.
    Check,
    /// List recent runs of this app.
    History(HistoryArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// The colour theme: default, light, high-contrast, mono, or a user theme.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
}

#[derive(Debug, clap::Args, Default)]
pub struct RunArgs {
    /// The revision to run: a sha, branch, tag or expression such as HEAD~1.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    pub commit: String,
    /// Print the engine's events as NDJSON, one per line, instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Print the engine's events as NDJSON, one per line, instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also run the `on_save` stages on every save, whatever `[watch].on` says.
    #[arg(long)]
    pub saves: bool,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// How many runs to list.
    #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub limit: u16,
}
