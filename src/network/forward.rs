//! The port forwarder for the slirp4netns network (`rcon __portfwd`):
//! slirp4netns' own `add_hostfwd` copies every byte through libslirp's
//! user-mode TCP stack (~250 MiB/s here); this process moves TCP with
//! splice(2) between two kernel sockets instead (podman's rootlessport plays
//! the same part). UDP goes through it too: libslirp's UDP forwarding
//! delivers datagrams from 10.0.2.2, and with `--disable-host-loopback` the
//! answers to that address never make it back.
//!
//! It binds the host ports in the host's network namespace first, then
//! joins the container's user and network namespaces: sockets keep the
//! namespace they were created in, so every connection it then opens to the
//! container is made from inside. Started by the monitor once slirp4netns is
//! up, it reports `OK` or `ERR message` on fd 3 and dies with the monitor
//! (PDEATHSIG). When the container exits the monitor sends SIGTERM: the
//! host ports are closed at once (a script's next `run -p` may take them),
//! and open connections get `DRAIN` to deliver what the container sent
//! before it exited, which may still be in our buffers.
//!
//! The container sees connections from its own address, not the client's.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::MetadataExt;

/// `rcon __portfwd PID TARGET_IP HOST_IP:HOST_PORT:CONTAINER_PORT[/udp]…`
/// (TARGET_IP: the container's address to forward to, from inside it:
/// slirp4netns' 10.0.2.100, or 127.0.0.1 next to pasta)
pub fn main(args: &[String]) -> i32 {
    let mut report = unsafe { std::fs::File::from_raw_fd(3) };
    match setup(args) {
        Ok((listeners, to)) => {
            let _ = report.write_all(b"OK\n");
            drop(report);
            serve(listeners, to)
        }
        Err(e) => {
            let _ = writeln!(report, "ERR {e}");
            1
        }
    }
}

/// A host port to publish, bound in the host's namespace.
enum Listener {
    Tcp(TcpListener, u16),
    Udp(UdpSocket, u16),
}

fn setup(args: &[String]) -> Result<(Vec<Listener>, IpAddr), String> {
    let usage = "usage: __portfwd PID TARGET_IP IP:PORT:PORT…";
    let pid: u32 = args.first().and_then(|p| p.parse().ok()).ok_or(usage)?;
    let to: IpAddr = args.get(1).and_then(|p| p.parse().ok()).ok_or(usage)?;
    let mut listeners = Vec::new();
    for spec in args.iter().skip(2) {
        let (spec, udp) = match spec.strip_suffix("/udp") {
            Some(s) => (s, true),
            None => (spec.as_str(), false),
        };
        let mut it = spec.rsplitn(3, ':');
        let (cport, hport, ip) = (it.next(), it.next(), it.next());
        let (Some(cport), Some(hport), Some(ip)) = (cport, hport, ip) else {
            return Err(format!("bad port spec {spec}"));
        };
        let ip: IpAddr = ip.trim_matches(['[', ']']).parse().map_err(|_| format!("bad address in {spec}"))?;
        let hport: u16 = hport.parse().map_err(|_| format!("bad port in {spec}"))?;
        let cport: u16 = cport.parse().map_err(|_| format!("bad port in {spec}"))?;
        let addr = SocketAddr::new(ip, hport);
        let taken = |e: std::io::Error, proto: &str| {
            format!("cannot publish {ip}:{hport} for {cport}/{proto}: {e}: choose another host port")
        };
        listeners.push(if udp {
            Listener::Udp(UdpSocket::bind(addr).map_err(|e| taken(e, "udp"))?, cport)
        } else {
            Listener::Tcp(TcpListener::bind(addr).map_err(|e| taken(e, "tcp"))?, cport)
        });
    }
    // Open both namespaces before entering the first: /proc/PID is the
    // host's view.
    let open = |n: &str| {
        std::fs::File::open(format!("/proc/{pid}/ns/{n}"))
            .map_err(|e| format!("open the container's {n} namespace: {e}"))
    };
    let (user, net) = (open("user")?, open("net")?);
    let own_user = std::fs::metadata("/proc/self/ns/user").map(|m| m.ino()).unwrap_or(0);
    if user.metadata().map(|m| m.ino()).unwrap_or(0) != own_user
        && unsafe { libc::setns(user.as_raw_fd(), libc::CLONE_NEWUSER) } != 0
    {
        return Err(format!("join the container's user namespace: {}", std::io::Error::last_os_error()));
    }
    if unsafe { libc::setns(net.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("join the container's network namespace: {}", std::io::Error::last_os_error()));
    }
    Ok((listeners, to))
}

