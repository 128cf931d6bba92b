//! The API service under bad input and many clients: malformed requests
//! get Docker's status and error JSON and leave the service serving; slow
//! or vanishing clients hold nothing; archive paths stay inside the
//! container; concurrent clients do not corrupt state.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::api::{ok, Service};
use crate::common::*;
use crate::hostile::{finish, raw_entry};

/// Raw bytes to the socket; the whole answer (until the server closes or
/// 10 s pass).
fn raw(s: &Service, bytes: &[u8]) -> String {
    let mut c = UnixStream::connect(&s.socket).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = c.write_all(bytes);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[track_caller]
fn alive(s: &Service) {
    let (code, _, body) = s.http("GET", "/_ping", b"");
    assert_eq!((code, body.as_slice()), (200, &b"OK"[..]), "the service stopped answering");
}

/// Docker's error body: {"message": "..."}.
#[track_caller]
fn error_json(code: u16, head: &str, body: &[u8]) -> String {
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let v: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{code}: not JSON ({e}): {:?}", body));
    v["message"].as_str().unwrap_or_else(|| panic!("no message in {v}")).to_string()
}

both_modes!(malformed_requests_get_docker_errors, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let before = t.rcon(["ps", "-aq"]).ok().to_string();
    // Bodies that are not what the route wants: 400 and a message.
    for (body, needle) in [
        (&b"{not json"[..], "JSON"),
        (b"{\"Image\": 5}", "Image"),
        (b"[1,2]", ""),
        (b"{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":\"lots\"}}", "Memory"),
    ] {
        let (code, head, resp) = s.http("POST", "/v1.41/containers/create", body);
        assert_eq!(code, 400, "{}: {}", String::from_utf8_lossy(body), String::from_utf8_lossy(&resp));
        let m = error_json(code, &head, &resp);
        assert!(m.contains(needle), "{m}");
    }
    let (code, head, body) = s.http("GET", "/v1.41/containers/json?filters=%7Bnope", b"");
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    error_json(code, &head, &body);
    let (code, head, body) = s.http("POST", "/v1.41/containers/create?name=bad%2Fname", b"{\"Image\":\"busybox\"}");
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    assert!(error_json(code, &head, &body).contains("Invalid container name"));
    // Nothing was created by any of them.
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), before);
    // Not HTTP at all, a header over the limit, a broken chunked body: the
    // connection gets a 4xx (or is closed) and the service goes on.
    let r = raw(&s, b"HELLO THERE\r\n\r\n");
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    alive(&s);
    let mut big = b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 2 << 20));
    big.extend_from_slice(b"\r\n\r\n");
    let r = raw(&s, &big);
    assert!(
        r.is_empty() || r.starts_with("HTTP/1.1 431") || r.starts_with("HTTP/1.1 400"),
        "{}",
        &r[..r.len().min(200)]
    );
    alive(&s);
    let r = raw(
        &s,
        b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    );
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    alive(&s);
    // A JSON body over the limit (16 MiB) is refused as it streams in: 413.
    let mut c = UnixStream::connect(&s.socket).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let len = 17 << 20;
    let head = format!(
        "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    );
    c.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..17 {
        if c.write_all(&chunk).is_err() {
            break; // the server stopped reading after answering: fine
        }
    }
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 413"), "{}", &out[..out.len().min(300)]);
    assert!(out.contains("too large"), "{out}");
    alive(&s);
    // Unknown routes and methods: Docker's 404 page.
    let (code, _, body) = s.http("DELETE", "/version", b"");
    assert_eq!(code, 404);
    assert_eq!(String::from_utf8_lossy(&body).trim(), r#"{"message":"page not found"}"#);
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), before);
});

both_modes!(slow_clients_hold_nothing, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    // Many clients that connect and stall mid-header, and one that asks
    // for a big stream and never reads it.
    let mut stalled = Vec::new();
    for _ in 0..64 {
        let mut c = UnixStream::connect(&s.socket).unwrap();
        c.write_all(b"GET /v1.41/containers/json HTTP/1.1\r\nHo").unwrap();
        stalled.push(c);
    }
    ok(&s.docker([
        "run",
        "-d",
        "--name",
        "chatty",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; sleep 300",
    ]));
    wait_for("the log to fill", Duration::from_secs(30), || {
        let o = t.rcon(["logs", "--tail", "1", "chatty"]);
        (o.stdout.trim() == "line 19999").then_some(())
    });
    let mut unread = UnixStream::connect(&s.socket).unwrap();
    unread.write_all(b"GET /v1.41/containers/chatty/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // Everyone else is served meanwhile, by the real client.
    assert_eq!(ok(&s.docker(["run", "--rm", "busybox", "echo", "served"])), "served\n");
    assert!(ok(&s.docker(["ps", "--format", "{{.Names}}"])).contains("chatty"));
    alive(&s);
    drop(stalled);
    drop(unread);
    ok(&s.docker(["rm", "-f", "chatty"]));
});

