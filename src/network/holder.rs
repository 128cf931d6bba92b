//! The user networks' holder: `rcon __netns`, one small process per user
//! (not per network) that owns the network namespace the bridges of
//! user-defined networks live in, plugs containers into them, and answers
//! DNS for their names. It is not a daemon in Docker's sense: the first
//! container joining a user network starts it, and it exits once no
//! container is attached and nobody is talking to it.
//!
//! Why one process and one namespace for every network:
//!
//! - Moving a veth into a container's network namespace needs CAP_NET_ADMIN
//!   over both namespaces. Rootless, nobody has that over two sibling user
//!   namespaces, so containers on user networks get user namespaces nested
//!   in the holder's (`runtime::spawn`, "stage 1"): root there is the
//!   holder, which then has every capability over all of them. One holder
//!   for all networks keeps `network connect` to a second network possible.
//! - Isolation between networks needs no firewall: each network is its own
//!   bridge, forwarding stays off in the holder's namespace, and a
//!   container's default route goes out through its own slirp4netns, never
//!   through a bridge.
//!
//! ```text
//! RUN/netns.sock             requests: one JSON line, one JSON line back
//! RUN/netns.lock             held to connect-or-start, and by the holder to exit
//! RUN/netns.json             {holder pid, endpoints}: read by inspect, ps, network rm
//! RUN/netns.log              the holder's stderr
//! ```
//!
//! Plumbing: rtnetlink requests and interface ioctls (`rtnl.rs`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::dns;
use super::resolver::Resolver;
use super::rtnl;
use super::user::{Network, Subnet};
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::state;
use crate::storage::userns::{self, IdMap};

const SOCKET: &str = "netns.sock";
const LOCK: &str = "netns.lock";
const STATE: &str = "netns.json";
const LOG: &str = "netns.log";
/// How long the holder outlives its last container: a restarting container
/// comes back within this without paying for a new namespace.
const LINGER: Duration = Duration::from_secs(3);

/// What joining a network asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachRequest {
    pub network: Network,
    pub container: String,
    /// The container's name, without Docker's leading slash.
    pub name: String,
    pub aliases: Vec<String>,
    /// `--ip`, if given.
    pub ip: Option<String>,
    /// The container's init, in the host's pid namespace.
    pub pid: u32,
}

/// One container on one network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub network: String,
    pub network_id: String,
    pub container: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub ip: String,
    pub prefix: u8,
    pub gateway: String,
    pub mac: String,
    /// The interface inside the container (eth0, eth1…).
    pub ifname: String,
    /// Its peer on the bridge, in the holder's namespace.
    pub host_if: String,
    pub pid: u32,
    /// With `pid`: the container's init, even if the pid is reused later.
    pub pid_start: u64,
}

#[derive(Debug, Serialize, Deserialize)]
enum Request {
    Attach(Box<AttachRequest>),
    Detach { container: String, network: String },
}

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Attached(Box<Endpoint>),
    Done,
    Failed(String),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    holder: u32,
    holder_start: u64,
    endpoints: Vec<Endpoint>,
}

fn other(msg: impl Into<String>) -> Error {
    Error::Other(msg.into())
}

/// A connection to the holder (started if none runs). While it is open the
/// holder stays.
pub struct Client {
    stream: BufReader<UnixStream>,
    pub holder_pid: u32,
}

impl Client {
    pub fn connect(paths: &Paths) -> Result<Client> {
        state::ensure_dir(&paths.runtime)?;
        // Held across connect-or-start: the holder takes it before exiting, so
        // a connection never reaches a holder that is on its way out.
        let _lock = state::Lock::exclusive(&paths.runtime.join(LOCK))?;
        let sock = paths.runtime.join(SOCKET);
        let stream = match UnixStream::connect(&sock) {
            Ok(s) => s,
            Err(_) => {
                start(paths)?;
                UnixStream::connect(&sock).map_err(|e| other(format!("connect to the network holder: {e}")))?
            }
        };
        let cred = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
            .map_err(|e| other(format!("network holder credentials: {e}")))?;
        Ok(Client { stream: BufReader::new(stream), holder_pid: cred.pid() as u32 })
    }

