//! `rcon system service` as a process: where and how it listens (a private
//! unix socket, loopback TCP, systemd's socket activation), when it exits
//! (idle, never under an open stream), and that containers are not its
//! children to lose.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::api::{ok, Service};
use crate::common::*;

/// Start `rcon system service ARGS…` with stderr captured.
fn spawn(t: &TestEnv, args: &[&str]) -> Child {
    let mut c = t.cmd(["system", "service"].iter().chain(args));
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    c.spawn().expect("start rcon system service")
}

fn connectable(p: &Path) -> Option<()> {
    UnixStream::connect(p).ok().map(|_| ())
}

/// `GET /_ping` on a unix socket: the body.
fn ping(p: &Path) -> String {
    let mut s = UnixStream::connect(p).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.rsplit("\r\n").next().unwrap_or_default().to_string()
}

/// Wait for the service to exit; its status code.
fn exits(child: &mut Child, within: Duration) -> i32 {
    let st = wait_for("the service to exit", within, || child.try_wait().unwrap());
    st.code().unwrap_or(-1)
}

fn stderr_of(child: &mut Child) -> String {
    let mut e = String::new();
    child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
    e
}

both_modes!(default_socket_is_private_and_single, |t| {
    let sock = t.run.join("rcon").join("rcon.sock");
    let mut first = spawn(t, &["--time", "0"]);
    wait_for("the default socket", Duration::from_secs(10), || connectable(&sock));
    assert_eq!(ping(&sock), "OK");
    let m = std::fs::metadata(&sock).unwrap();
    let dir = std::fs::metadata(sock.parent().unwrap()).unwrap();
    let uid = test_user().filter(|_| t.mode == Mode::Rootless).map(|u| u.uid).unwrap_or(0);
    assert_eq!(m.uid(), uid, "the socket belongs to the user who serves it");
    let docker_gid = std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("docker:"))
        .map(|l| l.split(':').nth(2).unwrap().parse::<u32>().unwrap());
    match (t.mode, docker_gid) {
        // As Docker's own socket: root and the docker group.
        (Mode::Root, Some(gid)) => {
            assert_eq!(m.permissions().mode() & 0o777, 0o660);
            assert_eq!(m.gid(), gid);
            assert_eq!(dir.permissions().mode() & 0o777, 0o711);
        }
        _ => {
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "only its user may connect");
            assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        }
    }
    // Another user (nobody, in no docker group) is refused by the kernel.
    if is_root() {
        let mut c = std::process::Command::new("python3");
        c.args(["-c", &format!("import socket; socket.socket(socket.AF_UNIX).connect({:?})", sock.to_str().unwrap())]);
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut c, || {
                let g = 65534;
                if libc::setgroups(1, &g) != 0 || libc::setgid(g) != 0 || libc::setuid(65534) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let o = c.output().unwrap();
        assert!(!o.status.success(), "nobody connected to the API socket");
        assert!(String::from_utf8_lossy(&o.stderr).contains("PermissionError"), "{o:?}");
    }
    // A second service on a live socket: a one-line error, exit 125, and
    // the first one keeps serving.
    let mut second = spawn(t, &["--time", "0"]);
    assert_eq!(exits(&mut second, Duration::from_secs(10)), 125);
    let e = stderr_of(&mut second);
    assert!(e.contains("already served by another process"), "{e}");
    assert_eq!(ping(&sock), "OK");
    // Killed, the first leaves its socket behind: the next one replaces it
    // and says where it listens.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(sock.exists());
    let mut third = spawn(t, &["--time", "0"]);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(third.stderr.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), format!("export DOCKER_HOST=unix://{}", sock.display()));
    wait_for("the replaced socket", Duration::from_secs(10), || connectable(&sock));
    assert_eq!(ping(&sock), "OK");
    third.kill().unwrap();
    third.wait().unwrap();
});

