//! `kube play` as a user runs it: a multi-document file with a ConfigMap,
//! a Secret, a claim, an init container, probes and a NodePort Service
//! runs as a pod that behaves as the YAML says; `--down` removes exactly
//! what the play made; `kube generate` of a running pod plays back the
//! same; a compose project converted to Kubernetes plays with its web
//! reaching its database by Service name; bad input creates nothing.

use std::path::Path;
use std::time::Duration;

use crate::common::registry::free_port;
use crate::common::*;

fn write(t: &TestEnv, name: &str, text: &str) -> String {
    let p = t.path(name);
    std::fs::write(&p, text).unwrap();
    t.give(&p);
    p.display().to_string()
}

fn names(t: &TestEnv, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = t.rcon(args).ok().lines().map(String::from).filter(|l| !l.is_empty()).collect();
    v.sort();
    v
}

/// Pods, containers (infra ones too) and volumes.
fn inventory(t: &TestEnv) -> (Vec<String>, Vec<String>, Vec<String>) {
    (
        names(t, &["pod", "ps", "--format", "{{.Name}}"]),
        names(t, &["ps", "-a", "--format", "{{.Names}}"]),
        names(t, &["volume", "ls", "-q"]),
    )
}

fn app_yaml(port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  GREETING: hello-from-configmap
  index.html: served-from-configmap
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: Opaque
data:
  password: czNjcjN0
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: app-data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 8080
    targetPort: 8080
    nodePort: {port}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      hostAliases:
      - ip: 10.1.2.3
        hostnames: [legacy.local]
      initContainers:
      - name: init
        image: busybox
        command: ["sh", "-c", "echo prepared-by-init > /data/init.txt"]
        volumeMounts:
        - name: data
          mountPath: /data
      containers:
      - name: server
        image: busybox
        command: ["sh", "-c"]
        args: ["mkdir -p /www && cp /config/index.html /www/ && exec httpd -f -p 8080 -h /www"]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {{name: app-config, key: GREETING}}
        - name: PASSWORD
          valueFrom:
            secretKeyRef: {{name: app-secret, key: password}}
        - name: MESSAGE
          value: "$(GREETING) world"
        ports:
        - containerPort: 8080
        livenessProbe:
          httpGet: {{path: /index.html, port: 8080}}
          periodSeconds: 1
        volumeMounts:
        - name: config
          mountPath: /config
        - name: data
          mountPath: /data
      - name: sidecar
        image: busybox
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
        volumeMounts:
        - name: secret
          mountPath: /run/secret
      volumes:
      - name: config
        configMap: {{name: app-config}}
      - name: secret
        secret: {{secretName: app-secret}}
      - name: data
        persistentVolumeClaim: {{claimName: app-data}}
"#
    )
}

