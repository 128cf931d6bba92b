//! `run`, `create`, `start`, `stop`, `kill`, `restart`, `rm`, `ps`, `logs`,
//! `wait`, `rename` and the `container` group, with Docker's flags.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{flags, terminal};
use super::{out, CmdResult};
use crate::container::spec::{ContainerSpec, Seccomp};
use crate::container::Status;
use crate::engine::containers::{self as eng, AttachTo, MonitorEvent};
use crate::engine::Engine;
use crate::format::{table, units};
use crate::monitor::logs;

#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(CreateArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
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
    Ls(PsArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
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
        ContainerCommand::Run(a) => run(engine, a),
        ContainerCommand::Create(a) => create(engine, a),
        ContainerCommand::Start(a) => start(engine, a),
        ContainerCommand::Stop(a) => stop(engine, a),
        ContainerCommand::Kill(a) => kill(engine, a),
        ContainerCommand::Restart(a) => restart(engine, a),
        ContainerCommand::Rm(a) => rm(engine, a),
        ContainerCommand::Ls(a) => ps(engine, a),
        ContainerCommand::Logs(a) => logs_cmd(engine, a),
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

/// The flags `create` and `run` share.
#[derive(Args, Clone)]
pub struct CreateArgs {
    /// Print help (-h is --hostname, as in Docker)
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Assign a name to the container
    #[arg(long)]
    name: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    entrypoint: Option<String>,
    /// Working directory inside the container (created if missing)
    #[arg(short, long)]
    workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    user: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    hostname: Option<String>,
    /// Set meta data on a container
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "FILE")]
    label_file: Vec<PathBuf>,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    tty: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    interactive: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    rm: bool,
    /// Bind mount a volume (/host/path:/ctr/path, name:/ctr/path or /ctr/path; [:ro|rw|nocopy])
    #[arg(short, long = "volume", value_name = "SRC:DST[:OPTS]")]
    volume: Vec<String>,
    /// Attach a filesystem mount to the container (type=bind|volume|tmpfs,source=,target=,readonly,…)
    #[arg(long = "mount", value_name = "MOUNT")]
    mount: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS])
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    read_only: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    privileged: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "CAP")]
    cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "CAP")]
    cap_drop: Vec<String>,
    /// Security options (no-new-privileges, seccomp=unconfined|FILE)
    #[arg(long = "security-opt", value_name = "OPT")]
    security_opt: Vec<String>,
    /// Ulimit options (name=soft[:hard])
    #[arg(long = "ulimit", value_name = "ULIMIT")]
    ulimit: Vec<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout")]
    stop_timeout: Option<i64>,
    /// Connect a container to a network: bridge (slirp4netns, the default), pasta, none, host, container:NAME or a user-defined network
    #[arg(long = "network", alias = "net")]
    network: Option<String>,
    /// Add a network-scoped alias for the container (user-defined networks)
    #[arg(long = "network-alias", alias = "net-alias")]
    network_alias: Vec<String>,
    /// IPv4 address on the user-defined network (e.g., 10.89.0.20)
    #[arg(long)]
    ip: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    init: bool,
    /// Logging driver for the container (json-file, k8s-file, none)
    #[arg(long = "log-driver")]
    log_driver: Option<String>,
    /// Log driver options (max-size, max-file)
    #[arg(long = "log-opt")]
    log_opt: Vec<String>,
    /// User namespace to use (host, keep-id)
    #[arg(long)]
    userns: Option<String>,
    /// PID namespace to use (host)
    #[arg(long)]
    pid: Option<String>,
    /// IPC mode to use (host)
    #[arg(long)]
    ipc: Option<String>,
    /// UTS namespace to use (host)
    #[arg(long)]
    uts: Option<String>,
    /// Add additional groups to join
    #[arg(long = "group-add")]
    group_add: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option")]
    dns_option: Vec<String>,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    detach_keys: Option<String>,
    /// Write the container ID to the file
    #[arg(long)]
    cidfile: Option<PathBuf>,
    /// Memory limit
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// Swap limit equal to memory plus swap
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    cpu_shares: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// Tune container pids limit
    #[arg(long = "pids-limit")]
    pids_limit: Option<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, value_name = "POLICY", default_value = "missing")]
    pull: String,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long)]
    platform: Option<String>,
    /// Command to run to check health
    #[arg(long = "health-cmd", value_name = "string")]
    health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 30s)
    #[arg(long = "health-interval", value_name = "duration")]
    health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 30s)
    #[arg(long = "health-timeout", value_name = "duration")]
    health_timeout: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long = "health-retries", value_name = "int", allow_hyphen_values = true)]
    health_retries: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-period", value_name = "duration")]
    health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 5s)
    #[arg(long = "health-start-interval", value_name = "duration")]
    health_start_interval: Option<String>,
    /// Action to take once the container turns unhealthy: none, kill, restart or stop
    #[arg(long = "health-on-failure", value_name = "action")]
    health_on_failure: Option<String>,
    /// Restart policy to apply when a container exits: no, always, unless-stopped, on-failure[:max-retries]
    #[arg(long, value_name = "string")]
    restart: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    no_healthcheck: bool,
    /// Mount volumes from the specified container(s) (CONTAINER[:ro|rw])
    #[arg(long = "volumes-from", value_name = "CONTAINER")]
    volumes_from: Vec<String>,
    /// Publish a container's port(s) to the host ([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO])
    #[arg(short = 'p', long = "publish", value_name = "PORT")]
    publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long)]
    expose: Vec<String>,
    /// The image to run
    #[arg(value_name = "IMAGE")]
    image: String,
    /// Command and arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    command: Vec<String>,
}

