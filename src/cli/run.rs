//! `run`, `create` and `start`: the flags they share (turned into a
//! ContainerSpec, with the client's files and environment resolved here),
//! pulling the image first, and the attached loop of `run` and `start -a`.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;

use clap::Args;

use super::{flags, out, terminal, CmdResult};
use crate::container::spec::{ContainerSpec, Seccomp};
use crate::container::Status;
use crate::engine::containers::{self as eng, MonitorEvent};
use crate::engine::Engine;

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
    /// Run the container in a pod (NAME or ID), or in a new pod with new:NAME (it takes the container's network settings)
    #[arg(long)]
    pod: Option<String>,
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
    #[arg(short = 'm', long, allow_hyphen_values = true)]
    memory: Option<String>,
    /// Swap limit equal to memory plus swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long, allow_hyphen_values = true)]
    cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", allow_hyphen_values = true)]
    cpu_shares: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// Tune container pids limit
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
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
    /// The image, then the command and its arguments: everything after the
    /// image belongs to the container, also what starts with `-` (one list,
    /// so that clap stops reading flags at the image, as Docker does)
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    image_and_command: Vec<String>,
}

impl CreateArgs {
    fn image(&self) -> &str {
        &self.image_and_command[0]
    }

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
            env.extend(flags::env_flag(e, &lookup)?);
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
            image: self.image().to_string(),
            name: self.name.clone(),
            cmd: self.image_and_command[1..].to_vec(),
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
            dns: self.dns.iter().map(|d| flags::dns(d)).collect::<crate::Result<Vec<_>>>()?,
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
            pod: self.pod.clone(),
            infra: false,
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
    /// The hold keeps a concurrent prune off it until `run` has started it.
    fn create(&self, engine: &Engine, sig_proxy: bool) -> anyhow::Result<(String, eng::Hold)> {
        self.check_cidfile()?;
        let spec = self.spec(sig_proxy)?;
        ensure_image(engine, self)?;
        let (id, hold) = eng::create_held(engine, &spec)?;
        self.write_cidfile(engine, &id)?;
        Ok((id, hold))
    }
}

#[derive(Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short, long)]
    detach: bool,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
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
    crate::engine::registry::ensure_image(engine, a.image(), policy, a.platform.as_deref(), &progress)
}

pub fn create(engine: &Engine, a: CreateArgs) -> CmdResult {
    let (id, _) = a.create(engine, true)?;
    out(&format!("{id}\n"));
    Ok(0)
}

pub fn run(engine: &Engine, a: RunArgs) -> CmdResult {
    let raw = !a.detach && a.create.tty && a.create.interactive;
    if raw {
        // Before anything exists: a refusal leaves nothing behind.
        terminal::check_foreground()?;
    }
    let (id, _hold) = a.create.create(engine, a.sig_proxy)?;
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
        attached(engine, &id, raw, a.sig_proxy, a.create.rm, None)
    }
}

/// Run with our terminal attached until the container exits or we detach.
/// `raw`: a -t container with our stdin attached; the terminal goes into
/// raw mode (Docker's rule: with -t alone it stays as it is).
pub(super) fn attached(
    engine: &Engine,
    id: &str,
    raw: bool,
    sig_proxy: bool,
    rm: bool,
    detach_keys: Option<&str>,
) -> CmdResult {
    // Blocked before the container starts: a ^C meanwhile is proxied too.
    let sfd = terminal::proxy_signals(true);
    let raw = raw.then(terminal::RawTerminal::enter);
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
            let raw = c.config.tty && a.interactive && c.config.open_stdin;
            if raw {
                terminal::check_foreground()?;
            }
            return attached(engine, &c.config.id, raw, true, c.config.host.auto_remove, a.detach_keys.as_deref());
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

#[cfg(test)]
mod tests {
    use super::super::{cli_command, parse_for_test as parse, Command};

    fn run(args: &[&str]) -> super::RunArgs {
        match parse(args) {
            Command::Run(a) => a,
            Command::Container(super::super::containers::ContainerCommand::Run(a)) => a,
            _ => panic!("not run: {args:?}"),
        }
    }

    // Issue 17 item 1: the first positional ends rcon's flags, as pflag's
    // SetInterspersed(false) does for docker run/create/exec.
    #[test]
    fn arguments_after_the_image_are_the_command() {
        let a = run(&["run", "--rm", "-e", "A=1", "--name", "n", "busybox", "-i", "--help", "-e", "B"]);
        assert!(a.create.rm && !a.create.interactive && !a.detach);
        assert_eq!((a.create.env.as_slice(), a.create.name.as_deref()), (&["A=1".to_string()][..], Some("n")));
        assert_eq!(a.create.image_and_command, ["busybox", "-i", "--help", "-e", "B"]);
        let a = run(&["container", "run", "-it", "busybox", "-d"]);
        assert!(a.create.tty && a.create.interactive && !a.detach);
        assert_eq!(a.create.image_and_command, ["busybox", "-d"]);
        // `--` before the image ends the flags; after it, it is the
        // command's (docker passes it on, and the runtime looks for "--").
        assert_eq!(
            run(&["run", "--rm", "--", "busybox", "echo", "-n"]).create.image_and_command,
            ["busybox", "echo", "-n"]
        );
        assert_eq!(run(&["run", "busybox", "--", "echo"]).create.image_and_command, ["busybox", "--", "echo"]);
        // A flag's value may start with '-'; the image after it is still the image.
        let a = run(&["run", "--entrypoint", "echo", "-m", "-1", "busybox", "-x"]);
        assert_eq!(
            (a.create.memory.as_deref(), a.create.image_and_command.as_slice()),
            (Some("-1"), &["busybox".to_string(), "-x".into()][..])
        );
        match parse(&["create", "--name", "c", "busybox", "-x", "y"]) {
            Command::Create(a) => {
                assert_eq!(a.image_and_command, ["busybox", "-x", "y"]);
                assert_eq!(a.name.as_deref(), Some("c"));
            }
            _ => panic!("not create"),
        }
        assert!(cli_command().try_get_matches_from(["rcon", "run", "--rm"]).is_err(), "the image is required");
        // Docker's boolean flags take a value only after '=': the image
        // after one is the image.
        let a = run(&["run", "--sig-proxy", "busybox", "true"]);
        assert!(a.sig_proxy);
        assert_eq!(a.create.image_and_command, ["busybox", "true"]);
        assert!(!run(&["run", "--sig-proxy=false", "busybox"]).sig_proxy);
    }
}
