//! The monitor's poll loop: signals (the container's exit, SIGWINCH, a stop),
//! the container's output to the log, the attached terminal and the attach
//! clients, their input to the container's stdin, and the healthcheck.
//! Single-threaded: one `poll` over every descriptor.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Instant;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::SignalFd;

use super::{copy_winsize, detach_from_client, health, logs, say, sfd_borrow, trim_resident};
use crate::container::attach::{self, DetachKeys};
use crate::container::ContainerConfig;

/// What the loop works on. Fields drop in this order when the monitor's
/// `run` returns (the log's last flush among them).
pub(super) struct Session<'a> {
    pub(super) cfg: &'a ContainerConfig,
    /// The container's init.
    pub(super) pid: u32,
    pub(super) sfd: &'a SignalFd,
    /// `rcon attach` connects here.
    pub(super) listener: &'a UnixListener,
    /// The write end of the container's stdin pipe (`-i` without `-t`).
    pub(super) in_w: Option<OwnedFd>,
    pub(super) log: Option<logs::LogWriter>,
    pub(super) prober: Option<health::Prober>,
    /// With `-t`: the container's pty master, its output and its input.
    pub(super) master: Option<OwnedFd>,
    /// Attached clients and whether their input side is still open.
    pub(super) clients: Vec<(UnixStream, bool)>,
    /// The attached client: our own stdio.
    pub(super) attached: bool,
    pub(super) client_in: Option<RawFd>,
    pub(super) detach: DetachKeys,
    /// The container's output streams, and whether each is still open.
    pub(super) outputs: Vec<(RawFd, logs::Stream)>,
    pub(super) open_outputs: Vec<bool>,
    pub(super) exit: Option<i32>,
    /// Whether the start-up memory has been given back (see `trim_resident`).
    pub(super) trimmed: bool,
    pub(super) buf: Vec<u8>,
    pub(super) on_failure: health::OnFailure,
    /// Set when --health-on-failure=stop sent the stop signal: SIGKILL then.
    pub(super) kill_at: Option<Instant>,
    /// What --health-on-failure did: restart the container, or end it for good.
    pub(super) health_restart: bool,
    pub(super) health_ended: bool,
}

/// Where each descriptor of one poll sits in its array (the signalfd is 0).
struct Slots {
    /// The poll slot `1 + k` is the open output `outputs[map[k]]`.
    map: Vec<usize>,
    stdin: Option<usize>,
    listen: usize,
    /// The first client's slot; the others follow in order.
    clients: usize,
}

/// The container's output streams: the pty master with `-t`, else the
/// stdout and stderr pipes; made non-blocking for the loop.
pub(super) fn outputs(
    master: &Option<OwnedFd>,
    out_r: &Option<OwnedFd>,
    err_r: &Option<OwnedFd>,
) -> Vec<(RawFd, logs::Stream)> {
    let outputs: Vec<(RawFd, logs::Stream)> = match (master, out_r, err_r) {
        (Some(m), _, _) => vec![(m.as_raw_fd(), logs::Stream::Stdout)],
        (None, Some(o), Some(e)) => vec![(o.as_raw_fd(), logs::Stream::Stdout), (e.as_raw_fd(), logs::Stream::Stderr)],
        _ => vec![],
    };
    for (fd, _) in &outputs {
        set_nonblock(*fd);
    }
    outputs
}

