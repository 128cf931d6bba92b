//! The image routes of the API (pull, push, build, commit, save, load,
//! distribution) driven by the real clients: docker-py from the test venv,
//! the docker CLI (classic builder) and docker-compose 1.29, against the
//! real distribution registry on loopback with htpasswd credentials that
//! only the clients know (they send them per request).

use crate::common::api::{ok, Service};
use crate::common::registry::{Registry, RegistryOptions};
use crate::common::*;

const USER: &str = "alice";
const PASS: &str = "pw-s3cret";

fn auth_registry() -> Registry {
    Registry::start_with(RegistryOptions { htpasswd: Some((USER.into(), PASS.into())), ..Default::default() })
}

/// A Python script with `@REG@`, `@USER@`, `@PASS@` and `@ARCH@` filled in.
fn script(s: &str, reg: &Registry) -> String {
    s.replace("@REG@", &reg.host)
        .replace("@USER@", USER)
        .replace("@PASS@", PASS)
        .replace("@ARCH@", fixtures::host_arch())
}

both_modes!(docker_py_push_pull_and_distribution_with_credentials, |t| {
    let reg = auth_registry();
    t.load_busybox("busybox");
    let s = Service::start(t);
    let py = r#"
import docker
REG = "@REG@"
AUTH = {"username": "@USER@", "password": "@PASS@"}
c = docker.from_env()
api = c.api
assert c.images.get("busybox").tag(REG + "/py/bb", "v1")
# The registry wants credentials: without them the push ends in an error line.
lines = list(api.push(REG + "/py/bb", tag="v1", stream=True, decode=True, auth_config={}))
assert "error" in lines[-1] and "errorDetail" in lines[-1], lines
lines = list(api.push(REG + "/py/bb", tag="v1", stream=True, decode=True, auth_config=AUTH))
assert not any("error" in l for l in lines), lines
assert lines[0] == {"status": "The push refers to repository [" + REG + "/py/bb]"}, lines[0]
status = [l.get("status") for l in lines]
assert "Preparing" in status and "Pushed" in status, status
aux = [l["aux"] for l in lines if "aux" in l]
assert len(aux) == 1, lines
digest = aux[0]["Digest"]
assert aux[0]["Tag"] == "v1" and digest.startswith("sha256:") and aux[0]["Size"] > 0, aux
assert "v1: digest: %s size: %d" % (digest, aux[0]["Size"]) in status, status
again = list(api.push(REG + "/py/bb", tag="v1", stream=True, decode=True, auth_config=AUTH))
assert "Layer already exists" in [l.get("status") for l in again], again
# What the registry says, without pulling.
rd = c.images.get_registry_data(REG + "/py/bb:v1", auth_config=AUTH)
assert rd.attrs["Descriptor"]["digest"] == digest, rd.attrs
assert rd.attrs["Descriptor"]["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json", rd.attrs
assert rd.attrs["Descriptor"]["size"] == aux[0]["Size"], rd.attrs
assert rd.attrs["Platforms"] == [{"architecture": "@ARCH@", "os": "linux"}], rd.attrs
c.images.remove(REG + "/py/bb:v1")
c.images.remove("busybox")
assert c.images.list() == []
# Without credentials: a 404 before any output, in Docker's words.
try:
    c.images.pull(REG + "/py/bb", tag="v1")
    raise SystemExit("pulled without credentials")
except docker.errors.NotFound as e:
    assert "pull access denied for " + REG + "/py/bb, repository does not exist" in str(e), str(e)
try:
    c.images.pull(REG + "/py/bb", tag="nope", auth_config=AUTH)
    raise SystemExit("pulled a tag that does not exist")
except docker.errors.NotFound as e:
    assert "manifest for" in str(e) and "not found" in str(e), str(e)
lines = list(api.pull(REG + "/py/bb", tag="v1", stream=True, decode=True, auth_config=AUTH))
assert lines[0] == {"status": "Pulling from py/bb", "id": "v1"}, lines
layer = [l for l in lines if l.get("status") == "Pulling fs layer"]
assert len(layer) == 1 and len(layer[0]["id"]) == 12 and layer[0]["progressDetail"] == {}, lines
lid = layer[0]["id"]
dl = [l for l in lines if l.get("status") == "Downloading" and l.get("id") == lid]
assert dl and dl[-1]["progressDetail"]["total"] > 0 and "/" in dl[-1]["progress"], lines
assert {"status": "Pull complete", "progressDetail": {}, "id": lid} in lines, lines
assert {"status": "Digest: " + digest} in lines, lines
assert lines[-1] == {"status": "Status: Downloaded newer image for " + REG + "/py/bb:v1"}, lines
img = c.images.pull(REG + "/py/bb", tag="v1", auth_config=AUTH)
assert REG + "/py/bb:v1" in img.tags, img.tags
lines = list(api.pull(REG + "/py/bb", tag="v1", stream=True, decode=True, auth_config=AUTH))
assert lines[-1] == {"status": "Status: Image is up to date for " + REG + "/py/bb:v1"}, lines
assert not any(l.get("id") == lid for l in lines), lines
print("ok")
"#;
    assert_eq!(ok(&s.python(&script(py, &reg))).trim(), "ok");
    // Docker's answers to malformed requests, before any streaming.
    let (code, _, body) = s.http("POST", "/v1.43/images/create?fromImage=Not%20A%20Name&tag=x", b"");
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let (code, _, body) = s.http("POST", &format!("/v1.43/images/{}/py/bb/push?tag=v1", reg.host), b"");
    assert_eq!(code, 400);
    assert!(String::from_utf8_lossy(&body).contains("Bad parameters and missing X-Registry-Auth"));
    let (code, _, body) = s.http("POST", "/v1.43/images/nosuch/push?tag=1", b"{}");
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));
});

