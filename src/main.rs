use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};

use clap::Parser;

mod clean_cli;
mod notify_cli;
mod ops_cli;

use shipdeck::cli::{Cli, Command, HistoryArgs, ManArgs, RunArgs, WatchArgs};
use shipdeck::config::{self, Config};
use shipdeck::docker::{self, Docker};
use shipdeck::engine::{self, Engine};
use shipdeck::exit::ExitCode;
use shipdeck::headless::{format_history, Format, HeadlessView};
use shipdeck::owner::{label_is_alive, Owner};
use shipdeck::source::Project;
use shipdeck::store::Store;

/// An error on the way to running anything, with the exit code it means.
struct Failure {
    code: ExitCode,
    message: String,
}

impl Failure {
    fn usage(e: impl std::fmt::Display) -> Failure {
        Failure {
            code: ExitCode::Usage,
            message: e.to_string(),
        }
    }
}

fn main() -> std::process::ExitCode {
    let started = std::time::Instant::now();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("shipdeck: cannot start the async runtime: {e}");
            return ExitCode::Failed.into();
        }
    };
    match runtime.block_on(dispatch(cli, started)) {
        Ok(code) => code.into(),
        Err(f) => {
            // Messages quote what a repository wrote (release.toml keys, revisions) and what
            // an engine said: what a terminal would show of it, as plain text.
            eprintln!("{}", shipdeck::term::plain_text(&f.message));
            f.code.into()
        }
    }
}

async fn dispatch(cli: Cli, started: std::time::Instant) -> Result<ExitCode, Failure> {
    // These describe the command line itself: no repository needed.
    match &cli.command {
        Some(Command::Completions(args)) => return completions(args.shell),
        Some(Command::Man(args)) => return man_page(args),
        // There is no release.toml yet: nothing to discover.
        Some(Command::Init) => return init(cli.repo.as_deref().unwrap_or(Path::new("."))),
        // A missing or broken release.toml is one of its findings.
        Some(Command::Doctor) => return doctor(cli.repo.as_deref().unwrap_or(Path::new("."))).await,
        _ => {}
    }
    let start = cli.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let project = Project::discover(&start).map_err(Failure::usage)?;
    match cli.command {
        Some(Command::Completions(args)) => completions(args.shell),
        Some(Command::Man(args)) => man_page(&args),
        Some(Command::Init) => init(&project.config_path().with_file_name("")),
        Some(Command::Doctor) => doctor(&project.config_path().with_file_name("")).await,
        Some(Command::Check(args)) => check(&project, args.json),
        Some(Command::History(args)) => match &args.env {
            Some(env) => ops_cli::history(&project, &args, env).await,
            None => history(&project, &args),
        },
        Some(Command::Deploy(args)) => ops_cli::deploy(&project, &args).await,
        Some(Command::Smoke(args)) => ops_cli::smoke(&project, &args).await,
        Some(Command::Promote(args)) => ops_cli::promote(&project, &args).await,
        Some(Command::Rollback(args)) => ops_cli::rollback(&project, &args).await,
        Some(Command::Status(args)) => ops_cli::status(&project, &args).await,
        Some(Command::Unlock(args)) => ops_cli::unlock(&project, &args).await,
        Some(Command::Accessory(args)) => ops_cli::accessory(&project, &args).await,
        Some(Command::Clean(args)) => clean_cli::clean(&project, &args).await,
        Some(Command::Notify(args)) => notify_cli::notify(&project, &args).await,
        Some(Command::Run(args)) => run(&project, &args).await,
        Some(Command::Watch(args)) => watch(&project, &args).await,
        Some(Command::Console(args)) => console(&project, args.theme.or(cli.theme).as_deref(), started).await,
        None if std::io::stdout().is_terminal() => console(&project, cli.theme.as_deref(), started).await,
        None => {
            eprintln!("shipdeck: stdout is not a terminal: running the pipeline for HEAD headless (`shipdeck run` does the same)");
            let args = RunArgs {
                commit: "HEAD".into(),
                json: false,
            };
            run(&project, &args).await
        }
    }
}

