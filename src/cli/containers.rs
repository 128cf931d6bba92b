//! The `container` group, and `stop`, `kill`, `restart`, `rm`, `wait`,
//! `inspect`, `rename`, `prune`, `exec`, `attach`, `top`, `port` (`run`,
//! `create` and `start` are in run.rs, `ps` in ps.rs, `logs` in logs.rs).

use std::os::fd::AsRawFd;

use clap::{Args, Subcommand};

use super::{flags, terminal};
use super::{out, CmdResult};
use crate::engine::containers::{self as eng, AttachTo};
use crate::engine::Engine;
use crate::format::table;

#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(super::run::RunArgs),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(super::run::CreateArgs),
    /// Start one or more stopped containers
    Start(super::run::StartArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(super::ps::PsArgs),
    /// Fetch the logs of a container
    Logs(super::logs::LogsArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(WaitArgs),
    /// Display detailed information on one or more containers
    Inspect(InspectArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(PortArgs),
    /// Remove all stopped containers
    Prune(PruneArgs),
    /// Create a new image from a container's changes
    Commit(super::commit::CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(super::cp::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(super::commit::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(super::commit::ExportArgs),
    /// Pause all processes within one or more containers
    Pause(super::lifecycle::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(super::lifecycle::PauseArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(super::stats::StatsArgs),
    /// Update configuration of one or more containers
    Update(super::lifecycle::UpdateArgs),
}

pub fn dispatch(engine: &Engine, c: ContainerCommand) -> CmdResult {
    match c {
        ContainerCommand::Run(a) => super::run::run(engine, a),
        ContainerCommand::Create(a) => super::run::create(engine, a),
        ContainerCommand::Start(a) => super::run::start(engine, a),
        ContainerCommand::Stop(a) => stop(engine, a),
        ContainerCommand::Kill(a) => kill(engine, a),
        ContainerCommand::Restart(a) => restart(engine, a),
        ContainerCommand::Rm(a) => rm(engine, a),
        ContainerCommand::Ls(a) => super::ps::ps(engine, a),
        ContainerCommand::Logs(a) => super::logs::logs_cmd(engine, a),
        ContainerCommand::Wait(a) => wait(engine, a),
        ContainerCommand::Inspect(a) => inspect(engine, a),
        ContainerCommand::Rename(a) => rename(engine, a),
        ContainerCommand::Exec(a) => exec(engine, a),
        ContainerCommand::Attach(a) => attach(engine, a),
        ContainerCommand::Top(a) => top(engine, a),
        ContainerCommand::Port(a) => port(engine, a),
        ContainerCommand::Prune(a) => prune(engine, a),
        ContainerCommand::Commit(a) => super::commit::commit(engine, a),
        ContainerCommand::Cp(a) => super::cp::cp(engine, a),
        ContainerCommand::Diff(a) => super::commit::diff(engine, a),
        ContainerCommand::Export(a) => super::commit::export(engine, a),
        ContainerCommand::Pause(a) => super::lifecycle::pause(engine, a),
        ContainerCommand::Unpause(a) => super::lifecycle::unpause(engine, a),
        ContainerCommand::Stats(a) => super::stats::stats(engine, a),
        ContainerCommand::Update(a) => super::lifecycle::update(engine, a),
    }
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short, long)]
    time: Option<i64>,
    /// Signal to send to the container
    #[arg(short, long)]
    signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub(super) fn each(names: &[String], mut f: impl FnMut(&str) -> crate::Result<()>) -> CmdResult {
    let mut failed = false;
    for n in names {
        match f(n) {
            Ok(()) => out(&format!("{n}\n")),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 125 } else { 0 })
}

pub fn stop(engine: &Engine, a: StopArgs) -> CmdResult {
    each(&a.containers, |n| {
        if let Some(s) = &a.signal {
            eng::kill(engine, n, s)
                .or_else(|e| if matches!(e, crate::Error::NotRunning(_)) { Ok(()) } else { Err(e) })?;
        }
        eng::stop(engine, n, a.time)
    })
}

pub fn restart(engine: &Engine, a: StopArgs) -> CmdResult {
    each(&a.containers, |n| crate::engine::restart::restart(engine, n, a.time))
}

#[derive(Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn kill(engine: &Engine, a: KillArgs) -> CmdResult {
    each(&a.containers, |n| eng::kill(engine, n, &a.signal))
}

#[derive(Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn rm(engine: &Engine, a: RmArgs) -> CmdResult {
    each(&a.containers, |n| {
        // The record goes first; its anonymous volumes then have no user left.
        let cfg = if a.volumes { Some(eng::get(engine, n)?.config) } else { None };
        eng::remove(engine, n, a.force)?;
        match cfg {
            Some(cfg) => crate::volume::mounts::remove_anonymous(&engine.paths, &cfg),
            None => Ok(()),
        }
    })
}

#[derive(Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
    /// Wait until the container is not-running (default), has its next-exit, or is removed
    #[arg(long, default_value = "not-running")]
    condition: String,
}

pub fn wait(engine: &Engine, a: WaitArgs) -> CmdResult {
    let mut failed = false;
    for n in &a.containers {
        match crate::engine::lifecycle::wait(engine, n, &a.condition, &crate::engine::Cancel::never()) {
            Ok(code) => out(&format!("{}\n", code.unwrap_or(-1))),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 125 } else { 0 })
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> CmdResult {
    super::images::inspect_each(&a.containers, a.format.as_deref(), |n| eng::inspect(engine, n))
}

#[derive(Args)]
pub struct RenameArgs {
    container: String,
    new_name: String,
}

pub fn rename(engine: &Engine, a: RenameArgs) -> CmdResult {
    eng::rename(engine, &a.container, &a.new_name)?;
    Ok(0)
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CmdResult {
    if !a.force && !super::confirm("WARNING! This will remove all stopped containers.") {
        return Ok(0);
    }
    let gone = eng::prune(engine)?;
    let mut s = String::new();
    if !gone.is_empty() {
        s += "Deleted Containers:\n";
        for g in &gone {
            s += &format!("{g}\n");
        }
        s.push('\n');
    }
    s += "Total reclaimed space: 0B\n";
    out(&s);
    Ok(0)
}

#[derive(Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    tty: bool,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    workdir: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// The container, then the command: everything after the container
    /// belongs to the command, also what starts with `-`
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CONTAINER COMMAND [ARG...]")]
    container_and_command: Vec<String>,
}

/// `-e` flags of exec (compose exec too), the unset `-e KEY` dropped.
pub(super) fn flags_env(given: &[String]) -> crate::Result<Vec<String>> {
    let lookup = |k: &str| std::env::var(k).ok();
    let mut env = Vec::new();
    for e in given {
        env.extend(flags::env_flag(e, &lookup)?);
    }
    Ok(env)
}

pub fn exec(engine: &Engine, a: ExecArgs) -> CmdResult {
    let o = crate::engine::exec::ExecOptions {
        interactive: a.interactive,
        tty: a.tty,
        detach: a.detach,
        env: flags_env(&a.env)?,
        user: a.user,
        workdir: a.workdir,
        privileged: a.privileged,
        cmd: a.container_and_command[1..].to_vec(),
    };
    exec_in(engine, &a.container_and_command[0], &o)
}

/// Run `o` in `container` with our terminal or stdio (`compose exec` too):
/// the command's exit code.
pub(super) fn exec_in(engine: &Engine, container: &str, o: &crate::engine::exec::ExecOptions) -> CmdResult {
    use crate::engine::exec::ExecStdio;
    if o.tty && o.interactive && !o.detach {
        // Before the process exists (the terminal goes raw and is read).
        terminal::check_foreground()?;
    }
    let stdio = if o.detach {
        ExecStdio::Null
    } else if o.tty {
        ExecStdio::Tty
    } else {
        match terminal::own_stdio(o.interactive)? {
            AttachTo::Fds { stdin, stdout, stderr } => ExecStdio::Fds { stdin, stdout, stderr },
            AttachTo::Socket(_) => unreachable!("own_stdio gives descriptors"),
        }
    };
    let mut p = crate::engine::exec::exec(engine, container, o, stdio)?;
    let code = match p.pty.take() {
        Some(master) => terminal::pty_loop(master.as_raw_fd(), o.interactive, || p.try_wait()),
        None => None,
    };
    Ok(code.unwrap_or_else(|| p.wait()))
}

#[derive(Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    sig_proxy: bool,
    container: String,
}

pub fn attach(engine: &Engine, a: AttachArgs) -> CmdResult {
    let at = crate::engine::attach::connect(engine, &a.container)?;
    let c = at.container;
    let stdin = !a.no_stdin && c.config.open_stdin;
    if c.config.tty && stdin {
        terminal::check_foreground()?;
    }
    let raw = (c.config.tty && stdin).then(terminal::RawTerminal::enter);
    let keys = a.detach_keys.clone().unwrap_or_else(|| c.config.host.detach_keys.clone());
    let id = c.config.id.clone();
    let code = terminal::attach_loop(at.stream, stdin, &keys, a.sig_proxy.then_some(c.state.pid), || {
        eng::get(engine, &id).map(|c| c.state.exit_code).unwrap_or(0)
    });
    drop(raw);
    Ok(code)
}

#[derive(Args)]
pub struct TopArgs {
    container: String,
    /// ps options (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "PS OPTIONS")]
    ps_args: Vec<String>,
}

pub fn top(engine: &Engine, a: TopArgs) -> CmdResult {
    let (header, rows) = eng::top(engine, &a.container, &a.ps_args)?;
    out(&top_table(&header, &rows));
    Ok(0)
}

/// `top`'s columns, aligned (also `compose top`).
pub(super) fn top_table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut text = header.join("\t") + "\n";
    for r in rows {
        text += &(r.join("\t") + "\n");
    }
    table::tabwrite(&text)
}

#[derive(Args)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    container: String,
    /// PRIVATE_PORT[/PROTO]
    #[arg(value_name = "PRIVATE_PORT")]
    port: Option<String>,
}

/// `rcon port`: Docker prints `80/tcp -> 0.0.0.0:8080`, or only the host
/// side when asked about one port.
pub fn port(engine: &Engine, a: PortArgs) -> CmdResult {
    let v = crate::engine::networks::port_mappings(engine, &a.container, a.port.as_deref())?;
    let s: String = v
        .iter()
        .map(|(k, host)| if a.port.is_some() { format!("{host}\n") } else { format!("{k} -> {host}\n") })
        .collect();
    out(&s);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::super::{cli_command, parse_for_test as parse, Command};

    #[test]
    fn arguments_after_the_container_are_the_exec_command() {
        let exec = |args: &[&str]| match parse(args) {
            Command::Exec(a) => a,
            _ => panic!("not exec"),
        };
        let a = exec(&["exec", "-e", "A=1", "box", "-x"]);
        assert_eq!(a.container_and_command, ["box", "-x"]);
        assert!(!a.interactive && !a.tty);
        let a = exec(&["exec", "-it", "box", "sh", "-i", "-t"]);
        assert!(a.interactive && a.tty);
        assert_eq!(a.container_and_command, ["box", "sh", "-i", "-t"]);
        assert!(cli_command().try_get_matches_from(["rcon", "exec", "box"]).is_err(), "a command is required");
    }
}
