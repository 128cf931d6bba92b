//! Healthcheck probes: run the container's health command once, in its
//! namespaces (the exec machinery), with the timeout honoured, and record the
//! result. `rcon healthcheck run` calls this directly; the monitor starts
//! `rcon __healthcheck ID` (see `helper_main`) so that none of this code runs
//! in the long-lived monitor process.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::exec::{spec_for, ExecOptions};
use super::Engine;
use crate::container::health::{self, Health, HealthConfig, HealthResult, MAX_OUTPUT_LEN};
use crate::container::{Container, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::format::units;
use crate::runtime::exec;

/// The result of one probe and the status it led to.
pub struct CheckOutcome {
    pub result: HealthResult,
    pub health: Health,
}

/// Run one probe now and record it (`rcon healthcheck run NAME`).
pub fn run_check(engine: &Engine, arg: &str) -> Result<CheckOutcome> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    let hc = c.config.healthcheck.clone().unwrap_or_default();
    if hc.argv().is_none() {
        return Err(Error::InvalidArgument(format!(
            "container {} has no healthcheck: create it with --health-cmd or from an image with HEALTHCHECK",
            c.config.name
        )));
    }
    if c.state.status != Status::Running || crate::state::process_start_time(c.state.pid) != Some(c.state.pid_start) {
        return Err(Error::NotRunning(arg.to_string()));
    }
    let result = probe(engine, &c, &hc);
    let started = units::parse_rfc3339(&c.state.started_at).unwrap_or_else(units::now);
    let start = units::parse_rfc3339(&result.start).unwrap_or_else(units::now);
    let since_start = (start.0 - started.0) as i128 * 1_000_000_000 + start.1 as i128 - started.1 as i128;
    let health = health::record(&store.dir(&id), &hc, result.clone(), since_start.max(0) as i64)?;
    if c.health.as_ref().map(|h| h.status.as_str()) != Some(health.status.as_str()) {
        crate::events::container(&engine.paths, &c.config, &format!("health_status: {}", health.status), &[]);
    }
    Ok(CheckOutcome { result, health })
}

/// Entry point of `rcon __healthcheck ID`, started by the monitor: exits
/// with the status the probe left (`health::EXIT_*`), 125 when it could not
/// be run.
pub fn helper_main(args: &[String]) -> i32 {
    // The monitor blocks the signals it reads from a signalfd; a probe
    // must be killable like any process.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
    let Some((paths, args)) = crate::paths::Paths::from_args(args) else {
        eprintln!("rcon healthcheck: started without its paths");
        return 125;
    };
    let Some(id) = args.first() else { return 125 };
    let engine = Engine::new(paths);
    match run_check(&engine, id) {
        Ok(o) => health::exit_code_for(&o.health.status),
        Err(e) => {
            eprintln!("rcon healthcheck: {e}");
            125
        }
    }
}

/// `inspect`: `.State.Health` once a container with a healthcheck has run,
/// and `.Config.Healthcheck` as Docker shows it.
pub fn add_to_inspect(v: &mut serde_json::Value, c: &Container) {
    if let Some(h) = &c.health {
        v["State"]["Health"] = serde_json::to_value(h).unwrap_or_default();
    }
    if let Some(hc) = &c.config.healthcheck {
        v["Config"]["Healthcheck"] = serde_json::to_value(hc).unwrap_or_default();
    }
}

/// The healthcheck of a new container: the one asked for, merged field by
/// field over the image's (Docker's merge); None when there is none.
pub fn config_for(asked: Option<&HealthConfig>, image: Option<&serde_json::Value>) -> Option<HealthConfig> {
    let image: HealthConfig = image.and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    let merged = match asked {
        Some(h) if h.test.first().is_some_and(|t| t == "NONE") => h.clone(),
        Some(h) => h.clone().merged_over(&image),
        None => image,
    };
    (merged != HealthConfig::default()).then_some(merged)
}

