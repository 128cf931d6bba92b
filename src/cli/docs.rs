//! Shell completions and man pages, generated from the clap definitions so a
//! flag is documented the moment it exists.

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use super::CmdResult;

#[derive(Args)]
pub struct CompletionArgs {
    /// Shell to generate the script for
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Directory to write the pages into
    dir: PathBuf,
}

pub fn completion(a: CompletionArgs) -> CmdResult {
    let mut cmd = super::cli_command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "rcon", &mut buf);
    super::out(&String::from_utf8_lossy(&buf));
    Ok(0)
}

/// One page per command: rcon.1, rcon-images.1, rcon-image-ls.1, …
pub fn man(a: ManArgs) -> CmdResult {
    std::fs::create_dir_all(&a.dir)?;
    let cmd = super::cli_command();
    write_pages(&cmd, "rcon", &a.dir)?;
    Ok(0)
}

fn write_pages(cmd: &clap::Command, name: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let page = cmd.clone().name(&*name.to_string().leak()).bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf)?;
    std::fs::write(dir.join(format!("{name}.1")), buf)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
