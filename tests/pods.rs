//! Pods as a user drives them: two containers that talk over localhost
//! and share IPC and UTS; a port published on the pod reaching the right
//! container; the pod verbs (ps, inspect, stop, start, top, logs, kill);
//! `--pod new:NAME`; `pod rm -f` leaving nothing behind; bad input that
//! creates nothing.

use std::time::Duration;

use serde_json::Value;

use crate::common::registry::free_port;
use crate::common::*;

fn inspect(t: &TestEnv, pod: &str) -> Value {
    let v: Value = serde_json::from_str(t.rcon(["pod", "inspect", pod]).ok()).expect("pod inspect JSON");
    v[0].clone()
}

/// Every container, the infra ones too, and every pod record: none.
fn assert_nothing_left(t: &TestEnv) {
    assert_eq!(t.rcon(["ps", "-aq"]).ok().trim(), "", "containers left");
    assert_eq!(t.rcon(["pod", "ps", "-q"]).ok().trim(), "", "pods left");
    let data = t.data.join("rcon");
    for dir in ["containers", "pods"] {
        let left: Vec<_> = std::fs::read_dir(data.join(dir))
            .map(|rd| rd.flatten().map(|e| e.file_name()).filter(|n| !n.to_string_lossy().ends_with("lock")).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{dir} left: {left:?}");
    }
}

both_modes!(containers_of_a_pod_share_localhost_ipc_uts_and_ports, |t| {
    t.load_busybox("busybox");
    let port = free_port();
    let id = t
        .rcon(["pod", "create", "--name", "shop", "-p", &format!("{port}:8080"), "--add-host", "db.local:10.9.8.7"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "pod create prints the pod's id: {id}");
    let pod = inspect(t, "shop");
    assert_eq!(pod["State"], "Created");
    assert_eq!(pod["SharedNamespaces"], serde_json::json!(["net", "ipc", "uts"]));
    assert_eq!(pod["InfraConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"], port.to_string());
    // The infra container is the pod's: hidden from ps, listed by pod.
    assert_eq!(t.rcon(["ps", "-aq"]).ok().trim(), "");
    let infra = pod["InfraContainerID"].as_str().unwrap().to_string();
    assert!(t.rcon(["ps", "-aq", "--no-trunc", "--filter", "pod=shop"]).ok().contains(&infra));

    t.rcon([
        "run",
        "-d",
        "--name",
        "web",
        "--pod",
        "shop",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo served-by-web > /www/index.html && exec httpd -f -p 8080 -h /www",
    ])
    .ok();
    // The pod's port reaches the container listening on it.
    assert_eq!(http_get(port, "/", Duration::from_secs(20)).trim(), "served-by-web");
    // A second container reaches the first on localhost, has the pod's
    // hostname and host entries, and the same IPC and network namespaces.
    let out = t
        .rcon([
            "run", "--rm", "--pod", "shop", "busybox", "sh", "-c",
            "wget -qO- http://127.0.0.1:8080/; hostname; grep db.local /etc/hosts; ls -l /proc/self/ns/ipc /proc/self/ns/net",
        ])
        .ok()
        .to_string();
    assert!(out.contains("served-by-web"), "{out}");
    assert!(out.lines().any(|l| l == "shop"), "the pod's hostname: {out}");
    assert!(out.contains("10.9.8.7\tdb.local"), "{out}");
    let ns_of = |text: &str, ns: &str| {
        text.lines().find(|l| l.contains(&format!("/ns/{ns}"))).and_then(|l| l.rsplit(' ').next()).map(String::from)
    };
    let web = t.rcon(["exec", "web", "ls", "-l", "/proc/self/ns/ipc", "/proc/self/ns/net"]).ok().to_string();
    assert_eq!(ns_of(&out, "ipc"), ns_of(&web, "ipc"), "IPC shared:\n{out}\n{web}");
    assert_eq!(ns_of(&out, "net"), ns_of(&web, "net"), "network shared:\n{out}\n{web}");
    // A container outside the pod has namespaces of its own.
    let alone = t.rcon(["run", "--rm", "busybox", "ls", "-l", "/proc/self/ns/ipc"]).ok().to_string();
    assert_ne!(ns_of(&alone, "ipc"), ns_of(&web, "ipc"));

    // The pod's columns and status.
    let ps = t.rcon(["pod", "ps"]).ok().to_string();
    assert!(ps.starts_with("POD ID"), "{ps}");
    assert!(ps.contains("# OF CONTAINERS"), "{ps}");
    let line = ps.lines().find(|l| l.contains("shop")).expect("shop listed");
    assert!(line.contains("Running") && line.trim_end().ends_with('2'), "{line}");
    assert_eq!(
        t.rcon(["pod", "ps", "--format", "{{.Name}} {{.Status}} {{.NumberOfContainers}}"]).ok().trim(),
        "shop Running 2"
    );
    let top = t.rcon(["pod", "top", "shop"]).ok().to_string();
    assert!(top.contains("httpd") && top.contains("__pause"), "{top}");

    // Stop: every container exited; start: the server answers again.
    t.rcon(["pod", "stop", "-t", "1", "shop"]).ok();
    assert_eq!(inspect(t, "shop")["State"], "Exited");
    t.rcon(["pod", "start", "shop"]).ok();
    assert_eq!(inspect(t, "shop")["State"], "Running");
    assert_eq!(http_get(port, "/", Duration::from_secs(20)).trim(), "served-by-web");

    // Without -f a running pod stays; the infra container is not removable alone.
    t.rcon(["pod", "rm", "shop"]).fails(125, "running containers");
    t.rcon(["rm", "-f", &infra]).fails(125, "infra container of pod shop");
    t.rcon(["pod", "rm", "-f", "shop"]).ok();
    assert_nothing_left(t);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the pod's port is closed");
});

both_modes!(new_pods_logs_kill_and_bad_input, |t| {
    t.load_busybox("busybox");
    // --pod new:NAME takes the container's network settings.
    let port = free_port();
    t.rcon([
        "run",
        "-d",
        "--name",
        "api",
        "--pod",
        "new:svc",
        "-p",
        &format!("{port}:9000"),
        "busybox",
        "sh",
        "-c",
        "echo api-started; mkdir -p /w && echo api > /w/index.html && exec httpd -f -p 9000 -h /w",
    ])
    .ok();
    assert_eq!(http_get(port, "/", Duration::from_secs(20)).trim(), "api");
    assert_eq!(inspect(t, "svc")["InfraConfig"]["PortBindings"]["9000/tcp"][0]["HostPort"], port.to_string());
    t.rcon(["run", "-d", "--name", "side", "--pod", "svc", "busybox", "sh", "-c", "echo side-started; exec sleep 60"])
        .ok();
    let logs = wait_for("both containers' logs", Duration::from_secs(10), || {
        let l = t.rcon(["pod", "logs", "svc"]).ok().to_string();
        (l.contains("api-started") && l.contains("side-started")).then_some(l)
    });
    assert!(logs.lines().any(|l| l.starts_with("api ") && l.ends_with("api-started")), "{logs}");
    assert!(!t.rcon(["pod", "logs", "-c", "side", "svc"]).ok().contains("api-started"));

    // Bad input: one-line errors, nothing created.
    t.rcon(["run", "--rm", "--pod", "nope", "busybox", "true"]).fails(125, "no such pod: nope");
    t.rcon(["run", "--rm", "--pod", "svc", "-p", "9999:9999", "busybox", "true"])
        .fails(125, "-p/--publish cannot be set on a container of pod svc");
    t.rcon(["run", "--rm", "--pod", "svc", "--hostname", "x", "busybox", "true"]).fails(125, "--hostname");
    t.rcon(["pod", "create", "--name", "svc"]).fails(125, "pod name \"svc\" is already in use");
    t.rcon(["pod", "create", "--name", "bad name"]).fails(125, "Invalid pod name");
    t.rcon(["pod", "create", "--share", "pid"]).fails(125, "invalid --share");
    t.rcon(["pod", "create", "--infra=false", "-p", "80:80"]).fails(125, "infra container");
    t.rcon(["run", "--rm", "--pod", "new:svc2", "nosuchimage:1", "true"]).fails(125, "nosuchimage");
    assert_eq!(t.rcon(["pod", "ps", "--format", "{{.Name}}"]).ok().trim(), "svc", "nothing half-created");
    assert_eq!(t.rcon(["ps", "-a", "--format", "{{.Names}}"]).ok().lines().count(), 2);

    // kill: every container; prune removes the stopped pod.
    t.rcon(["pod", "kill", "svc"]).ok();
    wait_for("the pod to exit", Duration::from_secs(10), || (inspect(t, "svc")["State"] == "Exited").then_some(()));
    t.rcon(["pod", "prune", "-f"]).ok();
    assert_nothing_left(t);
});
