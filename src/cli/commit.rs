//! `rcon commit`, `rcon diff` and `rcon export`.

use clap::Args;

use super::{out, CmdResult};
use crate::engine::commit::{self as eng, CommitOptions};
use crate::engine::Engine;

#[derive(Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    message: Option<String>,
    /// Pause container during commit (accepted; the container is not paused)
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pause: bool,
    container: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

pub fn commit(engine: &Engine, a: CommitArgs) -> CmdResult {
    let _ = a.pause;
    let id = eng::commit(
        engine,
        &CommitOptions {
            container: a.container,
            reference: a.reference,
            author: a.author,
            message: a.message,
            changes: a.change,
        },
    )?;
    out(&format!("{id}\n"));
    Ok(0)
}

#[derive(Args)]
pub struct DiffArgs {
    container: String,
}

pub fn diff(engine: &Engine, a: DiffArgs) -> CmdResult {
    let mut s = String::new();
    for c in eng::diff(engine, &a.container)? {
        s.push_str(&format!("{} {}\n", c.kind, c.path));
    }
    out(&s);
    Ok(0)
}

#[derive(Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    container: String,
}

pub fn export(engine: &Engine, a: ExportArgs) -> CmdResult {
    use std::io::IsTerminal;
    match &a.output {
        Some(p) => {
            let mut f = std::fs::File::create(p).map_err(|e| anyhow::anyhow!("create {}: {e}", p.display()))?;
            eng::export(engine, &a.container, &mut f)?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                anyhow::bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            eng::export(engine, &a.container, &mut std::io::stdout().lock())?;
        }
    }
    Ok(0)
}