    fn ask(&mut self, req: &Request) -> Result<Reply> {
        let mut line = serde_json::to_vec(req).map_err(|e| other(e.to_string()))?;
        line.push(b'\n');
        self.stream.get_mut().write_all(&line).map_err(|e| other(format!("network holder: {e}")))?;
        let mut answer = String::new();
        self.stream.read_line(&mut answer).map_err(|e| other(format!("network holder: {e}")))?;
        serde_json::from_str(&answer).map_err(|_| other("the network holder died: see RUN/netns.log"))
    }

    pub fn attach(&mut self, req: AttachRequest) -> Result<Endpoint> {
        match self.ask(&Request::Attach(Box::new(req)))? {
            Reply::Attached(e) => Ok(*e),
            Reply::Failed(m) => Err(other(m)),
            Reply::Done => Err(other("network holder: unexpected answer")),
        }
    }

    pub fn detach(&mut self, container: &str, network: &str) -> Result<()> {
        match self.ask(&Request::Detach { container: container.into(), network: network.into() })? {
            Reply::Failed(m) => Err(other(m)),
            _ => Ok(()),
        }
    }

    /// The user namespace containers on user networks nest in.
    pub fn userns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/user", self.holder_pid))
    }
}

/// The endpoints attached now (empty when no holder runs).
pub fn endpoints(paths: &Paths) -> Vec<Endpoint> {
    let Ok(Some(s)) = state::read_json::<StateFile>(&paths.runtime.join(STATE)) else { return Vec::new() };
    if state::process_start_time(s.holder) != Some(s.holder_start) {
        return Vec::new();
    }
    // The holder notices an exit a moment later than whoever waited for it
    // (`run --rm` then `network rm` must not see a stale endpoint).
    s.endpoints.into_iter().filter(|e| state::process_start_time(e.pid) == Some(e.pid_start)).collect()
}

/// Start the holder: in a new user namespace mapped like containers' (so
/// theirs can nest in it), then a new network namespace. Returns once it
/// listens.
fn start(paths: &Paths) -> Result<()> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.runtime.join(LOG))
        .map_err(|e| Error::io("open the network holder's log", e))?;
    let mut cmd = Command::new(crate::util::helper_binary());
    cmd.arg("__netns").arg(&paths.runtime).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(log);
    unsafe {
        cmd.pre_exec(|| {
            // The monitor blocks the signals it reads through a signalfd.
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| other(format!("start the network holder: {e}")))?;
    let res = (|| {
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut stdin = child.stdin.take().expect("piped");
        let mut line = String::new();
        out.read_line(&mut line).map_err(|e| other(e.to_string()))?;
        if line.trim() != "R" {
            return Err(other("the network holder could not create its user namespace (see RUN/netns.log)"));
        }
        if paths.rootless {
            userns::write_maps(child.id(), &IdMap::for_current_user()).map_err(|e| other(e.to_string()))?;
        }
        stdin.write_all(b"G\n").map_err(|e| other(e.to_string()))?;
        line.clear();
        out.read_line(&mut line).map_err(|e| other(e.to_string()))?;
        match line.trim().strip_prefix("OK") {
            Some(_) => Ok(()),
            None => Err(other(format!(
                "the network holder failed: {}",
                if line.trim().is_empty() { "see RUN/netns.log" } else { line.trim() }
            ))),
        }
    })();
    if res.is_err() {
        let _ = child.kill();
    }
    // It forks before it is ready: this reaps the parent half.
    let _ = child.wait();
    res
}

/// `rcon __netns RUNDIR`.
pub fn main(run_dir: &Path) -> i32 {
    let mut stdout = std::io::stdout().lock();
    let rootless = unsafe { libc::geteuid() } != 0;
    if rootless {
        if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
            let _ = writeln!(stdout, "ERR cannot create a user namespace: {e}");
            return 125;
        }
    }
    let _ = writeln!(stdout, "R");
    let _ = stdout.flush();
    let mut go = String::new();
    if std::io::stdin().lock().read_line(&mut go).is_err() || go.trim() != "G" {
        return 125;
    }
    // Detach from whoever started us (they reap this half, and read our
    // OK or ERR from the pipe we keep). Before any thread exists (fork keeps
    // only the calling one) and before the socket is bound (clients learn
    // our pid from its credentials).
    match unsafe { libc::fork() } {
        0 => {}
        pid if pid > 0 => unsafe { libc::_exit(0) },
        _ => {
            let _ = writeln!(stdout, "ERR fork: {}", std::io::Error::last_os_error());
            return 125;
        }
    }
    let mut h = match setup(run_dir, rootless) {
        Ok(h) => h,
        Err(e) => {
            let _ = writeln!(stdout, "ERR {e}");
            return 125;
        }
    };
    let sock = run_dir.join(SOCKET);
    let _ = std::fs::remove_file(&sock);
    let listener = match UnixListener::bind(&sock) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(stdout, "ERR bind {}: {e}", sock.display());
            return 125;
        }
    };
    let _ = listener.set_nonblocking(true);
    h.listener = Some(listener);
    h.me = std::process::id();
    h.save();
    let _ = writeln!(stdout, "OK");
    let _ = stdout.flush();
    drop(stdout);
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        libc::dup2(null, 0);
        libc::dup2(null, 1);
    }
    h.serve();
    0
}