both_modes!(vanished_clients_end_their_streams, |t| {
    t.load_busybox("busybox");
    let sock = t.path("short.sock");
    let mut c = t.cmd(["system", "service", "--time", "1", &format!("unix://{}", sock.display())]);
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    wait_for("the socket", Duration::from_secs(10), || UnixStream::connect(&sock).ok());
    let s = Service::attach(t, &sock);
    ok(&s.docker(["run", "-d", "--name", "ticker", "busybox", "sh", "-c", "while :; do echo tick; sleep 0.1; done"]));
    // Three streams that would last as long as the container: logs -f,
    // an attach (hijacked), a wait. Each client reads a little and goes.
    let open = |req: &str| {
        let mut c = UnixStream::connect(&sock).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 "), "{req}");
        c
    };
    let streams = vec![
        open("GET /v1.41/containers/ticker/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: x\r\n\r\n"),
        open("POST /v1.41/containers/ticker/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"),
        open("POST /v1.41/containers/ticker/wait HTTP/1.1\r\nHost: x\r\n\r\n"),
    ];
    drop(streams);
    // With all of them gone the service is idle and exits; the container
    // is not its to stop.
    let st = wait_for("the service to go idle", Duration::from_secs(15), || child.try_wait().unwrap());
    assert!(st.success());
    assert_eq!(t.rcon(["inspect", "--format", "{{.State.Running}}", "ticker"]).ok().trim(), "true");
    t.rcon(["rm", "-f", "ticker"]).ok();
});

both_modes!(archive_paths_stay_in_the_container, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let outside = t.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "host secret\n").unwrap();
    t.give(&outside);
    let o = outside.display().to_string();
    ok(&s.docker([
        "run",
        "-d",
        "--name",
        "box",
        "busybox",
        "sh",
        "-c",
        &format!("ln -s {o} /lnk; ln -s / /root-lnk; sleep 300"),
    ]));
    wait_for("the links", Duration::from_secs(10), || t.rcon(["exec", "box", "test", "-L", "/root-lnk"]).ok_code());
    // Reads: .. and links resolve inside the container's root.
    for path in [format!("/../../../../../..{o}/secret"), "/lnk/secret".to_string(), format!("/root-lnk{o}/secret")] {
        let (code, _, body) = s.http("GET", &format!("/v1.41/containers/box/archive?path={path}"), b"");
        assert_eq!(code, 404, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(!String::from_utf8_lossy(&body).contains("host secret"));
    }
    // Writes: a .. entry, a link then a write through it, a hardlink out.
    let up = "../../../../../../../../../..";
    let mut cases = Vec::new();
    let mut v = Vec::new();
    raw_entry(&mut v, &format!("{up}{o}/dotdot"), b'0', "", b"x", 0o644);
    cases.push(("dotdot", finish(v), "dotdot"));
    let mut v = Vec::new();
    raw_entry(&mut v, "evil", b'2', &o, b"", 0o777);
    raw_entry(&mut v, "evil/via-link", b'0', "", b"x", 0o644);
    cases.push(("symlink then write", finish(v), "via-link"));
    let mut v = Vec::new();
    raw_entry(&mut v, "hl", b'1', &format!("{up}{o}/secret"), b"", 0o644);
    cases.push(("hardlink out", finish(v), "secret"));
    for (what, tar, name) in cases {
        for dest in ["/tmp", "/lnk", "/root-lnk/tmp"] {
            let (code, _, body) = s.http("PUT", &format!("/v1.41/containers/box/archive?path={dest}"), &tar);
            let body = String::from_utf8_lossy(&body);
            let escaped: Vec<_> = std::fs::read_dir(&outside).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(
                escaped,
                vec![std::ffi::OsString::from("secret")],
                "{what} into {dest} ({code} {body}) wrote outside"
            );
            assert_eq!(std::fs::read_to_string(outside.join("secret")).unwrap(), "host secret\n", "{what}: {name}");
        }
    }
    ok(&s.docker(["rm", "-f", "box"]));
});

both_modes!(many_clients_at_once, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    std::thread::scope(|sc| {
        let mut runs = Vec::new();
        for i in 0..6 {
            let s = &s;
            runs.push(sc.spawn(move || ok(&s.docker(["run", "--rm", "busybox", "echo", &format!("client {i}")]))));
        }
        let mut lifes = Vec::new();
        for i in 0..4 {
            let s = &s;
            lifes.push(sc.spawn(move || {
                let name = format!("life{i}");
                ok(&s.docker(["create", "--name", &name, "--label", "many=1", "busybox", "sleep", "300"]));
                ok(&s.docker(["start", &name]));
                let st = ok(&s.docker(["inspect", "--format", "{{.State.Status}}", &name]));
                ok(&s.docker(["rm", "-f", &name]));
                st
            }));
        }
        let py = sc.spawn(|| {
            s.python("import docker\nc = docker.from_env()\nfor i in range(5):\n    print(c.containers.run('busybox', ['echo', str(i)], remove=True).decode().strip())")
        });
        for (i, r) in runs.into_iter().enumerate() {
            assert_eq!(r.join().unwrap(), format!("client {i}\n"));
        }
        for l in lifes {
            assert_eq!(l.join().unwrap().trim(), "running");
        }
        assert_eq!(ok(&py.join().unwrap()), "0\n1\n2\n3\n4\n");
    });
    // Nothing left, and the state reads back whole.
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    assert_eq!(ok(&s.docker(["ps", "-aq"])), "");
});

