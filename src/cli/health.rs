//! `rcon healthcheck run`: one probe now (podman's command; Docker has none).

use crate::engine::Engine;
use clap::{Args, Subcommand};

use super::{out, CmdResult};

#[derive(Subcommand)]
pub enum HealthcheckCommand {
    /// Run the container's healthcheck now: exit 0 if it passed, 1 if it failed
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    #[arg(value_name = "CONTAINER")]
    container: String,
}

pub fn dispatch(engine: &Engine, c: HealthcheckCommand) -> CmdResult {
    match c {
        HealthcheckCommand::Run(a) => {
            let o = crate::engine::health::run_check(engine, &a.container)?;
            if o.result.exit_code == 0 {
                Ok(0)
            } else {
                // podman prints the status a failed probe left behind
                out(&format!("{}\n", o.health.status));
                Ok(1)
            }
        }
    }
}
