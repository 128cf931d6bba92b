//! Where the service listens: a unix socket (the default, under the
//! runtime directory), a loopback TCP port, or sockets handed over by
//! systemd's socket activation (`LISTEN_FDS`/`LISTEN_PID`).

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{Error, Result};

#[derive(Debug)]
pub enum Listen {
    Unix(PathBuf),
    /// `tcp://HOST:PORT`; anything but loopback only with `remote`.
    Tcp {
        addr: std::net::SocketAddr,
        remote: bool,
    },
    /// Socket activation: descriptors 3.. as systemd passed them.
    Activated(Vec<RawFd>),
}

impl Listen {
    /// `unix:///path`, `tcp://127.0.0.1:2375`; None: the default socket in
    /// `runtime_dir`. `LISTEN_FDS` for this process wins over both.
    pub fn parse(uri: Option<&str>, runtime_dir: &Path, remote: bool) -> Result<Listen> {
        if let Some(fds) = activated() {
            return Ok(Listen::Activated(fds));
        }
        let bad = |m: String| Error::InvalidArgument(m);
        match uri {
            None => Ok(Listen::Unix(runtime_dir.join("rcon.sock"))),
            Some(u) => {
                if let Some(p) = u.strip_prefix("unix://") {
                    if !p.starts_with('/') {
                        return Err(bad(format!("invalid URI {u:?}: give an absolute path, as unix:///path/to/sock")));
                    }
                    Ok(Listen::Unix(PathBuf::from(p)))
                } else if let Some(a) = u.strip_prefix("tcp://") {
                    let addr: std::net::SocketAddr = a
                        .parse()
                        .map_err(|_| bad(format!("invalid URI {u:?}: use tcp://IP:PORT, e.g. tcp://127.0.0.1:2375")))?;
                    if !addr.ip().is_loopback() && !remote {
                        return Err(bad(format!(
                            "refusing to listen on {addr}: the API gives whoever reaches it the power of your user (root-equivalent over your containers); listen on 127.0.0.1, or pass --allow-remote to mean it"
                        )));
                    }
                    Ok(Listen::Tcp { addr, remote })
                } else {
                    Err(bad(format!("invalid URI {u:?}: use unix:///path or tcp://127.0.0.1:PORT")))
                }
            }
        }
    }

    /// The DOCKER_HOST value that reaches this listener.
    pub fn docker_host(&self) -> String {
        match self {
            Listen::Unix(p) => format!("unix://{}", p.display()),
            Listen::Tcp { addr, .. } => format!("tcp://{addr}"),
            Listen::Activated(fds) => fds
                .iter()
                .find_map(|&fd| {
                    use nix::sys::socket::{getsockname, UnixAddr};
                    if let Ok(a) = getsockname::<UnixAddr>(fd) {
                        if let Some(p) = a.path() {
                            return Some(format!("unix://{}", p.display()));
                        }
                    }
                    // Borrowed, not owned: ManuallyDrop leaves the fd open.
                    let l = std::mem::ManuallyDrop::new(unsafe { std::net::TcpListener::from_raw_fd(fd) });
                    l.local_addr().ok().map(|a| format!("tcp://{a}"))
                })
                .unwrap_or_else(|| "(the sockets systemd passed)".into()),
        }
    }

    /// Open the listening sockets (before the runtime starts: a umask or
    /// chmod here is still single-threaded).
    pub fn bind(&self) -> Result<Vec<Listener>> {
        match self {
            Listen::Unix(p) => Ok(vec![bind_unix(p)?]),
            Listen::Tcp { addr, remote } => {
                if *remote && !addr.ip().is_loopback() {
                    crate::util::warn(&format!(
                        "the API on {addr} is reachable from the network without authentication: anyone who connects can run containers as your user"
                    ));
                }
                let l = std::net::TcpListener::bind(addr).map_err(|e| Error::io(format!("listen on {addr}"), e))?;
                l.set_nonblocking(true).map_err(|e| Error::io("listen", e))?;
                Ok(vec![Listener::Tcp(std::sync::Mutex::new(Some(l)), tokio::sync::OnceCell::new())])
            }
            Listen::Activated(fds) => fds
                .iter()
                .map(|&fd| {
                    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
                    // systemd hands over unix or TCP sockets; tell them apart.
                    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
                    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                    unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_storage).cast(), &mut len) };
                    if addr.ss_family as i32 == libc::AF_UNIX {
                        let l = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
                        l.set_nonblocking(true).map_err(|e| Error::io("activated socket", e))?;
                        Ok(Listener::Unix(std::sync::Mutex::new(Some(l)), tokio::sync::OnceCell::new()))
                    } else {
                        let l = unsafe { std::net::TcpListener::from_raw_fd(fd) };
                        l.set_nonblocking(true).map_err(|e| Error::io("activated socket", e))?;
                        Ok(Listener::Tcp(std::sync::Mutex::new(Some(l)), tokio::sync::OnceCell::new()))
                    }
                })
                .collect(),
        }
    }
}