/// A network with a bridge in the holder's namespace.
struct Bridge {
    net: Network,
    dev: String,
}

struct Holder {
    run_dir: PathBuf,
    me: u32,
    listener: Option<UnixListener>,
    clients: Vec<(UnixStream, Vec<u8>)>,
    bridges: BTreeMap<String, Bridge>,
    endpoints: Vec<Endpoint>,
    /// pidfds of attached containers' inits, by pid.
    watched: BTreeMap<u32, OwnedFd>,
    resolver: Resolver,
    next_if: u32,
    idle_since: Option<Instant>,
}

fn setup(run_dir: &Path, rootless: bool) -> std::result::Result<Holder, String> {
    if rootless {
        unsafe {
            libc::setresgid(0, 0, 0);
            libc::setresuid(0, 0, 0);
        }
    }
    // Before leaving the host's network namespace: upstream resolvers,
    // loopback ones (systemd-resolved) included, stay reachable through it.
    let upstream = UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("upstream DNS socket: {e}"))?;
    upstream.set_nonblocking(true).map_err(|e| e.to_string())?;
    let servers = dns::upstream_servers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default());
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| format!("new network namespace: {e}"))?;
    let resolver = Resolver::start(upstream, servers).map_err(|e| format!("start the resolver: {e}"))?;
    rtnl::link_up("lo").map_err(|e| format!("bring up loopback: {e}"))?;
    Ok(Holder {
        run_dir: run_dir.to_path_buf(),
        me: 0,
        listener: None,
        clients: Vec::new(),
        bridges: BTreeMap::new(),
        endpoints: Vec::new(),
        watched: BTreeMap::new(),
        resolver,
        next_if: 0,
        idle_since: None,
    })
}

/// Docker's MAC addresses: 02:42 and the IPv4 address.
fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

impl Holder {
    fn save(&self) {
        let s = StateFile {
            holder: self.me,
            holder_start: state::process_start_time(self.me).unwrap_or(0),
            endpoints: self.endpoints.clone(),
        };
        let _ = state::replace_json(&self.run_dir.join(STATE), &s);
        self.resolver.publish(&self.endpoints);
    }

    fn serve(&mut self) {
        loop {
            if self.clients.is_empty() && self.endpoints.is_empty() {
                let since = *self.idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= LINGER && self.try_exit() {
                    return;
                }
            } else {
                self.idle_since = None;
            }
            let mut fds = vec![libc::pollfd {
                fd: self.listener.as_ref().map_or(-1, |l| l.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            }];
            let nclients = self.clients.len();
            fds.extend(self.clients.iter().map(|(c, _)| libc::pollfd {
                fd: c.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }));
            let pids: Vec<u32> = self.watched.keys().copied().collect();
            fds.extend(self.watched.values().map(|f| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }));
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
            if n <= 0 {
                continue;
            }
            if fds[0].revents != 0 {
                while let Some(Ok((c, _))) = self.listener.as_ref().map(|l| l.accept()) {
                    let _ = c.set_nonblocking(true);
                    self.clients.push((c, Vec::new()));
                }
            }
            let base = 1;
            let mut gone = Vec::new();
            for i in 0..nclients {
                if fds[base + i].revents != 0 && !self.read_client(i) {
                    gone.push(i);
                }
            }
            let base = base + nclients;
            for (j, pid) in pids.iter().enumerate() {
                if fds[base + j].revents != 0 {
                    self.container_exited(*pid);
                }
            }
            for i in gone.into_iter().rev() {
                self.clients.remove(i);
            }
        }
    }

