//! `rcon exec`: join a running container's namespaces and run a process
//! there, with the container's identity rules, capabilities and seccomp.
//!
//! The caller must be single-threaded (setns into a user namespace requires
//! it). We fork twice: the first child joins the namespaces, the second is
//! born inside the pid namespace and becomes the process. Before joining,
//! the child makes itself non-dumpable so that processes in the container
//! cannot open /proc/PID/exe of this (host) binary: the CVE-2019-5736 class.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};

use super::spawn::{become_process, Process, StartError};

pub struct ExecSpec {
    /// Host pid of the container's init.
    pub pid: u32,
    /// Join the container's user namespace (rootless containers).
    pub userns: bool,
    pub process: Process,
    /// -d: do not wait for the process.
    pub detach: bool,
    /// The container's id when it has cgroups (resource limits): the
    /// process joins them, so its limits hold for exec'd processes too.
    pub cgroup_id: Option<String>,
}

/// Start the process; returns the pid of the waiting child (its exit status
/// is the process's), or None when detached.
pub fn start(spec: &ExecSpec) -> Result<Option<i32>, StartError> {
    let mut kinds = vec![];
    if spec.userns {
        kinds.push(("user", libc::CLONE_NEWUSER));
    }
    for k in [
        ("ipc", libc::CLONE_NEWIPC),
        ("uts", libc::CLONE_NEWUTS),
        ("net", libc::CLONE_NEWNET),
        ("pid", libc::CLONE_NEWPID),
        ("mnt", libc::CLONE_NEWNS),
    ] {
        kinds.push(k);
    }
    let mut fds: Vec<(OwnedFd, i32)> = Vec::new();
    for (name, flag) in kinds {
        let path = format!("/proc/{}/ns/{name}", spec.pid);
        let f = std::fs::File::open(&path)
            .map_err(|e| StartError { code: 125, message: format!("join container: {path}: {e}") })?;
        fds.push((OwnedFd::from(f), flag));
    }
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| StartError { code: 125, message: format!("pipe: {e}") })?;
    let a = unsafe { libc::fork() };
    if a < 0 {
        return Err(StartError { code: 125, message: format!("fork: {}", std::io::Error::last_os_error()) });
    }
    if a == 0 {
        drop(err_r);
        let fail = |code: i32, msg: String| -> ! {
            let text = format!("{code} {msg}");
            unsafe {
                libc::write(err_w.as_raw_fd(), text.as_ptr().cast(), text.len());
                libc::_exit(code)
            }
        };
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0) };
        if let Some(id) = &spec.cgroup_id {
            let me = std::process::id().to_string();
            for (_, dir) in super::cgroups::dirs(id) {
                if dir.exists() {
                    if let Err(e) = std::fs::write(dir.join("cgroup.procs"), &me) {
                        fail(125, format!("join the container's cgroup {}: {e}", dir.display()));
                    }
                }
            }
        }
        for (fd, flag) in &fds {
            if unsafe { libc::setns(fd.as_raw_fd(), *flag) } != 0 {
                fail(125, format!("join the container's namespaces: {}", std::io::Error::last_os_error()));
            }
        }
        drop(fds);
        let b = unsafe { libc::fork() };
        if b < 0 {
            fail(125, format!("fork: {}", std::io::Error::last_os_error()));
        }
        if b == 0 {
            if spec.userns {
                unsafe {
                    libc::setresgid(0, 0, 0);
                    libc::setresuid(0, 0, 0);
                }
            }
            let (code, msg) = match become_process(&spec.process, None) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            fail(code, msg);
        }
        drop(err_w);
        if spec.detach {
            unsafe { libc::_exit(0) };
        }
        let mut st = 0;
        loop {
            let r = unsafe { libc::waitpid(b, &mut st, 0) };
            if r == b || (r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR)) {
                break;
            }
        }
        let code = if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 128 + libc::WTERMSIG(st) };
        unsafe { libc::_exit(code) };
    }
    drop(err_w);
    drop(fds);
    let mut msg = String::new();
    let _ = std::fs::File::from(err_r).read_to_string(&mut msg);
    if !msg.is_empty() {
        let mut st = 0;
        unsafe { libc::waitpid(a, &mut st, 0) };
        let (code, text) = msg.split_once(' ').unwrap_or(("125", &msg));
        return Err(StartError { code: code.parse().unwrap_or(125), message: text.to_string() });
    }
    if spec.detach {
        let mut st = 0;
        unsafe { libc::waitpid(a, &mut st, 0) };
        return Ok(None);
    }
    Ok(Some(a))
}

/// Wait for the child `start` returned; the exec'd process's exit code.
pub fn wait(pid: i32) -> i32 {
    let mut st = 0;
    loop {
        let r = unsafe { libc::waitpid(pid, &mut st, 0) };
        if r == pid {
            break;
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 125;
        }
    }
    if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        128 + libc::WTERMSIG(st)
    }
}
