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

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::container::attach::{self, DetachKeys};
use crate::container::{ContainerState, ContainerStore, Status};
use crate::format::units;
use crate::paths::Paths;
use crate::runtime;

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

fn set_nonblock(fd: RawFd) {
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

fn write_all_fd(fd: RawFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            if e.kind() == std::io::ErrorKind::WouldBlock {
                let mut p = [PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, PollFlags::POLLOUT)];
                let _ = poll(&mut p, PollTimeout::from(1000u16));
                continue;
            }
            return false;
        }
        data = &data[n as usize..];
    }
    true
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> isize {
    loop {
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return n;
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

    // Signals arrive on a signalfd; the container gets them unblocked again.
    let mut mask = SigSet::empty();
    for s in [Signal::SIGCHLD, Signal::SIGWINCH, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGPIPE] {
        mask.add(s);
    }
    mask.thread_block().map_err(|e| crate::Error::Other(format!("block signals: {e}")))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| crate::Error::Other(format!("signalfd: {e}")))?;

    // Container stdio: a pty with -t, pipes otherwise.
    let mut keep: Vec<OwnedFd> = Vec::new();
    let (stdio, out_r, err_r, in_w): ([RawFd; 3], Option<OwnedFd>, Option<OwnedFd>, Option<OwnedFd>);
    let master: Option<OwnedFd>;
    // With -t the pty is opened by the container in its own devpts instance
    // (so the terminal is /dev/pts/0 in there, as with runc) and its master
    // comes back to us over this socket.
    let mut console_sock: Option<(OwnedFd, OwnedFd)> = None;
    if cfg.tty {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let pair = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| crate::Error::Other(format!("socketpair: {e}")))?;
        stdio = [-1, -1, -1];
        console_sock = Some(pair);
        master = None;
        (out_r, err_r, in_w) = (None, None, None);
    } else {
        let (or, ow) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| crate::Error::Other(e.to_string()))?;
        let (er, ew) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| crate::Error::Other(e.to_string()))?;
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
        stdio = [stdin_fd, ow.as_raw_fd(), ew.as_raw_fd()];
        keep.push(ow);
        keep.push(ew);
        master = None;
        (out_r, err_r, in_w) = (Some(or), Some(er), w);
    }

    // `rcon attach` connects here. Bound by a relative name from inside the
    // runtime directory: sun_path holds only 108 bytes.
    let run_dir = store.run_dir(id);
    crate::state::ensure_dir(&run_dir)?;
    std::env::set_current_dir(&run_dir).map_err(|e| crate::Error::io(format!("chdir {}", run_dir.display()), e))?;
    let _ = std::fs::remove_file(run_dir.join(attach::SOCKET));
    let listener = std::os::unix::net::UnixListener::bind(attach::SOCKET)
        .map_err(|e| crate::Error::io(format!("create attach socket in {}", run_dir.display()), e))?;
    listener.set_nonblocking(true).map_err(|e| crate::Error::io("attach socket", e))?;
    // Attached clients and whether their input side is still open.
    let mut clients: Vec<(std::os::unix::net::UnixStream, bool)> = Vec::new();
    if let Some(c) = client.socket {
        clients.push((c, true));
    }
    let attach = client.stdio;

    // A launch that cannot be planned (a network removed meanwhile) fails
    // like one that cannot start: the state and `start` say why.
    let started = crate::launch::plan(paths, &store, &cfg, stdio, console_sock.as_ref().map(|(_, c)| c.as_raw_fd()))
        .map_err(|e| runtime::spawn::StartError { code: 125, message: e.to_string() })
        .and_then(|launch| runtime::spawn::spawn(&launch));
    drop(keep);
    let master = match (&started, console_sock) {
        (Ok(_), Some((ours, theirs))) => {
            drop(theirs);
            let m = receive_fd(ours.as_raw_fd())
                .map_err(|e| crate::Error::Other(format!("receive the container's terminal: {e}")))?;
            if attach && unsafe { libc::isatty(0) } == 1 {
                copy_winsize(0, m.as_raw_fd());
            }
            Some(m)
        }
        _ => master,
    };
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            let mut st = ContainerState {
                status: Status::Created,
                error: e.message.clone(),
                exit_code: e.code,
                ..Default::default()
            };
            if cfg.host.auto_remove {
                let _ = store.remove(id);
                let _ = crate::volume::mounts::remove_anonymous(paths, &cfg);
            } else {
                st.status = Status::Exited;
                st.finished_at = units::now_rfc3339();
                let _ = store.write_state(id, &st);
            }
            say(&mut notify, &format!("ERROR {} {}", e.code, e.message.replace('\n', " ")));
            return Ok(e.code);
        }
    };
    let me = std::process::id();
    let mut st = ContainerState {
        status: Status::Running,
        pid: started.pid,
        pid_start: crate::state::process_start_time(started.pid).unwrap_or(0),
        monitor_pid: me,
        monitor_start: crate::state::process_start_time(me).unwrap_or(0),
        started_at: units::now_rfc3339(),
        // A start by the user begins a new count (Docker's ResetRestartManager).
        restart_count: if relaunched.is_some() { ctr.state.restart_count } else { 0 },
        ..Default::default()
    };
    // Health is "starting" from the moment the state says running.
    let mut prober = health::Prober::new(cfg.healthcheck.as_ref(), id, &store.dir(id), paths);
    store.write_state(id, &st)?;
    // Before STARTED, so whoever `run` returns to finds the mounts logged.
    crate::volume::mounts::mount_events(paths, &cfg, "mount");
    say(&mut notify, &format!("STARTED {}", started.pid));
    crate::events::container(paths, &cfg, "start", &[]);
    let running_since = std::time::Instant::now();

    let driver = logs::Driver::parse(if cfg.host.log_driver.is_empty() { "json-file" } else { &cfg.host.log_driver })
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    let log_opts =
        logs::LogOptions::parse_for(&driver, &cfg.host.log_opts).map_err(|e| crate::Error::Other(e.to_string()))?;
    let mut log = if driver == logs::Driver::None {
        None
    } else {
        Some(
            logs::LogWriter::open(&store.log_path(id), driver, log_opts)
                .map_err(|e| crate::Error::Other(e.to_string()))?,
        )
    };

    // The attached client: our own stdio.
    let mut attached = attach;
    let mut client_in: Option<RawFd> = if attach && client.stdin && cfg.open_stdin { Some(0) } else { None };
    let mut detach = DetachKeys::parse(client.detach_keys.as_deref().unwrap_or(&cfg.host.detach_keys));
    let mut in_w = in_w;
    let outputs: Vec<(RawFd, logs::Stream)> = match (&master, &out_r, &err_r) {
        (Some(m), _, _) => vec![(m.as_raw_fd(), logs::Stream::Stdout)],
        (None, Some(o), Some(e)) => vec![(o.as_raw_fd(), logs::Stream::Stdout), (e.as_raw_fd(), logs::Stream::Stderr)],
        _ => vec![],
    };
    for (fd, _) in &outputs {
        set_nonblock(*fd);
    }
    let mut open_outputs: Vec<bool> = vec![true; outputs.len()];
    let mut exit: Option<i32> = None;
    let mut trimmed = false;
    let mut buf = vec![0u8; 64 * 1024];
    let on_failure = health::OnFailure::parse(&cfg.health_on_failure).unwrap_or(health::OnFailure::None);
    // Set when --health-on-failure=stop sent the stop signal: SIGKILL then.
    let mut kill_at: Option<std::time::Instant> = None;
    // What --health-on-failure did: restart the container, or end it for good.
    let (mut health_restart, mut health_ended) = (false, false);
    loop {
        if exit.is_some() && !open_outputs.iter().any(|o| *o) {
            break;
        }
        let mut fds = vec![PollFd::new(sfd_borrow(&sfd), PollFlags::POLLIN)];
        let mut map: Vec<usize> = Vec::new();
        for (i, (fd, _)) in outputs.iter().enumerate() {
            if open_outputs[i] {
                fds.push(PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(*fd) }, PollFlags::POLLIN));
                map.push(i);
            }
        }
        let stdin_slot = client_in.map(|fd| {
            fds.push(PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, PollFlags::POLLIN));
            fds.len() - 1
        });
        let listen_slot = fds.len();
        fds.push(PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(listener.as_raw_fd()) }, PollFlags::POLLIN));
        let clients_slot = fds.len();
        for (c, input_open) in &clients {
            let flags = if *input_open { PollFlags::POLLIN } else { PollFlags::empty() };
            fds.push(PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(c.as_raw_fd()) }, flags));
        }
        // After the init exits, the pid namespace is gone: the pipes reach EOF
        // promptly; a short timeout guards against a stray holder.
        // Once the container has run quietly for a second, give back the
        // start-up memory (kept off the start path: `run --rm` must be fast).
        let timeout = if exit.is_some() {
            PollTimeout::from(200u16)
        } else if !trimmed {
            PollTimeout::from(1000u16)
        } else {
            PollTimeout::NONE
        };
        let timeout = if exit.is_some() {
            timeout
        } else {
            sooner(timeout, [prober.as_ref().and_then(|p| p.deadline()), kill_at])
        };
        match poll(&mut fds, timeout) {
            Ok(0) if exit.is_some() => break,
            Ok(0) if !trimmed => {
                trimmed = true;
                trim_resident();
                continue;
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(crate::Error::Other(format!("poll: {e}"))),
        }
        let revents: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
        drop(fds);
        if revents[0].contains(PollFlags::POLLIN) {
            while let Ok(Some(si)) = sfd.read_signal() {
                let sig = si.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    let mut status = 0;
                    loop {
                        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
                        if r <= 0 {
                            break;
                        }
                        let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 125 };
                        let unhealthy = prober.as_mut().and_then(|p| p.reaped(r as u32, code));
                        if unhealthy.is_some() {
                            // Spawning it paged code back in: give it back again.
                            trimmed = false;
                        }
                        if unhealthy == Some(true) && exit.is_none() {
                            kill_at = kill_at.or(on_unhealthy(on_failure, started.pid, &cfg));
                            health_restart |= on_failure == health::OnFailure::Restart;
                            health_ended |= matches!(on_failure, health::OnFailure::Kill | health::OnFailure::Stop);
                        }
                        if r as u32 == started.pid {
                            exit = Some(if libc::WIFEXITED(status) {
                                libc::WEXITSTATUS(status)
                            } else {
                                128 + libc::WTERMSIG(status)
                            });
                        }
                    }
                } else if sig == libc::SIGWINCH {
                    if let Some(m) = &master {
                        if attached {
                            copy_winsize(0, m.as_raw_fd());
                        }
                    }
                } else if sig == libc::SIGTERM || sig == libc::SIGINT || sig == libc::SIGHUP {
                    // Asked to go away: pass it on, the container decides.
                    unsafe { libc::kill(started.pid as i32, sig) };
                }
            }
        }
        if exit.is_none() {
            if let Some(p) = prober.as_mut() {
                p.tick();
            }
            if kill_at.is_some_and(|t| std::time::Instant::now() >= t) {
                unsafe { libc::kill(started.pid as i32, libc::SIGKILL) };
                kill_at = None;
            }
        }
        for (slot, &i) in map.iter().enumerate() {
            let ev = revents[slot + 1];
            if ev.is_empty() {
                continue;
            }
            let (fd, stream) = outputs[i];
            loop {
                let n = read_fd(fd, &mut buf);
                if n > 0 {
                    let data = &buf[..n as usize];
                    if let Some(l) = log.as_mut() {
                        let _ = l.write(stream, data);
                    }
                    if attached {
                        let target = if stream == logs::Stream::Stderr { 2 } else { 1 };
                        if !write_all_fd(target, data) {
                            attached = false;
                        }
                    }
                    let frame = attach::frame(
                        if stream == logs::Stream::Stderr { attach::STDERR } else { attach::STDOUT },
                        data,
                    );
                    clients.retain(|(c, _)| write_all_fd(c.as_raw_fd(), &frame));
                    continue;
                }
                if n == 0 || (n < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN)) {
                    // EOF, or EIO on a pty master whose slave is closed.
                    open_outputs[i] = false;
                }
                break;
            }
        }
        if !revents[listen_slot].is_empty() {
            while let Ok((c, _)) = listener.accept() {
                clients.push((c, true));
            }
        }
        // Input from attached clients goes to the container's stdin (-i).
        let mut gone = Vec::new();
        for (k, (c, input_open)) in clients.iter_mut().enumerate() {
            let Some(ev) = revents.get(clients_slot + k) else { continue };
            if ev.is_empty() || !*input_open {
                continue;
            }
            let n = read_fd(c.as_raw_fd(), &mut buf);
            if n < 0 && !ev.contains(PollFlags::POLLIN) {
                gone.push(k);
                continue;
            }
            if n <= 0 {
                // The client closed its input: so does the container's stdin
                // (`echo x | rcon attach` ends `cat`), output keeps flowing.
                *input_open = false;
                in_w = None;
                continue;
            }
            let target = master.as_ref().map(|m| m.as_raw_fd()).or(in_w.as_ref().map(|w| w.as_raw_fd()));
            if let Some(t) = target {
                write_all_fd(t, &buf[..n as usize]);
            }
        }
        for k in gone.into_iter().rev() {
            clients.remove(k);
        }
        if let Some(slot) = stdin_slot {
            let ev = revents[slot];
            if !ev.is_empty() {
                let n = read_fd(0, &mut buf);
                if n <= 0 {
                    // Client stdin closed: close the container's (EOF for `cat`).
                    client_in = None;
                    in_w = None;
                } else {
                    let data = buf[..n as usize].to_vec();
                    let (pass, detached) = if cfg.tty { detach.feed(&data) } else { (data, false) };
                    let target = master.as_ref().map(|m| m.as_raw_fd()).or(in_w.as_ref().map(|w| w.as_raw_fd()));
                    if let Some(t) = target {
                        write_all_fd(t, &pass);
                    }
                    if detached {
                        say(&mut notify, "DETACHED");
                        notify = None;
                        detach_from_client();
                        attached = false;
                        client_in = None;
                    }
                }
            }
        }
    }
    if let Some(l) = log.as_mut() {
        let _ = l.flush_partial();
    }
    // Before the state says exited: whoever waits for that (`rm -f`, `stop`)
    // may publish the same host ports next.
    if let Some(h) = &started.net {
        h.kill();
    }
    let code = exit.unwrap_or(137);
    let latest = store.load(id).map(|c| c.state).unwrap_or_default();
    // Re-read: `update --restart` or `rename` may have changed it since the start.
    let named = store.load(id).map(|c| c.config).unwrap_or_else(|_| cfg.clone());
    let policy = &named.host.restart_policy;
    let restart = !cfg.host.auto_remove
        && !latest.stopped_by_user
        && (health_restart || policy.should_restart(code, health_ended, st.restart_count));
    st.status = if restart { Status::Restarting } else { Status::Exited };
    if restart {
        st.restart_count += 1;
    }
    st.exit_code = code;
    st.finished_at = units::now_rfc3339();
    st.pid = 0;
    st.stopped_by_user = latest.stopped_by_user;
    store.write_state(id, &st)?;
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
        crate::events::container(paths, &cfg, "destroy", &[]);
        // Docker's --rm takes the container's anonymous volumes along.
        let _ = crate::volume::mounts::remove_anonymous(paths, &cfg);
    }
    let frame = attach::frame(attach::EXIT, code.to_string().as_bytes());
    for (c, _) in &clients {
        write_all_fd(c.as_raw_fd(), &frame);
    }
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

