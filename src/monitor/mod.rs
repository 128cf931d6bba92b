//! The monitor: one small process per running container (the rcon binary
//! re-executed as `rcon __monitor ID`), podman's conmon for rcon. It is the
//! parent of the container's init, owns its log file, copies its output to an
//! attached client, records the exit code and finish time, and does `--rm`.
//!
//! Protocol with the CLI that started it, over the pipe on fd 3:
//!   `STARTED <pid>`        the container runs
//!   `ERROR <code> <msg>`   it did not start (Docker's exit code)
//!   `EXIT <code>`          it ended (only for an attached client)
//!   `DETACHED`             the user typed the detach keys
//! With `--attach`, the monitor's own stdout/stderr (and with
//! `--attach-stdin` its stdin) are the client's terminal or pipes, given to
//! it explicitly by `engine::containers::start`; otherwise /dev/null. With
//! `--attach-socket=FD`, FD is a first attach-protocol client
//! (`container::attach`).

pub mod client;
pub mod health;
pub mod logs;
pub mod restart;
mod session;

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::container::attach::{self, DetachKeys};
use crate::container::{ContainerConfig, ContainerState, ContainerStore, Status};
use crate::format::units;
use crate::paths::Paths;
use crate::runtime;
use session::Session;

/// Entry point of `rcon __monitor ID [--attach]`.
pub fn main(args: &[String]) -> i32 {
    let Some((paths, args)) = crate::paths::Paths::from_args(args) else {
        eprintln!("rcon monitor: started without its paths");
        return 125;
    };
    let Some(id) = args.first() else { return 125 };
    let socket = args
        .iter()
        .find_map(|a| a.strip_prefix("--attach-socket="))
        .and_then(|fd| fd.parse::<RawFd>().ok())
        .map(|fd| unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) });
    let client = Client {
        stdio: args.iter().any(|a| a == "--attach"),
        stdin: args.iter().any(|a| a == "--attach-stdin"),
        socket,
        detach_keys: args.iter().find_map(|a| a.strip_prefix("--detach-keys=")).map(String::from),
    };
    // Set when the monitor re-executed itself to restart the container.
    let relaunched = args
        .iter()
        .find_map(|a| a.strip_prefix("--backoff-ms="))
        .map(|v| std::time::Duration::from_millis(v.parse().unwrap_or(0)));
    let notify = unsafe { std::fs::File::from_raw_fd(3) };
    match run(&paths, id, client, notify, relaunched) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rcon monitor: {e}");
            125
        }
    }
}

fn say(notify: &mut Option<std::fs::File>, msg: &str) {
    if let Some(f) = notify {
        if f.write_all(format!("{msg}\n").as_bytes()).is_err() {
            *notify = None;
        }
    }
}

/// Who the monitor reports to and copies the container's streams to.
pub struct Client {
    /// `--attach`: our fds 1 and 2 are the client's (its terminal or pipes),
    /// with `--attach-stdin` fd 0 too.
    pub stdio: bool,
    pub stdin: bool,
    /// `--attach-socket=FD`: a connected attach-protocol client, there
    /// before the container starts so that it misses no output.
    pub socket: Option<std::os::unix::net::UnixStream>,
    pub detach_keys: Option<String>,
}