both_modes!(docker_py_builds_with_args_target_labels_and_registry_config, |t| {
    let reg = auth_registry();
    t.load_busybox("busybox");
    let s = Service::start(t);
    let ctx = t.path("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "ARG BASE\nFROM ${BASE} AS first\nARG GREETING=none\nRUN echo \"$GREETING\" > /greeting\nLABEL stage=first\n\
         FROM first AS second\nRUN echo second > /second\n",
    )
    .unwrap();
    let bad = t.path("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("Dockerfile"), "FROM busybox\nRUN echo before; exit 3\n").unwrap();
    t.give(&ctx);
    t.give(&bad);
    let py = r#"
import docker
REG = "@REG@"
AUTH = {"username": "@USER@", "password": "@PASS@"}
c = docker.from_env()
c.images.get("busybox").tag(REG + "/base/bb", "1")
for l in c.api.push(REG + "/base/bb", tag="1", stream=True, decode=True, auth_config=AUTH):
    assert "error" not in l, l
c.images.remove(REG + "/base/bb:1")
def run(image, cmd=None):
    # Not containers.run(remove=True): its logs request races the removal
    # (the service opens the log file after answering; see the report).
    ctr = c.containers.run(image, cmd, detach=True)
    assert ctr.wait()["StatusCode"] == 0
    out = ctr.logs()
    ctr.remove()
    return out
args = {"BASE": REG + "/base/bb:1", "GREETING": "hi there"}
# The builder pulls FROM with the credentials the client sends: none yet.
try:
    c.images.build(path="@CTX@", tag="pybuilt:1", buildargs=args, target="first")
    raise SystemExit("built without credentials for the base image")
except docker.errors.BuildError as e:
    assert "authentication" in e.msg or "denied" in e.msg, e.msg
# After login docker-py sends X-Registry-Config with every build.
assert c.login(username="@USER@", password="@PASS@", registry=REG)["Status"] == "Login Succeeded"
img, logs = c.images.build(path="@CTX@", tag="pybuilt:1", buildargs=args, target="first", labels={"via": "py"}, rm=True)
logs = list(logs)
streams = "".join(l.get("stream", "") for l in logs)
# (ARG before FROM is no step, as in the classic builder.)
assert "Step 1/4 : FROM ${BASE} AS first\n" in streams, streams
assert "Successfully built " + img.id.split(":")[1][:12] + "\n" in streams, streams
assert "Successfully tagged pybuilt:1\n" in streams, streams
assert {"aux": {"ID": img.id}} in logs, logs
assert any(l.get("status") == "Pulling from base/bb" for l in logs), logs
assert img.labels == {"stage": "first", "via": "py"}, img.labels
assert "pybuilt:1" in img.tags
out = run("pybuilt:1", "sh -c 'cat /greeting; test -e /second || echo no-second'")
assert out == b"hi there\nno-second\n", out
# A failing RUN: Docker's error line, with the exit code.
try:
    c.images.build(path="@BAD@", tag="pybad:1")
    raise SystemExit("a failing build succeeded")
except docker.errors.BuildError as e:
    assert e.msg == "The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3", e.msg
    log = list(e.build_log)
    assert {"stream": "before\n"} in log, log
    assert log[-1]["errorDetail"] == {"code": 3, "message": e.msg}, log[-1]
# Quiet: only the id.
lines = list(c.api.build(path="@CTX@", quiet=True, buildargs=args, target="first", labels={"via": "py"}, decode=True))
assert [l for l in lines if "stream" in l] == [{"stream": img.id + "\n"}], lines
print("ok")
"#;
    let py = script(py, &reg).replace("@CTX@", ctx.to_str().unwrap()).replace("@BAD@", bad.to_str().unwrap());
    assert_eq!(ok(&s.python(&py)).trim(), "ok");
});

both_modes!(docker_py_commit_with_changes_and_save_load_round_trip, |t| {
    t.load_busybox("busybox");
    let s = Service::start(t);
    let py = r#"
import docker, io, json, tarfile
c = docker.from_env()
def run(image, cmd=None):
    # Not containers.run(remove=True): its logs request races the removal
    # (the service opens the log file after answering; see the report).
    ctr = c.containers.run(image, cmd, detach=True)
    assert ctr.wait()["StatusCode"] == 0
    out = ctr.logs()
    ctr.remove()
    return out
ctr = c.containers.run("busybox", "sh -c 'echo data > /f'", detach=True)
assert ctr.wait()["StatusCode"] == 0
img = ctr.commit(repository="committed", tag="v1", message="a message", author="me <me@x>",
                 changes=["ENV FOO=bar", 'CMD ["cat", "/f"]'],
                 conf={"Labels": {"k": "v w"}, "Env": ["MORE=1 2"], "WorkingDir": "/tmp"})
ctr.remove()
a = img.attrs
assert "committed:v1" in img.tags, img.tags
assert a["Comment"] == "a message" and a["Author"] == "me <me@x>", a
cfg = a["Config"]
assert cfg["Cmd"] == ["cat", "/f"], cfg
assert "FOO=bar" in cfg["Env"] and "MORE=1 2" in cfg["Env"], cfg
assert cfg["Labels"] == {"k": "v w"} and cfg["WorkingDir"] == "/tmp", cfg
out = run("committed:v1")
assert out == b"data\n", out
# Save: Docker's archive; load it back into an empty name.
data = b"".join(c.images.get("committed:v1").save(named=True))
with tarfile.open(fileobj=io.BytesIO(data)) as tf:
    manifest = json.load(tf.extractfile("manifest.json"))
assert manifest[0]["RepoTags"] == ["committed:v1"], manifest
r = c.api._get(c.api._url("/images/get"), params={"names": ["committed:v1", "busybox"]})
c.api._raise_for_status(r)
both = r.content
with tarfile.open(fileobj=io.BytesIO(both)) as tf:
    tags = sorted(t for m in json.load(tf.extractfile("manifest.json")) for t in m["RepoTags"])
assert tags == ["busybox:latest", "committed:v1"], tags
c.images.remove("committed:v1")
loaded = c.images.load(data)
assert [i.tags for i in loaded] == [["committed:v1"]], loaded
assert loaded[0].id == img.id
lines = list(c.api.load_image(data, quiet=False))
assert lines == [{"stream": "Loaded image: committed:v1\n"}], lines
lines = list(c.api.load_image(b"not a tar"))
assert len(lines) == 1 and "errorDetail" in lines[0], lines
assert run("committed:v1") == b"data\n"
# Import (fromSrc=-): a root file system tar in the body, with a change.
fs = io.BytesIO()
with tarfile.open(fileobj=fs, mode="w") as tf:
    ti = tarfile.TarInfo("hello"); ti.size = 3
    tf.addfile(ti, io.BytesIO(b"hi\n"))
res = json.loads(c.api.import_image_from_data(fs.getvalue(), repository="imported", tag="1", changes=['CMD ["cat", "/hello"]']))
imp = c.images.get("imported:1")
assert res == {"status": imp.id}, res
assert imp.attrs["Config"]["Cmd"] == ["cat", "/hello"], imp.attrs["Config"]
try:
    c.api.commit("nosuch")
    raise SystemExit("committed a container that does not exist")
except docker.errors.NotFound:
    pass
try:
    c.images.get("nosuch:1").save()
    raise SystemExit("got an image that does not exist")
except docker.errors.ImageNotFound:
    pass
print("ok")
"#;
    assert_eq!(ok(&s.python(py)).trim(), "ok");
    let (code, _, _) = s.http("GET", "/v1.43/images/nosuch/get", b"");
    assert_eq!(code, 404);
});

both_modes!(docker_cli_pull_push_build_commit_save_load, |t| {
    let reg = auth_registry();
    t.load_busybox("busybox");
    let s = Service::start(t);
    let name = format!("{}/cli/bb:1", reg.host);
    let fails = |args: &[&str]| {
        let o = s.docker(args);
        assert!(!o.status.success(), "docker {args:?} succeeded");
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    ok(&s.docker(["tag", "busybox", &name]));
    let err = fails(&["push", &name]);
    assert!(err.contains("authentication") || err.contains("denied"), "{err}");
    let login = ok(&s.docker(["login", "-u", USER, "-p", PASS, &reg.host]));
    assert!(login.contains("Login Succeeded"), "{login}");
    let out = ok(&s.docker(["push", &name]));
    assert!(out.contains(&format!("The push refers to repository [{}/cli/bb]", reg.host)), "{out}");
    assert!(out.lines().any(|l| l.starts_with("1: digest: sha256:") && l.contains(" size: ")), "{out}");
    ok(&s.docker(["rmi", &name]));
    let out = ok(&s.docker(["pull", &name]));
    assert!(out.contains("1: Pulling from cli/bb"), "{out}");
    assert!(out.contains(&format!("Status: Downloaded newer image for {name}")), "{out}");
    assert!(out.contains("Digest: sha256:"), "{out}");
    // The credentials live with the client: after logout, nothing.
    ok(&s.docker(["logout", &reg.host]));
    ok(&s.docker(["rmi", &name]));
    let err = fails(&["pull", &name]);
    assert!(err.contains("pull access denied"), "{err}");

    // The classic builder.
    let ctx = t.path("clictx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nARG X\nCOPY file /file\nRUN echo \"$X\" > /x\n").unwrap();
    std::fs::write(ctx.join("file"), "from the context\n").unwrap();
    t.give(&ctx);
    let build = |args: &[&str]| {
        let mut c = s.client("/usr/local/bin/docker", args);
        c.env("DOCKER_BUILDKIT", "0");
        crate::common::api::timeout(&mut c, std::time::Duration::from_secs(120))
    };
    let ctx_s = ctx.to_str().unwrap();
    let out = ok(&build(&["build", "-t", "clibuilt", "--build-arg", "X=y", ctx_s]));
    assert!(out.contains("Step 1/4 : FROM busybox"), "{out}");
    assert!(out.contains("Successfully tagged clibuilt:latest"), "{out}");
    let run = ok(&s.docker(["run", "--rm", "clibuilt", "cat", "/x", "/file"]));
    assert_eq!(run, "y\nfrom the context\n");
    let q = ok(&build(&["build", "-q", "--build-arg", "X=y", ctx_s]));
    let id = ok(&s.docker(["image", "inspect", "--format", "{{.Id}}", "clibuilt"]));
    assert_eq!(q.trim(), id.trim());
    // A failing RUN: the CLI exits with the command's code (Docker's
    // errorDetail carries it) and prints Docker's message.
    std::fs::write(ctx.join("Dockerfile.bad"), "FROM busybox\nRUN exit 7\n").unwrap();
    t.give(&ctx);
    let o = build(&["build", "-f", ctx.join("Dockerfile.bad").to_str().unwrap(), ctx_s]);
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("returned a non-zero code: 7"), "{o:?}");

    // Commit with a change, save and load.
    ok(&s.docker(["run", "--name", "cc", "busybox", "sh", "-c", "echo c > /c"]));
    ok(&s.docker(["commit", "-c", "CMD [\"cat\", \"/c\"]", "-m", "msg", "cc", "clicommit:1"]));
    assert_eq!(ok(&s.docker(["run", "--rm", "clicommit:1"])), "c\n");
    let tar = t.path("saved.tar");
    ok(&s.docker(["save", "-o", tar.to_str().unwrap(), "clicommit:1"]));
    assert!(std::fs::metadata(&tar).unwrap().len() > 10_000);
    ok(&s.docker(["rm", "cc"]));
    ok(&s.docker(["rmi", "clicommit:1"]));
    let out = ok(&s.docker(["load", "-i", tar.to_str().unwrap()]));
    assert_eq!(out.trim(), "Loaded image: clicommit:1");
    assert_eq!(ok(&s.docker(["run", "--rm", "clicommit:1"])), "c\n");
});

both_modes!(docker_compose_1_29_builds_a_service, |t| {
    assert!(
        std::path::Path::new("/usr/bin/docker-compose").exists(),
        "docker-compose not installed: contrib/test-setup/api-clients.sh installs it (make test-setup)"
    );
    t.load_busybox("busybox");
    let s = Service::start(t);
    let dir = t.path("cproj");
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        "version: \"2.4\"\nservices:\n  app:\n    image: composebuilt:1\n    build:\n      context: ./app\n      args:\n        MSG: hello\n      labels:\n        built.by: compose\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app/Dockerfile"),
        "FROM busybox\nARG MSG\nRUN echo \"$MSG\" > /msg\nCMD [\"cat\", \"/msg\"]\n",
    )
    .unwrap();
    t.give(&dir);
    let mut c = s.client("/usr/bin/docker-compose", ["build"]);
    c.current_dir(&dir);
    // compose's own (docker-py) build through the API, not the CLI's.
    c.env("COMPOSE_DOCKER_CLI_BUILD", "0").env("DOCKER_BUILDKIT", "0");
    let out = crate::common::api::timeout(&mut c, std::time::Duration::from_secs(120));
    let text = ok(&out) + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Successfully tagged composebuilt:1"), "{text}");
    assert_eq!(t.rcon(["run", "--rm", "composebuilt:1"]).ok(), "hello\n");
    let labels = t.rcon(["image", "inspect", "--format", "{{json .Config.Labels}}", "composebuilt:1"]).ok().to_string();
    assert!(labels.contains("\"built.by\":\"compose\""), "{labels}");
});
