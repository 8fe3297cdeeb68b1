//! The environment subcommands: deploy, smoke, promote, rollback (one operation each, through
//! the headless view), status (a table read from the engines), unlock, and history ENV.

use shipdeck::cli::{
    AccessoryArgs, AccessoryVerb, DeployArgs, HistoryArgs, PromoteArgs, RollbackArgs, SmokeArgs, StatusArgs, UnlockArgs,
};
use shipdeck::config::Config;
use shipdeck::deploy::{journal, Target};
use shipdeck::docker;
use shipdeck::engine::{self, Engine, Event};
use shipdeck::exit::ExitCode;
use shipdeck::headless::format_operations;
use shipdeck::headless::{format_status, EnvironmentRow};
use shipdeck::source::Project;
use shipdeck::store::{OperationRecord, Store};

use super::{headless, load_config, Failure};

/// Fails with the valid names when `env` is not an environment of release.toml.
fn known_env(config: &Config, env: &str) -> Result<(), Failure> {
    config
        .find_environment(env)
        .map(|_| ())
        .map_err(|unknown| Failure::usage(format!("shipdeck: {unknown}")))
}

pub async fn deploy(project: &Project, args: &DeployArgs) -> Result<ExitCode, Failure> {
    known_env(&load_config(project)?, &args.env)?;
    let command = engine::Command::Deploy {
        env: args.env.clone(),
        release: args.release.clone(),
        force: args.force,
        approval: args.yes.then(|| "--yes".to_string()),
    };
    headless(project, command, args.json, false).await
}

pub async fn smoke(project: &Project, args: &SmokeArgs) -> Result<ExitCode, Failure> {
    known_env(&load_config(project)?, &args.env)?;
    let command = engine::Command::Smoke {
        env: args.env.clone(),
        force: args.force,
    };
    headless(project, command, args.json, false).await
}

pub async fn promote(project: &Project, args: &PromoteArgs) -> Result<ExitCode, Failure> {
    known_env(&load_config(project)?, &args.env)?;
    let command = engine::Command::Promote {
        env: args.env.clone(),
        force: args.force,
        approval: args.yes.then(|| "--yes".to_string()),
    };
    headless(project, command, args.json, false).await
}

pub async fn rollback(project: &Project, args: &RollbackArgs) -> Result<ExitCode, Failure> {
    known_env(&load_config(project)?, &args.env)?;
    let command = engine::Command::Rollback {
        env: args.env.clone(),
        to: args.to.clone(),
        force: args.force,
        approval: args.yes.then(|| "--yes".to_string()),
    };
    headless(project, command, args.json, false).await
}

pub async fn unlock(project: &Project, args: &UnlockArgs) -> Result<ExitCode, Failure> {
    let config = load_config(project)?;
    known_env(&config, &args.env)?;
    let command = engine::Command::Unlock {
        env: args.env.clone(),
        force: args.force,
    };
    let events = ask(project, config, command).await?;
    let mut refused = false;
    for event in events {
        if let Event::Notice { message, level } = event {
            refused |= level == engine::NoticeLevel::Error;
            println!("{}", shipdeck::term::plain_text(&message));
        }
    }
    Ok(if refused { ExitCode::Refused } else { ExitCode::Success })
}

pub async fn accessory(project: &Project, args: &AccessoryArgs) -> Result<ExitCode, Failure> {
    use shipdeck::deploy::accessories::AccessoryAction;
    let config = load_config(project)?;
    known_env(&config, &args.env)?;
    let action = match args.action {
        AccessoryVerb::Start => AccessoryAction::Start,
        AccessoryVerb::Stop => AccessoryAction::Stop,
        AccessoryVerb::Restart => AccessoryAction::Restart,
        AccessoryVerb::Logs => AccessoryAction::Logs,
    };
    let command = engine::Command::Accessory {
        env: args.env.clone(),
        name: args.name.clone(),
        action,
    };
    let mut failed = false;
    for event in ask(project, config, command).await? {
        match event {
            Event::Notice { message, level } => {
                failed |= level == engine::NoticeLevel::Error;
                println!("{}", shipdeck::term::plain_text(&message));
            }
            Event::EnvironmentParts { env, accessories, .. } => {
                for a in accessories.iter().filter(|a| a.name == args.name) {
                    println!("{env} accessory {}: {}", a.name, shipdeck::term::plain_text(&a.health));
                }
            }
            _ => {}
        }
    }
    Ok(if failed { ExitCode::Failed } else { ExitCode::Success })
}

