//! The Docker Engine API (`rcon system service`) driven by the clients
//! people use: the docker CLI here; docker-py, docker-compose and
//! testcontainers in api_clients.rs.

use std::time::Duration;

use serde_json::Value;

use crate::common::api::{ok, Service};
use crate::common::*;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

both_modes!(docker_cli_runs_containers, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let v = ok(&s.docker(["version", "--format", "{{.Server.Platform.Name}} {{.Server.APIVersion}}"]));
    assert_eq!(v.trim(), "rcon 1.43");
    // run --rm: output, exit codes, stdin, and nothing left behind.
    assert_eq!(ok(&s.docker(["run", "--rm", "busybox", "echo", "hi"])), "hi\n");
    let o = s.docker(["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    let mut c = s.client("/usr/local/bin/docker", ["run", "--rm", "-i", "busybox", "sh", "-c", "read l; echo got $l"]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "got piped\n");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "", "run --rm left a container");
    // run -d with a published port, seen by ps, logs, inspect, exec.
    let id = ok(&s.docker([
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "127.0.0.1::80",
        "-e",
        "WHO=api",
        "-l",
        "tier=front",
        "busybox",
        "sh",
        "-c",
        "echo started; exec sleep 1000",
    ]));
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let ps = ok(&s.docker(["ps", "--format", "{{.Names}} {{.Status}} {{.Ports}}"]));
    assert!(ps.starts_with("web Up"), "{ps}");
    assert!(ps.contains("127.0.0.1:") && ps.contains("->80/tcp"), "{ps}");
    assert_eq!(ok(&s.docker(["ps", "-q", "--filter", "label=tier=front"])).trim(), &id[..12]);
    wait_for("the log line", Duration::from_secs(10), || (ok(&s.docker(["logs", "web"])) == "started\n").then_some(()));
    let v = json(&ok(&s.docker(["inspect", "web"])));
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(v[0]["State"]["Running"], true);
    assert_eq!(v[0]["Config"]["Labels"]["tier"], "front");
    assert!(v[0]["Config"]["Env"].as_array().unwrap().iter().any(|e| e == "WHO=api"));
    assert_eq!(ok(&s.docker(["exec", "web", "sh", "-c", "echo $WHO"])), "api\n");
    assert_eq!(s.docker(["exec", "web", "sh", "-c", "exit 7"]).status.code(), Some(7));
    // errors are Docker's
    let o = s.docker(["inspect", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("No such object: nope"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = s.docker(["run", "--name", "web", "busybox", "true"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already in use"), "{}", String::from_utf8_lossy(&o.stderr));
    // stop / start / rm -f
    ok(&s.docker(["stop", "-t", "1", "web"]));
    assert_eq!(t.rcon(["inspect", "-f", "{{.State.Status}}", "web"]).ok().trim(), "exited");
    ok(&s.docker(["start", "web"]));
    ok(&s.docker(["rm", "-f", "web"]));
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(docker_cli_copies_networks_and_volumes, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    // volumes
    ok(&s.docker(["volume", "create", "--label", "k=v", "data"]));
    let ls = ok(&s.docker(["volume", "ls", "--format", "{{.Name}}"]));
    assert!(ls.lines().any(|l| l == "data"), "{ls}");
    ok(&s.docker(["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"]));
    assert_eq!(ok(&s.docker(["run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/f"])), "kept\n");
    // a user network: containers resolve each other by name
    ok(&s.docker(["network", "create", "appnet"]));
    ok(&s.docker(["run", "-d", "--name", "srv", "--network", "appnet", "busybox", "sleep", "1000"]));
    let o = ok(&s.docker([
        "run",
        "--rm",
        "--network",
        "appnet",
        "busybox",
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        "srv",
    ]));
    assert!(o.contains("1 packets received"), "{o}");
    // cp both ways
    let f = t.path("host.txt");
    std::fs::write(&f, "from host\n").unwrap();
    t.give(&f);
    ok(&s.docker(["cp", f.to_str().unwrap(), "srv:/tmp/in.txt"]));
    assert_eq!(ok(&s.docker(["exec", "srv", "cat", "/tmp/in.txt"])), "from host\n");
    let out = t.path("out");
    std::fs::create_dir_all(&out).unwrap();
    t.give(&out);
    ok(&s.docker(["cp", "srv:/etc/passwd", out.to_str().unwrap()]));
    assert!(std::fs::read_to_string(out.join("passwd")).unwrap().starts_with("root:"));
    // removal refused while in use, then done
    let o = s.docker(["volume", "rm", "data"]);
    assert_eq!(o.status.code(), Some(0), "unused after the --rm runs: {}", String::from_utf8_lossy(&o.stderr));
    ok(&s.docker(["rm", "-f", "srv"]));
    ok(&s.docker(["network", "rm", "appnet"]));
    let nets = ok(&s.docker(["network", "ls", "--format", "{{.Name}}"]));
    assert!(!nets.contains("appnet"), "{nets}");
});

both_modes!(api_answers_in_dockers_shapes, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let (code, head, body) = s.http("GET", "/_ping", b"");
    assert_eq!((code, body.as_slice()), (200, &b"OK"[..]));
    for h in
        ["Api-Version: 1.43", "Ostype: linux", "Cache-Control: no-cache, no-store, must-revalidate", "Pragma: no-cache"]
    {
        assert!(head.lines().any(|l| l.eq_ignore_ascii_case(h)), "{h} missing in\n{head}");
    }
    let (code, head, _) = s.http("HEAD", "/_ping", b"");
    assert_eq!(code, 200);
    assert!(head.to_ascii_lowercase().contains("api-version: 1.43"));
    let (code, _, body) = s.http("GET", "/v1.99/version", b"");
    assert_eq!(code, 400);
    assert!(String::from_utf8_lossy(&body).contains("too new"));
    let (code, _, body) = s.http("GET", "/v1.43/version", b"");
    assert_eq!(code, 200);
    let v = json(&String::from_utf8_lossy(&body));
    assert_eq!(v["MinAPIVersion"], "1.24");
    assert_eq!(v["Components"][0]["Name"], "Engine");
    let (code, _, body) = s.http("GET", "/containers/nope/json", b"");
    assert_eq!(
        (code, json(&String::from_utf8_lossy(&body))["message"].as_str()),
        (404, Some("No such container: nope"))
    );
    let (code, _, body) = s.http("GET", "/no/such/route", b"");
    assert_eq!((code, String::from_utf8_lossy(&body).trim()), (404, r#"{"message":"page not found"}"#));
    let (code, _, body) = s.http("POST", "/containers/create", br#"{"Image":"busybox","Cmd":["true"],"Unknown":1}"#);
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let created = json(&String::from_utf8_lossy(&body));
    assert_eq!(created["Warnings"], serde_json::json!([]));
    let id = created["Id"].as_str().unwrap().to_string();
    let (code, _, body) = s.http("POST", "/containers/create?name=x", b"{not json");
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let (code, _, _) = s.http("POST", "/containers/create", br#"{"Image":"nope:1","Cmd":["true"]}"#);
    assert_eq!(code, 404);
    let (code, _, _) = s.http("POST", &format!("/containers/{id}/start"), b"");
    assert_eq!(code, 204);
    let (code, _, body) = s.http("POST", &format!("/containers/{id}/wait"), b"");
    assert_eq!((code, json(&String::from_utf8_lossy(&body))["StatusCode"].as_i64()), (200, Some(0)));
    let (code, _, _) = s.http("POST", &format!("/containers/{id}/stop"), b"");
    assert_eq!(code, 304);
    let (code, _, body) = s.http("GET", "/containers/json?all=1", b"");
    assert_eq!(code, 200);
    let list = json(&String::from_utf8_lossy(&body));
    assert_eq!(list[0]["Id"], id.as_str());
    assert!(list[0]["Names"][0].as_str().unwrap().starts_with('/'));
    assert!(list[0]["Ports"].is_array() && list[0]["Labels"].is_object());
    let (code, _, body) = s.http("GET", "/swarm", b"");
    assert_eq!(code, 503, "{}", String::from_utf8_lossy(&body));
    let (code, _, body) = s.http("GET", "/plugins", b"");
    assert_eq!((code, String::from_utf8_lossy(&body).trim()), (200, "[]"));
    let (code, _, _) = s.http("DELETE", &format!("/containers/{id}"), b"");
    assert_eq!(code, 204);
});

/// A command run under a pty (`script`), its stdin `input`.
fn under_pty(s: &Service, cmd: &str, input: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let mut c = s.client("script", ["-qec", cmd, "/dev/null"]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).replace('\r', ""))
}

both_modes!(docker_cli_terminals_logs_and_events, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let since = ok(&s.docker(["version", "--format", "{{.Server.Version}}"]));
    assert!(!since.is_empty());
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // run -it: a terminal inside, the exit code outside.
    let (code, out) = under_pty(&s, "docker run --rm -it busybox sh", "tty; exit 5\n");
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("/dev/pts/0"), "{out}");
    // exec -it into a running container, interactive.
    ok(&s.docker(["run", "-d", "--name", "box", "busybox", "sh", "-c", "echo a; sleep 0.5; echo b; exec sleep 1000"]));
    let (code, out) = under_pty(&s, "docker exec -it box sh", "echo in-$((1+1)); exit 6\n");
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("in-2"), "{out}");
    // logs -f of a container that finishes: everything, then the end.
    ok(&s.docker(["run", "-d", "--name", "short", "busybox", "sh", "-c", "echo one; sleep 0.5; echo two"]));
    assert_eq!(ok(&s.docker(["logs", "-f", "short"])), "one\ntwo\n");
    assert_eq!(ok(&s.docker(["logs", "--tail", "1", "short"])), "two\n");
    // events of the window, with the legacy fields
    // The window ends now: `--until` in the future would wait for it.
    let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1;
    let ev = ok(&s.docker([
        "events",
        "--since",
        &start.to_string(),
        "--until",
        &end.to_string(),
        "--filter",
        "container=short",
        "--format",
        "{{.Type}} {{.Action}} {{.Status}}",
    ]));
    for line in ["container create create", "container start start", "container die die"] {
        assert!(ev.lines().any(|l| l == line), "{line} missing in\n{ev}");
    }
    ok(&s.docker(["rm", "-f", "box", "short"]));
});
