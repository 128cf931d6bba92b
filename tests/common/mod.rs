//! Test harness: run the real `rcon` binary the way a user would.
//!
//! Rootless tests run as an unprivileged user with a subuid range
//! (`RCON_TEST_USER`, default `rcontest`, created by `make test-setup`) when the
//! suite is started as root, or as the current user otherwise. Rootful tests
//! run as root and are skipped, with a note, when the suite is not root.
//! Every `TestEnv` has its own XDG directories, so tests run in parallel.

#![allow(dead_code)]

pub mod api;
pub mod fixtures;
pub mod registry;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Rootless,
    Root,
}

pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// The unprivileged user rootless tests run as (None: we are that user).
pub fn test_user() -> Option<&'static TestUser> {
    static USER: OnceLock<Option<TestUser>> = OnceLock::new();
    USER.get_or_init(|| {
        if !is_root() {
            return None;
        }
        let name = std::env::var("RCON_TEST_USER").unwrap_or_else(|_| "rcontest".into());
        let pw = std::fs::read_to_string("/etc/passwd").unwrap();
        let line = pw.lines().find(|l| l.split(':').next() == Some(name.as_str())).unwrap_or_else(|| {
            panic!("test user {name} does not exist: run `make test-setup` as root (creates it with a subuid range)")
        });
        let f: Vec<&str> = line.split(':').collect();
        Some(TestUser {
            name: name.clone(),
            uid: f[2].parse().unwrap(),
            gid: f[3].parse().unwrap(),
            home: PathBuf::from(f[5]),
        })
    })
    .as_ref()
}

/// A world-readable directory for everything the test user must reach: CI
/// clones under /root, where that user cannot enter.
pub fn shared_base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("rcon-tests-{}", unsafe { libc::geteuid() }));
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        base
    })
}

/// The rcon binary, copied where the test user can execute it. Every test
/// runs in its own process (nextest), so the copy is shared: named after
/// the build's size and mtime, made once, published with a rename.
pub fn rcon_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        // A test half re-run as the test user gets the copy its parent made
        // (the build tree may not be reachable for that user, e.g. under /root).
        if let Some(p) = std::env::var_os("RCON_TEST_BIN") {
            return PathBuf::from(p);
        }
        let src = PathBuf::from(env!("CARGO_BIN_EXE_rcon"));
        let md = std::fs::metadata(&src).unwrap();
        let dir = shared_base().join(format!("bin-{}-{}-{}", md.len(), md.mtime(), md.mtime_nsec()));
        let dst = dir.join("rcon");
        // A copy in use is touched so that another checkout's test run
        // (sharing the base) does not sweep it as stale.
        let _ = std::process::Command::new("touch").arg("-c").arg(&dir).status();
        if !dst.exists() {
            // Older builds' copies go first: each is tens of MB.
            if let Ok(rd) = std::fs::read_dir(shared_base()) {
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let stale = e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
                    if name.starts_with("bin-") && e.path() != dir && stale.is_some_and(|d| d.as_secs() > 600) {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
            let tmp = shared_base().join(format!("tmpbin-{}", std::process::id()));
            std::fs::create_dir_all(&tmp).unwrap();
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::copy(&src, tmp.join("rcon")).unwrap();
            std::fs::set_permissions(tmp.join("rcon"), std::fs::Permissions::from_mode(0o755)).unwrap();
            // Another test process may have won the race: then ours goes.
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        dst
    })
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct TestEnv {
    pub mode: Mode,
    pub dir: PathBuf,
    pub data: PathBuf,
    pub run: PathBuf,
    pub config: PathBuf,
    pub home: PathBuf,
}

impl TestEnv {
    /// None (after printing why) when the mode cannot be tested here.
    pub fn try_new(mode: Mode) -> Option<TestEnv> {
        if mode == Mode::Root && !is_root() {
            eprintln!("note: rootful case not run: the suite is not running as root");
            return None;
        }
        Some(TestEnv::new(mode))
    }

    pub fn new(mode: Mode) -> TestEnv {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = shared_base().join(format!("t-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let env = TestEnv {
            mode,
            data: dir.join("data"),
            run: dir.join("run"),
            config: dir.join("config"),
            home: dir.join("home"),
            dir,
        };
        for d in [&env.data, &env.run, &env.config, &env.home] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::set_permissions(&env.run, std::fs::Permissions::from_mode(0o700)).unwrap();
        if mode == Mode::Rootless {
            if let Some(u) = test_user() {
                chown_tree(&env.dir, u.uid, u.gid);
            }
        }
        env
    }

    /// A path inside the test directory that the test user may write.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Give a file we created to the user the binary runs as.
    pub fn give(&self, p: &Path) {
        if self.mode == Mode::Rootless {
            if let Some(u) = test_user() {
                chown_tree(p, u.uid, u.gid);
            }
        }
    }

    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.program(rcon_bin(), args)
    }

    /// Any program, run as rcon would be (user, environment, directory).
    pub fn program<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(program);
        c.args(args);
        c.env_clear();
        c.env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        c.env("HOME", &self.home);
        c.env("LANG", "C.UTF-8");
        c.current_dir(&self.dir);
        match self.mode {
            Mode::Rootless => {
                c.env("XDG_DATA_HOME", &self.data);
                c.env("XDG_RUNTIME_DIR", &self.run);
                c.env("XDG_CONFIG_HOME", &self.config);
                if let Some(u) = test_user() {
                    let (uid, gid) = (u.uid, u.gid);
                    c.env("USER", &u.name);
                    unsafe {
                        c.pre_exec(move || {
                            if libc::setgroups(1, &gid) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                                return Err(std::io::Error::last_os_error());
                            }
                            Ok(())
                        });
                    }
                }
            }
            Mode::Root => {
                // Same layout as rootless: DATA/rcon, RUN/rcon.
                c.env("RCON_ROOT", self.data.join("rcon"));
                c.env("RCON_RUNROOT", self.run.join("rcon"));
                c.env("RCON_CONFIG", &self.config);
            }
        }
        c
    }

    /// Run rcon with no stdin.
    pub fn rcon<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.cmd(args);
        c.stdin(Stdio::null());
        Run::from(c.output().expect("spawn rcon"))
    }

    /// Run rcon with `input` on stdin.
    pub fn rcon_stdin<I, S>(&self, args: I, input: &[u8]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        use std::io::Write;
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn rcon");
        let mut stdin = child.stdin.take().unwrap();
        let data = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run::from(out)
    }

    /// `rcon load` a busybox test image tagged `tag`; returns its id.
    pub fn load_busybox(&self, tag: &str) -> String {
        let archive = fixtures::busybox_archive(&self.dir, &[tag]);
        self.give(&archive);
        self.rcon(["load", "-i", archive.to_str().unwrap()]).ok();
        self.rcon(["image", "inspect", "--format", "{{.Id}}", tag]).ok().trim().to_string()
    }

    /// Host owner (uid, gid) of a path.
    pub fn owner(p: &Path) -> (u32, u32) {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(p).unwrap();
        (m.uid(), m.gid())
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // A failed test may leave containers running: stop their monitors
        // (the containers die with them) before removing the files.
        if let Ok(rd) = std::fs::read_dir(self.data.join("rcon/containers")) {
            for e in rd.flatten() {
                let Ok(text) = std::fs::read_to_string(e.path().join("state.json")) else { continue };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                if let Some(pid) = v["monitor_pid"].as_i64().filter(|p| *p > 0) {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    if String::from_utf8_lossy(&cmd).contains("__monitor") {
                        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    }
                }
            }
        }
        if std::thread::panicking() && std::env::var_os("RCON_TEST_KEEP").is_some() {
            eprintln!("keeping {}", self.dir.display());
            return;
        }
        remove_all(&self.dir);
    }
}