pub async fn status(project: &Project, args: &StatusArgs) -> Result<ExitCode, Failure> {
    let config = load_config(project)?;
    // Orphaned leftovers of runs, on stderr with --json (the array stays as it is).
    let leftovers = super::clean_cli::status_section(&config.app.name).await;
    let say_leftovers = || match &leftovers {
        Some(text) if args.json => eprint!("{text}"),
        Some(text) => print!("{text}"),
        None => {}
    };
    if config.environments.is_empty() {
        println!("release.toml defines no environments (add [environments.staging] with publish = \"…\").");
        say_leftovers();
        return Ok(ExitCode::Success);
    }
    let events = ask(project, config, engine::Command::LoadEnvironments).await?;
    let mut rows: Vec<EnvironmentRow> = Vec::new();
    for event in events {
        match event {
            Event::EnvironmentStatus {
                env,
                deployed,
                lock,
                error,
                smoke,
            } => rows.push(EnvironmentRow {
                env,
                deployed,
                lock,
                error,
                smoke,
                accessories: Vec::new(),
                processes: Vec::new(),
                proxy: None,
            }),
            Event::EnvironmentParts {
                env,
                accessories,
                processes,
                proxy,
            } => {
                if let Some(row) = rows.iter_mut().find(|r| r.env == env) {
                    row.accessories = accessories;
                    row.processes = processes;
                    row.proxy = proxy;
                }
            }
            _ => {}
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).map_err(Failure::usage)?);
    } else {
        print!("{}", shipdeck::term::plain_text(&format_status(&rows)));
    }
    say_leftovers();
    // An environment whose engine cannot be asked is not a clean bill of health.
    Ok(if rows.iter().any(|r| r.error.is_some()) {
        ExitCode::Engine
    } else {
        ExitCode::Success
    })
}

