//! `rcon compose` (also `docker compose` through the docker link, and
//! `docker-compose`): compose v2's command line over `compose::ops`.
//! Loading is `compose::load` with this process's environment and
//! directory; the verbs are `compose::ops`; this module parses, prints
//! compose's progress lines and logs, and maps errors to compose's exit
//! status (1, and the message without docker's `Error:` prefix).

mod logs;
mod project;
mod run;
mod show;
mod up;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CmdResult;
use crate::compose::ops::{self, Ctx, Event};
use crate::engine::Engine;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct ComposeArgs {
    /// Compose configuration files
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    project_name: Option<String>,
    /// Specify an alternate working directory (default: the path of the first specified Compose file)
    #[arg(long, value_name = "DIR")]
    project_directory: Option<PathBuf>,
    /// Specify an alternate environment file
    #[arg(long = "env-file", value_name = "FILE")]
    env_files: Vec<PathBuf>,
    /// Specify a profile to enable
    #[arg(long = "profile", value_name = "PROFILE")]
    profiles: Vec<String>,
    /// Control when to print ANSI control characters ("never"|"always"|"auto")
    #[arg(long, default_value = "auto", value_parser = ["never", "always", "auto"])]
    ansi: String,
    /// Set type of progress output (auto, tty, plain, json, quiet)
    #[arg(long, value_parser = ["auto", "tty", "plain", "json", "quiet"])]
    progress: Option<String>,
    /// Control max parallelism, -1 for unlimited
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    parallel: i64,
    /// Run compose in backward compatibility mode
    #[arg(long)]
    compatibility: bool,
    #[command(subcommand)]
    command: ComposeCommand,
}

#[derive(Subcommand)]
enum ComposeCommand {
    /// Create and start containers
    Up(up::UpArgs),
    /// Stop and remove containers, networks
    Down(up::DownArgs),
    /// Creates containers for a service
    Create(up::CreateArgs),
    /// Start services
    Start(up::ServicesArgs),
    /// Stop services
    Stop(up::StopArgs),
    /// Restart service containers
    Restart(up::StopArgs),
    /// Force stop service containers
    Kill(up::KillArgs),
    /// Removes stopped service containers
    Rm(up::RmArgs),
    /// Pause services
    Pause(up::ServicesArgs),
    /// Unpause services
    Unpause(up::ServicesArgs),
    /// Scale services
    Scale(up::ScaleArgs),
    /// Block until the first service container stops
    Wait(up::WaitArgs),
    /// Build or rebuild services
    Build(up::BuildArgs),
    /// Pull service images
    Pull(up::PullArgs),
    /// Push service images
    Push(up::PushArgs),
    /// List containers
    Ps(show::PsArgs),
    /// View output from containers
    Logs(logs::LogsArgs),
    /// Parse, resolve and render compose file in canonical format
    #[command(alias = "convert")]
    Config(show::ConfigArgs),
    /// List images used by the created containers
    Images(show::ImagesArgs),
    /// Display the running processes
    Top(up::ServicesArgs),
    /// Print the public port for a port binding
    Port(show::PortArgs),
    /// List running compose projects
    Ls(show::LsArgs),
    /// Receive real time events from containers
    Events(show::EventsArgs),
    /// Show the Docker Compose version information
    Version(show::VersionArgs),
    /// Execute a command in a running container
    #[command(disable_help_flag = true)]
    Exec(run::ExecArgs),
    /// Run a one-off command on a service
    #[command(disable_help_flag = true)]
    Run(run::RunArgs),
    /// Copy files/folders between a service container and the local filesystem
    Cp(run::CpArgs),
}

/// Runs a compose command; errors are printed here as compose prints
/// them (no `Error:` prefix) and give status 1, or the engine's code
/// when a container's command could not be run.
pub fn compose(engine: &Engine, a: ComposeArgs) -> CmdResult {
    let g = Globals::new(&a);
    let result = match a.command {
        ComposeCommand::Version(v) => show::version(v),
        ComposeCommand::Ls(l) => show::ls(engine, l),
        command => dispatch(engine, &g, command),
    };
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            let code = e.downcast_ref::<crate::Error>().map(compose_code).unwrap_or(1);
            let _ = std::io::Write::flush(&mut std::io::stdout());
            eprintln!("{}", super::error_chain(&e));
            Ok(code)
        }
    }
}

/// compose exits 1 on its own errors; a command that cannot be run in a
/// container keeps Docker's 126/127.
fn compose_code(e: &crate::Error) -> i32 {
    match e.exit_code() {
        c @ (126 | 127) => c,
        _ => 1,
    }
}