impl CreateArgs {
    /// The container these flags describe, with everything the engine must
    /// not read itself resolved here: `-e KEY` and env files from our
    /// environment, label files, the seccomp profile's file.
    fn spec(&self, sig_proxy: bool) -> anyhow::Result<ContainerSpec> {
        let lookup = |k: &str| std::env::var(k).ok();
        let read = |what: &str, p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("open {what} {}: {e}", p.display()))
        };
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(flags::file_lines(&read("env file", f)?).iter().filter_map(|e| flags::env(e, &lookup)));
        }
        for e in &self.env {
            if e.is_empty() || e.starts_with('=') {
                anyhow::bail!("invalid argument {e:?} for \"-e, --env\" flag: invalid environment variable: {e}");
            }
            env.extend(flags::env(e, &lookup));
        }
        let mut labels = Vec::new();
        for f in &self.label_file {
            labels.extend(flags::file_lines(&read("label file", f)?).iter().map(|l| flags::label(l)));
        }
        labels.extend(self.label.iter().map(|l| flags::label(l)));
        let mut mounts = Vec::new();
        for v in &self.volume {
            mounts.push(flags::volume(v)?);
        }
        for m in &self.mount {
            mounts.push(flags::mount(m)?);
        }
        for t in &self.tmpfs {
            mounts.push(flags::tmpfs(t)?);
        }
        let (mut no_new_privileges, mut seccomp) = (false, Seccomp::Default);
        for o in &self.security_opt {
            match flags::security_opt(o)? {
                flags::SecurityOpt::NoNewPrivileges(b) => no_new_privileges = b,
                flags::SecurityOpt::SeccompUnconfined => seccomp = Seccomp::Unconfined,
                // The docker CLI reads the profile and sends its content.
                flags::SecurityOpt::Seccomp(file) => {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| anyhow::anyhow!("read seccomp profile {file}: {e}"))?;
                    seccomp = Seccomp::Profile(text);
                }
                flags::SecurityOpt::Ignored => {}
            }
        }
        let mut resources = Vec::new();
        for (flag, v) in [
            ("--memory", &self.memory),
            ("--memory-swap", &self.memory_swap),
            ("--cpus", &self.cpus),
            ("--cpu-shares", &self.cpu_shares),
            ("--cpuset-cpus", &self.cpuset_cpus),
            ("--pids-limit", &self.pids_limit),
        ] {
            if let Some(v) = v {
                resources.push((flag, v.as_str()));
            }
        }
        let mut ports = Vec::new();
        for p in &self.publish {
            ports.extend(flags::ports(p)?);
        }
        let mut expose = Vec::new();
        for e in &self.expose {
            expose.extend(flags::expose(e)?);
        }
        let health = flags::HealthFlags {
            cmd: self.health_cmd.clone(),
            interval: self.health_interval.clone(),
            timeout: self.health_timeout.clone(),
            start_period: self.health_start_period.clone(),
            start_interval: self.health_start_interval.clone(),
            retries: self.health_retries,
            none: self.no_healthcheck,
        };
        Ok(ContainerSpec {
            image: self.image.clone(),
            name: self.name.clone(),
            cmd: self.command.clone(),
            // --entrypoint is one word; "" clears the image's.
            entrypoint: self.entrypoint.as_ref().map(|e| if e.is_empty() { vec![] } else { vec![e.clone()] }),
            env,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            domainname: None,
            labels,
            tty: self.tty,
            open_stdin: self.interactive,
            auto_remove: self.rm,
            mounts,
            volumes_from: self
                .volumes_from
                .iter()
                .map(|v| flags::volumes_from(v))
                .collect::<crate::Result<Vec<_>>>()?,
            read_only: self.read_only,
            privileged: self.privileged,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            no_new_privileges,
            seccomp,
            ulimits: self.ulimit.iter().map(|u| flags::ulimit(u)).collect::<crate::Result<Vec<_>>>()?,
            group_add: self.group_add.clone(),
            userns: self.userns.clone(),
            pid: self.pid.clone(),
            ipc: self.ipc.clone(),
            uts: self.uts.clone(),
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            init: self.init,
            network: self.network.clone(),
            network_aliases: self.network_alias.clone(),
            ip: self.ip.clone(),
            ports,
            publish_all: self.publish_all,
            expose,
            extra_hosts: self.add_host.iter().map(|h| flags::add_host(h)).collect::<crate::Result<Vec<_>>>()?,
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
            log_driver: self.log_driver.clone(),
            log_opts: self.log_opt.iter().map(|o| flags::log_opt(o)).collect::<crate::Result<Vec<_>>>()?,
            resources: flags::limits(&resources)?,
            healthcheck: flags::healthcheck(&health)?,
            health_on_failure: self.health_on_failure.as_deref().map(flags::on_failure).transpose()?,
            restart: self.restart.as_deref().map(flags::restart).transpose()?,
            detach_keys: self.detach_keys.clone(),
            sig_proxy,
            cidfile: self.cidfile.as_ref().map(|p| p.display().to_string()),
        })
    }

    /// Docker's CLI refuses a --cidfile that exists before anything is
    /// created, and writes the id once the container is.
    fn check_cidfile(&self) -> anyhow::Result<()> {
        match &self.cidfile {
            Some(p) if p.exists() => anyhow::bail!(crate::Error::InvalidArgument(format!(
                "container ID file found, make sure the other container isn't running or delete {}",
                p.display()
            ))),
            _ => Ok(()),
        }
    }

    fn write_cidfile(&self, engine: &Engine, id: &str) -> anyhow::Result<()> {
        let Some(p) = &self.cidfile else { return Ok(()) };
        std::fs::write(p, id).map_err(|e| {
            eng::discard(engine, id);
            anyhow::anyhow!("write cidfile {}: {e}", p.display())
        })
    }

    /// Create the container these flags describe (the image pulled first,
    /// as --pull says): its id.
    fn create(&self, engine: &Engine, sig_proxy: bool) -> anyhow::Result<String> {
        self.check_cidfile()?;
        let spec = self.spec(sig_proxy)?;
        ensure_image(engine, self)?;
        let id = eng::create(engine, &spec)?;
        self.write_cidfile(engine, &id)?;
        Ok(id)
    }
}