/// `shipdeck history ENV`: the operations on one environment, newest first: the local history,
/// with the operations kept on the environment's engine that it lacks (run from another
/// machine, or recorded while `.shipdeck/` was deleted).
pub async fn history(project: &Project, args: &HistoryArgs, env: &str) -> Result<ExitCode, Failure> {
    let config = load_config(project)?;
    known_env(&config, env)?;
    let store = Store::open(&project.state_dir()).map_err(Failure::usage)?;
    if let Some(id) = args.log {
        return operation_log(&store, &config.app.name, env, id);
    }
    let local = store
        .operations(&config.app.name, Some(env), args.limit.into())
        .map_err(Failure::usage)?;
    let kept = match config.environment(env) {
        Some(env_config) => match Target::connect(&config.app.name, env_config, None).await {
            Ok(target) => journal::list(&target).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        None => Ok(Vec::new()),
    };
    let ops = match kept {
        Ok(kept) => merge_kept(local, kept, &config.app.name, env, args.limit.into()),
        Err(e) => {
            eprintln!(
                "shipdeck: the operations kept on the engine of {env} cannot be read ({e}): the local history only"
            );
            local
        }
    };
    if args.json {
        // serde_json escapes control characters: what operations quote cannot reach a terminal raw.
        println!("{}", serde_json::to_string_pretty(&ops).map_err(Failure::usage)?);
    } else if ops.is_empty() {
        println!("Nothing deployed to {env} yet (from this history). Deploy with `shipdeck deploy {env}`.");
    } else {
        print!("{}", shipdeck::term::plain_text(&format_operations(&ops)));
    }
    Ok(ExitCode::Success)
}

/// Asks one query of an engine on the local Docker and returns exactly its answer (the
/// engine's other events, if any, are not part of it).
async fn ask(project: &Project, config: Config, query: engine::Command) -> Result<engine::Reply, Failure> {
    let store = Store::open(&project.state_dir()).map_err(Failure::usage)?;
    let docker = docker::connect().await.map_err(|e| Failure {
        code: ExitCode::Engine,
        message: e.to_string(),
    })?;
    let mut handle = Engine::new(engine::DockerLink::fixed(docker), project.clone(), Some(config)).start(store);
    let answer = handle.ask(query);
    tokio::pin!(answer);
    let reply = loop {
        tokio::select! {
            reply = &mut answer => break reply,
            event = handle.events.recv() => {
                if event.is_none() {
                    break answer.await;
                }
            }
        }
    };
    reply.map_err(Failure::usage)
}

/// `shipdeck history ENV --log N`: the log lines kept of operation N on ENV.
fn operation_log(store: &Store, app: &str, env: &str, id: i64) -> Result<ExitCode, Failure> {
    let ours = store
        .operations(app, Some(env), usize::MAX)
        .map_err(Failure::usage)?
        .iter()
        .any(|op| op.id == id);
    if !ours {
        return Err(Failure::usage(format!(
            "shipdeck: no operation #{id} on {env} in this history (see `shipdeck history {env}`)"
        )));
    }
    let lines = store.operation_log(id).map_err(Failure::usage)?;
    if lines.is_empty() {
        println!("operation #{id} kept no log lines");
    }
    for line in lines {
        println!("{}", shipdeck::term::plain_text(&line));
    }
    Ok(ExitCode::Success)
}

/// The local history with the engine's records it lacks (matched by action, release and a start
/// within five seconds), newest first, at most `limit`.
fn merge_kept(
    mut local: Vec<OperationRecord>,
    kept: Vec<journal::EngineOp>,
    app: &str,
    env: &str,
    limit: usize,
) -> Vec<OperationRecord> {
    let image = |r: &Option<shipdeck::deploy::ReleaseRef>| r.as_ref().map(|r| r.image_id.clone());
    let missing: Vec<OperationRecord> = kept
        .into_iter()
        .filter(|k| {
            !local.iter().any(|l| {
                l.action == k.action
                    && image(&l.to) == image(&k.to)
                    && (l.started_at - k.started_at).num_seconds().abs() <= 5
            })
        })
        .map(|k| {
            let (who, git) = match k.by.split_once(" (") {
                Some((who, git)) => (who.to_string(), Some(git.trim_end_matches(')').to_string())),
                None => (k.by.clone(), None),
            };
            let (os_user, host) = who.split_once('@').unwrap_or((who.as_str(), ""));
            OperationRecord {
                id: 0,
                app: app.to_string(),
                env: env.to_string(),
                action: k.action,
                from: k.from,
                to: k.to,
                run: None,
                operator: shipdeck::deploy::Operator {
                    git_user: git,
                    os_user: os_user.to_string(),
                    host: host.to_string(),
                },
                approval: k.approval,
                forced: k.overridden.is_some(),
                overridden: k.overridden,
                policy: k.policy,
                outcome: k.outcome,
                message: Some(format!(
                    "(kept on the engine; not in this history) {}",
                    k.message.unwrap_or_default()
                )),
                started_at: k.started_at,
                finished_at: k.finished_at,
                duration_ms: k.finished_at.map(|f| (f - k.started_at).num_milliseconds()),
                smoke: Vec::new(),
                load: Vec::new(),
            }
        })
        .collect();
    local.extend(missing);
    local.sort_by_key(|o| std::cmp::Reverse(o.started_at));
    local.truncate(limit);
    local
}