/// `LISTEN_FDS` sockets meant for this process (sd_listen_fds(3)).
fn activated() -> Option<Vec<RawFd>> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    if pid != std::process::id() {
        return None;
    }
    let n: i32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    // Ours alone: the containers' monitors we start must not see them.
    // (Still single-threaded: the runtime starts after the listeners.)
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    (n > 0).then(|| (3..3 + n).collect())
}

/// A unix socket 0600 in a 0700 directory (as root: 0660 and group
/// `docker` when that group exists, as Docker's socket). A stale socket
/// from a killed service is replaced; a live one is an error.
fn bind_unix(p: &Path) -> Result<Listener> {
    let dir = p.parent().unwrap_or(Path::new("/"));
    let root = unsafe { libc::geteuid() } == 0;
    let docker_gid = root.then(docker_group).flatten();
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        let mode = if docker_gid.is_some() { 0o711 } else { 0o700 };
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode));
    }
    if p.exists() {
        if std::os::unix::net::UnixStream::connect(p).is_ok() {
            return Err(Error::Conflict(format!(
                "{} is already served by another process: stop it, or give another URI",
                p.display()
            )));
        }
        let _ = std::fs::remove_file(p);
    }
    // The umask makes the socket 0600 from its first instant (no window in
    // which others could connect); we are still single-threaded here.
    let old = unsafe { libc::umask(0o177) };
    let l = std::os::unix::net::UnixListener::bind(p);
    unsafe { libc::umask(old) };
    let l = l.map_err(|e| Error::io(format!("listen on {}", p.display()), e))?;
    if let Some(gid) = docker_gid {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("no NUL");
        unsafe { libc::chown(c.as_ptr(), 0, gid) };
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o660));
    }
    l.set_nonblocking(true).map_err(|e| Error::io("listen", e))?;
    Ok(Listener::Unix(std::sync::Mutex::new(Some(l)), tokio::sync::OnceCell::new()))
}

fn docker_group() -> Option<u32> {
    nix::unistd::Group::from_name("docker").ok().flatten().map(|g| g.gid.as_raw())
}

/// A listening socket, turned into tokio's on first use (inside the
/// runtime).
pub enum Listener {
    Unix(std::sync::Mutex<Option<std::os::unix::net::UnixListener>>, tokio::sync::OnceCell<tokio::net::UnixListener>),
    Tcp(std::sync::Mutex<Option<std::net::TcpListener>>, tokio::sync::OnceCell<tokio::net::TcpListener>),
}

impl Listener {
    pub async fn accept(&self) -> std::io::Result<Conn> {
        match self {
            Listener::Unix(std, cell) => {
                let l = cell
                    .get_or_try_init(|| async {
                        let l = std.lock().unwrap().take().expect("taken once");
                        tokio::net::UnixListener::from_std(l)
                    })
                    .await?;
                Ok(Conn::Unix(l.accept().await?.0))
            }
            Listener::Tcp(std, cell) => {
                let l = cell
                    .get_or_try_init(|| async {
                        let l = std.lock().unwrap().take().expect("taken once");
                        tokio::net::TcpListener::from_std(l)
                    })
                    .await?;
                let (s, _) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok(Conn::Tcp(s))
            }
        }
    }
}

/// One client connection.
pub enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_flush(cx),
            Conn::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let d = Path::new("/run/user/1000/rcon");
        assert!(matches!(Listen::parse(None, d, false).unwrap(), Listen::Unix(p) if p == d.join("rcon.sock")));
        assert!(
            matches!(Listen::parse(Some("unix:///tmp/x.sock"), d, false).unwrap(), Listen::Unix(p) if p == Path::new("/tmp/x.sock"))
        );
        assert!(Listen::parse(Some("tcp://127.0.0.1:2375"), d, false).is_ok());
        assert!(Listen::parse(Some("tcp://0.0.0.0:2375"), d, false)
            .unwrap_err()
            .to_string()
            .contains("--allow-remote"));
        assert!(Listen::parse(Some("tcp://0.0.0.0:2375"), d, true).is_ok());
        assert!(Listen::parse(Some("unix://rel"), d, false).is_err());
        assert!(Listen::parse(Some("http://x"), d, false).is_err());
    }
}
