//! `rcon system prune` and `rcon system reset`.

use crate::engine::{reset, Engine};
use crate::format::units;
use clap::Args;

use super::{out, CmdResult};

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Prune anonymous volumes (none exist in this rcon yet)
    #[arg(long)]
    volumes: bool,
}

#[derive(Args)]
pub struct ResetArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CmdResult {
    if !a.force {
        let mut w = String::from("WARNING! This will remove:\n  - all stopped containers\n");
        if a.volumes {
            w += "  - all anonymous volumes not used by at least one container\n";
        }
        w += if a.all {
            "  - all images without at least one container associated to them\n"
        } else {
            "  - all dangling images\n"
        };
        if !super::confirm(&w) {
            return Ok(0);
        }
    }
    let p = reset::prune(engine, a.all)?;
    let mut s = String::new();
    if !p.containers.is_empty() {
        s += "Deleted Containers:\n";
        for c in &p.containers {
            s += &format!("{c}\n");
        }
        s.push('\n');
    }
    if !p.images.is_empty() {
        s += "Deleted Images:\n";
        for i in &p.images {
            s += &format!("deleted: {i}\n");
        }
        s.push('\n');
    }
    s += &format!("Total reclaimed space: {}\n", units::human_size(p.reclaimed));
    out(&s);
    Ok(0)
}

pub fn reset(engine: &Engine, a: ResetArgs) -> CmdResult {
    if !a.force {
        if unsafe { libc::isatty(0) } != 1 {
            anyhow::bail!("system reset removes all your containers and images: without a terminal to confirm, use -f");
        }
        let warning = format!(
            "WARNING! This will remove all containers, images and other rcon state in:\n  {}\n  {}",
            engine.paths.data.display(),
            engine.paths.runtime.display()
        );
        if !super::confirm(&warning) {
            return Ok(0);
        }
    }
    reset::reset(engine)?;
    Ok(0)
}
