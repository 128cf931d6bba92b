//! The verbs that work inside a service's container: `run` (a one-off
//! container of the service, after its dependencies), `exec`, `cp`.
//!
//! The service and its command are one trailing list: everything after
//! the service name belongs to the command, also when it starts with `-`
//! (`compose run web -x` runs `-x`), as in compose.

use std::io::IsTerminal;

use clap::Args;

use super::{indexed_container, Globals};
use crate::cli::flags;
use crate::cli::CmdResult;
use crate::compose::ops::{self, BuildRequest, Ctx};
use crate::engine::containers as eng;

/// The service, then its command.
fn service_and_command(args: &[String]) -> (String, Vec<String>) {
    let mut it = args.iter().cloned();
    (it.next().unwrap_or_default(), it.collect())
}

#[derive(Args)]
pub struct ExecArgs {
    /// Detached mode: Run command in the background
    #[arg(short, long)]
    detach: bool,
    /// Give extended privileges to the process
    #[arg(long)]
    privileged: bool,
    /// Run the command as this user
    #[arg(short, long)]
    user: Option<String>,
    /// Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY
    #[arg(short = 'T', long = "no-TTY")]
    no_tty: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    interactive: bool,
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    index: u32,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Path to workdir directory for this command
    #[arg(short, long)]
    workdir: Option<String>,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "SERVICE COMMAND")]
    args: Vec<String>,
}

pub fn exec(ctx: &Ctx, a: ExecArgs) -> CmdResult {
    let (service, cmd) = service_and_command(&a.args);
    let c = indexed_container(ctx, &service, a.index, false)?;
    let o = crate::engine::exec::ExecOptions {
        interactive: a.interactive && !a.detach,
        tty: !a.no_tty && !a.detach && std::io::stdin().is_terminal(),
        detach: a.detach,
        env: crate::cli::containers::flags_env(&a.env)?,
        user: a.user,
        workdir: a.workdir,
        privileged: a.privileged,
        cmd,
    };
    crate::cli::containers::exec_in(ctx.engine, &c.config.id, &o)
}

#[derive(Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short, long)]
    detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    name: Option<String>,
    /// Override the entrypoint of the image
    #[arg(long)]
    entrypoint: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-from-file", value_name = "FILE")]
    env_from_file: Vec<std::path::PathBuf>,
    /// Add or override a label
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Run as specified username or uid
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    workdir: Option<String>,
    /// Disable pseudo-TTY allocation (default: auto-detected)
    #[arg(short = 'T', long = "no-TTY")]
    no_tty: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    interactive: bool,
    /// Don't start linked services
    #[arg(long)]
    no_deps: bool,
    /// Run command with all service's ports enabled and mapped to the host
    #[arg(short = 'P', long)]
    service_ports: bool,
    /// Publish a container's port(s) to the host
    #[arg(short, long = "publish", value_name = "PORT")]
    publish: Vec<String>,
    /// Bind mount a volume
    #[arg(short, long = "volume", value_name = "VOLUME")]
    volumes: Vec<String>,
    /// Add Linux capabilities
    #[arg(long)]
    cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long)]
    cap_drop: Vec<String>,
    /// Build image before starting container
    #[arg(long)]
    build: bool,
    /// Pull image before running ("always"|"missing"|"never")
    #[arg(long, value_parser = ["always", "missing", "never"])]
    pull: Option<String>,
    /// Don't print anything to STDOUT
    #[arg(short, long)]
    quiet: bool,
    /// Pull without printing progress information
    #[arg(long)]
    quiet_pull: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    remove_orphans: bool,
    /// Use the service's network aliases in the network(s) the container connects to
    #[arg(long)]
    use_aliases: bool,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "SERVICE [COMMAND] [ARGS...]"
    )]
    args: Vec<String>,
}