/// A small deterministic generator (xorshift64*), seeded per run and
/// printed, so a failure can be replayed with RCON_FUZZ_SEED.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

both_modes!(fuzzed_requests_leave_it_serving, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let seed = std::env::var("RCON_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("fuzz seed {seed} (RCON_FUZZ_SEED={seed} replays it)");
    let create = r#"{"Image":"busybox","Cmd":["true"],"Labels":{"a":"b"},"HostConfig":{"Binds":["/tmp:/x:ro"],"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"0"}]},"RestartPolicy":{"Name":"no"}}}"#;
    let templates: Vec<String> = vec![
        format!("POST /v1.41/containers/create?name=fz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{create}", create.len()),
        "GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D HTTP/1.1\r\nHost: x\r\n\r\n".into(),
        "GET /v1.41/containers/fz/logs?stdout=1&tail=5 HTTP/1.1\r\nHost: x\r\n\r\n".into(),
        "POST /v1.41/containers/fz/exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"Cmd\":[\"true\"]}    ".into(),
        "HEAD /v1.41/containers/fz/archive?path=/etc/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".into(),
        "POST /v1.41/networks/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n{\"Name\":\"fznet\",\"Labels\":{\"k\":1}}".into(),
        "POST /v1.41/volumes/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"Name\":\"fzvol\"}\r\n0\r\n\r\n".into(),
        "GET /v1.41/images/busybox/json HTTP/1.1\r\nHost: x\r\n\r\n".into(),
        "DELETE /v1.41/containers/fz?force=1&v=1 HTTP/1.1\r\nHost: x\r\n\r\n".into(),
    ];
    let noise = b"{}[]\":,\\/\r\n\0%?&=.-~ \xff\xfeaZ09";
    let n = 400;
    let mut cases = Vec::new();
    let mut rng = Rng(seed);
    for _ in 0..n {
        let mut b = templates[rng.below(templates.len())].clone().into_bytes();
        // A quarter go as they are (the handlers' real work, concurrently
        // with the garbage), the rest with one to three mutations.
        let mutations = [0, 1, 1, 2, 3][rng.below(5)];
        for _ in 0..mutations {
            let at = rng.below(b.len());
            match rng.below(4) {
                0 => b.truncate(at),
                1 => b[at] = noise[rng.below(noise.len())],
                2 => b.insert(at, noise[rng.below(noise.len())]),
                _ => {
                    let len = rng.below(64).min(b.len() - at);
                    b.drain(at..at + len);
                }
            }
            if b.is_empty() {
                break;
            }
        }
        let half_close = rng.below(2) == 0;
        cases.push((b, half_close));
    }
    let answers: Vec<std::sync::Mutex<usize>> = (0..6).map(|_| Default::default()).collect();
    std::thread::scope(|sc| {
        for chunk in cases.chunks(n / 8) {
            let (s, answers) = (&s, &answers);
            sc.spawn(move || {
                for (b, half_close) in chunk {
                    let Ok(mut c) = UnixStream::connect(&s.socket) else { panic!("the service stopped accepting") };
                    c.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
                    let _ = c.write_all(b);
                    // Half of them half-close like a client that is done
                    // sending (hyper, as Go's server, then drops the
                    // connection); the others wait for what comes back.
                    if *half_close {
                        let _ = c.shutdown(std::net::Shutdown::Write);
                    }
                    let mut sink = Vec::new();
                    let _ = c.read_to_end(&mut sink);
                    let class = if sink.starts_with(b"HTTP/1.1 ") { (sink[9] - b'0') as usize } else { 0 };
                    *answers[class.min(5)].lock().unwrap() += 1;
                    if sink.starts_with(b"HTTP/1.1 5") {
                        let text = String::from_utf8_lossy(&sink);
                        assert!(
                            !text.contains("panicked"),
                            "a handler panicked on {:?}: {text}",
                            String::from_utf8_lossy(b)
                        );
                    }
                }
            });
        }
    });
    let counts: Vec<usize> = answers.iter().map(|m| *m.lock().unwrap()).collect();
    eprintln!(
        "answers: none {}, 1xx {}, 2xx {}, 3xx {}, 4xx {}, 5xx {}",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    );
    assert!(counts[2] > 0 && counts[4] > 0, "the fuzz reached no handler: {counts:?}");
    alive(&s);
    // State reads back whole through both front ends.
    ok(&s.docker(["ps", "-a"]));
    t.rcon(["ps", "-a"]).ok();
    t.rcon(["network", "ls"]).ok();
    t.rcon(["volume", "ls"]).ok();
    assert_eq!(ok(&s.docker(["run", "--rm", "busybox", "echo", "still fine"])), "still fine\n");
});