fn load_config(project: &Project) -> Result<Config, Failure> {
    config::load(&display_path(&project.config_path())).map_err(Failure::usage)
}

/// The config path as the user would write it: relative to the current directory when inside it.
fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// `shipdeck doctor`: every check, with its fix; exit code 1 when one is a problem.
async fn doctor(dir: &Path) -> Result<ExitCode, Failure> {
    let config = Project::discover(dir)
        .map_err(|e| e.to_string())
        .and_then(|p| config::load(&display_path(&p.config_path())).map_err(|e| e.to_string()));
    let (config, error) = match config {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e)),
    };
    let findings = shipdeck::doctor::diagnose(config.as_ref(), error.as_deref()).await;
    for finding in &findings {
        // Findings quote release.toml and the engine: plain text only.
        println!("{}", shipdeck::term::plain_text(&finding.line()));
    }
    let problem = findings.iter().any(|f| f.level == shipdeck::doctor::Level::Problem);
    Ok(if problem { ExitCode::Failed } else { ExitCode::Success })
}

/// `shipdeck init`: a first release.toml for the app in `dir`.
fn init(dir: &Path) -> Result<ExitCode, Failure> {
    let written = shipdeck::init::init(dir).map_err(Failure::usage)?;
    println!(
        "Found {} ({}). Wrote:",
        written.detected.stack.name(),
        written.detected.marker
    );
    for file in &written.files {
        println!("  {}", display_path(file).display());
    }
    println!(
        "Review them (the Dockerfile's CMD must start the app on port 8080), commit them, then run `shipdeck check` and `shipdeck`."
    );
    Ok(ExitCode::Success)
}

/// `shipdeck completions SHELL`: the completion script, generated from the clap definitions.
fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Failure> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    // Into memory first: clap_complete panics on a write error (`… | head` closes the pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "shipdeck", &mut script);
    print_all(&script)
}

/// Writes `bytes` to stdout; a reader that stopped reading (a closed pipe) is no failure.
fn print_all(bytes: &[u8]) -> Result<ExitCode, Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::usage(e)),
        _ => Ok(ExitCode::Success),
    }
}

