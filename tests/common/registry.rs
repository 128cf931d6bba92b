//! Registries for the tests: the real distribution registry from Debian's
//! `docker-registry` package on a free loopback port (plain HTTP, TLS with a
//! CA made here, htpasswd basic auth), and a small HTTP server of our own
//! for what the registry cannot do by itself: the Bearer token flow (a
//! proxy that demands tokens in front of a real registry), and misbehaving
//! registries (bad manifests, wrong digests, truncated blobs, stalls).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{shared_base, wait_for};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn have_registry() -> bool {
    Path::new("/usr/bin/docker-registry").exists()
}

#[derive(Default)]
pub struct RegistryOptions {
    pub tls: bool,
    /// (user, password) for htpasswd basic auth.
    pub htpasswd: Option<(String, String)>,
}

pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    /// `127.0.0.1:PORT`
    pub host: String,
    /// The CA that signed the registry's certificate (TLS only).
    pub ca: Option<PathBuf>,
}

impl Registry {
    pub fn start() -> Registry {
        Registry::start_with(RegistryOptions::default())
    }

    pub fn start_with(o: RegistryOptions) -> Registry {
        assert!(have_registry(), "docker-registry is not installed: run `make test-setup` as root");
        let dir = tempdir("registry");
        let port = free_port();
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        let mut ca = None;
        if o.tls {
            let (ca_crt, crt, key) = make_certs(&dir);
            cfg.push_str(&format!("  tls:\n    certificate: {}\n    key: {}\n", crt.display(), key.display()));
            ca = Some(ca_crt);
        }
        if let Some((u, p)) = &o.htpasswd {
            let out = Command::new("htpasswd").args(["-Bbn", u, p]).output().expect("htpasswd (apache2-utils)");
            assert!(out.status.success());
            std::fs::write(dir.join("htpasswd"), &out.stdout).unwrap();
            cfg.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: rcon-test\n    path: {}\n",
                dir.join("htpasswd").display()
            ));
        }
        std::fs::write(dir.join("config.yml"), cfg).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .unwrap();
        let mut r = Registry { child, port, host: format!("127.0.0.1:{port}"), dir, ca };
        wait_for("the registry to listen", Duration::from_secs(20), || {
            if let Ok(Some(st)) = r.child.try_wait() {
                panic!(
                    "docker-registry exited ({st}): {}",
                    std::fs::read_to_string(r.dir.join("log")).unwrap_or_default()
                );
            }
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        r
    }

    /// `skopeo` flags for this registry.
    pub fn skopeo_tls(&self) -> &'static str {
        "--dest-tls-verify=false"
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn tempdir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = shared_base().join(format!("{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// A CA and a certificate for 127.0.0.1 signed by it (openssl).
fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=rcon test CA",
    ]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "reg.key", "-out", "reg.csr", "-subj", "/CN=127.0.0.1"]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "reg.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "reg.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (dir.join("ca.crt"), dir.join("reg.crt"), dir.join("reg.key"))
}

/// One HTTP request as our small server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Request, &mut TcpStream) + Send + Sync;

/// A tiny threaded HTTP/1.1 server: one request per connection.
pub struct HttpServer {
    pub port: u16,
    pub log: Arc<Mutex<Vec<Request>>>,
}

impl HttpServer {
    pub fn start(handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static) -> HttpServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut s) = conn else { continue };
                let (h, log) = (handler.clone(), log2.clone());
                std::thread::spawn(move || {
                    if let Some(req) = read_request(&mut s) {
                        log.lock().unwrap().push(req.clone());
                        h(&req, &mut s);
                    }
                });
            }
        });
        HttpServer { port, log }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

fn read_request(s: &mut TcpStream) -> Option<Request> {
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request { method, path, headers, body })
}

/// Write a complete response and close.
pub fn respond(s: &mut TcpStream, status: u16, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let _ = s.flush();
}

/// Forward a request to `upstream` (without our Authorization header) and
/// stream the answer back.
pub fn forward(req: &Request, s: &mut TcpStream, upstream: u16) {
    let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
        respond(s, 502, &[], b"");
        return;
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("authorization") && !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = up.write_all(head.as_bytes());
    let _ = up.write_all(&req.body);
    let _ = std::io::copy(&mut up, s);
}

/// A Bearer-token front for a real registry: 401 with a challenge unless
/// the request carries the token that `/token` hands out for `user:pass`.
pub fn token_proxy(upstream: u16, user: &str, pass: &str) -> HttpServer {
    let basic = base64(&format!("{user}:{pass}"));
    let token = "t0k3n-for-tests";
    let port = Arc::new(Mutex::new(0u16));
    let port2 = port.clone();
    let srv = HttpServer::start(move |req, s| {
        if req.path.starts_with("/token") {
            if req.header("authorization") == Some(&format!("Basic {basic}")) {
                respond(
                    s,
                    200,
                    &[("Content-Type", "application/json".into())],
                    format!("{{\"token\":\"{token}\"}}").as_bytes(),
                );
            } else {
                respond(s, 401, &[], b"{\"details\":\"incorrect username or password\"}");
            }
            return;
        }
        if req.header("authorization") == Some(&format!("Bearer {token}")) {
            forward(req, s, upstream);
        } else {
            let p = *port2.lock().unwrap();
            let challenge = format!(
                "Bearer realm=\"http://127.0.0.1:{p}/token\",service=\"rcon-test\",scope=\"repository:x:pull\""
            );
            respond(
                s,
                401,
                &[("WWW-Authenticate", challenge), ("Content-Type", "application/json".into())],
                b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
            );
        }
    });
    *port.lock().unwrap() = srv.port;
    srv
}

pub fn base64(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() { T[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}
