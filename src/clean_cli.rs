//! `shipdeck clean`, and the leftovers section of `shipdeck status`: what runs left on the
//! local engine that no running shipdeck here owns.

use shipdeck::cli::CleanArgs;
use shipdeck::docker::{self, Docker, Leftover, LeftoverKind};
use shipdeck::exit::ExitCode;
use shipdeck::owner::Liveness;
use shipdeck::source::Project;

use super::{load_config, Failure};

async fn connect() -> Result<Docker, Failure> {
    docker::connect().await.map_err(|e| Failure {
        code: ExitCode::Engine,
        message: e.to_string(),
    })
}

pub async fn clean(project: &Project, args: &CleanArgs) -> Result<ExitCode, Failure> {
    let config = load_config(project)?;
    let docker = connect().await?;
    let app = (!args.all_apps).then_some(config.app.name.as_str());
    let whose = app.map(|a| format!("runs of {a}")).unwrap_or_else(|| "runs".into());
    let (found, removed) = docker.clean(app, args.dry_run).await.map_err(|e| Failure {
        code: ExitCode::Engine,
        message: format!("shipdeck: {e}"),
    })?;
    if found.is_empty() {
        println!(
            "Nothing to clean: no leftovers of {whose} on the engine (what running shipdeck processes own is kept)."
        );
        return Ok(ExitCode::Success);
    }
    if args.dry_run {
        println!("Would remove {} leftover(s) of {whose}:", found.len());
        for l in &found {
            println!("  {}", l.describe());
        }
        return Ok(ExitCode::Success);
    }
    // What was removed is reported by name (a volume's and an image's name is its ID).
    let gone = |l: &&Leftover| match l.kind {
        LeftoverKind::Container => removed.containers.contains(&l.name),
        LeftoverKind::Volume => removed.volumes.contains(&l.name),
        LeftoverKind::Network => removed.networks.contains(&l.name),
        LeftoverKind::Image => removed.images.contains(&l.name),
    };
    println!(
        "Removed {} container(s), {} volume(s), {} build image(s), {} network(s) left by {whose}:",
        removed.containers.len(),
        removed.volumes.len(),
        removed.images.len(),
        removed.networks.len()
    );
    for l in found.iter().filter(gone) {
        println!("  {}", l.describe());
    }
    let kept: Vec<&Leftover> = found.iter().filter(|l| !gone(l)).collect();
    if !kept.is_empty() {
        // Removed meanwhile by their owner, or an image still in use.
        println!("Not removed (already gone, or still in use):");
        for l in kept {
            println!("  {}", l.describe());
        }
    }
    Ok(ExitCode::Success)
}

/// The section `shipdeck status` adds when runs of `app` left something on the local engine
/// that no running shipdeck here owns; `None` when there is nothing to say.
pub async fn status_section(app: &str) -> Option<String> {
    let docker = connect().await.ok()?;
    let found = match docker.leftovers(Some(app)).await {
        Ok(found) => found,
        Err(e) => return Some(format!("Leftovers of runs: cannot list them: {e}\n")),
    };
    let shown: Vec<&Leftover> = found.iter().filter(|l| l.liveness != Liveness::Alive).collect();
    if shown.is_empty() {
        return None;
    }
    let orphans = shown
        .iter()
        .filter(|l| matches!(l.liveness, Liveness::Unknown(_)))
        .count();
    let mut out = format!(
        "\nLeftovers of runs of {app} on the engine ({orphans} orphaned, {} of dead shipdeck processes):\n",
        shown.len() - orphans
    );
    for l in shown {
        out.push_str(&format!("  {}\n", l.describe()));
    }
    out.push_str("  the next start removes those of dead processes; `shipdeck clean` removes all of these once you know their shipdeck is not running\n");
    Some(out)
}
