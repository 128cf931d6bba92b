//! `rcon exec`: run a process in a running container.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;

use super::Engine;
use crate::container::{Container, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::runtime::{self, exec, spawn::Process};
use crate::storage::userns::IdMap;

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
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

/// The streams of an exec'd process.
pub enum ExecStdio {
    /// Pipes or files (no `-t`): stdin only with `-i`.
    Fds { stdin: Option<OwnedFd>, stdout: OwnedFd, stderr: OwnedFd },
    /// A pty from the container's devpts: its master is returned in
    /// [`ExecProcess::pty`] for the caller to copy to and from.
    Tty,
    /// `-d`: nobody reads its output.
    Null,
}

/// A process `exec` started: the helper that waits for it.
pub struct ExecProcess {
    child: std::process::Child,
    /// The pty master with `ExecStdio::Tty`.
    pub pty: Option<OwnedFd>,
}

impl ExecProcess {
    /// The pid of the helper that runs and waits for the process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit code, if it has exited.
    pub fn try_wait(&mut self) -> Option<i32> {
        self.child.try_wait().ok().flatten().map(exit_code)
    }

    /// Wait for it to exit: its exit code.
    pub fn wait(mut self) -> i32 {
        self.child.wait().map(exit_code).unwrap_or(125)
    }
}

fn exit_code(st: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// Start a process in a running container. Joining namespaces needs a
/// single-threaded process that forks, so the work is done by `rcon
/// __exec` (a helper re-executed from the rcon binary, safe to start from a
/// threaded front end such as the API server), which waits for the process
/// and exits with its code.
pub fn exec(engine: &Engine, arg: &str, o: &ExecOptions, stdio: ExecStdio) -> Result<ExecProcess> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    running(&c, arg)?;
    if o.cmd.is_empty() {
        return Err(Error::InvalidArgument("exec needs a command to run in the container".into()));
    }
    let mut cmd = std::process::Command::new(crate::util::helper_binary());
    cmd.arg0("rcon").arg("__exec").arg(&id).args(engine.paths.to_args());
    let mut pty = None;
    match stdio {
        ExecStdio::Fds { stdin, stdout, stderr } => {
            cmd.stdin(stdin.map(std::process::Stdio::from).unwrap_or_else(std::process::Stdio::null));
            cmd.stdout(stdout).stderr(stderr);
        }
        ExecStdio::Tty => {
            let p = container_pty(c.state.pid)?;
            let (a, b) = (p.slave.try_clone(), p.slave.try_clone());
            let (a, b) = (a.map_err(|e| Error::io("pty", e))?, b.map_err(|e| Error::io("pty", e))?);
            cmd.stdin(p.slave).stdout(a).stderr(b);
            pty = Some(p.master);
        }
        ExecStdio::Null => {
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
    }
    // The options on fd 3 (argv is world-readable in /proc, and -e values
    // may be secrets), the helper's answer on fd 4.
    let (opt_r, opt_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::Other(format!("pipe: {e}")))?;
    let (ans_r, ans_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::Other(format!("pipe: {e}")))?;
    let (or, aw) = (opt_r.as_raw_fd(), ans_w.as_raw_fd());
    unsafe {
        cmd.pre_exec(move || crate::util::place_fds(&[(or, 3), (aw, 4)]));
    }
    let child = cmd.spawn().map_err(|e| Error::Other(format!("start the exec helper: {e}")))?;
    drop((opt_r, ans_w));
    let json = serde_json::to_vec(o).map_err(|e| Error::Other(e.to_string()))?;
    let _ = std::fs::File::from(opt_w).write_all(&json);
    let mut answer = String::new();
    // One line, not the pipe's EOF: the helper's forked waiter keeps its
    // copy of the pipe open for as long as the process runs.
    let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(std::fs::File::from(ans_r)), &mut answer);
    let mut process = ExecProcess { child, pty };
    if answer.trim() == "OK" {
        crate::events::container(&engine.paths, &c.config, &format!("exec_start: {}", o.cmd.join(" ")), &[]);
        return Ok(process);
    }
    let code = process.try_wait().unwrap_or(125);
    let _ = process.child.kill();
    let (c_code, msg) = answer.trim().strip_prefix("ERR ").and_then(|r| r.split_once(' ')).unwrap_or(("125", ""));
    let msg = if msg.is_empty() { format!("the exec helper exited with {code}") } else { msg.to_string() };
    let msg = format!("exec in container {}: {msg}", c.config.name);
    Err(match c_code.parse().unwrap_or(125) {
        126 => Error::CannotExecute(msg),
        127 => Error::CommandNotFound(msg),
        _ => Error::Other(msg),
    })
}

fn running(c: &Container, arg: &str) -> Result<()> {
    if c.state.status != Status::Running
        || c.state.pid == 0
        || crate::state::process_start_time(c.state.pid) != Some(c.state.pid_start)
    {
        return Err(Error::NotRunning(arg.to_string()));
    }
    Ok(())
}

/// Entry point of `rcon __exec ID PATHS…` (see [`exec`]): options on fd 3,
/// a line "OK" or "ERR CODE MESSAGE" on fd 4, then the process's exit code.
pub fn helper_main(args: &[String]) -> i32 {
    let mut answer = unsafe { std::fs::File::from_raw_fd(4) };
    let mut fail = |code: i32, msg: String| {
        let _ = writeln!(answer, "ERR {code} {}", msg.replace('\n', " "));
        code
    };
    let Some((paths, args)) = crate::paths::Paths::from_args(args) else {
        return fail(125, "started without its paths".into());
    };
    let Some(id) = args.first() else { return fail(125, "no container".into()) };
    let mut json = Vec::new();
    let _ = unsafe { std::fs::File::from_raw_fd(3) }.read_to_end(&mut json);
    let o: ExecOptions = match serde_json::from_slice(&json) {
        Ok(o) => o,
        Err(e) => return fail(125, format!("bad options: {e}")),
    };
    let engine = Engine::new(paths);
    let c = match ContainerStore::open(&engine.paths).and_then(|s| s.load(id)) {
        Ok(c) => c,
        Err(e) => return fail(125, e.to_string()),
    };
    if let Err(e) = running(&c, id) {
        return fail(125, e.to_string());
    }
    let spec = match spec_for(&engine, &c, &o, [0, 1, 2]) {
        Ok(s) => s,
        Err(e) => return fail(125, e.to_string()),
    };
    match exec::start(&spec) {
        Err(e) => fail(e.code, e.message),
        Ok(waiter) => {
            let _ = answer.write_all(b"OK\n");
            drop(answer);
            waiter.map(exec::wait).unwrap_or(0)
        }
    }
}

/// What `exec` runs in a container: its identity rules, capabilities,
/// seccomp filter and environment, with our stdio. Also used by healthchecks.
pub(crate) fn spec_for(engine: &Engine, c: &Container, o: &ExecOptions, stdio: [RawFd; 3]) -> Result<exec::ExecSpec> {
    let cfg = &c.config;
    let h = &cfg.host;
    let privileged = h.privileged || o.privileged;
    let (caps, filter, rlimits) = runtime::security(&engine.paths, h, privileged)?;
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