/// How long open connections may take to finish after SIGTERM.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// TCP connections being forwarded.
static ACTIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Serve until SIGTERM, then close the host ports and drain; the exit code.
fn serve(listeners: Vec<Listener>, to: IpAddr) -> i32 {
    use std::sync::atomic::Ordering;
    // Blocked in every thread (they inherit the mask): this one waits for it.
    let mut term: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut term);
        libc::sigaddset(&mut term, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &term, std::ptr::null_mut());
    }
    let mut tcp_fds = Vec::new();
    for l in listeners {
        if let Listener::Tcp(l, _) = &l {
            tcp_fds.push(l.as_raw_fd());
        }
        std::thread::spawn(move || match l {
            Listener::Tcp(l, cport) => loop {
                match l.accept() {
                    Ok((client, _)) => {
                        ACTIVE.fetch_add(1, Ordering::SeqCst);
                        std::thread::spawn(move || {
                            connect(client, SocketAddr::new(to, cport));
                            ACTIVE.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    // shutdown(2) by the main thread: dropping `l` frees the port.
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                    Err(_) => continue,
                }
            },
            Listener::Udp(s, cport) => relay_udp(s, SocketAddr::new(to, cport)),
        });
    }
    let mut sig = 0;
    unsafe { libc::sigwait(&term, &mut sig) };
    for fd in tcp_fds {
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    }
    let deadline = std::time::Instant::now() + DRAIN;
    while ACTIVE.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    0
}

/// One connection: to `target` in the container, then both
/// directions spliced until each side has closed.
fn connect(client: TcpStream, target: SocketAddr) {
    let Ok(server) = TcpStream::connect(target) else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
        (Ok(c), Ok(s)) => (c, s),
        _ => return,
    };
    let up = std::thread::spawn(move || pump(&c2, &s2));
    pump(&server, &client);
    let _ = up.join();
}

/// How long a UDP client's mapping lives without traffic (conntrack's
/// default for unreplied-to streams is 30 s, for answered ones 120 s).
const UDP_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// UDP: one socket in the container's namespace per client address, so
/// answers find their way back; each has a thread relaying the answers and
/// ending after `UDP_IDLE` of silence.
fn relay_udp(host: UdpSocket, target: SocketAddr) {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let host = Arc::new(host);
    let peers: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, client)) = host.recv_from(&mut buf) else { continue };
        let existing = peers.lock().ok().and_then(|p| p.get(&client).cloned());
        let inner = match existing {
            Some(s) => s,
            None => {
                // Made by this thread, which is in the container's namespace.
                let Ok(s) = UdpSocket::bind("0.0.0.0:0") else { continue };
                if s.connect(target).is_err() || s.set_read_timeout(Some(UDP_IDLE)).is_err() {
                    continue;
                }
                let s = Arc::new(s);
                if let Ok(mut p) = peers.lock() {
                    p.insert(client, s.clone());
                }
                let (s2, host2, peers2) = (s.clone(), host.clone(), peers.clone());
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = s2.recv(&mut buf) {
                        let _ = host2.send_to(&buf[..n], client);
                    }
                    if let Ok(mut p) = peers2.lock() {
                        p.remove(&client);
                    }
                });
                s
            }
        };
        let _ = inner.send(&buf[..n]);
    }
}

/// Move bytes from `from` to `to` through a pipe with splice(2), then pass
/// the end of stream on (half-close).
fn pump(from: &TcpStream, to: &TcpStream) {
    let mut fds = [0 as RawFd; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    let (pr, pw) = (fds[0], fds[1]);
    const CHUNK: usize = 1 << 20;
    // A larger pipe moves more per call; refused quietly above the user's limit.
    unsafe { libc::fcntl(pw, libc::F_SETPIPE_SZ, CHUNK as libc::c_int) };
    // Not SPLICE_F_MORE: on a socket it corks like MSG_MORE, holding small
    // writes (an interactive protocol's) back for up to 200 ms.
    let flags = libc::SPLICE_F_MOVE;
    'outer: loop {
        let n = unsafe { libc::splice(from.as_raw_fd(), std::ptr::null_mut(), pw, std::ptr::null_mut(), CHUNK, flags) };
        if n <= 0 {
            break;
        }
        let mut left = n as usize;
        while left > 0 {
            let m =
                unsafe { libc::splice(pr, std::ptr::null_mut(), to.as_raw_fd(), std::ptr::null_mut(), left, flags) };
            if m <= 0 {
                break 'outer;
            }
            left -= m as usize;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
    let _ = from.shutdown(std::net::Shutdown::Read);
    unsafe {
        libc::close(pr);
        libc::close(pw);
    }
}