#[derive(Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short, long)]
    detach: bool,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sig_proxy: bool,
    #[command(flatten)]
    create: CreateArgs,
}

/// Pull the image as `--pull` says, before anything is created.
fn ensure_image(engine: &Engine, a: &CreateArgs) -> crate::Result<()> {
    if let Some(n) = &a.network {
        crate::engine::networks::mode(engine, n)?;
    }
    let policy = crate::engine::registry::PullPolicy::parse(&a.pull)?;
    let progress = super::progress::on_stderr(false);
    crate::engine::registry::ensure_image(engine, &a.image, policy, a.platform.as_deref(), &progress)
}

pub fn create(engine: &Engine, a: CreateArgs) -> CmdResult {
    let id = a.create(engine, true)?;
    out(&format!("{id}\n"));
    Ok(0)
}

pub fn run(engine: &Engine, a: RunArgs) -> CmdResult {
    let id = a.create.create(engine, a.sig_proxy)?;
    if a.detach {
        match eng::start(engine, &id, eng::StartOptions::default()) {
            Ok(_) => {
                out(&format!("{id}\n"));
                Ok(0)
            }
            Err(e) => {
                if a.create.rm {
                    eng::discard(engine, &id);
                }
                Err(e.into())
            }
        }
    } else {
        attached(engine, &id, a.create.tty, a.sig_proxy, a.create.rm, None)
    }
}