/// The poll timeout shortened to the nearest deadline.
fn sooner(t: PollTimeout, deadlines: [Option<std::time::Instant>; 2]) -> PollTimeout {
    let now = std::time::Instant::now();
    let Some(d) = deadlines.into_iter().flatten().min() else { return t };
    // Rounded up: waking a little early would only spin.
    let ms = (d.saturating_duration_since(now).as_millis() + 1).min(60_000) as u16;
    // (as_millis panics on NONE, the infinite timeout)
    if t.is_some() && t.as_millis().is_some_and(|cur| cur <= ms as u32) {
        t
    } else {
        PollTimeout::from(ms)
    }
}

/// `--health-on-failure`: kill or stop (the policy's SIGKILL time is
/// returned) or, for restart, kill so that the restart logic brings it back.
fn on_unhealthy(
    action: health::OnFailure,
    pid: u32,
    cfg: &crate::container::ContainerConfig,
) -> Option<std::time::Instant> {
    match action {
        health::OnFailure::None => None,
        health::OnFailure::Kill | health::OnFailure::Restart => {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            None
        }
        health::OnFailure::Stop => {
            let sig = crate::util::signal_number(&cfg.stop_signal).unwrap_or(libc::SIGTERM);
            unsafe { libc::kill(pid as i32, sig) };
            let grace = cfg.stop_timeout.unwrap_or(10).max(0) as u64;
            Some(std::time::Instant::now() + std::time::Duration::from_secs(grace))
        }
    }
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
