//! The monitor's side of healthchecks: it only schedules. At each tick it
//! starts `rcon __healthcheck ID` (a separate process, so the exec
//! machinery never lives in the monitor), which runs the probe in the
//! container's namespaces and records the result (`container::health`).

use std::path::Path;

pub use crate::container::health::OnFailure;
use crate::container::health::{
    reset, HealthConfig, EXIT_HEALTHY, EXIT_STARTING, EXIT_UNHEALTHY, HEALTHY, STARTING, UNHEALTHY,
};

/// The monitor's side: when to start the next probe, and which child is it.
pub struct Prober {
    cfg: HealthConfig,
    /// argv and environment of the probe process, made once: the monitor
    /// forks and execs it with nothing else to run in between.
    argv: Vec<std::ffi::CString>,
    env: Vec<std::ffi::CString>,
    exe: std::ffi::CString,
    started: std::time::Instant,
    next: std::time::Instant,
    running: Option<u32>,
    status: &'static str,
}

impl Prober {
    /// None when the container has no healthcheck. Resets the status to
    /// "starting": every start begins a new history, as with Docker.
    pub fn new(cfg: Option<&HealthConfig>, id: &str, dir: &Path, paths: &crate::paths::Paths) -> Option<Prober> {
        use std::os::unix::ffi::OsStrExt;
        let cfg = cfg.filter(|c| c.argv().is_some())?.clone();
        let _ = reset(dir);
        let started = std::time::Instant::now();
        let first = std::time::Duration::from_nanos(cfg.next_delay_ns(STARTING, 0) as u64);
        let c = |b: &[u8]| std::ffi::CString::new(b).unwrap_or_default();
        let mut argv = vec![c(b"rcon"), c(b"__healthcheck"), c(id.as_bytes())];
        argv.extend(paths.to_args().iter().map(|a| c(a.as_bytes())));
        let env: Vec<std::ffi::CString> =
            std::env::vars_os().map(|(k, v)| c(&[k.as_bytes(), b"=", v.as_bytes()].concat())).collect();
        let exe = c(crate::util::helper_binary().as_os_str().as_bytes());
        Some(Prober { cfg, argv, env, exe, started, next: started + first, running: None, status: STARTING })
    }

    /// When the monitor must wake up for the next probe (none while one runs).
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.running.is_none().then_some(self.next)
    }

    /// Start the probe if it is due: `rcon __healthcheck ID`, its own process
    /// (stdio /dev/null; it unblocks the signals the monitor blocks).
    pub fn tick(&mut self) {
        if self.running.is_some() || std::time::Instant::now() < self.next {
            return;
        }
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut env: Vec<*const libc::c_char> = self.env.iter().map(|a| a.as_ptr()).collect();
        env.push(std::ptr::null());
        let exe = &self.exe;
        let null = c"/dev/null";
        // The monitor is single-threaded: fork is safe, and the child only
        // makes system calls before exec.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                let fd = libc::open(null.as_ptr(), libc::O_RDWR);
                for n in 0..3 {
                    libc::dup2(fd, n);
                }
                libc::execve(exe.as_ptr(), argv.as_ptr(), env.as_ptr());
                libc::_exit(125);
            }
        }
        if pid > 0 {
            // Reaped by the monitor's waitpid(-1) loop, which calls `reaped`.
            self.running = Some(pid as u32);
        } else {
            self.schedule();
        }
    }

    fn schedule(&mut self) {
        let since = self.started.elapsed().as_nanos() as i64;
        let delay = self.cfg.next_delay_ns(self.status, since) as u64;
        self.next = std::time::Instant::now() + std::time::Duration::from_nanos(delay);
    }

    /// A child was reaped (`code`: its exit code): if it was our probe,
    /// plan the next one and say whether the container is now unhealthy.
    pub fn reaped(&mut self, pid: u32, code: i32) -> Option<bool> {
        if self.running != Some(pid) {
            return None;
        }
        self.running = None;
        match code {
            EXIT_HEALTHY => self.status = HEALTHY,
            EXIT_UNHEALTHY => self.status = UNHEALTHY,
            EXIT_STARTING => self.status = STARTING,
            _ => {} // the probe could not run: nothing learnt
        }
        self.schedule();
        Some(self.status == UNHEALTHY)
    }
}