/// Start the container and look after it until it has exited (then, under
/// its restart policy, become a fresh monitor for it). Its exit code.
pub fn run(
    paths: &Paths,
    id: &str,
    client: Client,
    notify: std::fs::File,
    relaunched: Option<std::time::Duration>,
) -> crate::Result<i32> {
    let mut notify = Some(notify);
    let store = ContainerStore::open(paths)?;
    let ctr = store.load(id)?;
    let cfg = ctr.config;
    let cx = Ctx { paths, store: &store, id, cfg: &cfg };

    let sfd = block_signals()?;
    let Stdio { fds: stdio, keep, console_sock, out_r, err_r, in_w } = container_stdio(&cfg)?;
    let (run_dir, listener) = attach_listener(&store, id)?;
    // Attached clients and whether their input side is still open.
    let mut clients: Vec<(std::os::unix::net::UnixStream, bool)> = Vec::new();
    if let Some(c) = client.socket {
        clients.push((c, true));
    }
    let attach = client.stdio;

    // The log exists before `start` returns: a reader that follows it
    // right after (docker-py's `run`) must not find it missing.
    let log = match open_log(&cx) {
        Ok(l) => l,
        Err(e) => {
            let e = runtime::spawn::StartError { code: 125, message: e.to_string() };
            return Ok(start_failed(&cx, &e, &mut notify));
        }
    };
    // A launch that cannot be planned (a network removed meanwhile) fails
    // like one that cannot start: the state and `start` say why.
    let started = crate::launch::plan(paths, &store, &cfg, stdio, console_sock.as_ref().map(|(_, c)| c.as_raw_fd()))
        .map_err(|e| runtime::spawn::StartError { code: 125, message: e.to_string() })
        .and_then(|launch| runtime::spawn::spawn(&launch));
    drop(keep);
    let master = match (&started, console_sock) {
        (Ok(_), Some((ours, theirs))) => Some(receive_terminal(ours, theirs, attach)?),
        _ => None,
    };
    let started = match started {
        Ok(s) => s,
        Err(e) => return Ok(start_failed(&cx, &e, &mut notify)),
    };
    // A start by the user begins a new count (Docker's ResetRestartManager).
    let restart_count = if relaunched.is_some() { ctr.state.restart_count } else { 0 };
    let (mut st, prober) = record_start(&cx, started.pid, restart_count, &mut notify)?;
    let running_since = std::time::Instant::now();

    let client_in: Option<RawFd> = if attach && client.stdin && cfg.open_stdin { Some(0) } else { None };
    let detach = DetachKeys::parse(client.detach_keys.as_deref().unwrap_or(&cfg.host.detach_keys));
    let outputs = session::outputs(&master, &out_r, &err_r);
    let open_outputs: Vec<bool> = vec![true; outputs.len()];
    let mut session = Session {
        cfg: &cfg,
        pid: started.pid,
        sfd: &sfd,
        listener: &listener,
        in_w,
        log,
        prober,
        master,
        clients,
        attached: attach,
        client_in,
        detach,
        outputs,
        open_outputs,
        exit: None,
        trimmed: false,
        buf: vec![0u8; 64 * 1024],
        on_failure: health::OnFailure::parse(&cfg.health_on_failure).unwrap_or(health::OnFailure::None),
        kill_at: None,
        health_restart: false,
        health_ended: false,
    };
    session.run(&mut notify)?;

    let (code, restart) = record_exit(&cx, &mut session, &mut st, &started)?;
    session.send_exit(code);
    let _ = std::fs::remove_file(run_dir.join(attach::SOCKET));
    say(&mut notify, &format!("EXIT {code}"));
    drop(notify.take());
    if let Some(h) = &started.net {
        h.reap();
    }
    if restart {
        let delay = restart::next_delay(relaunched.unwrap_or_default(), running_since.elapsed());
        relaunch(paths, &store, id, delay, &sfd, notify)?;
        // Only back here when the user stopped it during the delay.
        st.status = Status::Exited;
        st.stopped_by_user = true;
        store.write_state(id, &st)?;
    }
    Ok(code)
}

/// The container this monitor runs, and where its records are.
struct Ctx<'a> {
    paths: &'a Paths,
    store: &'a ContainerStore,
    id: &'a str,
    cfg: &'a ContainerConfig,
}

/// Signals arrive on a signalfd; the container gets them unblocked again.
fn block_signals() -> crate::Result<SignalFd> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGCHLD, Signal::SIGWINCH, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGPIPE] {
        mask.add(s);
    }
    mask.thread_block().map_err(|e| crate::Error::Other(format!("block signals: {e}")))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| crate::Error::Other(format!("signalfd: {e}")))
}