/// Remove a test tree, including files owned by subordinate ids.
pub fn remove_all(p: &Path) {
    if is_root() {
        let _ = Command::new("chmod").args(["-R", "u+rwx"]).arg(p).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(p);
    } else {
        // As a normal user, subuid-owned files are removable only from inside
        // the user's mapping.
        let _ = Command::new("unshare")
            .args(["--map-root-user", "--map-auto", "sh", "-c", "chmod -R u+rwx \"$1\"; rm -rf \"$1\"", "sh"])
            .arg(p)
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(p);
    }
}

pub fn chown_tree(p: &Path, uid: u32, gid: u32) {
    let st = Command::new("chown").args(["-R", &format!("{uid}:{gid}")]).arg(p).status().unwrap();
    assert!(st.success(), "chown {}", p.display());
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            raw_stdout: o.stdout,
        }
    }
}

impl Run {
    /// Assert success; return stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Some(()) on success: for polling with `wait_for`.
    pub fn ok_code(&self) -> Option<()> {
        (self.code == 0).then_some(())
    }

    /// Assert failure with `code` and a one-line error mentioning `needle`.
    #[track_caller]
    pub fn fails(&self, code: i32, needle: &str) -> &Self {
        assert_eq!(self.code, code, "expected exit {code}\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {}", self.stderr);
        self
    }
}

/// Host binaries in a busybox container: /usr (python3, for the UDP
/// servers busybox lacks) and the loader's directories, read-only.
pub const HOST_USR: [&str; 6] = ["-v", "/usr:/usr:ro", "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro"];

/// A python3 UDP server on `port` answering each datagram with "udp-" + it.
pub fn udp_echo(port: u16) -> String {
    format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', {port}))\n\
         while True:\n    d, a = s.recvfrom(100)\n    s.sendto(b'udp-' + d, a)"
    )
}

/// An HTTP/1.0 GET of `path` on 127.0.0.1:`port`, retried until a server
/// (published from a container) answers 200 within `limit`: the body.
pub fn http_get(port: u16, path: &str, limit: Duration) -> String {
    use std::io::{Read, Write};
    wait_for(&format!("an HTTP answer on port {port}"), limit, || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.contains("200 OK").then(|| out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
    })
}

/// Poll `f` until it returns Some or the deadline passes.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Subordinate uid range start of the test user (or current user).
pub fn subuid_start() -> Option<u32> {
    let name = match test_user() {
        Some(u) => u.name.clone(),
        None => std::env::var("USER").unwrap_or_default(),
    };
    let text = std::fs::read_to_string("/etc/subuid").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() == 3 && f[0] == name).then(|| f[1].parse().ok()).flatten()
    })
}

/// Define a test twice: as the unprivileged user and as root.
#[macro_export]
macro_rules! both_modes {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn body($t: &$crate::common::TestEnv) $body
            #[test]
            fn rootless() {
                body(&$crate::common::TestEnv::new($crate::common::Mode::Rootless));
            }
            #[test]
            fn root() {
                if let Some(t) = $crate::common::TestEnv::try_new($crate::common::Mode::Root) {
                    body(&t);
                }
            }
        }
    };
}
