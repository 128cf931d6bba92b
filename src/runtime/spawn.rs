//! Starting a container's init: clone into new namespaces, let the parent
//! write the user namespace's id maps, build the root file system, become the
//! container's user, drop privileges, exec.
//!
//! The caller (the monitor) must be single-threaded: clone(2) here is used
//! like fork(2), and the child allocates. Failures in the child travel back
//! over a close-on-exec pipe as "CODE message"; a successful exec closes the
//! pipe empty.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::rootfs::{self, RootfsPlan};
use super::user;
use crate::storage::userns::{self, IdMap};

pub struct Launch {
    pub rootfs: RootfsPlan,
    pub process: Process,
    pub hostname: String,
    /// -t: the socket to send the container's pty master on (SCM_RIGHTS).
    pub console_socket: Option<RawFd>,
    /// Some: rootless, map these ids; None: real root, no user namespace.
    pub idmap: Option<IdMap>,
    pub new_net: bool,
    pub new_pid: bool,
    pub new_ipc: bool,
    pub new_uts: bool,
    /// Resource limits to put the container's init under (root only).
    pub cgroup: Option<(String, crate::container::resources::Limits)>,
    /// fuse-overlayfs options: the monitor mounts the root file system with a
    /// fuse-overlayfs daemon that joins the container's user and mount
    /// namespaces but not its pid namespace, so the container never sees it.
    pub fuse_options: Option<String>,
    /// slirp4netns or pasta to connect the new network namespace.
    pub network: Option<crate::network::helper::Plan>,
    /// Namespaces to enter before cloning (see `Join`).
    pub join: Option<Join>,
    /// User networks to plug the container into before it runs.
    pub user_nets: Option<UserNets>,
    /// A pod's infra container: no root file system; exec this program
    /// (rcon itself, `runtime::pause`) with this argv[0] instead.
    pub pause: Option<(CString, String)>,
}

/// "Stage 1": a short-lived fork of the monitor enters these namespaces and
/// clones the container from there (CLONE_PARENT: it stays the monitor's
/// child). Rootless user networks: the holder's user namespace, so the
/// container's nests in it and the holder may plug veths into it
/// (`network::holder`). `--network container:NAME`: that container's user
/// and network namespaces, shared rather than created.
pub struct Join {
    pub userns: Option<OwnedFd>,
    pub netns: Option<OwnedFd>,
    /// A pod's (or `--ipc container:NAME`'s) IPC and UTS namespaces.
    pub ipcns: Option<OwnedFd>,
    pub utsns: Option<OwnedFd>,
    /// The new user namespace's maps in the joined namespace's ids, written
    /// by stage 1 (root there; newuidmap works only from the host's).
    pub map: Option<IdMap>,
}

pub struct UserNets {
    pub client: std::cell::RefCell<crate::network::holder::Client>,
    pub requests: Vec<crate::network::holder::AttachRequest>,
    /// The container's /etc/hosts, which gets its address on the first network.
    pub hosts: std::path::PathBuf,
    pub hostname: String,
}

impl UserNets {
    fn attach(&self, pid: u32) -> Result<(), String> {
        let mut client = self.client.borrow_mut();
        for (i, r) in self.requests.iter().enumerate() {
            let e =
                client.attach(crate::network::holder::AttachRequest { pid, ..r.clone() }).map_err(|e| e.to_string())?;
            if i == 0 {
                crate::network::set_own_address(&self.hosts, &e.ip, &self.hostname)
                    .map_err(|e| format!("write /etc/hosts: {e}"))?;
            }
        }
        Ok(())
    }
}

/// The process to become inside the container: shared by a container's
/// init and by `exec`.
pub struct Process {
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub group_add: Vec<String>,
    /// stdin, stdout, stderr (the pty slave with -t).
    pub stdio: [RawFd; 3],
    pub tty: bool,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub seccomp: Option<super::seccomp::Filter>,
    pub rlimits: Vec<super::Rlimit>,
    /// Only the user's own id is mapped: setgroups(2) is denied.
    pub single_id: bool,
    /// --init: stay as pid 1 reaping and forwarding signals, exec in a child.
    pub init: bool,
}