/// Run the health command with its output captured (Docker keeps the
/// first 4096 bytes) and killed, with everything it started, at the timeout.
fn probe(engine: &Engine, c: &Container, hc: &HealthConfig) -> HealthResult {
    let start = units::now_rfc3339();
    let failed =
        |output: String| HealthResult { start: start.clone(), end: units::now_rfc3339(), exit_code: -1, output };
    let (r, w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => return failed(format!("pipe: {e}")),
    };
    let null = match std::fs::File::open("/dev/null") {
        Ok(f) => f,
        Err(e) => return failed(format!("open /dev/null: {e}")),
    };
    let o = ExecOptions { cmd: hc.argv().unwrap_or_default(), ..Default::default() };
    let spec = match spec_for(engine, c, &o, [null.as_raw_fd(), w.as_raw_fd(), w.as_raw_fd()]) {
        Ok(s) => s,
        Err(e) => return failed(e.to_string()),
    };
    let pid = match exec::start(&spec) {
        Ok(Some(pid)) => pid,
        Ok(None) => return failed("the probe detached".into()),
        Err(e) => return failed(e.message),
    };
    drop(w);
    drop(spec);
    let timeout = Duration::from_nanos(hc.timeout_ns() as u64);
    let (output, code) = collect(r, pid, Instant::now() + timeout);
    match code {
        Some(code) => HealthResult {
            start,
            end: units::now_rfc3339(),
            exit_code: code,
            output: String::from_utf8_lossy(&output).into_owned(),
        },
        None => failed(format!("Health check exceeded timeout ({})", go_duration(hc.timeout_ns()))),
    }
}

/// Read the probe's output until it exits; None when the deadline passed
/// first (the probe and its descendants are then killed).
fn collect(r: OwnedFd, pid: i32, deadline: Instant) -> (Vec<u8>, Option<i32>) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    unsafe {
        let fl = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(r.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let mut out = Vec::new();
    let mut pipe = std::fs::File::from(r);
    let mut buf = [0u8; 4096];
    let mut pipe_open = true;
    loop {
        let mut st = 0;
        if unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) } == pid {
            // What it wrote before exiting is in the pipe: take it without
            // waiting for background processes that may hold the pipe open.
            while pipe_open {
                match pipe.read(&mut buf) {
                    Ok(n) if n > 0 => keep(&mut out, &buf[..n]),
                    _ => pipe_open = false,
                }
            }
            let code = if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 128 + libc::WTERMSIG(st) };
            return (out, Some(code));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_tree(pid as u32);
            unsafe { libc::waitpid(pid, &mut st, 0) };
            return (out, None);
        }
        let mut fds = Vec::new();
        if pipe_open {
            fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLIN));
        }
        if let Some(p) = &pidfd {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
        }
        // Without a pidfd (old kernel) the exit is noticed by polling.
        let slice = if pidfd.is_some() { left } else { left.min(Duration::from_millis(20)) };
        let ms = slice.as_millis().clamp(1, 60_000) as u16;
        let _ = poll(&mut fds, PollTimeout::from(ms));
        drop(fds);
        if pipe_open {
            match pipe.read(&mut buf) {
                Ok(0) => pipe_open = false,
                Ok(n) => keep(&mut out, &buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => pipe_open = false,
            }
        }
    }
}

fn keep(out: &mut Vec<u8>, data: &[u8]) {
    let room = MAX_OUTPUT_LEN.saturating_sub(out.len());
    out.extend_from_slice(&data[..data.len().min(room)]);
}

/// SIGKILL a process and all its descendants. Each is stopped as it is
/// found, so none can escape by forking or being reparented during the walk.
/// (Parents come from /proc/PID/stat: /proc/PID/task/TID/children needs
/// CONFIG_PROC_CHILDREN, which Debian's kernel lacks.)
fn kill_tree(pid: u32) {
    let mut all = vec![pid];
    unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
    loop {
        let mut found = false;
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if all.contains(&p) {
                continue;
            }
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // "PID (COMM) STATE PPID …": COMM may hold spaces and parentheses.
            let ppid = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<u32>().ok());
            if ppid.is_some_and(|pp| all.contains(&pp)) {
                unsafe { libc::kill(p as i32, libc::SIGSTOP) };
                all.push(p);
                found = true;
            }
        }
        if !found {
            break;
        }
    }
    for p in all {
        unsafe { libc::kill(p as i32, libc::SIGKILL) };
    }
}

/// Go's `time.Duration` text for whole units Docker users write ("30s",
/// "1m30s", "500ms", "1.5s").
fn go_duration(ns: i64) -> String {
    if ns % 1_000_000_000 != 0 {
        if ns < 1_000_000_000 {
            return format!("{}ms", ns as f64 / 1e6);
        }
        return format!("{}s", ns as f64 / 1e9);
    }
    let s = ns / 1_000_000_000;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_duration_text() {
        assert_eq!(super::go_duration(30_000_000_000), "30s");
        assert_eq!(super::go_duration(90_000_000_000), "1m30s");
        assert_eq!(super::go_duration(500_000_000), "500ms");
        assert_eq!(super::go_duration(1_500_000_000), "1.5s");
        assert_eq!(super::go_duration(3_600_000_000_000), "1h0m0s");
    }
}
