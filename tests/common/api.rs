//! `rcon system service` for the tests: started as the test's user on a
//! socket in its directory, reached by the real clients (the docker CLI,
//! docker-py and friends from the test venv), stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::{wait_for, TestEnv};

/// The Python venv with docker-py, testcontainers, podman-compose
/// (contrib/test-setup/api-clients.sh makes it).
pub const VENV: &str = "/opt/rcon-test-venv";

pub struct Service<'a> {
    pub t: &'a TestEnv,
    child: Option<Child>,
    pub socket: PathBuf,
}

impl<'a> Service<'a> {
    /// Serve the test's store on `DIR/api.sock` (no inactivity timeout).
    pub fn start(t: &'a TestEnv) -> Service<'a> {
        let socket = t.path("api.sock");
        let mut c = t.cmd(["system", "service", "--time", "0", &format!("unix://{}", socket.display())]);
        // Its warnings go to a file (a pipe nobody reads would fill up).
        let log = std::fs::File::create(t.path("service.log")).unwrap();
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let child = c.spawn().expect("start rcon system service");
        wait_for("the API socket", Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(&socket).ok().map(|_| ())
        });
        Service { t, child: Some(child), socket }
    }

    /// Clients for a service someone else started on `socket`.
    pub fn attach(t: &'a TestEnv, socket: &std::path::Path) -> Service<'a> {
        Service { t, child: None, socket: socket.to_path_buf() }
    }

    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// A client program run as the test's user, pointed at the service.
    pub fn client<I, S>(&self, program: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = self.t.program(program, args);
        c.env("DOCKER_HOST", self.docker_host());
        // The CLI keeps its own config (contexts, credentials) per test.
        c.env("DOCKER_CONFIG", self.t.path("docker-config"));
        c.stdin(Stdio::null());
        c
    }

    /// The current docker CLI (/usr/local/bin/docker on these machines).
    pub fn docker<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let bin =
            if std::path::Path::new("/usr/local/bin/docker").exists() { "/usr/local/bin/docker" } else { "docker" };
        let mut c = self.client(bin, args);
        timeout(&mut c, Duration::from_secs(60))
    }

    /// A Python script with the test venv's packages.
    pub fn python(&self, script: &str) -> Output {
        let mut c = self.client(&format!("{VENV}/bin/python3"), ["-c", script]);
        timeout(&mut c, Duration::from_secs(120))
    }

    /// A raw HTTP/1.1 request on the socket: (status, headers, body).
    pub fn http(&self, method: &str, path: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
        let head = String::from_utf8_lossy(&out[..split]).to_string();
        let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut body = out[split + 4..].to_vec();
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        (status, head, body)
    }
}

fn dechunk(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = b;
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
}

/// Run with a deadline (a hanging client must fail the test, not hang it).
pub fn timeout(c: &mut Command, limit: Duration) -> Output {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn the client");
    let end = std::time::Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "client timed out after {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Service<'_> {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Assert a client succeeded; its stdout.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "client failed ({:?})\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