/// Run with our terminal attached until the container exits or we detach.
fn attached(engine: &Engine, id: &str, tty: bool, sig_proxy: bool, rm: bool, detach_keys: Option<&str>) -> CmdResult {
    // Blocked before the container starts: a ^C meanwhile is proxied too.
    let sfd = terminal::proxy_signals(true);
    let raw = tty.then(terminal::RawTerminal::enter);
    let opts =
        eng::StartOptions { attach: Some(terminal::own_stdio(true)?), detach_keys: detach_keys.map(String::from) };
    let handle = eng::start(engine, id, opts);
    let mut handle = match handle {
        Ok(h) => h,
        Err(e) => {
            drop(raw);
            if rm {
                eng::discard(engine, id);
            }
            return Err(e.into());
        }
    };
    let code = loop {
        if let Some(sfd) = &sfd {
            use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
            let mut fds = [
                PollFd::new(unsafe { BorrowedFd::borrow_raw(handle.raw_fd()) }, PollFlags::POLLIN),
                PollFd::new(unsafe { BorrowedFd::borrow_raw(sfd.as_raw_fd()) }, PollFlags::POLLIN),
            ];
            let _ = poll(&mut fds, PollTimeout::NONE);
            if fds[1].revents().is_some_and(|r| r.contains(PollFlags::POLLIN)) {
                if let Ok(Some(si)) = sfd.read_signal() {
                    let sig = si.ssi_signo as i32;
                    if sig == libc::SIGWINCH {
                        unsafe { libc::kill(handle.pid as i32, libc::SIGWINCH) };
                    } else if sig_proxy {
                        unsafe { libc::kill(handle.container_pid as i32, sig) };
                    }
                }
                if fds[0].revents().is_none_or(|r| r.is_empty()) {
                    continue;
                }
            }
        }
        match handle.next_event() {
            MonitorEvent::Exit(c) => break c,
            MonitorEvent::Detached => break 0,
            MonitorEvent::Gone => {
                break eng::get(engine, id).map(|c| c.state.exit_code).unwrap_or(125);
            }
        }
    };
    drop(raw);
    Ok(code)
}

