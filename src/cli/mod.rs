//! Command line: clap definitions (one file per command group) and the
//! mapping of errors to Docker's exit codes. Parsing and printing only; the
//! work is in `crate::engine`.

mod build;
mod buildx;
mod commit;
mod compose;
mod containers;
mod cp;
mod df;
mod docs;
mod doctor;
mod events;
pub mod flags;
mod health;
mod images;
mod kube;
mod kube_play;
mod lifecycle;
mod logs;
mod networks;
mod pods;
mod progress;
mod prune;
mod ps;
mod registry;
mod run;
mod service;
mod stats;
mod system;
pub mod terminal;
mod volumes;

use std::io::Write;

use crate::engine::Engine;
use crate::paths::Paths;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rcon",
    about = "A daemonless, rootless container engine with Docker's command line",
    disable_version_flag = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print version information and quit
    #[arg(short = 'v', long = "version", global = false)]
    version: bool,

    /// Storage root (images, layers, containers); default $XDG_DATA_HOME/rcon, or /var/lib/rcon as root
    #[arg(long, global = true, value_name = "DIR", env = "RCON_ROOT", hide_env = true)]
    root: Option<std::path::PathBuf>,

    /// Runtime state directory; default $XDG_RUNTIME_DIR/rcon, or /run/rcon as root
    #[arg(long, global = true, value_name = "DIR", env = "RCON_RUNROOT", hide_env = true)]
    runroot: Option<std::path::PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(run::RunArgs),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(run::CreateArgs),
    /// Start one or more stopped containers
    Start(run::StartArgs),
    /// Stop one or more running containers
    Stop(containers::StopArgs),
    /// Kill one or more running containers
    Kill(containers::KillArgs),
    /// Restart one or more containers
    Restart(containers::StopArgs),
    /// Remove one or more containers
    Rm(containers::RmArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(containers::WaitArgs),
    /// Rename a container
    Rename(containers::RenameArgs),
    /// Execute a command in a running container
    Exec(containers::ExecArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(containers::AttachArgs),
    /// Display the running processes of a container
    Top(containers::TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(containers::PortArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(containers::ContainerCommand),
    /// List images
    Images(images::ListArgs),
    /// Remove one or more images
    Rmi(images::RmArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
    /// Load an image from a tar archive or STDIN
    Load(images::LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(images::SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(images::ImportArgs),
    /// Show the history of an image
    History(images::HistoryArgs),
    /// Return low-level information on rcon objects
    Inspect(images::InspectArgs),
    /// Manage images
    #[command(subcommand)]
    Image(images::ImageCommand),
    /// Download an image from a registry
    Pull(registry::PullArgs),
    /// Upload an image to a registry
    Push(registry::PushArgs),
    /// Log in to a registry
    Login(registry::LoginArgs),
    /// Log out from a registry
    Logout(registry::LogoutArgs),
    /// Search a registry for images
    Search(registry::SearchArgs),
    /// Manage manifest lists (multi-platform images)
    #[command(subcommand)]
    Manifest(registry::ManifestCommand),
    /// Show the rcon version information
    Version(system::VersionArgs),
    /// Display system-wide information
    Info(system::InfoArgs),
    /// Manage rcon
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Generate the autocompletion script for the specified shell
    Completion(docs::CompletionArgs),
    /// Get real time events from rcon (every rcon process writes them to a journal)
    Events(events::EventsArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::PauseArgs),
    /// Update configuration of one or more containers
    Update(lifecycle::UpdateArgs),
    /// Check that this host can run rootless containers, with the fix for each problem
    Doctor(doctor::DoctorArgs),
    /// Manage healthchecks on containers
    #[command(subcommand)]
    Healthcheck(health::HealthcheckCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volumes::VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(networks::NetworkCommand),
    /// Manage pods: containers that share network, IPC and UTS namespaces
    #[command(subcommand)]
    Pod(pods::PodCommand),
    /// Write man pages for every command into a directory
    #[command(hide = true, name = "__man")]
    Man(docs::ManArgs),
    /// Build an image from a Dockerfile
    Build(build::BuildArgs),
    /// Docker Buildx's commands: build, version, ls, inspect (one builder, rcon's)
    #[command(subcommand)]
    Buildx(buildx::BuildxCommand),
    /// Create a new image from a container's changes
    Commit(commit::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(commit::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(commit::ExportArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::CpArgs),
    /// Define and run multi-container applications (Compose v2)
    Compose(compose::ComposeArgs),
    /// Kubernetes: generate YAML from containers and pods, play YAML as pods
    #[command(subcommand)]
    Kube(kube::KubeCommand),
}

/// Parse argv, run the command, return the process exit status.
pub fn run() -> i32 {
    // Installed as `docker` (a link to rcon), usage and help say `docker`,
    // as the user typed it.
    let prog = invoked_as();
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if prog == "docker-compose" {
        // The compose v1 name: `docker-compose up` is `rcon compose up`.
        args.insert(1, "compose".into());
    }
    let parsed = cli_command()
        .name(prog)
        .bin_name(prog)
        .try_get_matches_from(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            let code = match e.kind() {
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 125,
            };
            let _ = e.print();
            return code;
        }
    };
    if cli.version {
        println!("rcon version {}", crate::VERSION);
        return 0;
    }
    let Some(command) = cli.command else { return 0 };
    let engine = Engine::new(Paths::detect(cli.root, cli.runroot));
    let result = match command {
        Command::Run(a) => run::run(&engine, a),
        Command::Create(a) => run::create(&engine, a),
        Command::Start(a) => run::start(&engine, a),
        Command::Stop(a) => containers::stop(&engine, a),
        Command::Kill(a) => containers::kill(&engine, a),
        Command::Restart(a) => containers::restart(&engine, a),
        Command::Rm(a) => containers::rm(&engine, a),
        Command::Ps(a) => ps::ps(&engine, a),
        Command::Logs(a) => logs::logs_cmd(&engine, a),
        Command::Wait(a) => containers::wait(&engine, a),
        Command::Rename(a) => containers::rename(&engine, a),
        Command::Exec(a) => containers::exec(&engine, a),
        Command::Attach(a) => containers::attach(&engine, a),
        Command::Top(a) => containers::top(&engine, a),
        Command::Port(a) => containers::port(&engine, a),
        Command::Container(c) => containers::dispatch(&engine, c),
        Command::Images(a) => images::list(&engine, a),
        Command::Rmi(a) => images::rm(&engine, a),
        Command::Tag(a) => images::tag(&engine, a),
        Command::Load(a) => images::load(&engine, a),
        Command::Save(a) => images::save(&engine, a),
        Command::Import(a) => images::import(&engine, a),
        Command::History(a) => images::history(&engine, a),
        Command::Inspect(a) => images::inspect(&engine, a),
        Command::Image(c) => images::dispatch(&engine, c),
        Command::Pull(a) => registry::pull(&engine, a),
        Command::Push(a) => registry::push(&engine, a),
        Command::Login(a) => registry::login(&engine, a),
        Command::Logout(a) => registry::logout(&engine, a),
        Command::Search(a) => registry::search(&engine, a),
        Command::Manifest(c) => registry::manifest(&engine, c),
        Command::Version(a) => system::version(a),
        Command::Info(a) => system::info(&engine, a),
        Command::System(c) => system::dispatch(&engine, c),
        Command::Completion(a) => docs::completion(a),
        Command::Man(a) => docs::man(a),
        Command::Healthcheck(c) => health::dispatch(&engine, c),
        Command::Events(a) => events::events(&engine, a),
        Command::Stats(a) => stats::stats(&engine, a),
        Command::Doctor(a) => doctor::doctor(&engine, a),
        Command::Pause(a) => lifecycle::pause(&engine, a),
        Command::Unpause(a) => lifecycle::unpause(&engine, a),
        Command::Update(a) => lifecycle::update(&engine, a),
        Command::Build(a) => build::build(&engine, a),
        Command::Buildx(c) => buildx::dispatch(&engine, c),
        Command::Commit(a) => commit::commit(&engine, a),
        Command::Diff(a) => commit::diff(&engine, a),
        Command::Export(a) => commit::export(&engine, a),
        Command::Cp(a) => cp::cp(&engine, a),
        Command::Compose(a) => compose::compose(&engine, a),
        Command::Kube(c) => kube::dispatch(&engine, c),
        Command::Volume(c) => volumes::dispatch(&engine, c),
        Command::Network(c) => networks::dispatch(&engine, c),
        Command::Pod(c) => pods::dispatch(&engine, c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let code = e.downcast_ref::<crate::Error>().map(|e| e.exit_code()).unwrap_or(125);
            let _ = std::io::stdout().flush();
            // The last guard: the names in messages are quoted where they
            // enter (format::quote); whatever else came from outside (an
            // io error naming a file of an archive) loses its control bytes here.
            eprintln!("Error: {}", crate::format::quote::escape_lines(&error_chain(&e)));
            code
        }
    }
}

/// The name rcon was run under: `docker` or `docker-compose` through a
/// link of that name (`make install-docker-links`), else `rcon`.
fn invoked_as() -> &'static str {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    match std::path::Path::new(&argv0).file_name().and_then(|n| n.to_str()) {
        Some("docker") => "docker",
        Some("docker-compose") => "docker-compose",
        _ => "rcon",
    }
}

/// One line: the error and its causes, as "a: b: c" (no duplicates).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

pub type CmdResult = anyhow::Result<i32>;

/// Print to stdout; a closed pipe (`rcon images | head -1`) is not an error.
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    if o.write_all(s.as_bytes()).and_then(|_| o.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Docker's removal prompt: the warning, then y/N; anything but y/yes
/// (including no terminal, EOF) is no.
pub fn confirm(warning: &str) -> bool {
    eprintln!("{warning}");
    eprint!("Are you sure you want to continue? [y/N] ");
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// The command `rcon ARGS…` parses to (unit tests of the flag grammar).
#[cfg(test)]
fn parse_for_test(args: &[&str]) -> Command {
    let m = cli_command().try_get_matches_from(std::iter::once("rcon").chain(args.iter().copied())).unwrap();
    <Cli as clap::FromArgMatches>::from_arg_matches(&m).unwrap().command.unwrap()
}

pub fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