/// `shipdeck man [COMMAND]`: the manual page of shipdeck, or of one of its commands
/// (`shipdeck-deploy(1)`), generated from the clap definitions.
fn man_page(args: &ManArgs) -> Result<ExitCode, Failure> {
    use clap::CommandFactory;
    let top = Cli::command();
    let command = match &args.command {
        None => top,
        Some(name) => {
            let sub = top.find_subcommand(name).cloned().ok_or_else(|| {
                let names: Vec<&str> = top.get_subcommands().map(|s| s.get_name()).collect();
                Failure::usage(format!("no command `{name}`: one of {}", names.join(", ")))
            })?;
            let full = format!("shipdeck-{}", sub.get_name());
            sub.display_name(full).bin_name(format!("shipdeck {name}"))
        }
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(Failure::usage)?;
    print_all(&page)
}

fn check(project: &Project, json: bool) -> Result<ExitCode, Failure> {
    let shown = display_path(&project.config_path()).display().to_string();
    if !json {
        let config = load_config(project)?;
        // The description quotes the file (commands, images): plain text only.
        println!("{}", shipdeck::term::plain_text(&config.describe()));
        for warning in check_warnings(&config) {
            eprintln!("warning: {warning}");
        }
        println!("{shown} is valid.");
        return Ok(ExitCode::Success);
    }
    match config::load(&display_path(&project.config_path())) {
        Ok(config) => {
            let warnings = check_warnings(&config);
            println!("{}", shipdeck::headless::check_json(&shown, &config, &warnings));
            Ok(ExitCode::Success)
        }
        Err(error) => {
            println!("{}", shipdeck::headless::check_error_json(&shown, &error));
            Ok(ExitCode::Usage)
        }
    }
}

/// What `check` warns of (the file is valid all the same): weak secrets on this host, scan
/// ignore entries past their date.
fn check_warnings(config: &config::Config) -> Vec<String> {
    let mut warnings = config.secret_warnings(|var| std::env::var(var).ok());
    warnings.extend(config.scan_warnings(chrono::Local::now().date_naive()));
    // They quote the file (names, reasons): plain text only, like the description.
    warnings
        .iter()
        .map(|w| shipdeck::term::plain_text(w).into_owned())
        .collect()
}

fn history(project: &Project, args: &HistoryArgs) -> Result<ExitCode, Failure> {
    let store = Store::open(&project.state_dir()).map_err(Failure::usage)?;
    let runs = store.recent_runs(args.limit.into()).map_err(Failure::usage)?;
    if args.json {
        // serde_json escapes control characters: commit data cannot reach a terminal raw.
        println!("{}", serde_json::to_string_pretty(&runs).map_err(Failure::usage)?);
    } else if runs.is_empty() {
        println!("No runs yet. Start one with `shipdeck run`.");
    } else {
        // The history holds what repositories wrote (subjects, authors): sanitized on the way out.
        print!("{}", shipdeck::term::plain_text(&format_history(&runs)));
    }
    Ok(ExitCode::Success)
}

async fn run(project: &Project, args: &RunArgs) -> Result<ExitCode, Failure> {
    let command = engine::Command::Run {
        rev: args.commit.clone(),
        trigger: "manual".into(),
    };
    headless(project, command, args.json, false).await
}

async fn watch(project: &Project, args: &WatchArgs) -> Result<ExitCode, Failure> {
    let config = load_config(project)?;
    let saves = args.saves || !matches!(config.watch.on, shipdeck::config::WatchOn::Commit);
    headless(project, engine::Command::Watch { saves }, args.json, true).await
}

/// The headless view: sends `command` and prints events until its run ends or, with
/// `forever` (watch mode), until a signal.
async fn headless(project: &Project, command: engine::Command, json: bool, forever: bool) -> Result<ExitCode, Failure> {
    let operation = matches!(
        command,
        engine::Command::Deploy { .. } | engine::Command::Promote { .. } | engine::Command::Rollback { .. }
    );
    // A smoke check changes nothing: it can be abandoned at once.
    let read_only = matches!(command, engine::Command::Smoke { .. });
    let config = load_config(project)?;
    let mut store = Store::open(&project.state_dir()).map_err(Failure::usage)?;
    let _log = init_tracing(&project.state_dir());
    let docker = docker::connect().await.map_err(|e| Failure {
        code: ExitCode::Engine,
        message: e.to_string(),
    })?;
    tracing::info!(address = %docker.address, version = %docker.server_version, api = %docker.api_version, "connected");
    reap(&docker, &mut store).await;

    let mut handle = Engine::new(engine::DockerLink::fixed(docker), project.clone(), Some(config)).start(store);
    let _ = handle.commands.send(command);

    let format = if json { Format::Json } else { Format::Text };
    let mut view = HeadlessView::new(BufWriter::with_capacity(64 * 1024, std::io::stdout()), format);
    let mut outcome = None;
    let mut active = false;
    let mut signals = Signals::new().map_err(Failure::usage)?;
    let mut commands = Some(handle.commands);
    loop {
        tokio::select! {
            event = handle.events.recv() => {
                let Some(event) = event else { break };
                match &event {
                    engine::Event::RunStarted { .. } => active = true,
                    engine::Event::RunFinished { .. } => active = false,
                    _ => {}
                }
                if let Ok(Some(o)) = view.handle(&event) {
                    if !forever {
                        outcome = Some(o);
                        // Our one run is over: hang up, and the engine closes the events when done.
                        commands = None;
                    }
                }
                if handle.events.is_empty() {
                    let _ = view.flush();
                }
            }
            signal = signals.next() => {
                let _ = view.flush();
                if signals.count > 1 {
                    if operation {
                        eprintln!("shipdeck: {signal} again: exiting now; the environment may be left half-deployed and locked: check `shipdeck status`");
                    } else {
                        eprintln!("shipdeck: {signal} again: exiting now; leftovers are removed at the next start");
                    }
                    return Ok(ExitCode::Cancelled);
                }
                if read_only {
                    eprintln!("shipdeck: {signal}: smoke check abandoned (it changes nothing)");
                    return Ok(ExitCode::Cancelled);
                }
                if operation {
                    // Stopping a deploy half-way could leave the environment down.
                    eprintln!("shipdeck: {signal}: the operation is not stopped half-way (that could leave the environment down); waiting for it to finish; {signal} again exits at once");
                    continue;
                }
                if forever && !active {
                    eprintln!("shipdeck: {signal}: stopped watching");
                    outcome.get_or_insert(ExitCode::Success);
                } else {
                    eprintln!("shipdeck: {signal}: cancelling the run and removing its containers…");
                    outcome.get_or_insert(ExitCode::Cancelled);
                }
                if let Some(c) = &commands {
                    let _ = c.send(engine::Command::CancelAll);
                }
                if forever {
                    commands = None;
                }
            }
        }
    }
    drop(commands);
    let _ = view.flush();
    Ok(outcome.unwrap_or(ExitCode::Failed))
}

async fn console(project: &Project, theme: Option<&str>, started: std::time::Instant) -> Result<ExitCode, Failure> {
    use shipdeck::ui::{self, render::Chrome, theme::Theme, user_config::UserConfig};
    if !std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "shipdeck console needs a terminal; use `shipdeck run` in scripts",
        ));
    }
    // A bad working copy of release.toml does not keep the console from opening: it says so,
    // and runs still use each commit's committed release.toml.
    let (config, config_error) = match load_config(project) {
        Ok(config) => (Some(config), None),
        Err(failure) => (None, Some(failure.message)),
    };
    let user_dir = UserConfig::dir();
    let user = UserConfig::load(user_dir.as_deref()).map_err(Failure::usage)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme =
        Theme::resolve(theme.or(user.theme.as_deref()), user_dir.as_deref(), no_color).map_err(Failure::usage)?;
    let keymap = ui::keymap::Keymap::with_overrides(&user.keys).map_err(Failure::usage)?;
    let mut store = Store::open(&project.state_dir()).map_err(Failure::usage)?;
    let _log = init_tracing(&project.state_dir());
    // Leftovers on the engine are reaped by the engine's monitor once it connects, so the
    // console draws at once, engine or not; the history is tidied here.
    for message in mark_interrupted(&mut store) {
        tracing::info!("{message}");
    }
    let chrome = Chrome {
        theme,
        keymap,
        environments: config
            .iter()
            .flat_map(|c| c.environments.iter())
            .map(|e| (e.name.clone(), e.approval || e.name == "production"))
            .collect(),
    };
    let plan = config.as_ref().map(engine::plan).unwrap_or_default();
    let mut app = ui::app::App::new(plan, user.tail_lines());
    app.config_error = config_error;
    app.set_environments(
        config
            .as_ref()
            .map(shipdeck::ui::envs::EnvSpec::from_config)
            .unwrap_or_default(),
    );
    // Watching is on by default in the console; `[watch].on` says whether saves run stages.
    let saves = config
        .as_ref()
        .is_some_and(|c| !matches!(c.watch.on, shipdeck::config::WatchOn::Commit));
    app.watch_on_start = Some(saves);
    let handle = Engine::start_monitored(project.clone(), config, store);
    match ui::run(app, chrome, handle, started).await {
        Ok(ui::ConsoleExit::Quit) => Ok(ExitCode::Success),
        Ok(ui::ConsoleExit::Interrupted) => Ok(ExitCode::Cancelled),
        Err(e) => Err(Failure {
            code: ExitCode::Failed,
            message: format!("shipdeck: {e:#}"),
        }),
    }
}

