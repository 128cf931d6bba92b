//! `rcon doctor`: print each check; a problem comes with its fix.

use crate::engine::doctor::{self, Level};
use crate::engine::Engine;
use clap::Args;

use super::{out, CmdResult};

#[derive(Args)]
pub struct DoctorArgs {}

/// Exit 1 when something fails (warnings alone: 0).
pub fn doctor(engine: &Engine, _a: DoctorArgs) -> CmdResult {
    let mut failed = false;
    for c in doctor::run(engine) {
        let tag = match c.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        failed |= c.level == Level::Fail;
        out(&format!("{tag}  {:<16} {}\n", c.name, c.detail));
        if let Some(f) = c.fix {
            out(&format!("      {:<16} fix: {f}\n", ""));
        }
    }
    Ok(if failed { 1 } else { 0 })
}