#[derive(Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    detach_keys: Option<String>,
    /// Start every container whose restart policy would have a daemon bring it back (always, unless-stopped, on-failure)
    #[arg(long, conflicts_with_all = ["attach", "interactive", "containers"])]
    all: bool,
    #[arg(required_unless_present = "all", value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn start(engine: &Engine, a: StartArgs) -> CmdResult {
    if a.all {
        return start_all(engine);
    }
    let mut failed = false;
    for name in &a.containers {
        let c = match eng::get(engine, name) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
                continue;
            }
        };
        if a.attach || a.interactive {
            return attached(
                engine,
                &c.config.id,
                c.config.tty,
                true,
                c.config.host.auto_remove,
                a.detach_keys.as_deref(),
            );
        }
        if c.state.status == Status::Running {
            out(&format!("{name}\n"));
            continue;
        }
        match eng::start(engine, &c.config.id, eng::StartOptions::default()) {
            Ok(_) => out(&format!("{name}\n")),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 125 } else { 0 })
}

fn start_all(engine: &Engine) -> CmdResult {
    let mut failed = false;
    for (name, r) in crate::engine::restart::start_all(engine)? {
        match r {
            Ok(()) => out(&format!("{name}\n")),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 125 } else { 0 })
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
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Filter output based on conditions provided (id, name, label, status, ancestor, exited)
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1)]
    last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    latest: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
}

const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Size", "SIZE"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
];

pub fn ps(engine: &Engine, a: PsArgs) -> CmdResult {
    let filters = a.filter.iter().map(|f| crate::engine::ps::Filter::parse(f)).collect::<crate::Result<Vec<_>>>()?;
    let opts = crate::engine::ps::ListOptions {
        all: a.all,
        filters,
        last: (a.last >= 0).then_some(a.last as usize),
        latest: a.latest,
    };
    let selected = crate::engine::ps::list(engine, &opts)?;
    if a.quiet {
        out(&selected
            .iter()
            .map(|c| if a.no_trunc { c.config.id.clone() } else { c.config.id[..12].to_string() } + "\n")
            .collect::<String>());
        return Ok(0);
    }
    let now = crate::image::store::now_secs();
    let rows: Vec<Value> = selected
        .iter()
        .map(|c| {
            let argv: Vec<String> = c.config.entrypoint.iter().chain(c.config.cmd.iter()).cloned().collect();
            let mut command = argv.join(" ");
            if !a.no_trunc && command.chars().count() > 20 {
                command = command.chars().take(19).collect::<String>() + "…";
            }
            let created = units::parse_rfc3339(&c.config.created).map(|t| t.0).unwrap_or(now);
            let labels = c
                .config
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",");
            json!({
                "Command": format!("\"{command}\""),
                "CreatedAt": units::go_time_string(created),
                "ID": if a.no_trunc { c.config.id.clone() } else { c.config.id[..12].to_string() },
                "Image": c.config.image_name,
                "Labels": labels,
                "LocalVolumes": "0",
                "Mounts": c.config.host.mounts.iter().map(|m| m.target.clone()).collect::<Vec<_>>().join(","),
                "Names": c.config.name,
                "Networks": if c.config.host.net.networks.is_empty() {
                    c.config.host.network_mode.clone()
                } else {
                    c.config.host.net.networks.iter().map(|a| a.network.as_str()).collect::<Vec<_>>().join(",")
                },
                "Ports": crate::engine::networks::ports_text(engine, c),
                "RunningFor": units::since(created, now),
                "Size": if a.size { size_text(engine, c) } else { String::new() },
                "State": c.state.status.as_str(),
                "Status": eng::status_text(c),
            })
        })
        .collect();
    let default = if a.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    out(&table::render_list(a.format.as_deref().unwrap_or(""), default, PS_HEADERS, &rows)?);
    Ok(0)
}

#[derive(Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    until: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show extra details provided to logs
    #[arg(long)]
    details: bool,
    container: String,
}

