//! `rcon build` (and `image build`, `buildx build`-style flags where Docker's
//! classic builder has them): parsing and printing only.

use clap::Args;

use super::{out, CmdResult};
use crate::engine::build::{self as eng, BuildOptions};
use crate::engine::Engine;

#[derive(Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short, long = "tag", value_name = "NAME[:TAG]")]
    tag: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile"; "-" reads it from stdin)
    #[arg(short, long, value_name = "FILE")]
    file: Option<String>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "KEY[=VALUE]")]
    build_arg: Vec<String>,
    /// Set the target build stage to build
    #[arg(long, value_name = "STAGE")]
    target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    no_cache: bool,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    quiet: bool,
    /// Write the image ID to the file
    #[arg(long, value_name = "FILE")]
    iidfile: Option<std::path::PathBuf>,
    /// Set the networking mode for the RUN instructions during build (default, none, host)
    #[arg(long, value_name = "MODE")]
    network: Option<String>,
    /// Type of progress output (auto, plain, tty): the classic builder's output in every case
    #[arg(long, value_name = "TYPE", value_parser = ["auto", "plain", "tty", "quiet"])]
    progress: Option<String>,
    /// Set platform (only the host's platform can be built)
    #[arg(long, value_name = "PLATFORM")]
    platform: Option<String>,
    /// Manifest format the image is pushed in by default (docker, oci)
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Secret to expose to RUN --mount=type=secret (id=ID,src=FILE or id=ID,env=VAR)
    #[arg(long = "secret", value_name = "id=ID,src=FILE")]
    secret: Vec<String>,
    /// SSH agent socket to expose to RUN --mount=type=ssh (default[=SOCKET] or ID=SOCKET; default: $SSH_AUTH_SOCK)
    #[arg(long = "ssh", value_name = "default|ID[=SOCKET]")]
    ssh: Vec<String>,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pull: bool,
    /// Remove intermediate containers after a successful build (always true)
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    rm: bool,
    /// Always remove intermediate containers (always true)
    #[arg(long, hide = true)]
    force_rm: bool,
    /// PATH | - (a directory, or stdin: a Dockerfile or a tar of the context)
    context: String,
}

pub fn build(engine: &Engine, a: BuildArgs) -> CmdResult {
    let quiet = a.quiet || a.progress.as_deref() == Some("quiet");
    let o = BuildOptions {
        context: a.context,
        file: a.file,
        tags: a.tag,
        build_args: a.build_arg,
        target: a.target,
        no_cache: a.no_cache,
        labels: a.label,
        quiet,
        network: a.network,
        platform: a.platform,
        format: a.format,
        pull: a.pull,
        secrets: a.secret,
        ssh: a.ssh,
    };
    let built = eng::build(engine, &o, &mut std::io::stdout())?;
    if let Some(f) = &a.iidfile {
        std::fs::write(f, &built.id).map_err(|e| anyhow::anyhow!("write {}: {e}", f.display()))?;
    }
    if quiet {
        out(&format!("{}\n", built.id));
    }
    Ok(0)
}
