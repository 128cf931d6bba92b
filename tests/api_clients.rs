//! The API driven by the other clients people use: the Docker SDK for
//! Python, docker-compose (Debian's 1.29, an API client) and
//! testcontainers for Python, from the test venv.

use crate::common::api::{ok, Service};
use crate::common::*;

fn have(program: &str) -> bool {
    std::path::Path::new(program).exists()
}

both_modes!(docker_py_drives_containers, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let script = r#"
import docker, io, tarfile, time
c = docker.from_env()
assert c.ping()
# run, attached (logs) and detached
out = c.containers.run("busybox", "sh -c 'echo hello; echo oops >&2'", remove=True, stderr=True)
assert out == b"hello\noops\n", out
ctr = c.containers.run("busybox", "sh -c 'for i in 1 2 3; do echo line$i; sleep 0.1; done; sleep 1000'",
                       detach=True, name="pyc", labels={"suite": "py"}, environment={"WHO": "py"})
lines = []
for chunk in ctr.logs(stream=True, follow=True):
    lines.append(chunk)
    if b"line3" in b"".join(lines):
        break
assert b"line1\nline2\nline3\n" in b"".join(lines), lines
# exec with demux
code, (o, e) = ctr.exec_run("sh -c 'echo $WHO; echo err >&2'", demux=True)
assert (code, o, e) == (0, b"py\n", b"err\n"), (code, o, e)
# list with filters
found = c.containers.list(filters={"label": "suite=py"})
assert [x.name for x in found] == ["pyc"], found
assert c.containers.list(filters={"label": "suite=none"}) == []
# archives both ways
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as tf:
    data = b"put by python\n"
    ti = tarfile.TarInfo("put.txt"); ti.size = len(data)
    tf.addfile(ti, io.BytesIO(data))
assert ctr.put_archive("/tmp", buf.getvalue())
stream, stat = ctr.get_archive("/tmp/put.txt")
raw = b"".join(stream)
with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
    assert tf.extractfile("put.txt").read() == b"put by python\n"
assert stat["name"] == "put.txt" and stat["size"] == 14, stat
# networks and volumes
net = c.networks.create("pynet")
vol = c.volumes.create("pyvol", labels={"k": "v"})
assert c.volumes.get("pyvol").attrs["Labels"] == {"k": "v"}
other = c.containers.run("busybox", "sh -c 'echo x > /v/f; exit 5'", detach=True, network="pynet", volumes={"pyvol": {"bind": "/v", "mode": "rw"}})
assert other.wait()["StatusCode"] == 5
other.remove()
ctr.stop(timeout=1)
ctr.remove()
net.remove()
vol.remove()
assert c.containers.list(all=True) == []
print("ok")
"#;
    assert_eq!(ok(&s.python(script)).trim(), "ok");
});

both_modes!(docker_compose_1_29_runs_a_project, |t| {
    if !have("/usr/bin/docker-compose") {
        panic!("docker-compose not installed: contrib/test-setup/api-clients.sh installs it (make test-setup)");
    }
    t.load_busybox("busybox");
    let s = Service::start(t);
    let dir = t.path("proj");
    std::fs::create_dir_all(&dir).unwrap();
    // A database with a healthcheck, a web that waits for it to be healthy,
    // a worker; a named volume and a user network.
    std::fs::write(
        dir.join("docker-compose.yml"),
        r#"version: "2.4"
services:
  db:
    image: busybox
    command: sh -c "echo db up; touch /tmp/ready; exec sleep 1000"
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 1s
      retries: 30
    volumes: ["dbdata:/data"]
    networks: [back]
  web:
    image: busybox
    command: sh -c "echo web up; busybox nslookup db && echo resolved; exec sleep 1000"
    depends_on:
      db:
        condition: service_healthy
    networks: [back]
  worker:
    image: busybox
    command: sh -c "echo worker up; exec sleep 1000"
volumes:
  dbdata: {}
networks:
  back: {}
"#,
    )
    .unwrap();
    t.give(&dir);
    let compose = |args: &[&str]| {
        let mut c = s.client("/usr/bin/docker-compose", args);
        c.current_dir(&dir);
        crate::common::api::timeout(&mut c, std::time::Duration::from_secs(120))
    };
    ok(&compose(&["up", "-d"]));
    let ps = ok(&compose(&["ps"]));
    for name in ["proj_db_1", "proj_web_1", "proj_worker_1"] {
        assert!(ps.contains(name), "{ps}");
    }
    // The db was healthy before web started.
    let db: serde_json::Value = serde_json::from_str(t.rcon(["inspect", "proj_db_1"]).ok()).unwrap();
    assert_eq!(db[0]["State"]["Health"]["Status"], "healthy");
    wait_for("web resolved db", std::time::Duration::from_secs(30), || {
        ok(&compose(&["logs", "web"])).contains("resolved").then_some(())
    });
    assert_eq!(ok(&compose(&["exec", "-T", "worker", "echo", "in-worker"])).trim(), "in-worker");
    // Everything is plain rcon state too.
    assert_eq!(t.rcon(["ps", "-q", "--filter", "label=com.docker.compose.project=proj"]).ok().lines().count(), 3);
    ok(&compose(&["down", "-v", "-t", "1"]));
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    assert!(!t.rcon(["volume", "ls", "-q"]).ok().contains("proj_dbdata"));
    assert!(!t.rcon(["network", "ls"]).ok().contains("proj_back"));
});

both_modes!(testcontainers_waits_for_a_log_line, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let script = r#"
import os, socket
os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import wait_for_logs
c = DockerContainer("busybox").with_command("sh -c 'sleep 0.3; echo ready to serve; exec sleep 1000'").with_exposed_ports(8080)
with c:
    wait_for_logs(c, "ready to serve", timeout=30)
    port = int(c.get_exposed_port(8080))
    host = c.get_container_host_ip()
    assert port > 0
    print("up", host, port)
print("done")
"#;
    let out = ok(&s.python(script));
    assert!(out.contains("up ") && out.trim_end().ends_with("done"), "{out}");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "", "testcontainers removes its container");
});

// docker-py's `containers.run(remove=True)` asks for the log stream, waits,
// removes the container and only then reads the stream; `exec_run` reads
// output that may be written before it has parsed the 101 headers. Both
// must come back whole every time (they lost output under load).
both_modes!(docker_py_quick_runs_and_execs_keep_their_output, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let script = r#"
import docker
c = docker.from_env()
for i in range(25):
    out = c.containers.run("busybox", ["sh", "-c", "echo out%d; echo err%d >&2" % (i, i)], remove=True, stderr=True)
    assert out == b"out%d\nerr%d\n" % (i, i), (i, out)
box = c.containers.run("busybox", "sleep 300", detach=True)
for i in range(25):
    code, (o, e) = box.exec_run(["sh", "-c", "echo o%d; echo e%d >&2" % (i, i)], demux=True)
    assert (code, o, e) == (0, b"o%d\n" % i, b"e%d\n" % i), (i, code, o, e)
box.remove(force=True)
print("ok")
"#;
    assert_eq!(ok(&s.python(script)), "ok\n");
});
