//! `rcon compose` as a user runs it: a web + db + worker project with a
//! healthcheck dependency, published ports and replicas reached by name;
//! re-`up` that keeps what did not change and recreates what did; `down`
//! and `down -v`; builds with args and targets, `.env`, override files,
//! profiles, `extends` and secrets; `service_completed_successfully`,
//! `run`, `--exit-code-from`; Ctrl-C on an attached `up`; the
//! `docker-compose` name and projects found by label; bad input that
//! leaves nothing behind.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// A project directory `name` under the test directory with `files`.
fn project(t: &TestEnv, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = t.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        let p = dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    t.give(&dir);
    dir
}

/// `rcon compose ARGS…` run in `dir`.
fn compose(t: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    let mut c = t.cmd(std::iter::once("compose").chain(args.iter().copied()));
    c.current_dir(dir).stdin(Stdio::null());
    Run::from(c.output().expect("spawn rcon compose"))
}

/// The project's containers as `compose ps -a --format json` lists them.
fn ps(t: &TestEnv, dir: &Path) -> Vec<Value> {
    compose(t, dir, &["ps", "-a", "--format", "json"])
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).expect("ps json line"))
        .collect()
}

fn id_of(t: &TestEnv, name: &str) -> String {
    t.rcon(["inspect", "-f", "{{.Id}}", name]).ok().trim().to_string()
}

const WEB_DB_WORKER: &str = r#"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db starting; sleep 0.3; touch /tmp/ready; exec sleep 1000"]
    stop_grace_period: 1s
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 50
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www"]
    stop_grace_period: 1s
    ports: ["8080"]
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: busybox
    command: ["sh", "-c", "echo worker $$JOB; exec sleep 1000"]
    stop_grace_period: 1s
    environment:
      JOB: ${JOB:-default}
    deploy:
      replicas: 3
volumes:
  data:
"#;

