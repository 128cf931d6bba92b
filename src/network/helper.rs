//! The user-mode network helper of one container: slirp4netns or pasta,
//! started by the monitor for the container's network namespace before the
//! container's command runs, killed when the container exits (and, through
//! PDEATHSIG, when the monitor dies).
//!
//! Ports: with slirp4netns, TCP and UDP go through our forwarder
//! (`forward.rs`); pasta
//! publishes both itself (`-t`/`-u`). Either way a connection arrives in the
//! container from a local address, not the client's: see docs/ARCHITECTURE.md.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ports::PortSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Slirp4netns,
    Pasta,
}

impl Kind {
    fn program(self) -> &'static str {
        match self {
            Kind::Slirp4netns => "slirp4netns",
            Kind::Pasta => "pasta",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Kind::Slirp4netns => "slirp4netns",
            Kind::Pasta => "passt",
        }
    }
}

/// What the monitor asks for: the helper, where its files go (the
/// container's runtime directory) and the ports to publish (host ports
/// already chosen).
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: Kind,
    pub run_dir: PathBuf,
    pub ports: Vec<PortSpec>,
}

/// A running helper.
pub struct Helper {
    pub pid: u32,
    /// `rcon __portfwd` publishing TCP ports (slirp4netns).
    forwarder: Option<u32>,
    /// Root with pasta: the bind mount of the namespace it was given.
    netns_file: Option<PathBuf>,
}

impl Helper {
    /// End the helper and reap it (it is the monitor's child).
    pub fn stop(&self) {
        self.kill();
        self.reap();
    }

    /// SIGTERM for the port forwarder: it closes the host ports at once,
    /// then delivers what the container sent before it exited (see
    /// forward.rs). SIGKILL for the helper (it has nothing to save, and a
    /// graceful exit cost slirp4netns ~15 ms), at once when there is no
    /// forwarder, else in `reap` once it has drained: the helper's tap
    /// device holds the address the forwarder's connections use.
    pub fn kill(&self) {
        match self.forwarder {
            Some(f) => unsafe { libc::kill(f as i32, libc::SIGTERM) },
            None => unsafe { libc::kill(self.pid as i32, libc::SIGKILL) },
        };
    }