/// The container's stdio, made before it starts.
struct Stdio {
    /// The container's fds 0, 1 and 2 (-1 with a pty: it opens its own).
    fds: [RawFd; 3],
    /// The container's ends of its pipes (and /dev/null): closed once it has them.
    keep: Vec<OwnedFd>,
    /// With -t the pty is opened by the container in its own devpts instance
    /// (so the terminal is /dev/pts/0 in there, as with runc) and its master
    /// comes back to us over this socket: our end, the container's end.
    console_sock: Option<(OwnedFd, OwnedFd)>,
    /// Without -t: our ends of its stdout and stderr pipes.
    out_r: Option<OwnedFd>,
    err_r: Option<OwnedFd>,
    /// With -i (and no -t): our end of its stdin pipe.
    in_w: Option<OwnedFd>,
}

/// Container stdio: a pty with -t, pipes otherwise.
fn container_stdio(cfg: &ContainerConfig) -> crate::Result<Stdio> {
    let mut keep: Vec<OwnedFd> = Vec::new();
    if cfg.tty {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let pair = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| crate::Error::Other(format!("socketpair: {e}")))?;
        return Ok(Stdio { fds: [-1, -1, -1], keep, console_sock: Some(pair), out_r: None, err_r: None, in_w: None });
    }
    let (or, ow) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| crate::Error::Other(e.to_string()))?;
    let (er, ew) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| crate::Error::Other(e.to_string()))?;
    // With -i the container's stdin stays open for whoever attaches.
    let (stdin_fd, w) = if cfg.open_stdin {
        let (ir, iw) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| crate::Error::Other(e.to_string()))?;
        let fd = ir.as_raw_fd();
        keep.push(ir);
        (fd, Some(iw))
    } else {
        let null = std::fs::File::open("/dev/null").map_err(|e| crate::Error::io("open /dev/null", e))?;
        let fd = null.as_raw_fd();
        keep.push(OwnedFd::from(null));
        (fd, None)
    };
    let fds = [stdin_fd, ow.as_raw_fd(), ew.as_raw_fd()];
    keep.push(ow);
    keep.push(ew);
    Ok(Stdio { fds, keep, console_sock: None, out_r: Some(or), err_r: Some(er), in_w: w })
}

/// `rcon attach` connects here. Bound by a relative name from inside the
/// runtime directory: sun_path holds only 108 bytes.
fn attach_listener(store: &ContainerStore, id: &str) -> crate::Result<(PathBuf, UnixListener)> {
    let run_dir = store.run_dir(id);
    crate::state::ensure_dir(&run_dir)?;
    std::env::set_current_dir(&run_dir).map_err(|e| crate::Error::io(format!("chdir {}", run_dir.display()), e))?;
    let _ = std::fs::remove_file(run_dir.join(attach::SOCKET));
    let listener = UnixListener::bind(attach::SOCKET)
        .map_err(|e| crate::Error::io(format!("create attach socket in {}", run_dir.display()), e))?;
    listener.set_nonblocking(true).map_err(|e| crate::Error::io("attach socket", e))?;
    Ok((run_dir, listener))
}

/// With -t: the pty master the started container sent back (`theirs` is
/// closed first); an attached terminal gives it its size.
fn receive_terminal(ours: OwnedFd, theirs: OwnedFd, attach: bool) -> crate::Result<OwnedFd> {
    drop(theirs);
    let m = receive_fd(ours.as_raw_fd())
        .map_err(|e| crate::Error::Other(format!("receive the container's terminal: {e}")))?;
    if attach && unsafe { libc::isatty(0) } == 1 {
        copy_winsize(0, m.as_raw_fd());
    }
    Ok(m)
}

/// The container did not start: its state says why (or --rm removes it),
/// and so does the CLI that started it. Docker's exit code.
fn start_failed(cx: &Ctx, e: &runtime::spawn::StartError, notify: &mut Option<std::fs::File>) -> i32 {
    let mut st =
        ContainerState { status: Status::Created, error: e.message.clone(), exit_code: e.code, ..Default::default() };
    if cx.cfg.host.auto_remove {
        let _ = cx.store.remove(cx.id);
        let _ = crate::volume::mounts::remove_anonymous(cx.paths, cx.cfg);
    } else {
        st.status = Status::Exited;
        st.finished_at = units::now_rfc3339();
        let _ = cx.store.write_state(cx.id, &st);
    }
    say(notify, &format!("ERROR {} {}", e.code, e.message.replace('\n', " ")));
    e.code
}

