//! The CLI's own terminal and stdio: raw mode for `-t`, window sizes,
//! signal proxying, and the copy loops between our stdin/stdout/stderr and
//! a container (`attach`, `exec -t`). The engine never touches fds 0/1/2;
//! the CLI hands it these descriptors or does the copying here.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::container::attach::{DetachKeys, Frames, EXIT, STDERR, STDOUT};
use crate::engine::containers::AttachTo;

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
            without_sigttou(|| libc::tcsetattr(0, libc::TCSANOW, &t));
            RawTerminal(Some(saved))
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            without_sigttou(|| unsafe { libc::tcsetattr(0, libc::TCSANOW, t) });
        }
    }
}

/// `f` with SIGTTOU blocked: a tcsetattr from a background process group
/// of the terminal stops the process with SIGTTOU unless it is blocked or
/// ignored (the kernel's tty_check_change), so a client that was put in
/// the background (`timeout` without `--foreground`, a CI wrapper, ^Z and
/// `bg`) would stop forever restoring the terminal. Blocked, the call
/// simply proceeds.
fn without_sigttou<T>(f: impl FnOnce() -> T) -> T {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal};
    let mut block = SigSet::empty();
    block.add(Signal::SIGTTOU);
    let mut old = SigSet::empty();
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old));
    let r = f();
    if !old.contains(Signal::SIGTTOU) {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&block), None);
    }
    r
}

/// Before anything is created for a session that takes the terminal
/// (`-i -t`: raw mode and the keyboard): refuse it when stdin is a terminal
/// whose foreground process group is not ours. There the terminal belongs
/// to another job: reading it stops us with SIGTTIN, and raw mode would be
/// set under the feet of the foreground one. (The docker CLI spins in
/// tcsetattr there, at 100% CPU, until it is killed; without -i it does not
/// touch the terminal, and neither do we: see `attached` and `pty_loop`.)
pub fn check_foreground() -> crate::Result<()> {
    let background = unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) != libc::getpgrp() };
    if background {
        return Err(crate::Error::InvalidArgument(
            "cannot attach stdin of a -t session: rcon runs in a background process group of its terminal \
             (e.g. under timeout without --foreground); run it in the foreground or without -i"
                .into(),
        ));
    }
    Ok(())
}

/// Copy the window size of terminal `from` to `to` (a pty master).
pub fn copy_winsize(from: RawFd, to: RawFd) {
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

fn dup(fd: RawFd) -> std::io::Result<OwnedFd> {
    unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

/// Our own stdin (when asked), stdout and stderr, for the monitor to use as
/// the container's attached streams.
pub fn own_stdio(with_stdin: bool) -> std::io::Result<AttachTo> {
    Ok(AttachTo::Fds { stdin: if with_stdin { Some(dup(0)?) } else { None }, stdout: dup(1)?, stderr: dup(2)? })
}

/// Signals an attached client passes on to the container (sig-proxy).
const PROXIED: [nix::sys::signal::Signal; 6] = {
    use nix::sys::signal::Signal::*;
    [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]
};

/// A signalfd for the proxied signals (and SIGWINCH with `winch`), which
/// are blocked from now on.
pub fn proxy_signals(winch: bool) -> Option<nix::sys::signalfd::SignalFd> {
    use nix::sys::signal::{SigSet, Signal};
    let mut mask = SigSet::empty();
    for s in PROXIED {
        mask.add(s);
    }
    if winch {
        mask.add(Signal::SIGWINCH);
    }
    let _ = mask.thread_block();
    nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC).ok()
}

/// `rcon attach`: copy between our stdio and a monitor's attach socket
/// until the container exits (its code) or the detach keys are typed (0).
/// `sig_proxy`: signals we receive go to the container's init `pid`.
pub fn attach_loop(
    mut sock: std::os::unix::net::UnixStream,
    use_stdin: bool,
    detach_keys: &str,
    sig_proxy: Option<u32>,
    exit_code: impl Fn() -> i32,
) -> i32 {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut keys = DetachKeys::parse(detach_keys);
    let mut frames = Frames::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut stdin_open = use_stdin;
    let sfd = sig_proxy.and_then(|_| proxy_signals(false));
    loop {
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
        if let (Some(slot), Some(f), Some(pid)) = (sig_slot, &sfd, sig_proxy) {
            if !ev[slot].is_empty() {
                if let Ok(Some(si)) = f.read_signal() {
                    unsafe { libc::kill(pid as i32, si.ssi_signo as i32) };
                }
            }
        }
        if !ev[0].is_empty() {
            let n = sock.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return exit_code();
            }
            frames.push(&buf[..n]);
            while let Some((stream, data, _)) = frames.next_frame() {
                match stream {
                    STDOUT => {
                        let mut o = std::io::stdout().lock();
                        let _ = o.write_all(&data).and_then(|_| o.flush());
                    }
                    STDERR => {
                        let _ = std::io::stderr().write_all(&data);
                    }
                    EXIT => return String::from_utf8_lossy(&data).parse().unwrap_or(0),
                    _ => {}
                }
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
                return 0;
            }
        }
    }
}

/// `exec -t`: copy between our terminal and the process's pty `master`
/// until the process has exited (`try_wait`) and the pty has drained; its
/// exit code when `try_wait` saw it.
pub fn pty_loop(master: RawFd, interactive: bool, mut try_wait: impl FnMut() -> Option<i32>) -> Option<i32> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    if unsafe { libc::isatty(0) } == 1 {
        copy_winsize(0, master);
    }
    // Raw mode only with stdin attached, as Docker (-t alone leaves the
    // terminal as it is, so it also works from a background process group).
    let raw = interactive.then(RawTerminal::enter);
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
            code = try_wait();
        } else if ev[0].is_empty() {
            break;
        }
    }
    drop(raw);
    code
}