    /// Exit unless someone connected meanwhile. Under the lock, so that
    /// `Client::connect` either reaches us before we decide or starts anew.
    fn try_exit(&mut self) -> bool {
        let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(self.run_dir.join(LOCK));
        // The runtime directory is gone (a reset, a test's cleanup): so is
        // everyone who could connect.
        let Ok(lock) = lock else { return true };
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return false;
        }
        if let Some(Ok((c, _))) = self.listener.as_ref().map(|l| l.accept()) {
            let _ = c.set_nonblocking(true);
            self.clients.push((c, Vec::new()));
            return false;
        }
        let _ = std::fs::remove_file(self.run_dir.join(SOCKET));
        let _ = std::fs::remove_file(self.run_dir.join(STATE));
        true
    }

    /// False when the client has gone.
    fn read_client(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            match self.clients[i].0.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => self.clients[i].1.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        while let Some(pos) = self.clients[i].1.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.clients[i].1.drain(..=pos).collect();
            let reply = match serde_json::from_slice::<Request>(&line) {
                Ok(Request::Attach(r)) => match self.attach(*r) {
                    Ok(e) => Reply::Attached(Box::new(e)),
                    Err(m) => Reply::Failed(m),
                },
                Ok(Request::Detach { container, network }) => match self.detach(&container, &network) {
                    Ok(()) => Reply::Done,
                    Err(m) => Reply::Failed(m),
                },
                Err(e) => Reply::Failed(format!("bad request: {e}")),
            };
            let mut out = serde_json::to_vec(&reply).unwrap_or_default();
            out.push(b'\n');
            let c = &mut self.clients[i].0;
            let _ = c.set_nonblocking(false);
            let ok = c.write_all(&out).is_ok();
            let _ = c.set_nonblocking(true);
            if !ok {
                return false;
            }
        }
        true
    }

    /// The bridge of `net`, created on first use.
    fn bridge(&mut self, net: &Network) -> std::result::Result<(), String> {
        if let Some(b) = self.bridges.get(&net.name) {
            if b.net.id == net.id {
                return Ok(());
            }
            // Removed and created again under the same name meanwhile.
            if self.endpoints.iter().any(|e| e.network == net.name) {
                return Err(format!("network {} was recreated while containers use the old one", net.name));
            }
            self.drop_bridge(&net.name);
        }
        let subnet = Subnet::parse(&net.subnet).map_err(|e| e.to_string())?;
        let dev = format!("rc-{}", &net.id[..12]);
        let gw: Ipv4Addr = net.gateway.parse().map_err(|_| format!("bad gateway {}", net.gateway))?;
        // A fixed address: otherwise a bridge takes the lowest of its ports'
        // addresses, which changes as containers come and go, and
        // containers that cached the old one lose the gateway (and DNS).
        rtnl::create_bridge(&dev, &mac_for(gw), gw, subnet.len)
            .map_err(|e| format!("create the bridge of network {}: {e}", net.name))?;
        let dns = UdpSocket::bind((gw, 53)).map_err(|e| format!("DNS on {gw}:53: {e}"));
        let dns = match dns {
            Ok(d) => d,
            Err(e) => {
                let _ = rtnl::delete_link(&dev);
                return Err(e);
            }
        };
        self.resolver.add(&net.name, net.internal, dns);
        self.bridges.insert(net.name.clone(), Bridge { net: net.clone(), dev });
        Ok(())
    }

    fn drop_bridge(&mut self, name: &str) {
        if let Some(b) = self.bridges.remove(name) {
            self.resolver.remove(name);
            // In the background: deleting a device waits for the kernel's
            // rtnl lock, which may be busy for a while.
            std::thread::spawn(move || rtnl::delete_link(&b.dev));
        }
    }

    fn attach(&mut self, r: AttachRequest) -> std::result::Result<Endpoint, String> {
        if let Some(e) = self.endpoints.iter().find(|e| e.container == r.container && e.network == r.network.name) {
            if e.pid == r.pid {
                return Ok(e.clone());
            }
            // The container restarted: its old endpoint went with its old init.
            let pid = e.pid;
            self.container_exited(pid);
        }
        self.bridge(&r.network)?;
        let subnet = Subnet::parse(&r.network.subnet).map_err(|e| e.to_string())?;
        let gw: Ipv4Addr = r.network.gateway.parse().map_err(|_| "bad gateway".to_string())?;
        let taken: Vec<Ipv4Addr> =
            self.endpoints.iter().filter(|e| e.network == r.network.name).filter_map(|e| e.ip.parse().ok()).collect();
        let addr = match &r.ip {
            Some(s) => {
                let a: Ipv4Addr = s.parse().map_err(|_| format!("invalid --ip {s}: use an IPv4 address"))?;
                if !r.network.usable(a) {
                    return Err(format!(
                        "--ip {a} is not a usable address of network {} ({}): choose another",
                        r.network.name, r.network.subnet
                    ));
                }
                if taken.contains(&a) {
                    return Err(format!(
                        "address {a} is already in use on network {}: choose another --ip",
                        r.network.name
                    ));
                }
                a
            }
            None => r
                .network
                .hosts()
                .find(|a| !taken.contains(a))
                .ok_or_else(|| format!("network {} has no free address left", r.network.name))?,
        };
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, r.pid, 0) };
        if pidfd < 0 {
            return Err(format!("container {} is not running", r.name));
        }
        let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
        let netns = std::fs::File::open(format!("/proc/{}/ns/net", r.pid))
            .map_err(|e| format!("open the network namespace of container {}: {e}", r.name))?;
        let used: Vec<&str> = self.endpoints.iter().filter(|e| e.pid == r.pid).map(|e| e.ifname.as_str()).collect();
        let ifname = (0..).map(|i| format!("eth{i}")).find(|n| !used.contains(&n.as_str())).expect("unbounded");
        let host_if = format!("rv{}", self.next_if);
        self.next_if += 1;
        let mac = mac_for(addr);
        let dev = &self.bridges[&r.network.name].dev;
        let master = rtnl::index_of(dev).map_err(|e| format!("bridge {dev}: {e}"))?;
        rtnl::create_veth(&host_if, master, &ifname, &mac, r.pid).map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                format!(
                    "container {} was started outside user networks: restart it to connect it to {} ({e})",
                    r.name, r.network.name
                )
            } else {
                format!("create the interface of container {} on network {}: {e}", r.name, r.network.name)
            }
        })?;
        if let Err(e) = rtnl::configure_in(netns.as_raw_fd(), &ifname, addr, Ipv4Addr::from(subnet.mask())) {
            let _ = rtnl::delete_link(&host_if);
            return Err(format!("configure {ifname} in container {}: {e}", r.name));
        }
        let e = Endpoint {
            network: r.network.name.clone(),
            network_id: r.network.id.clone(),
            container: r.container,
            name: r.name,
            aliases: r.aliases,
            ip: addr.to_string(),
            prefix: subnet.len,
            gateway: gw.to_string(),
            mac,
            ifname,
            host_if,
            pid: r.pid,
            pid_start: state::process_start_time(r.pid).unwrap_or(0),
        };
        self.watched.entry(r.pid).or_insert(pidfd);
        self.endpoints.push(e.clone());
        self.save();
        Ok(e)
    }

    fn detach(&mut self, container: &str, network: &str) -> std::result::Result<(), String> {
        let Some(i) = self.endpoints.iter().position(|e| e.container == container && e.network == network) else {
            return Ok(());
        };
        let e = self.endpoints.remove(i);
        let _ = rtnl::delete_link(&e.host_if);
        if !self.endpoints.iter().any(|x| x.pid == e.pid) {
            self.watched.remove(&e.pid);
        }
        self.forget_unused_bridges();
        self.save();
        Ok(())
    }

    fn container_exited(&mut self, pid: u32) {
        self.watched.remove(&pid);
        let (gone, kept): (Vec<Endpoint>, Vec<Endpoint>) =
            std::mem::take(&mut self.endpoints).into_iter().partition(|e| e.pid == pid);
        self.endpoints = kept;
        // Their veths went with the container's network namespace (a veth
        // pair dies with either end): nothing to delete, and nothing to wait
        // for behind the kernel's rtnl lock.
        drop(gone);
        self.forget_unused_bridges();
        self.save();
    }

    fn forget_unused_bridges(&mut self) {
        let unused: Vec<String> =
            self.bridges.keys().filter(|n| !self.endpoints.iter().any(|e| &e.network == *n)).cloned().collect();
        for n in unused {
            self.drop_bridge(&n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_style_macs() {
        assert_eq!(mac_for(Ipv4Addr::new(10, 89, 0, 2)), "02:42:0a:59:00:02");
    }
}