fn dispatch(engine: &Engine, g: &Globals, command: ComposeCommand) -> CmdResult {
    let p = g.project(engine, needs_files(&command))?;
    let printer = Printer::new(g);
    let events = |e: Event| printer.event(&e);
    let ctx = Ctx { engine, project: &p, events: &events };
    match command {
        ComposeCommand::Up(a) => up::up(&ctx, g, a),
        ComposeCommand::Down(a) => up::down(&ctx, a),
        ComposeCommand::Create(a) => up::create(&ctx, g, a),
        ComposeCommand::Start(a) => up::start(&ctx, a),
        ComposeCommand::Stop(a) => up::stop(&ctx, a),
        ComposeCommand::Restart(a) => up::restart(&ctx, a),
        ComposeCommand::Kill(a) => up::kill(&ctx, a),
        ComposeCommand::Rm(a) => up::rm(&ctx, a),
        ComposeCommand::Pause(a) => up::pause(&ctx, a),
        ComposeCommand::Unpause(a) => up::unpause(&ctx, a),
        ComposeCommand::Scale(a) => up::scale(&ctx, g, a),
        ComposeCommand::Wait(a) => up::wait(&ctx, a),
        ComposeCommand::Build(a) => up::build(&ctx, g, a),
        ComposeCommand::Pull(a) => up::pull(&ctx, g, a),
        ComposeCommand::Push(a) => up::push(&ctx, g, a),
        ComposeCommand::Top(a) => show::top(&ctx, a),
        ComposeCommand::Ps(a) => show::ps(&ctx, a),
        ComposeCommand::Logs(a) => logs::logs(&ctx, g, a),
        ComposeCommand::Config(a) => show::config(&ctx, a),
        ComposeCommand::Images(a) => show::images(&ctx, a),
        ComposeCommand::Port(a) => show::port(&ctx, a),
        ComposeCommand::Events(a) => show::events(&ctx, a),
        ComposeCommand::Exec(a) => run::exec(&ctx, a),
        ComposeCommand::Run(a) => run::run(&ctx, g, a),
        ComposeCommand::Cp(a) => run::cp(&ctx, a),
        ComposeCommand::Version(_) | ComposeCommand::Ls(_) => unreachable!("handled before loading"),
    }
}

/// Commands that need the compose files; the others work from the
/// containers' labels when there are none and `-p` names the project
/// (compose v2's `down -p NAME` from any directory).
fn needs_files(c: &ComposeCommand) -> bool {
    !matches!(
        c,
        ComposeCommand::Down(_)
            | ComposeCommand::Stop(_)
            | ComposeCommand::Start(_)
            | ComposeCommand::Restart(_)
            | ComposeCommand::Kill(_)
            | ComposeCommand::Rm(_)
            | ComposeCommand::Pause(_)
            | ComposeCommand::Unpause(_)
            | ComposeCommand::Ps(_)
            | ComposeCommand::Logs(_)
            | ComposeCommand::Top(_)
            | ComposeCommand::Images(_)
            | ComposeCommand::Port(_)
            | ComposeCommand::Events(_)
            | ComposeCommand::Exec(_)
            | ComposeCommand::Cp(_)
            | ComposeCommand::Wait(_)
    )
}

/// The global flags, as given.
pub(super) struct Globals {
    files: Vec<PathBuf>,
    project_name: Option<String>,
    project_directory: Option<PathBuf>,
    env_files: Vec<PathBuf>,
    profiles: Vec<String>,
    /// Colours and prefixes in colour (`--ansi`, else a terminal on stdout).
    pub color: bool,
    /// `--progress quiet`: no progress lines.
    pub quiet: bool,
}

impl Globals {
    fn new(a: &ComposeArgs) -> Globals {
        let color = match a.ansi.as_str() {
            "always" => true,
            "never" => false,
            _ => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Globals {
            files: a.files.clone(),
            project_name: a.project_name.clone(),
            project_directory: a.project_directory.clone(),
            env_files: a.env_files.clone(),
            profiles: a.profiles.clone(),
            color,
            quiet: a.progress.as_deref() == Some("quiet"),
        }
    }
}

/// compose's progress for a terminal-less run (`--progress plain`, and
/// what CI logs show): one ` Kind name  Status` line per step, on stderr.
pub(super) struct Printer {
    quiet: bool,
}

impl Printer {
    pub fn new(g: &Globals) -> Printer {
        Printer { quiet: g.quiet }
    }

    pub fn event(&self, e: &Event) {
        if self.quiet && e.status != "Error" {
            return;
        }
        let line = match &e.detail {
            Some(d) => format!(" {} {}  {} {d}\n", e.kind, e.name, e.status),
            None => format!(" {} {}  {}\n", e.kind, e.name, e.status),
        };
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }
}

/// compose's (logrus's) warning line: `WARN[0000] msg` on a terminal,
/// `time="…" level=warning msg="…"` otherwise (what CI logs show).
pub(super) fn warn(msg: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("WARN[0000] {msg}");
    } else {
        let (secs, _) = crate::format::units::now();
        let when = crate::format::units::rfc3339_nano(secs, 0);
        eprintln!("time=\"{when}\" level=warning msg={}", go_quote(msg));
    }
}

/// Go's `%q` for the text logrus quotes.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The selected services' containers with `index` (1-based; None: all).
pub(super) fn service_containers(
    ctx: &Ctx,
    services: &[String],
    oneoff: bool,
) -> anyhow::Result<Vec<crate::container::Container>> {
    for s in services {
        if !ctx.project.services.contains_key(s) {
            anyhow::bail!("no such service: {s}");
        }
    }
    let mut list = ctx.containers(oneoff)?;
    if !services.is_empty() {
        list.retain(|c| services.iter().any(|s| s == ops::label(c, ops::labels::SERVICE)));
    }
    Ok(list)
}

/// The container `index` of a service (for exec, cp, port): running
/// ones only unless `any_state`.
pub(super) fn indexed_container(
    ctx: &Ctx,
    service: &str,
    index: u32,
    any_state: bool,
) -> anyhow::Result<crate::container::Container> {
    ctx.service(service)?;
    let list = service_containers(ctx, &[service.to_string()], false)?;
    let found = list.into_iter().find(|c| ops::number(c) == index && (any_state || ops::is_running(c)));
    found.ok_or_else(|| {
        if index == 1 {
            anyhow::anyhow!("service \"{service}\" is not running")
        } else {
            anyhow::anyhow!("service \"{service}\" is not running container #{index}")
        }
    })
}
