//! The command line: `shipdeck [--repo PATH] [COMMAND]`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "shipdeck",
    version,
    about = "A terminal release console for backend applications: pipelines in Docker, live.",
    long_about = "shipdeck runs a repository's pipeline (test, build, package, …), as described in its \
release.toml, inside Docker containers on the local engine (or DOCKER_HOST), for one exact commit, \
and puts the release image it builds on environments: deploy, smoke-check, promote with approval, roll back.\n\n\
Without a command, on a terminal, it opens the release console: runs, a live pipeline strip and \
log panes, driven by the keyboard (press ? inside for the keys). When stdout is not a terminal it \
runs the pipeline for HEAD headless instead, as `shipdeck run` does.",
    after_help = "Exit codes: 0 success, 1 pipeline or operation failed, 2 configuration or usage error, \
3 Docker engine unreachable, 4 refused (approval missing, smoke gate not passed, environment locked, \
nothing to deploy or roll back to), \
130 cancelled (Ctrl-C, SIGINT, SIGTERM or SIGHUP)."
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
    /// Write a first release.toml (and a Dockerfile when there is none) for the app in the
    /// directory (--repo, default: the current one): Python, Rust, Node.js, Go or a Dockerfile,
    /// with a test stage, a package stage, staging and production. Never overwrites.
    Init,
    /// Check what runs need of this machine: the Docker engine, the stages' images, the
    /// environments' host ports and the inotify limits, each with the fix when it is not fine.
    Doctor,
    /// Validate release.toml and print the resolved pipeline.
    Check(CheckArgs),
    /// Print a shell completion script: `shipdeck completions bash > ~/.local/share/bash-completion/completions/shipdeck`
    /// (zsh: a `_shipdeck` file on $fpath; fish: ~/.config/fish/completions/shipdeck.fish).
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `shipdeck man > ~/.local/share/man/man1/shipdeck.1`;
    /// with a command, its own page (`shipdeck man deploy > …/shipdeck-deploy.1`).
    Man(ManArgs),
    /// List recent runs of this app, or with ENV the operations on that environment
    /// (deployments, promotions, rollbacks, smoke results: who, when, from → to, outcome).
    History(HistoryArgs),
    /// Deploy a release to an environment, then run its smoke checks. Default release: the
    /// newest green run's image.
    Deploy(DeployArgs),
    /// Run an environment's smoke checks against what it runs now: those committed at HEAD.
    Smoke(SmokeArgs),
    /// Promote the release running in ENV's `promote_from` to ENV: only if it passed the
    /// source's smoke checks (or --force); needs --yes when ENV wants approval.
    Promote(PromoteArgs),
    /// Put a previous release back on an environment: the last good one, or --to RELEASE;
    /// needs --yes when ENV wants approval.
    Rollback(RollbackArgs),
    /// What runs on each environment, read from the engines: release, commit, image, since,
    /// health, who deployed it, and who holds its lock.
    Status(StatusArgs),
    /// Break an environment's lock (left by an operator whose shipdeck died).
    Unlock(UnlockArgs),
    /// Start, stop, restart or read the logs of an environment's accessory (a database, a
    /// cache: `[environments.ENV.accessories.NAME]`). Its volumes are always kept.
    #[command(
        after_help = "Deploys start missing or stopped accessories by themselves and never restart a running one. `restart` recreates the container from release.toml (a changed image or env applies), keeping its volumes; `stop` stops it until the next `start` or deploy; `logs` prints its last 200 lines."
    )]
    Accessory(AccessoryArgs),
    /// Remove what runs of this app left on the local engine and no running shipdeck here
    /// owns: leftovers of dead shipdeck processes and orphans (owned by a shipdeck in another
    /// PID namespace, container or machine, or by an older version, which cannot be proven
    /// gone from here). Prints what it removed.
    #[command(
        long_about = None,
        after_help = "Every shipdeck start removes, by itself, only what provably dead shipdeck processes of this machine and PID namespace left. Leftovers whose owner cannot be judged from here (another container sharing the engine, another machine, an older shipdeck) are kept and listed by `shipdeck status` and the console: run `shipdeck clean` once you know that shipdeck is no longer running, as it removes their containers (stopping them), volumes and interrupted build images. Leftovers of a shipdeck process that runs here are never removed. Deployments, their processes, accessories and their volumes, releases, caches and locks are not leftovers."
    )]
    Clean(CleanArgs),
    /// Notification channels (`[notify.NAME]` in release.toml).
    Notify(NotifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct NotifyArgs {
    #[command(subcommand)]
    pub command: NotifyCommand,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test message on channel NAME now (one attempt, no retries) and say what
    /// happened; exits 1 when it was not delivered.
    Test {
        /// The channel, as named in release.toml (`[notify.NAME]`).
        name: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Every app's leftovers on the engine, not only this app's.
    #[arg(long)]
    pub all_apps: bool,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The environment, as named in release.toml.
    pub env: String,
    /// The release to deploy: a run number (`#12`), an image ID (`sha256:…` or a prefix), or a
    /// commit (sha or prefix, branch, HEAD~1) whose pipeline built an image (its newest release
    /// when several runs built one; shipdeck says which it picked).
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
    /// Approve the deploy, for environments with `approval = true`.
    #[arg(long)]
    pub yes: bool,
    /// Deploy to an environment that takes releases by promotion (`promote_from`) directly,
    /// past its smoke gate; also apply the working copy's uncommitted changes to ENV's gates and
    /// smoke checks (never the removal of an approval). The audit history records what was forced.
    #[arg(long)]
    pub force: bool,
    /// Print the engine's events as NDJSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SmokeArgs {
    /// The environment, as named in release.toml.
    pub env: String,
    /// Run the working copy's smoke checks where they differ from those committed at HEAD (or
    /// where HEAD has none for ENV); the audit history records it.
    #[arg(long)]
    pub force: bool,
    /// Print the engine's events as NDJSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The environment to promote to (it names its source with `promote_from`).
    pub env: String,
    /// Approve the promotion, for environments with `approval = true` (the console asks to
    /// type the environment's name instead).
    #[arg(long)]
    pub yes: bool,
    /// Promote even if the release has not passed the source's smoke checks; also apply the
    /// working copy's uncommitted changes to ENV's gates and smoke checks. The audit history
    /// records what was forced. Never replaces --yes.
    #[arg(long)]
    pub force: bool,
    /// Print the engine's events as NDJSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The environment to roll back.
    pub env: String,
    /// The release to put back: a run number (`#12`), an image ID (`sha256:…` or a prefix), or a
    /// commit (the release of it that ran on ENV); default: the newest release that ran there
    /// and whose latest smoke checks there passed.
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,
    /// Approve the rollback, for environments with `approval = true` (the console asks to
    /// type the environment's name instead).
    #[arg(long)]
    pub yes: bool,
    /// On an environment that takes releases by promotion, roll back to a release that never
    /// passed there; also apply the working copy's uncommitted changes to ENV's gates. The audit
    /// history records which gate was overridden. Never replaces --yes.
    #[arg(long)]
    pub force: bool,
    /// Print the engine's events as NDJSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct AccessoryArgs {
    /// The environment.
    pub env: String,
    /// The accessory's name (its key in release.toml, and its host name on the environment's network).
    pub name: String,
    pub action: AccessoryVerb,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AccessoryVerb {
    /// Create it if missing, start it if stopped, wait until it is ready.
    Start,
    /// Stop it; its volumes are kept.
    Stop,
    /// Recreate it from release.toml (volumes kept) and wait until it is ready.
    Restart,
    /// Print its last 200 log lines.
    Logs,
}

#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// The environment whose lock to break.
    pub env: String,
    /// Break it even though its holder may still be at work (a live process, or one on
    /// another host).
    #[arg(long)]
    pub force: bool,
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
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// A command whose page to print instead of shipdeck's.
    pub command: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Print a JSON document instead: `valid`, the stages and environments, or every error
    /// with its line, column and hint (exit code 2 when invalid, as without --json).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// An environment: list its operations instead of the runs.
    pub env: Option<String>,
    /// How many runs (or operations) to list.
    #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub limit: u16,
    /// With an environment: print the log kept of its operation number N (the `#` column),
    /// e.g. a release_command's output.
    #[arg(long, value_name = "N", requires = "env")]
    pub log: Option<i64>,
    /// Print a JSON array of the runs (or operations, with their smoke and load results) instead of a
    /// table; an empty history is `[]`.
    #[arg(long, conflicts_with = "log")]
    pub json: bool,
}
