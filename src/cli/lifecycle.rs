//! `pause`, `unpause`, `update`.

use crate::engine::{lifecycle, Engine};
use clap::Args;

use super::containers::each;
use super::CmdResult;

#[derive(Args)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Args)]
pub struct UpdateArgs {
    /// Restart policy to apply when a container exits: no, always, unless-stopped, on-failure[:max-retries]
    #[arg(long)]
    restart: Option<String>,
    /// Memory limit (root only, as at create)
    #[arg(short, long, allow_hyphen_values = true)]
    memory: Option<String>,
    /// Number of CPUs (root only)
    #[arg(long, allow_hyphen_values = true)]
    cpus: Option<String>,
    /// Tune container pids limit, -1 for unlimited (root only)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn pause(engine: &Engine, a: PauseArgs) -> CmdResult {
    each(&a.containers, |n| lifecycle::pause(engine, n))
}

pub fn unpause(engine: &Engine, a: PauseArgs) -> CmdResult {
    each(&a.containers, |n| lifecycle::unpause(engine, n))
}

pub fn update(engine: &Engine, a: UpdateArgs) -> CmdResult {
    let res: Vec<(&str, &str)> = [("--memory", &a.memory), ("--cpus", &a.cpus), ("--pids-limit", &a.pids_limit)]
        .into_iter()
        .filter_map(|(f, v)| v.as_deref().map(|v| (f, v)))
        .collect();
    if a.restart.is_none() && res.is_empty() {
        anyhow::bail!("you must provide one or more flags when using this command: rcon update supports --restart, --memory, --cpus and --pids-limit");
    }
    let limits = super::flags::limits(&res)?;
    let policy = a.restart.as_deref().map(super::flags::restart).transpose()?;
    each(&a.containers, |n| {
        if !res.is_empty() {
            lifecycle::update_resources(engine, n, &limits)?;
        }
        match &policy {
            Some(policy) => lifecycle::update_restart(engine, n, policy),
            None => Ok(()),
        }
    })
}