/// The container runs: its state says so (with the monitor's and the init's
/// pid and start time), the CLI hears `STARTED`, the start event is logged.
fn record_start(
    cx: &Ctx,
    pid: u32,
    restart_count: u32,
    notify: &mut Option<std::fs::File>,
) -> crate::Result<(ContainerState, Option<health::Prober>)> {
    let me = std::process::id();
    let st = ContainerState {
        status: Status::Running,
        pid,
        pid_start: crate::state::process_start_time(pid).unwrap_or(0),
        monitor_pid: me,
        monitor_start: crate::state::process_start_time(me).unwrap_or(0),
        started_at: units::now_rfc3339(),
        restart_count,
        ..Default::default()
    };
    // Health is "starting" from the moment the state says running.
    let prober = health::Prober::new(cx.cfg.healthcheck.as_ref(), cx.id, &cx.store.dir(cx.id), cx.paths);
    cx.store.write_state(cx.id, &st)?;
    // Before STARTED, so whoever `run` returns to finds the mounts logged.
    crate::volume::mounts::mount_events(cx.paths, cx.cfg, "mount");
    say(notify, &format!("STARTED {pid}"));
    crate::events::container(cx.paths, cx.cfg, "start", &[]);
    Ok((st, prober))
}

/// The container's log, unless its log driver is `none`.
fn open_log(cx: &Ctx) -> crate::Result<Option<logs::LogWriter>> {
    let cfg = cx.cfg;
    let driver = logs::Driver::parse(if cfg.host.log_driver.is_empty() { "json-file" } else { &cfg.host.log_driver })
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    let log_opts =
        logs::LogOptions::parse_for(&driver, &cfg.host.log_opts).map_err(|e| crate::Error::Other(e.to_string()))?;
    if driver == logs::Driver::None {
        return Ok(None);
    }
    Ok(Some(
        logs::LogWriter::open(&cx.store.log_path(cx.id), driver, log_opts)
            .map_err(|e| crate::Error::Other(e.to_string()))?,
    ))
}

/// The container has exited and its output is drained: the log's last
/// line, the state (exited, or restarting under its policy), the die and
/// unmount events, the fuse daemon and cgroup gone, and `--rm`. The exit
/// code and whether to restart.
fn record_exit(
    cx: &Ctx,
    session: &mut Session,
    st: &mut ContainerState,
    started: &runtime::spawn::Started,
) -> crate::Result<(i32, bool)> {
    let (paths, store, id, cfg) = (cx.paths, cx.store, cx.id, cx.cfg);
    if let Some(l) = session.log.as_mut() {
        let _ = l.flush_partial();
    }
    // Before the state says exited: whoever waits for that (`rm -f`, `stop`)
    // may publish the same host ports next.
    if let Some(h) = &started.net {
        h.kill();
    }
    let code = session.exit.unwrap_or(137);
    let latest = store.load(id).map(|c| c.state).unwrap_or_default();
    // Re-read: `update --restart` or `rename` may have changed it since the start.
    let named = store.load(id).map(|c| c.config).unwrap_or_else(|_| cfg.clone());
    let policy = &named.host.restart_policy;
    let restart = !cfg.host.auto_remove
        && !latest.stopped_by_user
        && (session.health_restart || policy.should_restart(code, session.health_ended, st.restart_count));
    st.status = if restart { Status::Restarting } else { Status::Exited };
    if restart {
        st.restart_count += 1;
    }
    st.exit_code = code;
    st.finished_at = units::now_rfc3339();
    st.pid = 0;
    st.stopped_by_user = latest.stopped_by_user;
    store.write_state(id, st)?;
    crate::events::container(paths, &named, "die", &[("exitCode", &code.to_string())]);
    crate::volume::mounts::mount_events(paths, &named, "unmount");
    if let Some(fp) = started.fuse_pid {
        // The daemon keeps the container's mount namespace alive: end it.
        unsafe {
            libc::kill(fp as i32, libc::SIGTERM);
            libc::waitpid(fp as i32, std::ptr::null_mut(), 0);
        }
    }
    // `update` may have given a container made without limits cgroups.
    if !cfg.host.resources.is_empty() || !named.host.resources.is_empty() {
        runtime::cgroups::remove(id);
    }
    if cfg.host.auto_remove && store.remove(id).is_ok() {
        crate::events::container(paths, cfg, "destroy", &[]);
        // Docker's --rm takes the container's anonymous volumes along.
        let _ = crate::volume::mounts::remove_anonymous(paths, cfg);
    }
    Ok((code, restart))
}