both_modes!(web_db_worker_up_reup_down, |t| {
    t.load_busybox("busybox");
    let dir = project(t, "shop", &[("compose.yaml", WEB_DB_WORKER)]);
    let up = compose(t, &dir, &["up", "-d"]);
    up.ok();
    // db became healthy before web was started.
    let healthy = up.stderr.find(" Container shop-db-1  Healthy").expect("db waited for");
    let web = up.stderr.find(" Container shop-web-1  Starting").expect("web started");
    assert!(healthy < web, "{}", up.stderr);

    let list = ps(t, &dir);
    let names: Vec<&str> = list.iter().map(|c| c["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shop-db-1", "shop-web-1", "shop-worker-1", "shop-worker-2", "shop-worker-3"]);
    assert!(list.iter().all(|c| c["State"] == "running" && c["Project"] == "shop"), "{list:?}");
    let table = compose(t, &dir, &["ps"]).ok().to_string();
    assert!(table.starts_with("NAME ") && table.contains("SERVICE") && table.contains("shop-web-1"), "{table}");

    // The published port, found as a user would, answers from the host.
    let port = compose(t, &dir, &["port", "web", "8080"]).ok().trim().to_string();
    let port: u16 = port.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(http_get(port, "/", Duration::from_secs(20)).trim(), "hello-from-web");

    // The service name resolves to all three replicas; web reaches db by name.
    let ns = compose(t, &dir, &["exec", "-T", "web", "nslookup", "worker"]);
    let answers = ns.ok().lines().filter(|l| l.starts_with("Address: ")).count();
    assert_eq!(answers, 3, "{}", ns.stdout);
    compose(t, &dir, &["exec", "-T", "db", "sh", "-c", "echo kept > /data/f"]).ok();
    let got = compose(t, &dir, &["exec", "-T", "web", "wget", "-q", "-O-", "http://shop-web-1:8080/"]);
    assert_eq!(got.ok().trim(), "hello-from-web");

    let logs = compose(t, &dir, &["logs", "--no-color", "worker"]).ok().to_string();
    for n in 1..=3 {
        assert!(logs.contains(&format!("worker-{n}  | worker default")), "{logs}");
    }

    // Nothing changed: nothing recreated, same containers.
    let before: Vec<String> = names.iter().map(|n| id_of(t, n)).collect();
    let again = compose(t, &dir, &["up", "-d"]);
    again.ok();
    assert!(!again.stderr.contains("Recreate") && !again.stderr.contains("Creating"), "{}", again.stderr);
    let after: Vec<String> = names.iter().map(|n| id_of(t, n)).collect();
    assert_eq!(before, after);

    // One service edited: only its containers are recreated.
    std::fs::write(dir.join("compose.yaml"), WEB_DB_WORKER.replace("${JOB:-default}", "edited")).unwrap();
    let edited = compose(t, &dir, &["up", "-d"]);
    edited.ok();
    assert!(edited.stderr.contains(" Container shop-worker-2  Recreate"), "{}", edited.stderr);
    assert!(!edited.stderr.contains("shop-web-1  Recreate") && !edited.stderr.contains("shop-db-1  Recreate"));
    assert_eq!(id_of(t, "shop-db-1"), before[0]);
    assert_ne!(id_of(t, "shop-worker-1"), before[2]);
    let logs = compose(t, &dir, &["logs", "--no-log-prefix", "worker"]).ok().to_string();
    assert!(logs.contains("worker edited"), "{logs}");

    // down: containers and network gone, the named volume kept.
    compose(t, &dir, &["down"]).ok();
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    assert!(!t.rcon(["network", "ls"]).ok().contains("shop_default"));
    assert!(t.rcon(["volume", "ls", "-q"]).ok().contains("shop_data"));
    compose(t, &dir, &["up", "-d", "db"]).ok();
    assert_eq!(compose(t, &dir, &["exec", "-T", "db", "cat", "/data/f"]).ok(), "kept\n");
    compose(t, &dir, &["down", "-v"]).ok();
    assert_eq!(t.rcon(["volume", "ls", "-q"]).ok(), "");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(builds_env_overrides_profiles_extends_secrets, |t| {
    t.load_busybox("busybox");
    let dir = project(
        t,
        "kit",
        &[
            (
                "Dockerfile",
                "FROM busybox AS base\nARG GREETING=none\nRUN echo \"$GREETING\" > /greeting\nFROM base AS final\nRUN echo final > /stage\n",
            ),
            (
                "compose.yaml",
                r#"
x-common: &common
  labels:
    shared: "yes"
services:
  app:
    <<: *common
    build:
      context: .
      target: base
      args:
        GREETING: ${GREETING}
    command: ["sh", "-c", "cat /greeting; ls /stage 2>&1; cat /run/secrets/token; echo $$FROM_OVERRIDE; exec sleep 1000"]
    stop_grace_period: 1s
    secrets: [token]
  child:
    extends:
      file: common.yaml
      service: base
  debug:
    image: busybox
    profiles: [debug]
    command: ["sleep", "1000"]
    stop_grace_period: 1s
secrets:
  token:
    file: ./token.txt
"#,
            ),
            ("compose.override.yaml", "services:\n  app:\n    environment:\n      FROM_OVERRIDE: overridden\n"),
            ("common.yaml", "services:\n  base:\n    image: busybox\n    command: [\"sh\", \"-c\", \"echo extended; exec sleep 1000\"]\n    stop_grace_period: 1s\n    labels:\n      from: common\n"),
            (".env", "GREETING=hello-env\n"),
            ("token.txt", "s3cret\n"),
        ],
    );
    assert_eq!(compose(t, &dir, &["config", "--services"]).ok(), "app\nchild\n");
    assert_eq!(compose(t, &dir, &["--profile", "debug", "config", "--services"]).ok(), "app\nchild\ndebug\n");
    let cfg = compose(t, &dir, &["config"]).ok().to_string();
    assert!(cfg.contains("GREETING: hello-env") && cfg.contains("FROM_OVERRIDE: overridden"), "{cfg}");

    compose(t, &dir, &["up", "-d"]).ok();
    assert!(t.rcon(["images", "--format", "{{.Repository}}"]).ok().lines().any(|l| l == "kit-app"));
    let logs = wait_for("app's output", Duration::from_secs(20), || {
        let l = compose(t, &dir, &["logs", "--no-log-prefix", "app"]).ok().to_string();
        l.contains("overridden").then_some(l)
    });
    assert!(logs.contains("hello-env\n"), "{logs}");
    assert!(logs.contains("/stage: No such file"), "the build stopped at target base: {logs}");
    assert!(logs.contains("s3cret\n"), "{logs}");
    let labels = t.rcon(["inspect", "-f", "{{json .Config.Labels}}", "kit-app-1"]).ok().to_string();
    assert!(labels.contains("\"shared\":\"yes\""), "{labels}");
    let labels = t.rcon(["inspect", "-f", "{{json .Config.Labels}}", "kit-child-1"]).ok().to_string();
    assert!(labels.contains("\"from\":\"common\""), "{labels}");
    assert!(t.rcon(["ps", "-a", "--format", "{{.Names}}"]).ok().lines().all(|n| n != "kit-debug-1"));

    compose(t, &dir, &["--profile", "debug", "up", "-d"]).ok();
    assert!(compose(t, &dir, &["--profile", "debug", "ps", "--services"]).ok().contains("debug"));
    compose(t, &dir, &["--profile", "debug", "down", "--rmi", "local"]).ok();
    assert!(!t.rcon(["images", "--format", "{{.Repository}}"]).ok().contains("kit-app"));
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(completed_dependencies_run_and_exit_codes, |t| {
    t.load_busybox("busybox");
    let dir = project(
        t,
        "jobs",
        &[(
            "compose.yaml",
            r#"
services:
  migrate:
    image: busybox
    command: ["sh", "-c", "echo migrating; sleep 0.3; echo migrated > /shared/state"]
    volumes: [shared:/shared]
  app:
    image: busybox
    command: ["sh", "-c", "cat /shared/state; exit 7"]
    volumes: [shared:/shared]
    depends_on:
      migrate:
        condition: service_completed_successfully
  broken:
    image: busybox
    command: ["false"]
    profiles: [broken]
  needs-broken:
    image: busybox
    command: ["true"]
    profiles: [broken]
    depends_on:
      broken:
        condition: service_completed_successfully
volumes:
  shared: {}
"#,
        )],
    );
    let up = compose(t, &dir, &["up", "--no-color", "--exit-code-from", "app"]);
    assert_eq!(up.code, 7, "{}\n{}", up.stdout, up.stderr);
    assert!(up.stdout.contains("app-1      | migrated"), "{}", up.stdout);
    assert!(up.stdout.contains("migrate-1 exited with code 0"), "{}", up.stdout);
    let exited = up.stderr.find("jobs-migrate-1  Exited").expect("app waited for migrate");
    assert!(exited < up.stderr.find("jobs-app-1  Starting").unwrap(), "{}", up.stderr);

    // run: everything after the service is the command, dashes included.
    let r = compose(t, &dir, &["run", "--rm", "--no-deps", "app", "sh", "-c", "echo $0 $1", "-x", "-y"]);
    assert_eq!(r.ok(), "-x -y\n");
    // `-i` is a boolean (a value only after '='): the service after it is the service.
    let r = compose(t, &dir, &["run", "-i", "--rm", "--no-deps", "app", "echo", "-i"]);
    assert_eq!(r.ok(), "-i\n");
    let r = compose(t, &dir, &["run", "--rm", "--no-deps", "app", "sh", "-c", "exit 4"]);
    assert_eq!(r.code, 4);
    assert!(!t.rcon(["ps", "-a", "--format", "{{.Names}}"]).ok().contains("-run-"), "run --rm left a container");

    // A dependency that fails: the dependent is not started, exit 1.
    let bad = compose(t, &dir, &["--profile", "broken", "up", "-d", "needs-broken"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("didn't complete successfully: exit 1"), "{}", bad.stderr);
    let states = t.rcon(["ps", "-a", "--format", "{{.Names}} {{.State}}"]).ok().to_string();
    assert!(!states.contains("jobs-needs-broken-1"), "the dependent was not created: {states}");
    compose(t, &dir, &["--profile", "broken", "down", "-v", "--remove-orphans"]).ok();
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
});

both_modes!(ctrl_c_stops_an_attached_up, |t| {
    t.load_busybox("busybox");
    let dir = project(
        t,
        "tick",
        &[("compose.yaml", "services:\n  ticker:\n    image: busybox\n    command: [\"sh\", \"-c\", \"echo tick; exec sleep 1000\"]\n    stop_grace_period: 1s\n")],
    );
    let mut c = t.cmd(["compose", "up", "--no-color"]);
    c.current_dir(&dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let l = lines.next().expect("up printed the tick").unwrap();
        if l.contains("ticker-1  | tick") {
            break;
        }
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_for("up to stop", Duration::from_secs(30), || child.try_wait().unwrap());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("Gracefully stopping... (press Ctrl+C again to force)"), "{err}");
    assert!(err.contains(" Container tick-ticker-1  Stopped"), "{err}");
    // Stopped, not removed, as compose leaves it.
    assert_eq!(t.rcon(["inspect", "-f", "{{.State.Status}}", "tick-ticker-1"]).ok().trim(), "exited");
    compose(t, &dir, &["down"]).ok();
});

both_modes!(docker_compose_name_and_projects_by_label, |t| {
    t.load_busybox("busybox");
    let dir = project(
        t,
        "named",
        &[(
            "docker-compose.yml",
            "services:\n  s:\n    image: busybox\n    command: [\"sleep\", \"1000\"]\n    stop_grace_period: 1s\n",
        )],
    );
    let link = t.path("docker-compose");
    std::os::unix::fs::symlink(rcon_bin(), &link).unwrap();
    let mut c = t.program(&link, ["-p", "Other_Name", "up", "-d"]);
    c.current_dir(&dir).stdin(Stdio::null());
    let r = Run::from(c.output().unwrap());
    assert_eq!(r.code, 1, "an invalid project name is refused: {}", r.stderr);
    assert!(r.stderr.contains("invalid project name \"Other_Name\""), "{}", r.stderr);
    let mut c = t.program(&link, ["-p", "other", "up", "-d"]);
    c.current_dir(&dir).stdin(Stdio::null());
    Run::from(c.output().unwrap()).ok();
    // From a directory with no compose file: the project by its labels.
    let elsewhere = t.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    t.give(&elsewhere);
    assert!(compose(t, &elsewhere, &["-p", "other", "ps"]).ok().contains("other-s-1"));
    assert!(compose(t, &elsewhere, &["ls"]).ok().contains("running(1)"));
    compose(t, &elsewhere, &["-p", "other", "down"]).ok();
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    assert!(!t.rcon(["network", "ls"]).ok().contains("other_default"));
    let v = compose(t, &elsewhere, &["version", "--short"]);
    assert_eq!(v.ok().trim(), "2.32.4");
});

both_modes!(bad_input_leaves_nothing_behind, |t| {
    t.load_busybox("busybox");
    let empty = project(t, "empty", &[]);
    compose(t, &empty, &["up", "-d"]).fails(1, "no configuration file provided");

    let dir = project(t, "bad", &[("compose.yaml", "services:\n  a:\n    image: busybox\n   command: x\n")]);
    let r = compose(t, &dir, &["up", "-d"]);
    r.fails(1, "compose.yaml");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);

    let good = "services:\n  a:\n    image: busybox\n    command: [\"sleep\", \"1000\"]\n";
    let dir = project(t, "ok", &[("compose.yaml", good)]);
    compose(t, &dir, &["up", "-d", "nosuch"]).fails(1, "no such service: nosuch");
    compose(t, &dir, &["exec", "-T", "a", "true"]).fails(1, "service \"a\" is not running");

    let cycle =
        "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n";
    let dir = project(t, "cycle", &[("compose.yaml", cycle)]);
    compose(t, &dir, &["up", "-d"]).fails(1, "dependency cycle");

    // An image that cannot be pulled: nothing is created for any service.
    let missing = format!("{good}  b:\n    image: 127.0.0.1:9/nope/missing:1\n");
    let dir = project(t, "missing", &[("compose.yaml", &missing)]);
    compose(t, &dir, &["up", "-d"]).fails(1, "127.0.0.1:9/nope/missing");
    let bad_port = format!("{good}    ports: [\"99999:80\"]\n");
    let dir = project(t, "badport", &[("compose.yaml", &bad_port)]);
    compose(t, &dir, &["up", "-d"]).fails(1, "ports");
    assert_eq!(t.rcon(["ps", "-aq"]).ok(), "");
    let nets = t.rcon(["network", "ls", "--format", "{{.Name}}"]).ok().to_string();
    assert!(!nets.contains("missing_default") && !nets.contains("badport_default"), "{nets}");
});

both_modes!(wait_unhealthy_port_in_use_and_the_docker_link, |t| {
    t.load_busybox("busybox");
    let dir = project(
        t,
        "sick",
        &[(
            "compose.yaml",
            r#"
services:
  fine:
    image: busybox
    command: ["sh", "-c", "exec sleep 1000"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "true"]
      interval: 100ms
  sick:
    image: busybox
    command: ["sh", "-c", "echo about to fail; exec sleep 1000"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "false"]
      interval: 100ms
      retries: 2
"#,
        )],
    );
    // --wait: fine turns healthy, sick never does; it is named, with its output.
    let r = compose(t, &dir, &["up", "-d", "--wait"]);
    r.fails(1, "sick-sick-1 is unhealthy");
    assert!(r.stderr.contains("sick-sick-1  | about to fail"), "{}", r.stderr);
    compose(t, &dir, &["up", "-d", "--wait", "fine"]).ok();
    compose(t, &dir, &["down", "-t", "0"]).ok();

    // A published port another program holds: up fails and says which.
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let file = format!("services:\n  web:\n    image: busybox\n    command: [\"httpd\", \"-f\", \"-p\", \"80\"]\n    ports: [\"{port}:80\"]\n");
    let dir = project(t, "held", &[("compose.yaml", &file)]);
    let r = compose(t, &dir, &["up", "-d"]);
    r.fails(1, &port.to_string());
    compose(t, &dir, &["down", "-t", "0"]).ok();
    drop(held);

    // `docker compose` through a link named docker.
    let bin = t.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(rcon_bin(), bin.join("docker")).unwrap();
    let mut c = t.program(bin.join("docker"), ["compose", "version"]);
    c.current_dir(&dir).stdin(Stdio::null());
    let v = Run::from(c.output().unwrap());
    assert!(v.ok().starts_with("Docker Compose version v2."), "{}", v.stdout);
    let mut c = t.program(bin.join("docker"), ["compose", "config", "--services"]);
    c.current_dir(&dir).stdin(Stdio::null());
    assert_eq!(Run::from(c.output().unwrap()).ok(), "web\n");
});