pub fn logs_cmd(engine: &Engine, a: LogsArgs) -> CmdResult {
    let now = crate::image::store::now_secs();
    let when = |s: &Option<String>, what: &str| -> anyhow::Result<Option<(i64, u32)>> {
        match s {
            None => Ok(None),
            Some(v) => units::parse_since_until(v, now).map(|t| Some((t, 0))).ok_or_else(|| {
                anyhow::anyhow!(
                    "invalid value for --{what}: {v:?}: use a timestamp (2013-01-02T13:23:37Z) or a duration (42m)"
                )
            }),
        }
    };
    let tail = if a.tail == "all" || a.tail == "-1" {
        None
    } else {
        Some(
            a.tail
                .parse::<usize>()
                .map_err(|_| anyhow::anyhow!("invalid value for --tail: {:?}: use a number or all", a.tail))?,
        )
    };
    let opts = logs::ReadOptions {
        since: when(&a.since, "since")?,
        until: when(&a.until, "until")?,
        tail,
        timestamps: a.timestamps,
        follow: a.follow,
    };
    let mut emit = |e: &logs::LogEntry| -> std::io::Result<()> {
        use std::io::Write;
        let bytes = logs::render(e, a.timestamps);
        match e.stream {
            logs::Stream::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(&bytes)?;
                o.flush()
            }
            logs::Stream::Stderr => std::io::stderr().write_all(&bytes),
        }
    };
    eng::logs(engine, &a.container, &opts, &mut emit)?;
    Ok(0)
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
        match crate::engine::lifecycle::wait(engine, n, &a.condition) {
            Ok(code) => out(&format!("{code}\n")),
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
    container: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    command: Vec<String>,
}

pub fn exec(engine: &Engine, a: ExecArgs) -> CmdResult {
    let o = crate::engine::exec::ExecOptions {
        interactive: a.interactive,
        tty: a.tty,
        detach: a.detach,
        env: a.env.iter().filter_map(|e| flags::env(e, &|k| std::env::var(k).ok())).collect(),
        user: a.user,
        workdir: a.workdir,
        privileged: a.privileged,
        cmd: a.command,
    };
    use crate::engine::exec::ExecStdio;
    let stdio = if a.detach {
        ExecStdio::Null
    } else if a.tty {
        ExecStdio::Tty
    } else {
        match terminal::own_stdio(a.interactive)? {
            AttachTo::Fds { stdin, stdout, stderr } => ExecStdio::Fds { stdin, stdout, stderr },
            AttachTo::Socket(_) => unreachable!("own_stdio gives descriptors"),
        }
    };
    let mut p = crate::engine::exec::exec(engine, &a.container, &o, stdio)?;
    let code = match p.pty.take() {
        Some(master) => terminal::pty_loop(master.as_raw_fd(), a.interactive, || p.try_wait()),
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
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sig_proxy: bool,
    container: String,
}

pub fn attach(engine: &Engine, a: AttachArgs) -> CmdResult {
    let at = crate::engine::attach::connect(engine, &a.container)?;
    let c = at.container;
    let raw = if c.config.tty { Some(terminal::RawTerminal::enter()) } else { None };
    let keys = a.detach_keys.clone().unwrap_or_else(|| c.config.host.detach_keys.clone());
    let id = c.config.id.clone();
    let code = terminal::attach_loop(
        at.stream,
        !a.no_stdin && c.config.open_stdin,
        &keys,
        a.sig_proxy.then_some(c.state.pid),
        || eng::get(engine, &id).map(|c| c.state.exit_code).unwrap_or(0),
    );
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
    let mut text = header.join("\t") + "\n";
    for r in rows {
        text += &(r.join("\t") + "\n");
    }
    out(&table::tabwrite(&text));
    Ok(0)
}

/// Docker's SIZE column: the writable layer, and the image under it.
fn size_text(engine: &Engine, c: &crate::container::Container) -> String {
    let rw = eng::writable_size(engine, &c.config.id);
    let image = engine.store().ok().and_then(|s| s.resolve(&c.config.image).ok()).map(|i| i.size).unwrap_or(0);
    format!("{} (virtual {})", units::human_size(rw), units::human_size(rw + image))
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