/// `compose run`: the service's dependencies up (unless `--no-deps`),
/// then a one-off container of it, attached (its exit code is ours) or
/// detached (its name printed).
pub fn run(ctx: &Ctx, g: &Globals, a: RunArgs) -> CmdResult {
    if !a.no_tty && !a.detach && a.interactive && std::io::stdin().is_terminal() {
        // Before the dependencies start: a refusal leaves nothing behind.
        crate::cli::terminal::check_foreground()?;
    }
    let (service, cmd) = service_and_command(&a.args);
    let svc = ctx.service(&service)?;
    let mut err = std::io::stderr();
    let mut req = BuildRequest {
        force_build: a.build,
        pull: a.pull.clone(),
        ..BuildRequest::new(
            &mut err,
            g.quiet || a.quiet,
            crate::cli::progress::on_stderr(a.quiet_pull || a.quiet || g.quiet),
        )
    };
    let image_id = ops::prepare_run(ctx, &service, a.no_deps, a.remove_orphans, &mut req)?;
    let name = a.name.clone().unwrap_or_else(|| ops::one_off_name(&ctx.project.name, &service));
    let mut planned = ops::service_spec(ctx, svc, 1, &name, true, &image_id)?;
    let spec = &mut planned.spec;
    if !cmd.is_empty() {
        spec.cmd = cmd;
    }
    if let Some(e) = &a.entrypoint {
        spec.entrypoint = Some(crate::compose::shell_split(e).map_err(|m| anyhow::anyhow!("--entrypoint {e:?}: {m}"))?);
        if a.args.len() == 1 {
            spec.cmd.clear();
        }
    }
    let lookup = |k: &str| std::env::var(k).ok();
    for f in &a.env_from_file {
        let text = std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("open env file {}: {e}", f.display()))?;
        spec.env.extend(flags::file_lines(&text).iter().filter_map(|e| flags::env(e, &lookup)));
    }
    for e in &a.env {
        spec.env.extend(flags::env_flag(e, &lookup)?);
    }
    for l in &a.labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        spec.labels.retain(|(key, _)| key != k);
        spec.labels.push((k.to_string(), v.to_string()));
    }
    if a.user.is_some() {
        spec.user = a.user.clone();
    }
    if a.workdir.is_some() {
        spec.workdir = a.workdir.clone();
    }
    if !a.service_ports {
        spec.ports.clear();
    }
    for p in &a.publish {
        spec.ports.extend(flags::ports(p)?);
    }
    for v in &a.volumes {
        spec.mounts.push(flags::volume(v)?);
    }
    spec.cap_add.extend(a.cap_add.iter().cloned());
    spec.cap_drop.extend(a.cap_drop.iter().cloned());
    let tty = !a.no_tty && !a.detach && std::io::stdin().is_terminal();
    spec.tty = tty;
    spec.open_stdin = a.interactive && !a.detach;
    spec.auto_remove = a.rm;
    if !a.use_aliases {
        spec.network_aliases.clear();
        for n in &mut planned.more_networks {
            n.1.clear();
        }
    }
    let (id, _hold) = ops::create_planned(ctx, planned)?;
    if a.detach {
        if let Err(e) = eng::start(ctx.engine, &id, eng::StartOptions::default()) {
            eng::discard(ctx.engine, &id);
            return Err(e.into());
        }
        crate::cli::out(&format!("{name}\n"));
        return Ok(0);
    }
    crate::cli::run::attached(ctx.engine, &id, tty && a.interactive, true, a.rm, None)
}

#[derive(Args)]
pub struct CpArgs {
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    index: u32,
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    follow_link: bool,
    /// Include containers created by the run command
    #[arg(long)]
    all: bool,
    #[arg(value_name = "SRC")]
    src: String,
    #[arg(value_name = "DEST")]
    dest: String,
}

/// `compose cp SERVICE:PATH DEST` (or the other way): the service's
/// container `--index` (1) in place of the service.
pub fn cp(ctx: &Ctx, a: CpArgs) -> CmdResult {
    let end = |s: &str| -> anyhow::Result<String> {
        match s.split_once(':') {
            Some((svc, path)) if ctx.project.services.contains_key(svc) => {
                let c = indexed_container(ctx, svc, a.index, true)?;
                Ok(format!("{}:{path}", c.config.name))
            }
            Some((svc, _)) if !svc.contains('/') && !svc.is_empty() => anyhow::bail!("no such service: {svc}"),
            _ => Ok(s.to_string()),
        }
    };
    let (src, dest) = (end(&a.src)?, end(&a.dest)?);
    crate::cli::cp::copy(ctx.engine, &src, &dest, a.archive, a.follow_link)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Parser)]
    #[allow(clippy::large_enum_variant)]
    enum Verb {
        #[command(disable_help_flag = true)]
        Run(super::RunArgs),
        #[command(disable_help_flag = true)]
        Exec(super::ExecArgs),
    }

    fn parse(args: &[&str]) -> Verb {
        Verb::try_parse_from(std::iter::once("compose").chain(args.iter().copied())).unwrap()
    }

    // Issue 17 item 1: the service ends compose's flags; the rest is the command.
    #[test]
    fn arguments_after_the_service_are_the_command() {
        let Verb::Run(a) = parse(&["run", "--rm", "-e", "A=1", "web", "-x", "--rm", "-d"]) else { panic!() };
        assert!(a.rm && !a.detach);
        assert_eq!(a.env, ["A=1"]);
        assert_eq!(
            super::service_and_command(&a.args),
            ("web".to_string(), vec!["-x".into(), "--rm".into(), "-d".into()])
        );
        let Verb::Run(a) = parse(&["run", "-i", "web", "sh"]) else { panic!() };
        assert!(a.interactive);
        assert_eq!(a.args, ["web", "sh"]);
        let Verb::Run(a) = parse(&["run", "--interactive=false", "-T", "web"]) else { panic!() };
        assert!(!a.interactive && a.no_tty);
        let Verb::Exec(a) = parse(&["exec", "-i", "web", "ls", "-l"]) else { panic!() };
        assert_eq!(a.args, ["web", "ls", "-l"]);
    }
}