both_modes!(exits_when_idle_but_not_under_a_stream, |t| {
    let sock = t.path("idle.sock");
    let uri = format!("unix://{}", sock.display());
    let mut child = spawn(t, &["--time", "1", &uri]);
    wait_for("the socket", Duration::from_secs(10), || connectable(&sock));
    // An open event stream is activity: the service stays past --time.
    let mut events = UnixStream::connect(&sock).unwrap();
    events.write_all(b"GET /v1.41/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    events.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(3) {
        assert!(child.try_wait().unwrap().is_none(), "the service exited under an open event stream");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The client goes: one idle second later so does the service, with
    // status 0 and its socket removed.
    drop(events);
    let gone = Instant::now();
    assert_eq!(exits(&mut child, Duration::from_secs(10)), 0);
    assert!(gone.elapsed() >= Duration::from_millis(900), "exited before --time passed: {:?}", gone.elapsed());
    assert!(!sock.exists(), "the service left its socket behind");
});

both_modes!(socket_activation, |t| {
    // systemd's protocol (LISTEN_FDS/LISTEN_PID) as systemd-socket-activate
    // speaks it: it holds the socket, and starts the service on the first
    // connection, which the service then answers.
    let sock = t.path("activated.sock");
    let mut c = t.program(
        "systemd-socket-activate",
        ["-l", sock.to_str().unwrap(), rcon_bin().to_str().unwrap(), "system", "service", "--time", "1"],
    );
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    wait_for("the activation socket", Duration::from_secs(10), || sock.exists().then_some(()));
    let s = Service::attach(t, &sock);
    let v = ok(&s.docker(["version", "--format", "{{.Server.Platform.Name}}"]));
    assert_eq!(v.trim(), "rcon");
    // The service, not the activator, answered: it says where it listens.
    let pid = child.id();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(cmdline.contains("system\0service"), "{cmdline:?}");
    assert_eq!(exits(&mut child, Duration::from_secs(15)), 0);
    let e = stderr_of(&mut child);
    assert!(e.contains(&format!("export DOCKER_HOST=unix://{}", sock.display())), "{e}");
});

both_modes!(containers_outlive_the_service, |t| {
    t.load_busybox("busybox");
    let id = {
        let s = Service::start(t);
        ok(&s.docker(["run", "-d", "--name", "keeper", "busybox", "sleep", "300"])).trim().to_string()
        // dropped: the service is killed (SIGKILL)
    };
    let state = t.rcon(["inspect", "--format", "{{.State.Status}}", "keeper"]).ok().trim().to_string();
    assert_eq!(state, "running", "the container died with the service");
    let s = Service::start(t);
    let ps = ok(&s.docker(["ps", "-q", "--no-trunc"]));
    assert_eq!(ps.trim(), id);
    assert_eq!(ok(&s.docker(["exec", "keeper", "echo", "still here"])), "still here\n");
    ok(&s.docker(["rm", "-f", "keeper"]));
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(tcp_only_on_loopback_unless_asked, |t| {
    let port = crate::common::registry::free_port();
    let mut remote = spawn(t, &["--time", "0", &format!("tcp://0.0.0.0:{port}")]);
    assert_eq!(exits(&mut remote, Duration::from_secs(10)), 125);
    let e = stderr_of(&mut remote);
    assert!(e.contains("--allow-remote") && e.lines().count() == 1, "{e}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "it listened anyway");
    let mut local = spawn(t, &["--time", "0", &format!("tcp://127.0.0.1:{port}")]);
    wait_for("the TCP port", Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    let mut c = t.program(
        "/usr/local/bin/docker",
        ["-H", &format!("tcp://127.0.0.1:{port}"), "version", "--format", "{{.Server.Os}}"],
    );
    c.env("DOCKER_CONFIG", t.path("docker-config"));
    assert_eq!(ok(&crate::common::api::timeout(&mut c, Duration::from_secs(30))).trim(), "linux");
    local.kill().unwrap();
    local.wait().unwrap();
});
