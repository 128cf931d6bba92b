//! `rcon attach`: connect our terminal or pipes to a running container
//! through its monitor's attach socket.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd};

use super::Engine;
use crate::container::{ContainerStore, Status};
use crate::error::{Error, Result};
use crate::monitor::{DetachKeys, ATTACH_SOCKET};

pub fn attach(engine: &Engine, arg: &str, no_stdin: bool, detach_keys: Option<&str>, sig_proxy: bool) -> Result<i32> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let c = store.load(&id)?;
    if c.state.status != Status::Running {
        return Err(Error::Other(format!("you cannot attach to a stopped container {arg}: start it first")));
    }
    // Connect through a directory fd: the socket's full path may exceed
    // sun_path's 108 bytes.
    let dir = std::fs::File::open(store.run_dir(&id)).map_err(|e| Error::io(format!("attach to {arg}"), e))?;
    let path = format!("/proc/self/fd/{}/{ATTACH_SOCKET}", dir.as_raw_fd());
    let mut sock =
        std::os::unix::net::UnixStream::connect(&path).map_err(|e| Error::io(format!("attach to {arg}"), e))?;
    crate::events::container(&engine.paths, &c.config, "attach", &[]);
    let raw = if c.config.tty { RawTerminal::enter() } else { RawTerminal(None) };
    let use_stdin = !no_stdin && c.config.open_stdin;
    let mut keys = DetachKeys::parse(detach_keys.unwrap_or(&c.config.host.detach_keys));
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut stdin_open = use_stdin;
    // --sig-proxy: signals we receive go to the container's init.
    let sfd = if sig_proxy {
        use nix::sys::signal::{SigSet, Signal};
        let mut mask = SigSet::empty();
        for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT, Signal::SIGUSR1, Signal::SIGUSR2]
        {
            mask.add(sig);
        }
        let _ = mask.thread_block();
        nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC).ok()
    } else {
        None
    };
    let code = loop {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = vec![PollFd::new(unsafe { BorrowedFd::borrow_raw(sock.as_raw_fd()) }, PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(unsafe { BorrowedFd::borrow_raw(0) }, PollFlags::POLLIN));
        }
        let sig_slot = sfd.as_ref().map(|f| {
            fds.push(PollFd::new(unsafe { BorrowedFd::borrow_raw(f.as_raw_fd()) }, PollFlags::POLLIN));
            fds.len() - 1
        });
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let ev: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
        drop(fds);
        if let (Some(slot), Some(f)) = (sig_slot, &sfd) {
            if !ev[slot].is_empty() {
                if let Ok(Some(si)) = f.read_signal() {
                    unsafe { libc::kill(c.state.pid as i32, si.ssi_signo as i32) };
                }
            }
        }
        if !ev[0].is_empty() {
            let n = sock.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break store.load(&id).map(|c| c.state.exit_code).unwrap_or(0);
            }
            pending.extend_from_slice(&buf[..n]);
            let mut exit = None;
            while pending.len() >= 8 {
                let len = u32::from_be_bytes([pending[4], pending[5], pending[6], pending[7]]) as usize;
                if pending.len() < 8 + len {
                    break;
                }
                let stream = pending[0];
                let data: Vec<u8> = pending.drain(..8 + len).skip(8).collect();
                match stream {
                    1 => {
                        let mut o = std::io::stdout().lock();
                        let _ = o.write_all(&data).and_then(|_| o.flush());
                    }
                    2 => {
                        let _ = std::io::stderr().write_all(&data);
                    }
                    3 => exit = String::from_utf8_lossy(&data).parse().ok(),
                    _ => {}
                }
            }
            if let Some(code) = exit {
                break code;
            }
        }
        if stdin_open && !ev[1].is_empty() {
            let n = std::io::stdin().read(&mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
                let _ = sock.shutdown(std::net::Shutdown::Write);
                continue;
            }
            let (pass, detached) = keys.feed(&buf[..n]);
            let _ = sock.write_all(&pass);
            if detached {
                break 0;
            }
        }
    };
    drop(raw);
    Ok(code)
}

/// The terminal (stdin) in raw mode while attached to a -t container,
/// restored when dropped; does nothing when stdin is not a terminal.
pub struct RawTerminal(Option<libc::termios>);

impl RawTerminal {
    pub fn enter() -> RawTerminal {
        unsafe {
            if libc::isatty(0) != 1 {
                return RawTerminal(None);
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return RawTerminal(None);
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
            RawTerminal(Some(saved))
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}