/// Removes what crashed shipdeck processes left on the engine (the engine's one reaper), and
/// marks their runs as interrupted in the history; says what it removed and what it kept.
async fn reap(docker: &Docker, store: &mut Store) {
    for (level, message) in engine::reaper::reap(docker).await {
        match level {
            engine::NoticeLevel::Info => eprintln!("shipdeck: {message}"),
            _ => eprintln!("shipdeck: warning: {message}"),
        }
    }
    for message in mark_interrupted(store) {
        eprintln!("shipdeck: {message}");
    }
}

/// Closes, in the history, the runs and environment operations whose process is provably gone.
fn mark_interrupted(store: &mut Store) -> Vec<String> {
    let me = Owner::current().label();
    let alive = |owner: &str| owner == me || label_is_alive(owner);
    let mut said = Vec::new();
    match store.mark_interrupted(chrono::Utc::now(), alive) {
        Ok(0) => {}
        Ok(n) => said.push(format!("{n} interrupted run(s) marked cancelled in the history")),
        Err(e) => said.push(format!("warning: {e}")),
    }
    match store.mark_interrupted_operations(chrono::Utc::now(), alive) {
        Ok(0) => {}
        Ok(n) => said.push(format!(
            "{n} interrupted environment operation(s) marked in the history"
        )),
        Err(e) => said.push(format!("warning: {e}")),
    }
    said
}

