//! `pause`, `unpause`, `update`.

use clap::Args;
use rcon::engine::{lifecycle, Engine};

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
    let Some(policy) = a.restart else {
        anyhow::bail!("you must provide one or more flags when using this command: rcon update supports --restart");
    };
    each(&a.containers, |n| lifecycle::update_restart(engine, n, &policy))
}