/// Wait out the back-off, then become a fresh monitor for the same
/// container (see restart.rs). Returns when a stop arrived meanwhile: `rcon
/// stop` marks the state and sends us SIGTERM.
fn relaunch(
    paths: &crate::paths::Paths,
    store: &ContainerStore,
    id: &str,
    delay: std::time::Duration,
    sfd: &SignalFd,
    notify: Option<std::fs::File>,
) -> crate::Result<()> {
    let until = std::time::Instant::now() + delay;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let mut fds = [PollFd::new(sfd_borrow(sfd), PollFlags::POLLIN)];
        let ms = (left.as_millis() + 1).min(60_000) as u16;
        if matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0) {
            while let Ok(Some(si)) = sfd.read_signal() {
                if [libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(&(si.ssi_signo as i32)) {
                    return Ok(());
                }
            }
        }
    }
    if store.load(id).map(|c| c.state.stopped_by_user).unwrap_or(true) {
        return Ok(());
    }
    // The new monitor talks to nobody: no client terminal, fd 3 to /dev/null.
    detach_from_client();
    std::mem::forget(notify);
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // fd 3 may be free, and then /dev/null itself got it: keep it open
        // across exec rather than dup2 onto itself (a no-op keeping CLOEXEC).
        let fd = std::os::fd::IntoRawFd::into_raw_fd(null);
        unsafe {
            if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else {
                libc::dup2(fd, 3);
                libc::close(fd);
            }
        }
    }
    use std::os::unix::process::CommandExt;
    let err = CommandExt::exec(
        std::process::Command::new(crate::util::helper_binary())
            .arg0("rcon")
            .arg("__monitor")
            .arg(id)
            .args(paths.to_args())
            .arg(format!("--backoff-ms={}", delay.as_millis())),
    );
    Err(crate::Error::Other(format!("restart the monitor of {id}: {err}")))
}

fn sfd_borrow(s: &SignalFd) -> std::os::fd::BorrowedFd<'_> {
    unsafe { std::os::fd::BorrowedFd::borrow_raw(s.as_raw_fd()) }
}

/// Stop using the client's terminal: the monitor lives on in the background.
fn detach_from_client() {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

pub fn copy_winsize(from: RawFd, to: RawFd) {
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Give back the memory start-up needed: the monitor lives as long as its
/// container, and one runs per container (budget: conmon's ~2.4 MiB RSS).
/// Read-only file mappings (code, constants) whose pages are all clean are
/// dropped from our page tables; they refault from the page cache when the
/// loop needs them. Mappings with private dirty pages (RELRO after
/// relocation, data) are left alone: dropping those would lose data.
fn trim_resident() {
    unsafe { libc::malloc_trim(0) };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    let mut current: Option<(usize, usize, bool)> = None;
    let flush = |m: Option<(usize, usize, bool)>| {
        if let Some((a, b, true)) = m {
            unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
        }
    };
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-').filter(|(a, _)| a.bytes().all(|c| c.is_ascii_hexdigit())) {
            flush(current.take());
            let perms = f.next().unwrap_or("");
            let path = line.split_whitespace().nth(5).unwrap_or("");
            let eligible = (perms == "r-xp" || perms == "r--p") && path.starts_with('/');
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                current = Some((a, b, eligible));
            }
        } else if (first == "Private_Dirty:" || first == "Anonymous:") && f.next().is_some_and(|v| v != "0") {
            if let Some(c) = current.as_mut() {
                c.2 = false;
            }
        }
    }
    flush(current);
}

/// Receive one file descriptor sent with SCM_RIGHTS.
fn receive_fd(sock: RawFd) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(RawFd);
    let msg =
        recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC).map_err(std::io::Error::from)?;
    for c in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(std::io::Error::other("no descriptor received"))
}