/// Diagnostics go to `.shipdeck/shipdeck.log`, never to the terminal. The writer is
/// tracing-appender's non-blocking one, so a slow disk never stalls the engine or the console;
/// keep the guard alive for as long as the command runs (dropping it flushes what is pending).
/// The file is rotated at start-up once it passes [`LOG_ROTATE_BYTES`] (`shipdeck.log.1` …
/// `.3` kept); tracing-appender's own rolling writer is not used because it opens its files
/// through symlinks, and a repository can commit one at a predictable name.
fn init_tracing(state_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use std::os::unix::fs::OpenOptionsExt;
    // A repository can commit `.shipdeck` or `.shipdeck/shipdeck.log` as a symlink: never
    // append diagnostics to wherever it points.
    if std::fs::symlink_metadata(state_dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return None;
    }
    let path = state_dir.join("shipdeck.log");
    rotate_log(&path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHIPDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init()
        .ok()?;
    Some(guard)
}

/// The size past which `shipdeck.log` is set aside when a command starts.
const LOG_ROTATE_BYTES: u64 = 8 * 1024 * 1024;

/// `shipdeck.log` → `.1` → `.2` → `.3` (dropped) once it is over [`LOG_ROTATE_BYTES`]. Renames
/// move names only, so a planted link is moved, never followed.
fn rotate_log(path: &Path) {
    let big = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() > LOG_ROTATE_BYTES);
    if !big {
        return;
    }
    let numbered = |n: u32| path.with_extension(format!("log.{n}"));
    for n in (1..3).rev() {
        let _ = std::fs::rename(numbered(n), numbered(n + 1));
    }
    let _ = std::fs::rename(path, numbered(1));
}

/// SIGINT, SIGTERM and SIGHUP, counted: the first cancels, the second exits at once.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    /// The terminal went away (closed window, ssh drop): clean up as for SIGTERM.
    hangup: tokio::signal::unix::Signal,
    count: u32,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
            count: 0,
        })
    }

    async fn next(&mut self) -> &'static str {
        let name = tokio::select! {
            _ = self.interrupt.recv() => "interrupted",
            _ = self.terminate.recv() => "terminated",
            _ = self.hangup.recv() => "hung up",
        };
        self.count += 1;
        name
    }
}