impl<'a> Session<'a> {
    /// Run until the container has exited and its output is drained.
    /// `notify` is the starting CLI's pipe (`DETACHED` goes there).
    pub(super) fn run(&mut self, notify: &mut Option<File>) -> crate::Result<()> {
        loop {
            if self.exit.is_some() && !self.open_outputs.iter().any(|o| *o) {
                break;
            }
            let (mut fds, slots) = self.poll_fds();
            match poll(&mut fds, self.timeout()) {
                Ok(0) if self.exit.is_some() => break,
                Ok(0) if !self.trimmed => {
                    self.trimmed = true;
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
                self.signals();
            }
            if self.exit.is_none() {
                self.health_tick();
            }
            self.copy_outputs(&slots.map, &revents);
            if !revents[slots.listen].is_empty() {
                while let Ok((c, _)) = self.listener.accept() {
                    self.clients.push((c, true));
                }
            }
            self.clients_input(&revents, slots.clients);
            if let Some(slot) = slots.stdin {
                let ev = revents[slot];
                if !ev.is_empty() {
                    self.own_stdin(notify);
                }
            }
        }
        Ok(())
    }

    /// The descriptors to wait on: the signalfd, the open outputs, our stdin
    /// (the attached client's), the attach socket and its clients.
    fn poll_fds(&self) -> (Vec<PollFd<'a>>, Slots) {
        let mut fds = vec![PollFd::new(sfd_borrow(self.sfd), PollFlags::POLLIN)];
        let mut map: Vec<usize> = Vec::new();
        for (i, (fd, _)) in self.outputs.iter().enumerate() {
            if self.open_outputs[i] {
                fds.push(PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(*fd) }, PollFlags::POLLIN));
                map.push(i);
            }
        }
        let stdin_slot = self.client_in.map(|fd| {
            fds.push(PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, PollFlags::POLLIN));
            fds.len() - 1
        });
        let listen_slot = fds.len();
        fds.push(PollFd::new(
            unsafe { std::os::fd::BorrowedFd::borrow_raw(self.listener.as_raw_fd()) },
            PollFlags::POLLIN,
        ));
        let clients_slot = fds.len();
        for (c, input_open) in &self.clients {
            let flags = if *input_open { PollFlags::POLLIN } else { PollFlags::empty() };
            fds.push(PollFd::new(unsafe { std::os::fd::BorrowedFd::borrow_raw(c.as_raw_fd()) }, flags));
        }
        (fds, Slots { map, stdin: stdin_slot, listen: listen_slot, clients: clients_slot })
    }

    fn timeout(&self) -> PollTimeout {
        // After the init exits, the pid namespace is gone: the pipes reach EOF
        // promptly; a short timeout guards against a stray holder.
        // Once the container has run quietly for a second, give back the
        // start-up memory (kept off the start path: `run --rm` must be fast).
        let timeout = if self.exit.is_some() {
            PollTimeout::from(200u16)
        } else if !self.trimmed {
            PollTimeout::from(1000u16)
        } else {
            PollTimeout::NONE
        };
        if self.exit.is_some() {
            timeout
        } else {
            sooner(timeout, [self.prober.as_ref().and_then(|p| p.deadline()), self.kill_at])
        }
    }

    /// The signals that arrived: children to reap (the container's init, a
    /// health probe), a window size change, a request to stop.
    fn signals(&mut self) {
        while let Ok(Some(si)) = self.sfd.read_signal() {
            let sig = si.ssi_signo as i32;
            if sig == libc::SIGCHLD {
                self.reap();
            } else if sig == libc::SIGWINCH {
                if let Some(m) = &self.master {
                    if self.attached {
                        copy_winsize(0, m.as_raw_fd());
                    }
                }
            } else if sig == libc::SIGTERM || sig == libc::SIGINT || sig == libc::SIGHUP {
                // Asked to go away: pass it on, the container decides.
                unsafe { libc::kill(self.pid as i32, sig) };
            }
        }
    }

    fn reap(&mut self) {
        let mut status = 0;
        loop {
            let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if r <= 0 {
                break;
            }
            let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 125 };
            let unhealthy = self.prober.as_mut().and_then(|p| p.reaped(r as u32, code));
            if unhealthy.is_some() {
                // Spawning it paged code back in: give it back again.
                self.trimmed = false;
            }
            if unhealthy == Some(true) && self.exit.is_none() {
                let on_failure = self.on_failure;
                self.kill_at = self.kill_at.or(on_unhealthy(on_failure, self.pid, self.cfg));
                self.health_restart |= on_failure == health::OnFailure::Restart;
                self.health_ended |= matches!(on_failure, health::OnFailure::Kill | health::OnFailure::Stop);
            }
            if r as u32 == self.pid {
                self.exit = Some(if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                });
            }
        }
    }

    /// A probe due, and the SIGKILL after --health-on-failure=stop.
    fn health_tick(&mut self) {
        if let Some(p) = self.prober.as_mut() {
            p.tick();
        }
        if self.kill_at.is_some_and(|t| Instant::now() >= t) {
            unsafe { libc::kill(self.pid as i32, libc::SIGKILL) };
            self.kill_at = None;
        }
    }

    /// Drain the outputs that are ready into the log, the attached terminal
    /// and the attach clients.
    fn copy_outputs(&mut self, map: &[usize], revents: &[PollFlags]) {
        for (slot, &i) in map.iter().enumerate() {
            let ev = revents[slot + 1];
            if ev.is_empty() {
                continue;
            }
            let (fd, stream) = self.outputs[i];
            loop {
                let n = read_fd(fd, &mut self.buf);
                if n > 0 {
                    let data = &self.buf[..n as usize];
                    if let Some(l) = self.log.as_mut() {
                        let _ = l.write(stream, data);
                    }
                    if self.attached {
                        let target = if stream == logs::Stream::Stderr { 2 } else { 1 };
                        if !write_all_fd(target, data) {
                            self.attached = false;
                        }
                    }
                    let frame = attach::frame(
                        if stream == logs::Stream::Stderr { attach::STDERR } else { attach::STDOUT },
                        data,
                    );
                    self.clients.retain(|(c, _)| write_all_fd(c.as_raw_fd(), &frame));
                    continue;
                }
                if n == 0 || (n < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN)) {
                    // EOF, or EIO on a pty master whose slave is closed.
                    self.open_outputs[i] = false;
                }
                break;
            }
        }
    }

    /// Input from attached clients goes to the container's stdin (-i).
    /// `first` is the first client's poll slot.
    fn clients_input(&mut self, revents: &[PollFlags], first: usize) {
        let mut gone = Vec::new();
        for (k, (c, input_open)) in self.clients.iter_mut().enumerate() {
            let Some(ev) = revents.get(first + k) else { continue };
            if ev.is_empty() || !*input_open {
                continue;
            }
            let n = read_fd(c.as_raw_fd(), &mut self.buf);
            if n < 0 && !ev.contains(PollFlags::POLLIN) {
                gone.push(k);
                continue;
            }
            if n <= 0 {
                // The client closed its input: so does the container's stdin
                // (`echo x | rcon attach` ends `cat`), output keeps flowing.
                *input_open = false;
                self.in_w = None;
                continue;
            }
            let target = self.master.as_ref().map(|m| m.as_raw_fd()).or(self.in_w.as_ref().map(|w| w.as_raw_fd()));
            if let Some(t) = target {
                write_all_fd(t, &self.buf[..n as usize]);
            }
        }
        for k in gone.into_iter().rev() {
            self.clients.remove(k);
        }
    }

    /// Input from the attached client's own stdin, watching for the detach keys.
    fn own_stdin(&mut self, notify: &mut Option<File>) {
        let n = read_fd(0, &mut self.buf);
        if n <= 0 {
            // Client stdin closed: close the container's (EOF for `cat`).
            self.client_in = None;
            self.in_w = None;
        } else {
            let data = self.buf[..n as usize].to_vec();
            let (pass, detached) = if self.cfg.tty { self.detach.feed(&data) } else { (data, false) };
            let target = self.master.as_ref().map(|m| m.as_raw_fd()).or(self.in_w.as_ref().map(|w| w.as_raw_fd()));
            if let Some(t) = target {
                write_all_fd(t, &pass);
            }
            if detached {
                say(notify, "DETACHED");
                *notify = None;
                detach_from_client();
                self.attached = false;
                self.client_in = None;
            }
        }
    }

    /// Tell the attach clients the exit code.
    pub(super) fn send_exit(&self, code: i32) {
        let frame = attach::frame(attach::EXIT, code.to_string().as_bytes());
        for (c, _) in &self.clients {
            write_all_fd(c.as_raw_fd(), &frame);
        }
    }
}

/// The poll timeout shortened to the nearest deadline.
fn sooner(t: PollTimeout, deadlines: [Option<Instant>; 2]) -> PollTimeout {
    let now = Instant::now();
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
fn on_unhealthy(action: health::OnFailure, pid: u32, cfg: &ContainerConfig) -> Option<Instant> {
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
            Some(Instant::now() + std::time::Duration::from_secs(grace))
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