/// Why a container did not start, with Docker's exit code for it.
#[derive(Debug)]
pub struct StartError {
    pub code: i32,
    pub message: String,
}

pub struct Started {
    pub pid: u32,
    /// The fuse-overlayfs daemon serving the root file system, if any.
    pub fuse_pid: Option<u32>,
    /// The network helper (slirp4netns, pasta), if any.
    pub net: Option<crate::network::helper::Helper>,
}

fn pipe() -> Result<(OwnedFd, OwnedFd), StartError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| StartError { code: 125, message: format!("pipe: {e}") })
}

pub fn spawn(l: &Launch) -> Result<Started, StartError> {
    let (go_r, go_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (ready_r, ready_w) = pipe()?;
    let mut flags = libc::CLONE_NEWNS;
    let joins_userns = l.join.as_ref().is_some_and(|j| j.userns.is_some() && j.map.is_none());
    if l.idmap.is_some() && !joins_userns {
        flags |= libc::CLONE_NEWUSER;
    }
    if l.new_pid {
        flags |= libc::CLONE_NEWPID;
    }
    if l.new_net && l.join.as_ref().is_none_or(|j| j.netns.is_none()) {
        flags |= libc::CLONE_NEWNET;
    }
    if l.new_ipc {
        flags |= libc::CLONE_NEWIPC;
    }
    if l.new_uts {
        flags |= libc::CLONE_NEWUTS;
    }
    let parent = std::process::id();
    let pid = clone_container(flags, l.join.as_ref())?;
    if pid == 0 {
        drop(go_w);
        drop(err_r);
        drop(ready_r);
        let res = child(l, parent, go_r, ready_w);
        let (code, msg) = match res {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let text = format!("{code} {msg}");
        unsafe {
            libc::write(err_w.as_raw_fd(), text.as_ptr().cast(), text.len());
            libc::_exit(code);
        }
    }
    drop(go_r);
    drop(err_w);
    let maps_written = l.join.as_ref().is_some_and(|j| j.userns.is_some());
    if let (Some(map), false) = (&l.idmap, maps_written) {
        if let Err(e) = userns::write_maps(pid, map) {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            reap(pid);
            return Err(StartError { code: 125, message: e.to_string() });
        }
    }
    if let Some((id, limits)) = &l.cgroup {
        // Before the child runs a single instruction of the container.
        if let Err(e) = super::cgroups::apply(id, pid, limits) {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            reap(pid);
            super::cgroups::remove(id);
            return Err(StartError { code: 125, message: e });
        }
    }
    // The network is up before the container's command runs.
    let net = match &l.network {
        Some(plan) => match crate::network::helper::start(pid, plan) {
            Ok(h) => Some(h),
            Err(e) => {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                reap(pid);
                return Err(StartError { code: 125, message: e });
            }
        },
        None => None,
    };
    if let Some(u) = &l.user_nets {
        if let Err(e) = u.attach(pid) {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            reap(pid);
            if let Some(h) = &net {
                h.stop();
            }
            return Err(StartError { code: 125, message: e });
        }
    }
    drop(ready_w);
    let mut go = std::fs::File::from(go_w);
    let _ = std::io::Write::write_all(&mut go, b"G");
    let mut fuse_pid = None;
    if let Some(opts) = &l.fuse_options {
        let mut b = [0u8; 1];
        if std::fs::File::from(ready_r).read_exact(&mut b).is_ok() {
            match mount_fuse(pid, opts, &l.rootfs.merged) {
                Ok(fp) => fuse_pid = Some(fp),
                Err(e) => {
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    reap(pid);
                    if let Some(h) = &net {
                        h.stop();
                    }
                    return Err(StartError { code: 125, message: e });
                }
            }
        }
        let _ = std::io::Write::write_all(&mut go, b"M");
    }
    drop(go);
    let mut msg = String::new();
    let _ = std::fs::File::from(err_r).read_to_string(&mut msg);
    if !msg.is_empty() {
        reap(pid);
        if let Some(fp) = fuse_pid {
            unsafe { libc::kill(fp as i32, libc::SIGTERM) };
            reap(fp);
        }
        if let Some(h) = &net {
            h.stop();
        }
        let (code, text) = msg.split_once(' ').unwrap_or(("125", &msg));
        return Err(StartError { code: code.parse().unwrap_or(125), message: text.to_string() });
    }
    Ok(Started { pid, fuse_pid, net })
}

/// clone(2) the container's init: directly, or from a stage 1 process that
/// first enters `join`'s namespaces. Returns 0 in the container's process.
fn clone_container(flags: i32, join: Option<&Join>) -> Result<u32, StartError> {
    // clone(2) without a new stack behaves like fork(2) with namespaces.
    let raw = |flags: i32| unsafe {
        libc::syscall(libc::SYS_clone, (flags | libc::SIGCHLD) as libc::c_ulong, 0usize, 0usize, 0usize, 0usize)
    };
    let failed = |what: &str| StartError {
        code: 125,
        message: format!("cannot create the container's namespaces: {what}: {}", std::io::Error::last_os_error()),
    };
    let Some(j) = join else {
        let pid = raw(flags);
        return if pid < 0 { Err(failed("clone")) } else { Ok(pid as u32) };
    };
    let (pid_r, pid_w) = pipe()?;
    let stage1 = unsafe { libc::fork() };
    if stage1 < 0 {
        return Err(failed("fork"));
    }
    if stage1 == 0 {
        drop(pid_r);
        let report = |msg: String| -> ! {
            unsafe {
                libc::write(pid_w.as_raw_fd(), msg.as_ptr().cast(), msg.len());
                libc::_exit(125)
            }
        };
        unsafe {
            if let Some(u) = &j.userns {
                if libc::setns(u.as_raw_fd(), libc::CLONE_NEWUSER) != 0 {
                    report(format!("Eenter the user namespace: {}", std::io::Error::last_os_error()));
                }
            }
            for (ns, flag, what) in [
                (&j.netns, libc::CLONE_NEWNET, "network"),
                (&j.ipcns, libc::CLONE_NEWIPC, "IPC"),
                (&j.utsns, libc::CLONE_NEWUTS, "UTS"),
            ] {
                if let Some(n) = ns {
                    if libc::setns(n.as_raw_fd(), flag) != 0 {
                        report(format!("Eenter the {what} namespace: {}", std::io::Error::last_os_error()));
                    }
                }
            }
        }
        let pid = raw(flags | libc::CLONE_PARENT);
        if pid == 0 {
            return Ok(0);
        }
        if pid < 0 {
            report(format!("Eclone: {}", std::io::Error::last_os_error()));
        }
        if let Some(map) = &j.map {
            if let Err(e) = userns::write_maps_direct(pid as u32, map) {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                report(format!("Ewrite the nested user namespace's maps: {e}"));
            }
        }
        let msg = format!("P{pid}");
        unsafe {
            libc::write(pid_w.as_raw_fd(), msg.as_ptr().cast(), msg.len());
            libc::_exit(0)
        }
    }
    drop(pid_w);
    let mut msg = String::new();
    let _ = std::fs::File::from(pid_r).read_to_string(&mut msg);
    reap(stage1 as u32);
    match (msg.strip_prefix('P').and_then(|p| p.parse::<u32>().ok()), msg.strip_prefix('E')) {
        (Some(pid), _) => Ok(pid),
        (None, Some(e)) => {
            Err(StartError { code: 125, message: format!("cannot create the container's namespaces: {e}") })
        }
        _ => Err(StartError { code: 125, message: "cannot create the container's namespaces: stage 1 died".into() }),
    }
}

fn reap(pid: u32) {
    let mut st = 0;
    unsafe { libc::waitpid(pid as i32, &mut st, 0) };
}

pub enum Never {}

pub type ChildResult = Result<Never, (i32, String)>;

fn fail(code: i32) -> impl FnOnce(String) -> (i32, String) {
    move |m| (code, m)
}

/// Start fuse-overlayfs inside the container's user and mount namespaces
/// (but in our pid namespace) and wait until the root file system is served.
fn mount_fuse(pid: u32, opts: &str, merged: &std::path::Path) -> Result<u32, String> {
    let prog =
        crate::util::which("fuse-overlayfs").ok_or("fuse-overlayfs not found: install the fuse-overlayfs package")?;
    if std::fs::OpenOptions::new().read(true).write(true).open("/dev/fuse").is_err() {
        return Err("/dev/fuse is not accessible: as root, chmod 0666 /dev/fuse (Debian's default mode), or use the vfs driver (RCON_STORAGE_DRIVER=vfs)".into());
    }
    let ns = |n: &str| {
        std::fs::File::open(format!("/proc/{pid}/ns/{n}"))
            .map_err(|e| format!("open the container's {n} namespace: {e}"))
    };
    let (userns, mntns) = (ns("user")?, ns("mnt")?);
    let args = [
        user::cstr(&prog.display().to_string()),
        user::cstr("-f"),
        user::cstr("-o"),
        user::cstr(opts),
        user::cstr(&merged.display().to_string()),
    ];
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let fp = unsafe { libc::fork() };
    if fp < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if fp == 0 {
        unsafe {
            // A daemon with the monitor's blocked signals would never stop.
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if libc::setns(userns.as_raw_fd(), libc::CLONE_NEWUSER) != 0
                || libc::setns(mntns.as_raw_fd(), libc::CLONE_NEWNS) != 0
            {
                libc::_exit(125);
            }
            libc::execv(argv[0], argv.as_ptr());
            libc::_exit(127);
        }
    }
    let target = format!(" {} ", merged.display());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
        if info.lines().any(|l| l.contains(&target) && l.contains("fuse")) {
            return Ok(fp as u32);
        }
        let mut st = 0;
        if unsafe { libc::waitpid(fp, &mut st, libc::WNOHANG) } == fp || std::time::Instant::now() > deadline {
            unsafe { libc::kill(fp, libc::SIGKILL) };
            return Err("fuse-overlayfs did not mount the container's root file system".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

fn child(l: &Launch, parent: u32, go: OwnedFd, ready: OwnedFd) -> ChildResult {
    unsafe {
        // The container dies with its monitor, so a killed monitor never
        // leaves an unsupervised container behind.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // In a new pid namespace our parent is outside it: getppid() is 0.
        let ppid = libc::getppid() as u32;
        if ppid != parent && ppid != 0 {
            libc::_exit(125);
        }
    }
    let mut b = [0u8; 1];
    let mut f = std::fs::File::from(go);
    if f.read_exact(&mut b).is_err() {
        return Err((125, "the monitor went away before the container started".into()));
    }
    if l.idmap.is_some() {
        unsafe {
            if libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 {
                return Err((125, format!("become root in the user namespace: {}", std::io::Error::last_os_error())));
            }
        }
    }
    if l.new_uts {
        nix::unistd::sethostname(&l.hostname).map_err(|e| (125, format!("sethostname: {e}")))?;
    }
    if l.fuse_options.is_some() {
        // Let the monitor mount the root with fuse-overlayfs, then go on.
        rootfs::make_private().map_err(fail(125))?;
        let mut r = std::fs::File::from(ready);
        let _ = std::io::Write::write_all(&mut r, b"R");
        drop(r);
        if f.read_exact(&mut b).is_err() {
            return Err((125, "the monitor went away before the container started".into()));
        }
        // pivot_root moves the root of every process in a mount namespace,
        // the daemon's too, which would lose its layer paths: pivot in a
        // copy of the namespace of our own.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| (125, format!("unshare mount namespace: {e}")))?;
    } else {
        drop(ready);
    }
    drop(f);
    // Until exec replaces us, processes in the container must not be able to
    // open /proc/PID/exe and rewrite the host's rcon binary (the
    // CVE-2019-5736 class); execve resets this. (Not earlier: the monitor
    // reads our /proc entries to mount fuse-overlayfs, and no other process
    // exists in the container yet.)
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0) };
    if let Some((program, argv0)) = &l.pause {
        if l.new_net {
            loopback_up().map_err(fail(125))?;
        }
        return super::pause::exec(program, argv0, l.process.stdio);
    }
    rootfs::setup(&l.rootfs).map_err(fail(125))?;
    if l.new_net {
        loopback_up().map_err(fail(125))?;
    }
    let console = match l.console_socket {
        Some(sock) => Some(open_console(sock).map_err(fail(125))?),
        None => None,
    };
    become_process(&l.process, console.as_ref().map(|s| [s.as_raw_fd(); 3]))
}

/// In the new root: open a pty from the container's devpts, send the master
/// to the monitor, show the slave as /dev/console; the slave is our stdio.
fn open_console(sock: RawFd) -> Result<OwnedFd, String> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    use std::os::fd::FromRawFd;
    unsafe {
        let m = libc::open(c"/dev/ptmx".as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(format!("open /dev/ptmx: {}", std::io::Error::last_os_error()));
        }
        let master = OwnedFd::from_raw_fd(m);
        let unlock: libc::c_int = 0;
        libc::ioctl(m, libc::TIOCSPTLCK, &unlock);
        let s = libc::ioctl(m, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if s < 0 {
            return Err(format!("open the pty's peer: {}", std::io::Error::last_os_error()));
        }
        let slave = OwnedFd::from_raw_fd(s);
        let iov = [std::io::IoSlice::new(b"T")];
        let fds = [m];
        sendmsg::<()>(sock, &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
            .map_err(|e| format!("send the terminal to the monitor: {e}"))?;
        drop(master);
        let mut n: libc::c_uint = 0;
        if libc::ioctl(s, libc::TIOCGPTN, &mut n) == 0 {
            let src = std::ffi::CString::new(format!("/dev/pts/{n}")).expect("no NUL");
            let dst = c"/dev/console";
            let fd = libc::open(dst.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC, 0o600);
            if fd >= 0 {
                libc::close(fd);
            }
            libc::mount(src.as_ptr(), dst.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null());
        }
        Ok(slave)
    }
}

/// Resolve the user, set up identity, capabilities and seccomp, exec.
pub fn become_process(l: &Process, stdio: Option<[RawFd; 3]>) -> ChildResult {
    let stdio = stdio.unwrap_or(l.stdio);
    let u = user::resolve(&l.user, &l.group_add).map_err(fail(125))?;

    // Working directory: created if missing, as Docker does.
    let cwd = if l.cwd.is_empty() { "/".to_string() } else { l.cwd.clone() };
    match std::fs::metadata(&cwd) {
        Ok(md) if !md.is_dir() => {
            return Err((125, format!("working directory {cwd} is not a directory in the image: choose another -w")))
        }
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(&cwd).map_err(|e| (125, format!("create working directory {cwd}: {e}")))?,
    }

    for (res, soft, hard) in &l.rlimits {
        let r = libc::rlimit { rlim_cur: *soft, rlim_max: *hard };
        if unsafe { libc::setrlimit(*res, &r) } != 0 {
            return Err((125, format!("setrlimit: {}", std::io::Error::last_os_error())));
        }
    }

    let mut env: Vec<String> = l.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", if u.home.is_empty() { "/" } else { &u.home }));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let prog = find_program(&l.argv[0], &path)?;

    // Stdio, session and controlling terminal.
    unsafe {
        for (i, fd) in stdio.iter().enumerate() {
            if libc::dup2(*fd, i as i32) < 0 {
                return Err((125, format!("dup2: {}", std::io::Error::last_os_error())));
            }
        }
        libc::setsid();
        if l.tty {
            libc::ioctl(0, libc::TIOCSCTTY, 0);
        }
    }

    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
    // container will not have: load it now, still root of the namespace
    // (runc's order). Docker's profile allows everything that follows.
    if !l.no_new_privs {
        if let Some(f) = &l.seccomp {
            f.load().map_err(|e| (125, format!("load seccomp profile: {e}")))?;
        }
    }

    // Identity: groups, gid, uid, keeping capabilities across setuid so they
    // can be set to exactly what the container gets.
    unsafe {
        libc::prctl(libc::PR_SET_KEEPCAPS, 1);
        if libc::setgroups(u.groups.len(), u.groups.as_ptr()) != 0 {
            // No subgid range: setgroups is denied; keep going with the primary group.
            if u.groups.len() > 1 || !l.single_id {
                return Err((125, format!("setgroups: {}", std::io::Error::last_os_error())));
            }
        }
        if libc::setresgid(u.gid, u.gid, u.gid) != 0 {
            return Err((125, format!("setgid {}: {}", u.gid, std::io::Error::last_os_error())));
        }
        if libc::setresuid(u.uid, u.uid, u.uid) != 0 {
            return Err((
                125,
                format!(
                    "setuid {}: {} (is uid {} mapped? check /etc/subuid)",
                    u.uid,
                    std::io::Error::last_os_error(),
                    u.uid
                ),
            ));
        }
    }
    std::env::set_current_dir(&cwd).map_err(|e| (125, format!("chdir to {cwd}: {e}")))?;
    super::caps::apply(&l.caps, u.uid == 0).map_err(|e| (125, e.to_string()))?;
    if l.no_new_privs {
        super::seccomp::set_no_new_privs().map_err(|e| (125, format!("no_new_privs: {e}")))?;
        if let Some(f) = &l.seccomp {
            f.load().map_err(|e| (125, format!("load seccomp profile: {e}")))?;
        }
    }
    if l.init {
        if let Some(code) = super::init::fork_init() {
            unsafe { libc::_exit(code) };
        }
    }
    // Signals blocked by the monitor must not stay blocked in the container.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for s in 1..32 {
            if s != libc::SIGKILL && s != libc::SIGSTOP {
                libc::signal(s, libc::SIG_DFL);
            }
        }
    }
    // No descriptor of ours may survive into the container (the
    // CVE-2024-21626 class): everything above stdio is closed on exec.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    let argv: Vec<CString> = l.argv.iter().map(|a| user::cstr(a)).collect();
    let envp: Vec<CString> = env.iter().map(|a| user::cstr(a)).collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    unsafe { libc::execve(prog.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    let e = std::io::Error::last_os_error();
    Err(exec_error(&l.argv[0], e))
}

/// Docker's messages and codes for a command that cannot run.
fn exec_error(cmd: &str, e: std::io::Error) -> (i32, String) {
    match e.raw_os_error() {
        Some(libc::ENOENT) => (127, format!("exec: \"{cmd}\": stat {cmd}: no such file or directory")),
        Some(libc::EACCES) | Some(libc::EISDIR) | Some(libc::ENOEXEC) | Some(libc::EPERM) => {
            (126, format!("exec: \"{cmd}\": permission denied: the file is not executable"))
        }
        _ => (126, format!("exec: \"{cmd}\": {e}")),
    }
}

/// execvp's lookup, against the container's PATH (not ours).
fn find_program(cmd: &str, path: &str) -> Result<CString, (i32, String)> {
    if cmd.contains('/') {
        return Ok(user::cstr(cmd));
    }
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let p = format!("{dir}/{cmd}");
        if let Ok(md) = std::fs::metadata(&p) {
            if md.is_file() {
                return Ok(user::cstr(&p));
            }
        }
    }
    Err((127, format!("exec: \"{cmd}\": executable file not found in $PATH")))
}

/// Wrap a raw fd we own.
pub fn owned(fd: RawFd) -> OwnedFd {
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A new network namespace starts with `lo` down; Docker's containers have it up.
fn loopback_up() -> Result<(), String> {
    crate::network::rtnl::link_up("lo").map_err(|e| format!("bring up loopback: {e}"))
}
