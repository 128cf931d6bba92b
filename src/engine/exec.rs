//! `rcon exec`: run a process in a running container.

use std::os::fd::{AsRawFd, RawFd};

use super::Engine;
use crate::container::{Container, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::runtime::{self, exec, spawn::Process};
use crate::storage::userns::IdMap;

#[derive(Debug, Default, Clone)]
pub struct ExecOptions {
    pub interactive: bool,
    pub tty: bool,
    pub detach: bool,
    /// `KEY=VALUE` pairs over the container's environment.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub privileged: bool,
    pub cmd: Vec<String>,
}

pub fn exec(engine: &Engine, arg: &str, o: &ExecOptions) -> Result<i32> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    if c.state.status != Status::Running || c.state.pid == 0 {
        return Err(Error::NotRunning(arg.to_string()));
    }
    if crate::state::process_start_time(c.state.pid) != Some(c.state.pid_start) {
        return Err(Error::NotRunning(arg.to_string()));
    }
    if o.cmd.is_empty() {
        return Err(Error::InvalidArgument("exec needs a command to run in the container".into()));
    }
    let pty = if o.tty { Some(container_pty(c.state.pid)?) } else { None };
    let null = std::fs::File::open("/dev/null").map_err(|e| Error::io("open /dev/null", e))?;
    let stdio: [RawFd; 3] = match &pty {
        Some(p) => [p.slave.as_raw_fd(); 3],
        // -d: nobody reads its output (and our stdout must not stay open in it)
        None if o.detach => [null.as_raw_fd(); 3],
        None => [if o.interactive { 0 } else { null.as_raw_fd() }, 1, 2],
    };
    if let Some(p) = &pty {
        if unsafe { libc::isatty(0) } == 1 {
            crate::monitor::copy_winsize(0, p.master.as_raw_fd());
        }
    }
    let spec = spec_for(engine, &c, o, stdio)?;
    let cfg = &c.config;
    let child = exec::start(&spec).map_err(|e| {
        let msg = format!("exec in container {}: {}", cfg.name, e.message);
        match e.code {
            126 => Error::CannotExecute(msg),
            127 => Error::CommandNotFound(msg),
            _ => Error::Other(msg),
        }
    })?;
    crate::events::container(&engine.paths, cfg, &format!("exec_start: {}", o.cmd.join(" ")), &[]);
    let Some(pid) = child else { return Ok(0) };
    match pty {
        None => Ok(exec::wait(pid)),
        Some(p) => {
            drop(p.slave);
            let master = p.master;
            Ok(copy_tty(master.as_raw_fd(), o.interactive, pid))
        }
    }
}

/// What `exec` runs in a container: its identity rules, capabilities,
/// seccomp filter and environment, with our stdio. Also used by healthchecks.
pub(crate) fn spec_for(engine: &Engine, c: &Container, o: &ExecOptions, stdio: [RawFd; 3]) -> Result<exec::ExecSpec> {
    let cfg = &c.config;
    let h = &cfg.host;
    let privileged = h.privileged || o.privileged;
    let (caps, filter, rlimits) = runtime::security(engine, h, privileged)?;
    let mut env = cfg.env.clone();
    for e in &o.env {
        super::containers::merge_env(&mut env, e.clone());
    }
    let rootless = engine.paths.rootless;
    Ok(exec::ExecSpec {
        pid: c.state.pid,
        userns: rootless,
        detach: o.detach,
        cgroup_id: (!h.resources.is_empty()).then(|| cfg.id.clone()),
        process: Process {
            argv: o.cmd.clone(),
            env,
            cwd: o.workdir.clone().unwrap_or(cfg.working_dir.clone()),
            user: o.user.clone().unwrap_or(cfg.user.clone()),
            group_add: h.group_add.clone(),
            stdio,
            tty: o.tty,
            caps,
            no_new_privs: h.no_new_privileges,
            seccomp: filter,
            rlimits,
            single_id: rootless && IdMap::for_current_user().is_single(),
            init: false,
        },
    })
}

/// Copy between our terminal and the pty until the process exits.
fn copy_tty(master: RawFd, interactive: bool, pid: i32) -> i32 {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::BorrowedFd;
    let raw = super::attach::RawTerminal::enter();
    let mut buf = vec![0u8; 32 * 1024];
    let mut stdin_open = interactive;
    let mut code = None;
    loop {
        let mut fds = vec![PollFd::new(unsafe { BorrowedFd::borrow_raw(master) }, PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(unsafe { BorrowedFd::borrow_raw(0) }, PollFlags::POLLIN));
        }
        let _ = poll(&mut fds, PollTimeout::from(50u16));
        let ev: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
        drop(fds);
        if !ev[0].is_empty() {
            let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                unsafe { libc::write(1, buf.as_ptr().cast(), n as usize) };
            } else if code.is_some() || n == 0 {
                break;
            }
        }
        if stdin_open && ev.len() > 1 && !ev[1].is_empty() {
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                stdin_open = false;
                // ^D for the program on the other side of the pty.
                unsafe { libc::write(master, [4u8].as_ptr().cast(), 1) };
            } else {
                unsafe { libc::write(master, buf.as_ptr().cast(), n as usize) };
            }
        }
        if code.is_none() {
            let mut st = 0;
            if unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) } == pid {
                code = Some(if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 128 + libc::WTERMSIG(st) });
            }
        } else if ev[0].is_empty() {
            break;
        }
    }
    drop(raw);
    code.unwrap_or_else(|| exec::wait(pid))
}

struct Pty {
    master: std::os::fd::OwnedFd,
    slave: std::os::fd::OwnedFd,
}

/// A pty from the container's own devpts instance, so that inside it the
/// terminal is a /dev/pts/N that exists there (`tty` works), as with runc.
fn container_pty(pid: u32) -> Result<Pty> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let path = format!("/proc/{pid}/root/dev/pts/ptmx");
    let c = std::ffi::CString::new(path.clone()).expect("no NUL");
    unsafe {
        let m = libc::open(c.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(Error::Other(format!("open {path}: {}", std::io::Error::last_os_error())));
        }
        let master = OwnedFd::from_raw_fd(m);
        let unlock: libc::c_int = 0;
        libc::ioctl(m, libc::TIOCSPTLCK, &unlock);
        let s = libc::ioctl(m, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if s < 0 {
            return Err(Error::Other(format!("open the pty's peer: {}", std::io::Error::last_os_error())));
        }
        Ok(Pty { master, slave: OwnedFd::from_raw_fd(s) })
    }
}
