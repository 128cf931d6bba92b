//! The monitor's client side: starting a monitor for a container, the
//! streams it is given, and the start pipe it reports on (`STARTED pid`,
//! `ERROR code msg`, later `EXIT code` or `DETACHED`).

use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;

use crate::container::ContainerConfig;
use crate::error::{Error, Result};
use crate::paths::Paths;

/// A started monitor and the pipe it reports on.
pub struct MonitorHandle {
    pub pid: u32,
    pub container_pid: u32,
    reader: BufReader<std::fs::File>,
}

pub enum MonitorEvent {
    Exit(i32),
    Detached,
    Gone,
}

impl MonitorHandle {
    /// Block until the monitor reports the end (attached mode).
    pub fn next_event(&mut self) -> MonitorEvent {
        let mut line = String::new();
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return MonitorEvent::Gone,
                Ok(_) => {}
            }
            let l = line.trim();
            if let Some(c) = l.strip_prefix("EXIT ") {
                return MonitorEvent::Exit(c.parse().unwrap_or(125));
            }
            if l == "DETACHED" {
                return MonitorEvent::Detached;
            }
        }
    }

    pub fn raw_fd(&self) -> i32 {
        self.reader.get_ref().as_raw_fd()
    }
}

/// Where an attached container's streams go.
pub enum AttachTo {
    /// Descriptors the monitor copies the container's terminal or pipes to
    /// and from directly (the CLI's own stdin, stdout and stderr): no hop
    /// through the caller. Without `stdin` the container's input is not
    /// attached.
    Fds { stdin: Option<OwnedFd>, stdout: OwnedFd, stderr: OwnedFd },
    /// A socket speaking the attach protocol (`container::attach`): output
    /// frames out, raw input in. The monitor has it before the container
    /// starts, so nothing is missed (the API server's attach-then-start).
    Socket(OwnedFd),
}

#[derive(Default)]
pub struct StartOptions {
    pub attach: Option<AttachTo>,
    /// Overrides the container's --detach-keys (matched on `Fds` input).
    pub detach_keys: Option<String>,
}

/// Live monitors of container `id` owned by us, found by their command line
/// (`rcon __monitor ID …`, as `spawn` and a restart write it): for removing
/// a container whose state file no longer says which process it is.
pub fn find_monitors(id: &str) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let me = unsafe { libc::geteuid() };
    let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok().map(|pid| (pid, e.path())))
        .filter(|(_, p)| p.metadata().is_ok_and(|m| m.uid() == me))
        .filter(|(_, p)| {
            let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
            let mut args = cmd.split(|b| *b == 0).skip(1);
            args.next() == Some(b"__monitor".as_slice()) && args.next() == Some(id.as_bytes())
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Spawn the monitor of container `c` (the caller holds its lock and has
/// checked that it is not running) and wait for it to report that the
/// container runs.
pub fn spawn(paths: &Paths, c: &ContainerConfig, o: StartOptions) -> Result<MonitorHandle> {
    let id = &c.id;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::Other(format!("pipe: {e}")))?;
    let mut cmd = std::process::Command::new(crate::util::helper_binary());
    cmd.arg0("rcon").arg("__monitor").arg(id).args(paths.to_args());
    if let Some(k) = &o.detach_keys {
        cmd.arg(format!("--detach-keys={k}"));
    }
    // The monitor's stdio: the client's descriptors, or /dev/null.
    let mut socket = None;
    match o.attach {
        Some(AttachTo::Fds { stdin, stdout, stderr }) => {
            cmd.arg("--attach");
            match stdin {
                Some(fd) => {
                    cmd.arg("--attach-stdin").stdin(fd);
                }
                None => {
                    cmd.stdin(std::process::Stdio::null());
                }
            }
            cmd.stdout(stdout).stderr(stderr);
        }
        Some(AttachTo::Socket(fd)) => {
            cmd.arg("--attach-socket=4");
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            socket = Some(fd);
        }
        None => {
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
    }
    let wfd = w.as_raw_fd();
    let sfd = socket.as_ref().map(|s| s.as_raw_fd());
    unsafe {
        cmd.pre_exec(move || {
            // Its own session: the terminal's ^C reaches us, and we decide
            // (sig-proxy) what the container gets.
            libc::setsid();
            match sfd {
                Some(s) => crate::util::place_fds(&[(wfd, 3), (s, 4)]),
                None => crate::util::place_fds(&[(wfd, 3)]),
            }
        });
    }
    let child = cmd.spawn().map_err(|e| Error::Other(format!("start monitor: {e}")))?;
    let monitor_pid = child.id();
    drop(w);
    drop(socket);
    let mut reader = BufReader::new(std::fs::File::from(r));
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let line = line.trim().to_string();
    // The monitor is not our child to wait for: let init reap it.
    std::mem::forget(child);
    if let Some(pid) = line.strip_prefix("STARTED ") {
        return Ok(MonitorHandle { pid: monitor_pid, container_pid: pid.parse().unwrap_or(0), reader });
    }
    if let Some(rest) = line.strip_prefix("ERROR ") {
        let (code, msg) = rest.split_once(' ').unwrap_or((rest, ""));
        let msg = format!("cannot start container {}: {msg}", c.name);
        return Err(match code.parse().unwrap_or(125) {
            126 => Error::CannotExecute(msg),
            127 => Error::CommandNotFound(msg),
            _ => Error::Other(msg),
        });
    }
    Err(Error::Other(format!("the monitor of container {} exited before starting it", c.name)))
}