    /// Wait for them. The helper's exit closes the tap device, and
    /// unregistering a network device takes the kernel ~20 ms: the monitor
    /// reports the container's exit first and reaps afterwards.
    pub fn reap(&self) {
        if let Some(f) = self.forwarder {
            unsafe {
                libc::waitpid(f as i32, std::ptr::null_mut(), 0);
                libc::kill(self.pid as i32, libc::SIGKILL);
            }
        }
        unsafe { libc::waitpid(self.pid as i32, std::ptr::null_mut(), 0) };
        if let Some(f) = &self.netns_file {
            let _ = nix::mount::umount2(f, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Fail early, with the fix, when the helper cannot work on this host.
pub fn check(kind: Kind) -> Result<PathBuf, String> {
    let prog = crate::util::which(kind.program()).ok_or_else(|| {
        format!(
            "{} not found: install the {} package, or run with --network none or host",
            kind.program(),
            kind.package()
        )
    })?;
    if let Err(e) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun") {
        if e.kind() == std::io::ErrorKind::NotFound {
            return Err(format!(
                "{} needs /dev/net/tun, which does not exist: as root, modprobe tun (or mknod /dev/net/tun c 10 200 and chmod 0666 it), or run with --network none or host",
                kind.program()
            ));
        }
        return Err(format!(
            "{} needs /dev/net/tun, which this user cannot open: as root, chmod 0666 /dev/net/tun (Debian's default mode), or run with --network none or host",
            kind.program()
        ));
    }
    Ok(prog)
}

/// Start the helper for the network namespace of `pid` (whose user
/// namespace is already mapped) and return once the namespace is configured
/// and the ports are published.
pub fn start(pid: u32, plan: &Plan) -> Result<Helper, String> {
    let prog = check(plan.kind)?;
    let log = plan.run_dir.join(format!("{}.log", plan.kind.program()));
    let log_file = std::fs::File::create(&log).map_err(|e| format!("create {}: {e}", log.display()))?;
    let (ready_r, ready_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe for {}: {e}", prog.display()))?;
    let mut cmd = Command::new(&prog);
    // The helpers' files (pasta's pid file, logs) live in the runtime directory.
    cmd.current_dir(&plan.run_dir);
    std::env::set_current_dir(&plan.run_dir).map_err(|e| format!("chdir {}: {e}", plan.run_dir.display()))?;
    let pidfile = plan.run_dir.join("pasta.pid");
    let netns_file = plan.run_dir.join("netns");
    match plan.kind {
        Kind::Slirp4netns => {
            cmd.args(["--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3"])
                .arg(pid.to_string())
                .arg("tap0");
        }
        Kind::Pasta => {
            let _ = std::fs::remove_file(&pidfile);
            // No automatic forwarding either way: only what -p publishes.
            cmd.args(["--config-net", "--quiet", "-f", "-T", "none", "-U", "none"]);
            let tcp = pasta_spec(&plan.ports, "tcp");
            // UDP through our forwarder: this pasta (2023-02) delivers the
            // datagrams but loses the answers of a container's server.
            cmd.args(["-t", &tcp, "-u", "none", "--pid"]).arg(&pidfile);
            if unsafe { libc::geteuid() } == 0 {
                // As root pasta drops its privileges before opening
                // /proc/PID/ns/net, which then needs ptrace access; a bind
                // mount of the namespace file does not (podman does the same).
                // It would become nobody, who cannot reach our runtime directory.
                bind_netns(pid, &netns_file)?;
                cmd.args(["--runas", "0:0", "--netns"]).arg(&netns_file).arg("--netns-only");
            } else {
                cmd.arg(pid.to_string());
            }
        }
    }
    let err = log_file.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(Stdio::from(log_file)).stderr(Stdio::from(err));
    as_monitor_child(&mut cmd, ready_w.as_raw_fd());
    let child = cmd.spawn().map_err(|e| format!("start {}: {e}", prog.display()))?;
    let mut helper =
        Helper { pid: child.id(), forwarder: None, netns_file: netns_file.exists().then(|| netns_file.clone()) };
    // The monitor reaps its children itself.
    std::mem::forget(child);
    drop(ready_w);
    let res = match plan.kind {
        Kind::Slirp4netns => wait_ready_fd(ready_r).and_then(|_| {
            let all: Vec<&PortSpec> = plan.ports.iter().collect();
            if !all.is_empty() {
                helper.forwarder = Some(start_forwarder(pid, super::SLIRP_IP, &all)?);
            }
            Ok(())
        }),
        Kind::Pasta => wait_pidfile(helper.pid, &pidfile).and_then(|_| {
            let udp: Vec<&PortSpec> = plan.ports.iter().filter(|p| p.proto == "udp").collect();
            if !udp.is_empty() {
                helper.forwarder = Some(start_forwarder(pid, "127.0.0.1", &udp)?);
            }
            Ok(())
        }),
    };

    if let Err(e) = res {
        helper.stop();
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let said = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        return Err(if said.is_empty() { e } else { format!("{e}: {said}") });
    }
    Ok(helper)
}

/// A process the monitor starts: it dies with the monitor (no helper
/// outlives its container), starts with no blocked signals (the monitor
/// blocks those it reads from a signalfd; inherited, our SIGTERM would be
/// ignored), and gets `report` as fd 3.
fn as_monitor_child(cmd: &mut Command, report: std::os::fd::RawFd) {
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            crate::util::place_fds(&[(report, 3)])
        });
    }
}

/// Start `rcon __portfwd` for the ports; its pid once it listens.
fn start_forwarder(pid: u32, to: &str, ports: &[&PortSpec]) -> Result<u32, String> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
    let mut cmd = Command::new(crate::util::helper_binary());
    cmd.arg0("rcon").arg("__portfwd").arg(pid.to_string()).arg(to);
    for p in ports {
        let udp = if p.proto == "udp" { "/udp" } else { "" };
        cmd.arg(format!("{}:{}:{}{udp}", p.bind_ip(), p.host_port, p.container_port));
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    as_monitor_child(&mut cmd, w.as_raw_fd());
    let child = cmd.spawn().map_err(|e| format!("start the port forwarder: {e}"))?;
    let fpid = child.id();
    std::mem::forget(child);
    drop(w);
    let mut answer = String::new();
    let _ = std::fs::File::from(r).read_to_string(&mut answer);
    if answer.starts_with("OK") {
        return Ok(fpid);
    }
    unsafe { libc::waitpid(fpid as i32, std::ptr::null_mut(), 0) };
    Err(answer.trim().strip_prefix("ERR ").unwrap_or("the port forwarder exited").to_string())
}

fn bind_netns(pid: u32, file: &Path) -> Result<(), String> {
    std::fs::File::create(file).map_err(|e| format!("create {}: {e}", file.display()))?;
    nix::mount::mount(
        Some(Path::new(&format!("/proc/{pid}/ns/net"))),
        file,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| format!("bind the container's network namespace for pasta: {e}"))
}

/// pasta's `-t` value for our ports: `[IP/]HOST:CONTAINER,…` or `none`.
fn pasta_spec(ports: &[PortSpec], proto: &str) -> String {
    let v: Vec<String> = ports
        .iter()
        .filter(|p| p.proto == proto)
        .map(|p| {
            let ip = if p.host_ip.is_empty() { String::new() } else { format!("{}/", p.host_ip) };
            format!("{ip}{}:{}", p.host_port, p.container_port)
        })
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

fn wait_ready_fd(r: OwnedFd) -> Result<(), String> {
    let mut b = [0u8; 1];
    match std::fs::File::from(r).read(&mut b) {
        Ok(1) => Ok(()),
        _ => Err("slirp4netns exited before configuring the container's network".into()),
    }
}

/// pasta writes its pid file once set up.
fn wait_pidfile(pid: u32, pidfile: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::fs::metadata(pidfile).is_ok_and(|m| m.len() > 0) {
            return Ok(());
        }
        let mut st = 0;
        if unsafe { libc::waitpid(pid as i32, &mut st, libc::WNOHANG) } == pid as i32 {
            return Err("pasta exited before configuring the container's network".into());
        }
        if Instant::now() > deadline {
            return Err("pasta did not configure the container's network in 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
