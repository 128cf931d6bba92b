//! The TCP port forwarder for the slirp4netns network (`rcon __portfwd`):
//! slirp4netns' own `add_hostfwd` copies every byte through libslirp's
//! user-mode TCP stack (~250 MiB/s here); this process moves them with
//! splice(2) between two kernel sockets instead (podman's rootlessport plays
//! the same part).
//!
//! It binds the host ports in the host's network namespace first, then
//! joins the container's user and network namespaces: sockets keep the
//! namespace they were created in, so every connection it then opens to the
//! container is made from inside. Started by the monitor once slirp4netns is
//! up, it reports `OK` or `ERR message` on fd 3, dies with the monitor
//! (PDEATHSIG) and is killed when the container exits.
//!
//! The container sees connections from its own address, not the client's.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::MetadataExt;

/// `rcon __portfwd PID HOST_IP:HOST_PORT:CONTAINER_PORT…`
pub fn main(args: &[String]) -> i32 {
    let mut report = unsafe { std::fs::File::from_raw_fd(3) };
    match setup(args) {
        Ok(listeners) => {
            let _ = report.write_all(b"OK\n");
            drop(report);
            serve(listeners);
            0
        }
        Err(e) => {
            let _ = writeln!(report, "ERR {e}");
            1
        }
    }
}

fn setup(args: &[String]) -> Result<Vec<(TcpListener, u16)>, String> {
    let pid: u32 = args.first().and_then(|p| p.parse().ok()).ok_or("usage: __portfwd PID IP:PORT:PORT…")?;
    let mut listeners = Vec::new();
    for spec in &args[1..] {
        let mut it = spec.rsplitn(3, ':');
        let (cport, hport, ip) = (it.next(), it.next(), it.next());
        let (Some(cport), Some(hport), Some(ip)) = (cport, hport, ip) else {
            return Err(format!("bad port spec {spec}"));
        };
        let ip: IpAddr = ip.trim_matches(['[', ']']).parse().map_err(|_| format!("bad address in {spec}"))?;
        let hport: u16 = hport.parse().map_err(|_| format!("bad port in {spec}"))?;
        let cport: u16 = cport.parse().map_err(|_| format!("bad port in {spec}"))?;
        let l = TcpListener::bind(SocketAddr::new(ip, hport))
            .map_err(|e| format!("cannot publish {ip}:{hport} for {cport}/tcp: {e}: choose another host port"))?;
        listeners.push((l, cport));
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
    Ok(listeners)
}

fn serve(listeners: Vec<(TcpListener, u16)>) {
    let mut threads = Vec::new();
    for (l, cport) in listeners {
        threads.push(std::thread::spawn(move || {
            for client in l.incoming().flatten() {
                std::thread::spawn(move || connect(client, cport));
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
}

/// One connection: to the container's address on `cport`, then both
/// directions spliced until each side has closed.
fn connect(client: TcpStream, cport: u16) {
    let target = SocketAddr::new(super::SLIRP_IP.parse().expect("constant address"), cport);
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