both_modes!(kube_play_runs_what_the_yaml_says_and_down_removes_it, |t| {
    t.load_busybox("busybox");
    t.rcon(["volume", "create", "mine"]).ok();
    let before = inventory(t);
    let port = free_port();
    let file = write(t, "app.yaml", &app_yaml(port));
    let out = t.rcon(["kube", "play", &file]).ok().to_string();
    assert!(out.starts_with("Pod:\n"), "{out}");
    let (pods, ctrs, vols) = inventory(t);
    assert_eq!(pods, vec!["web-pod"]);
    assert_eq!(ctrs, vec!["web-pod-server", "web-pod-sidecar"], "the init container is gone once it has run");
    assert!(vols.contains(&"app-data".to_string()), "the claim is a volume: {vols:?}");

    // The NodePort reaches the server; the ConfigMap's file is its page.
    assert_eq!(http_get(port, "/", Duration::from_secs(30)).trim(), "served-from-configmap");
    let env = t.rcon(["exec", "web-pod-server", "env"]).ok().to_string();
    assert!(env.contains("GREETING=hello-from-configmap"), "{env}");
    assert!(env.contains("PASSWORD=s3cr3t"), "{env}");
    assert!(env.contains("MESSAGE=hello-from-configmap world"), "$(VAR) expanded: {env}");
    assert_eq!(t.rcon(["exec", "web-pod-server", "cat", "/data/init.txt"]).ok().trim(), "prepared-by-init");
    assert_eq!(t.rcon(["exec", "web-pod-sidecar", "cat", "/run/secret/password"]).ok(), "s3cr3t");
    assert!(t.rcon(["exec", "web-pod-sidecar", "cat", "/etc/hosts"]).ok().contains("10.1.2.3\tlegacy.local"));
    // Containers of the pod share localhost.
    assert!(t
        .rcon(["exec", "web-pod-sidecar", "wget", "-qO-", "http://127.0.0.1:8080/"])
        .ok()
        .contains("served-from-configmap"));
    // The liveness probe is the server's healthcheck.
    wait_for("the probe to report healthy", Duration::from_secs(30), || {
        (t.rcon(["inspect", "-f", "{{.State.Health.Status}}", "web-pod-server"]).ok().trim() == "healthy").then_some(())
    });
    assert_eq!(t.rcon(["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "web-pod-server"]).ok().trim(), "always");

    // A second play of the same pods is refused; --replace replaces them.
    t.rcon(["kube", "play", &file]).fails(125, "web-pod");
    t.rcon(["kube", "play", "--replace", &file]).ok();
    assert_eq!(http_get(port, "/", Duration::from_secs(30)).trim(), "served-from-configmap");

    // --down: exactly what the play made is gone; the user's volume stays.
    let down = t.rcon(["kube", "play", "--down", &file]).ok().to_string();
    assert!(down.contains("Pods removed:"), "{down}");
    assert_eq!(inventory(t), before);
    t.rcon(["kube", "play", "--down", &file]).fails(125, "nothing of this file");
});

both_modes!(kube_play_refuses_bad_input_and_creates_nothing, |t| {
    t.load_busybox("busybox");
    let before = inventory(t);
    let cases: &[(&str, &str)] = &[
        ("- just\n- a list\n", "document 1"),
        ("apiVersion: v1\nkind: ReplicationController\nmetadata: {name: x}\n", "ReplicationController"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  containers: [{name: a, image: busybox}]\n", "Bad_Name"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nosuchimage:1}]\n", "nosuchimage"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: busybox\n    env:\n    - name: X\n      valueFrom: {configMapKeyRef: {name: absent, key: k}}\n",
            "ConfigMap absent",
        ),
    ];
    for (i, (yaml, needle)) in cases.iter().enumerate() {
        let f = write(t, &format!("bad{i}.yaml"), yaml);
        let r = t.rcon(["kube", "play", &f]);
        r.fails(125, needle);
        assert_eq!(r.stderr.lines().filter(|l| l.starts_with("Error")).count(), 1, "one error line: {}", r.stderr);
        assert_eq!(inventory(t), before, "case {i} left something");
    }
    // A pod name in use: refused before anything is created.
    t.rcon(["pod", "create", "--name", "taken"]).ok();
    let f = write(
        t,
        "taken.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: taken}\nspec:\n  containers: [{name: a, image: busybox}]\n",
    );
    t.rcon(["kube", "play", &f]).fails(125, "taken");
    assert_eq!(names(t, &["pod", "ps", "--format", "{{.Name}}"]), vec!["taken"]);
    let _ = Path::new(&f);
});

// The round trip of issue 16: `kube generate` of a running pod, then
// `kube play` of that file once the pod is gone, gives containers that
// behave the same: env, the published port answering, the bind mount
// and the named volume mounted, the healthcheck reported.
both_modes!(kube_generate_of_a_pod_plays_back_the_same, |t| {
    t.load_busybox("busybox");
    let www = t.path("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "page-from-the-host\n").unwrap();
    t.give(&www);
    let www = www.display().to_string();
    let port = free_port();
    t.rcon(["volume", "create", "rtdata"]).ok();
    t.rcon(["run", "--rm", "-v", "rtdata:/data", "busybox", "sh", "-c", "echo kept-in-volume > /data/v.txt"]).ok();
    t.rcon([
        "pod",
        "create",
        "--name",
        "rt",
        "-p",
        &format!("{port}:8080"),
        "--add-host",
        "legacy.local:10.1.2.3",
        "--label",
        "tier=web",
    ])
    .ok();
    let health = "wget -qO- http://127.0.0.1:8080/ >/dev/null || exit 1";
    t.rcon([
        "run",
        "-d",
        "--pod",
        "rt",
        "--name",
        "rt-web",
        "-e",
        "GREETING=hi there",
        "-v",
        &format!("{www}:/www:ro"),
        "-v",
        "rtdata:/data",
        "--health-cmd",
        health,
        "--health-interval",
        "1s",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "8080",
        "-h",
        "/www",
    ])
    .ok();
    t.rcon([
        "run",
        "-d",
        "--pod",
        "rt",
        "--name",
        "rt-side",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; sleep 1000 & wait",
    ])
    .ok();

    /// What the test compares before and after: the page on the published
    /// port, the env, the volume's file, /etc/hosts, localhost between
    /// the two containers, and the health status.
    fn behaviour(t: &TestEnv, port: u16, web: &str, side: &str) {
        assert_eq!(http_get(port, "/", Duration::from_secs(30)).trim(), "page-from-the-host");
        let env = t.rcon(["exec", web, "env"]).ok().to_string();
        assert!(env.lines().any(|l| l == "GREETING=hi there"), "{env}");
        assert_eq!(t.rcon(["exec", web, "cat", "/data/v.txt"]).ok().trim(), "kept-in-volume");
        assert!(t.rcon(["exec", side, "cat", "/etc/hosts"]).ok().contains("10.1.2.3\tlegacy.local"));
        assert!(t.rcon(["exec", side, "wget", "-qO-", "http://127.0.0.1:8080/"]).ok().contains("page-from-the-host"));
        wait_for("the web container to report healthy", Duration::from_secs(30), || {
            (t.rcon(["inspect", "-f", "{{.State.Health.Status}}", web]).ok().trim() == "healthy").then_some(())
        });
    }
    behaviour(t, port, "rt-web", "rt-side");

    let file = t.path("rt.yaml").display().to_string();
    let r = t.rcon(["kube", "generate", "rt", "-f", &file]);
    r.ok();
    let yaml = std::fs::read_to_string(&file).unwrap();
    crate::kube::validate(t, &yaml);
    assert!(yaml.contains("kind: Pod") && yaml.contains("name: rt\n"), "{yaml}");
    assert!(!yaml.contains("infra"), "the infra container is not a container of the pod:\n{yaml}");
    assert!(yaml.contains("tier: web") && yaml.contains("legacy.local"), "pod labels and hosts:\n{yaml}");
    // A pod and a container together are refused.
    t.rcon(["kube", "generate", "rt", "rt-web"]).fails(125, "not both");

    t.rcon(["pod", "rm", "-f", "rt"]).ok();
    assert!(names(t, &["ps", "-a", "--format", "{{.Names}}"]).is_empty());
    let out = t.rcon(["kube", "play", &file]).ok().to_string();
    assert!(out.starts_with("Pod:\n"), "{out}");
    assert_eq!(names(t, &["pod", "ps", "--format", "{{.Name}}"]), vec!["rt"]);
    behaviour(t, port, "rt-rt-web", "rt-rt-side");
    t.rcon(["kube", "play", "--down", &file]).ok();
    assert!(names(t, &["ps", "-a", "--format", "{{.Names}}"]).is_empty());
    assert_eq!(names(t, &["volume", "ls", "-q"]), vec!["rtdata"], "the user's volume stays");
});

/// A free port in Kubernetes' NodePort range (30000-32767): a compose
/// port outside it converts to a NodePort without `nodePort`.
fn free_node_port() -> u16 {
    let start = 30000 + (std::process::id() % 2768) as u16;
    (0..2768u16)
        .map(|i| 30000 + (start - 30000 + i) % 2768)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 30000-32767")
}

const SHOP: &str = r#"
services:
  db:
    image: busybox
    command: ["sh", "-c", "mkdir -p /srv && echo answer-from-db > /srv/index.html && exec httpd -f -p 5432 -h /srv"]
    expose: ["5432"]
    healthcheck:
      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:5432/ >/dev/null"]
      interval: 1s
      retries: 30
  web:
    image: busybox
    depends_on:
      db: {condition: service_healthy}
    command: ["sh", "-c", "mkdir -p /w && wget -qO /w/index.html http://db:5432/ && exec httpd -f -p 8080 -h /w"]
    ports: ["PORT:8080"]
"#;

// A compose project with a database healthcheck converts to YAML that
// validates, and `kube play` of it starts a web that reaches its
// database by Service name (after the init container waited for it).
both_modes!(compose_converted_to_kube_plays_with_web_reaching_db, |t| {
    t.load_busybox("busybox");
    t.rcon(["tag", "busybox", "busybox:1.36"]).ok(); // the wait image of the init containers
    let port = free_node_port();
    let dir = t.path("shop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("compose.yaml"), SHOP.replace("PORT", &port.to_string())).unwrap();
    t.give(&dir);
    let mut c = t.cmd(["compose", "convert", "--format", "kube"]);
    c.current_dir(&dir).stdin(std::process::Stdio::null());
    let yaml = Run::from(c.output().unwrap()).ok().to_string();
    crate::kube::validate(t, &yaml);
    let file = write(t, "shop.yaml", &yaml);
    t.rcon(["kube", "play", &file]).ok();
    assert_eq!(names(t, &["pod", "ps", "--format", "{{.Name}}"]), vec!["db-pod", "web-pod"]);
    assert_eq!(http_get(port, "/", Duration::from_secs(60)).trim(), "answer-from-db");
    t.rcon(["kube", "play", "--down", &file]).ok();
    assert!(names(t, &["ps", "-a", "--format", "{{.Names}}"]).is_empty());
});
