//! `rcon kube generate` and `rcon compose convert --format kube` as a user
//! runs them: the YAML is validated offline against the Kubernetes
//! schemas (PyPI `kubernetes-validate`, strict, a current release), read
//! back with rcon's own parser (the model `kube play` uses), and checked
//! field by field; what has no equivalent is named in one warning line;
//! bad input is one line and exit 125.

use std::path::Path;
use std::process::{Command, Stdio};

use rcon::kube::model::*;
use rcon::kube::{parse, Object};

use crate::common::*;

const KUBE_VERSION: &str = "1.33.0";

/// `kubernetes-validate --strict` of `yaml` (the test venv of `make test-setup`).
pub(crate) fn validate(t: &TestEnv, yaml: &str) {
    let bin = Path::new(crate::common::api::VENV).join("bin/kubernetes-validate");
    assert!(bin.exists(), "{} is missing: run `make test-setup` (contrib/test-setup/api-clients.sh)", bin.display());
    let file = t.path("validate.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out =
        Command::new(&bin).args(["-k", KUBE_VERSION, "--strict"]).arg(&file).stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubernetes-validate rejected the YAML:\n{text}\n---\n{yaml}");
    assert!(!text.contains("ERROR") && !text.contains("WARN"), "kubernetes-validate:\n{text}\n---\n{yaml}");
}

fn objects(yaml: &str) -> Vec<Object> {
    let p = parse(yaml, "generated").unwrap_or_else(|e| panic!("rcon cannot read its own YAML back: {e}\n{yaml}"));
    assert!(p.warnings.is_empty(), "unsupported fields in generated YAML: {:?}", p.warnings);
    p.objects
}

fn find<'a>(objs: &'a [Object], kind: &str, name: &str) -> &'a Object {
    objs.iter().find(|o| o.kind() == kind && o.name() == name).unwrap_or_else(|| {
        panic!("no {kind} {name} in {:?}", objs.iter().map(|o| (o.kind(), o.name())).collect::<Vec<_>>())
    })
}

fn env_of(c: &Container) -> Vec<(String, String)> {
    c.env.iter().map(|e| (e.name.clone(), e.value.clone().unwrap_or_default())).collect()
}

/// The warning line `kube generate` printed (exactly one).
fn warning_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("no Kubernetes equivalent")).collect();
    assert_eq!(lines.len(), 1, "one warning line expected:\n{stderr}");
    lines[0].to_string()
}

fn many_settings(mode: Mode) {
    let Some(t) = TestEnv::try_new(mode) else { return };
    // an image with defaults of its own: the YAML must not repeat them
    let archive = fixtures::image_archive(
        &t.dir,
        "app.tar",
        &["app:1"],
        &[fixtures::busybox_layer()],
        serde_json::json!({"config": {
            "Env": ["PATH=/usr/bin:/bin", "IMAGE_VAR=1", "MODE=dev"],
            "Cmd": ["sh"],
            "WorkingDir": "/",
            "Labels": {"vendor": "acme"},
            "Healthcheck": {"Test": ["CMD", "true"], "Interval": 10000000000i64}
        }}),
    );
    t.give(&archive);
    t.rcon(["load", "-i", archive.to_str().unwrap()]).ok();
    t.load_busybox("busybox");
    let host_dir = t.path("site");
    std::fs::create_dir_all(&host_dir).unwrap();
    t.give(&host_dir);
    let bind = format!("{}:/site:ro", host_dir.display());
    let mut args = vec![
        "create",
        "--name",
        "My_Web",
        "-e",
        "GREETING=hello world",
        "-e",
        "MODE=prod",
        "-w",
        "/srv",
        "-p",
        "8080:80",
        "--expose",
        "9090",
        "--add-host",
        "db.local:10.1.2.3",
        "--add-host",
        "cache.local:10.1.2.3",
        "--add-host",
        "api.local:10.9.9.9",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "MKNOD",
        "--read-only",
        "-u",
        "1000:1000",
        "--restart",
        "on-failure",
        "--health-cmd",
        "test -d /srv",
        "--health-interval",
        "5s",
        "--health-retries",
        "2",
        "--health-timeout",
        "3s",
        "-l",
        "tier=web",
        "-l",
        "description=a web app",
        "-v",
        "App_Data.v1:/data",
        "-v",
        &bind,
        "--tmpfs",
        "/scratch",
        "--ulimit",
        "nofile=100:200",
        "--init",
        "--hostname",
        "web1",
        "--stop-timeout",
        "7",
    ];
    if mode == Mode::Root {
        args.extend(["--memory", "64m", "--cpus", "1.5"]);
    }
    args.extend(["app:1", "httpd", "-f", "-p", "80"]);
    t.rcon(&args).ok();

    let run = t.rcon(["kube", "generate", "My_Web"]);
    let yaml = run.ok().to_string();
    validate(&t, &yaml);
    let warn = warning_line(&run.stderr);
    for dropped in ["My_Web: --init", "My_Web: --ulimit nofile"] {
        assert!(warn.contains(dropped), "{dropped:?} not in the warning: {warn}");
    }

    let objs = objects(&yaml);
    let Object::Pod(pod) = find(&objs, "Pod", "my-web") else { unreachable!() };
    assert_eq!(pod.metadata.labels.get("app").map(String::as_str), Some("my-web"));
    assert_eq!(pod.metadata.labels.get("tier").map(String::as_str), Some("web"));
    assert_eq!(pod.metadata.annotations.get("description").map(String::as_str), Some("a web app"));
    let s = &pod.spec;
    assert_eq!(s.restart_policy.as_deref(), Some("OnFailure"));
    assert_eq!(s.hostname.as_deref(), Some("web1"));
    assert_eq!(s.termination_grace_period_seconds, Some(7));
    assert_eq!(
        s.host_aliases,
        [
            HostAlias { ip: "10.1.2.3".into(), hostnames: vec!["db.local".into(), "cache.local".into()] },
            HostAlias { ip: "10.9.9.9".into(), hostnames: vec!["api.local".into()] },
        ]
    );
    let c = &s.containers[0];
    assert_eq!(c.name, "my-web");
    assert_eq!(c.image, "app:1");
    assert!(!pod.metadata.labels.contains_key("vendor"), "the image's label was repeated");
    assert!(c.command.is_empty(), "the image's entrypoint was kept: {:?}", c.command);
    assert_eq!(c.args, ["httpd", "-f", "-p", "80"]);
    // only what differs from the image (not PATH, IMAGE_VAR, HOSTNAME; MODE changed)
    assert_eq!(env_of(c), [("GREETING".into(), "hello world".into()), ("MODE".into(), "prod".into())]);
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    let p80 = c.ports.iter().find(|p| p.container_port == 80).expect("port 80");
    assert_eq!(p80.host_port, Some(8080));
    let p9090 = c.ports.iter().find(|p| p.container_port == 9090).expect("exposed port 9090");
    assert_eq!(p9090.host_port, None);
    let sc = c.security_context.as_ref().expect("securityContext");
    assert_eq!((sc.run_as_user, sc.run_as_group), (Some(1000), Some(1000)));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    let caps = sc.capabilities.as_ref().unwrap();
    assert_eq!(
        (caps.add.as_slice(), caps.drop.as_slice()),
        (&["NET_ADMIN".to_string()][..], &["MKNOD".to_string()][..])
    );
    let probe = c.liveness_probe.as_ref().expect("livenessProbe");
    assert_eq!(probe.exec.as_ref().unwrap().command, ["/bin/sh", "-c", "test -d /srv"]);
    assert_eq!((probe.period_seconds, probe.timeout_seconds, probe.failure_threshold), (Some(5), Some(3), Some(2)));
    if mode == Mode::Root {
        let r = c.resources.as_ref().expect("resources");
        assert_eq!(r.limits["memory"], Quantity((64u64 << 20).to_string()));
        assert_eq!(r.limits["cpu"], Quantity("1500m".into()));
    }
    // volumes: valid names, a claim for the named volume (emitted too), hostPath for the bind
    let vol = |path: &str| {
        let m = c.volume_mounts.iter().find(|m| m.mount_path == path).unwrap_or_else(|| panic!("mount {path}"));
        (m, s.volumes.iter().find(|v| v.name == m.name).unwrap())
    };
    let (_, data) = vol("/data");
    assert_eq!(data.name, "app-data-v1-pvc");
    assert_eq!(data.persistent_volume_claim.as_ref().unwrap().claim_name, "app-data-v1");
    find(&objs, "PersistentVolumeClaim", "app-data-v1");
    let (site_mount, site) = vol("/site");
    assert!(site_mount.read_only);
    assert_eq!(site.host_path.as_ref().unwrap().path, host_dir.to_str().unwrap());
    assert!(site.name.ends_with("-site-host"), "{}", site.name);
    let (_, scratch) = vol("/scratch");
    assert_eq!(scratch.empty_dir.as_ref().unwrap().medium.as_deref(), Some("Memory"));

    // --service: a NodePort Service for the published port, no hostPort in the pod
    let yaml =
        t.rcon(["kube", "generate", "--service", "--type", "deployment", "--replicas", "3", "My_Web"]).ok().to_string();
    validate(&t, &yaml);
    let objs = objects(&yaml);
    let Object::Service(svc) = find(&objs, "Service", "my-web") else { unreachable!() };
    assert_eq!(svc.spec.kind.as_deref(), Some("NodePort"));
    assert_eq!(svc.spec.selector.get("app").map(String::as_str), Some("my-web"));
    assert!(svc.spec.ports.iter().any(|p| p.port == 80), "{:?}", svc.spec.ports);
    let Object::Deployment(d) = find(&objs, "Deployment", "my-web") else { unreachable!() };
    assert_eq!(d.spec.replicas, Some(3));
    assert_eq!(d.spec.template.spec.restart_policy.as_deref(), Some("Always"));
    assert!(d.spec.template.spec.containers[0].ports.iter().all(|p| p.host_port.is_none()));

    // -f FILE, and --network host
    t.rcon(["create", "--name", "hostnet", "--network", "host", "busybox", "sleep", "1"]).ok();
    let file = t.path("out.yaml");
    t.give(file.parent().unwrap());
    let run = t.rcon(["kube", "generate", "-f", file.to_str().unwrap(), "--type", "job", "hostnet"]);
    assert_eq!(run.ok(), "");
    let yaml = std::fs::read_to_string(&file).unwrap();
    validate(&t, &yaml);
    let objs = objects(&yaml);
    let Object::Job(job) = find(&objs, "Job", "hostnet") else { unreachable!() };
    assert!(job.spec.template.spec.host_network);
    assert_eq!(job.spec.template.spec.restart_policy.as_deref(), Some("Never"));
}

#[test]
fn generate_a_container_with_many_settings_rootless() {
    many_settings(Mode::Rootless);
}

#[test]
fn generate_a_container_with_many_settings_root() {
    many_settings(Mode::Root);
}

#[test]
fn generate_bad_input() {
    let t = TestEnv::new(Mode::Rootless);
    let r = t.rcon(["kube", "generate", "nosuch"]);
    r.fails(125, "no such container: nosuch");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    t.load_busybox("busybox");
    t.rcon(["create", "--name", "c1", "busybox"]).ok();
    t.rcon(["kube", "generate", "--replicas", "2", "c1"]).fails(125, "--replicas is for --type deployment only");
    t.rcon(["kube", "generate", "--service", "c1"]).fails(125, "--service: c1 has no ports");
    t.rcon(["kube", "generate", "--type", "statefulset", "c1"]).fails(125, "statefulset");
}

const PROJECT: &str = r#"
services:
  db:
    image: busybox
    command: ["sh", "-c", "exec nc -lk -p 5432 -e true"]
    stop_signal: SIGINT
    volumes: [db-data:/var/lib/db]
    expose: ["5432"]
    healthcheck:
      test: ["CMD", "nc", "-z", "127.0.0.1", "5432"]
      interval: 2s
      timeout: 1s
      retries: 5
      start_period: 4s
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080"]
    env_file: [web.env]
    environment:
      DB_HOST: db
      LOG_LEVEL: debug
    ports: ["8080:8080"]
    secrets: [db_password]
    configs: [{source: site, target: /etc/site.conf}]
    extra_hosts: ["legacy.local=10.0.0.7"]
    deploy:
      replicas: 2
    depends_on:
      db:
        condition: service_healthy
secrets:
  db_password:
    file: ./db_password.txt
configs:
  site:
    content: "listen 8080\n"
volumes:
  db-data: {}
"#;

fn compose_project(mode: Mode) {
    let Some(t) = TestEnv::try_new(mode) else { return };
    let dir = t.path("shop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("compose.yaml"), PROJECT).unwrap();
    std::fs::write(dir.join("web.env"), "# web settings\nLOG_LEVEL=info\nCACHE_SIZE=64\nexport THEME=dark\n").unwrap();
    std::fs::write(dir.join("db_password.txt"), "s3cr3t\n").unwrap();
    t.give(&dir);
    let mut c = t.cmd(["compose", "convert", "--format", "kube"]);
    c.current_dir(&dir).stdin(Stdio::null());
    let run = Run::from(c.output().unwrap());
    let yaml = run.ok().to_string();
    validate(&t, &yaml);
    let warn = warning_line(&run.stderr);
    assert!(warn.contains("services.db.stop_signal"), "{warn}");

    let objs = objects(&yaml);
    // db: a Deployment with probes from the healthcheck, its Service, its claim
    let Object::Deployment(db) = find(&objs, "Deployment", "db") else { unreachable!() };
    let dbc = &db.spec.template.spec.containers[0];
    let live = dbc.liveness_probe.as_ref().expect("liveness");
    let ready = dbc.readiness_probe.as_ref().expect("readiness");
    assert_eq!(live.exec.as_ref().unwrap().command, ["nc", "-z", "127.0.0.1", "5432"]);
    assert_eq!(
        (live.period_seconds, live.timeout_seconds, live.failure_threshold, live.initial_delay_seconds),
        (Some(2), Some(1), Some(5), Some(4))
    );
    assert_eq!(ready.exec, live.exec);
    let Object::Service(dbs) = find(&objs, "Service", "db") else { unreachable!() };
    assert_eq!(dbs.spec.ports[0].port, 5432);
    assert_eq!(dbs.spec.kind.as_deref(), Some("ClusterIP"));
    find(&objs, "PersistentVolumeClaim", "db-data");
    let vols = &db.spec.template.spec.volumes;
    assert_eq!(vols[0].persistent_volume_claim.as_ref().unwrap().claim_name, "db-data");

    // web: replicas, env over the env file's ConfigMap, the init container, secret and config files
    let Object::Deployment(web) = find(&objs, "Deployment", "web") else { unreachable!() };
    assert_eq!(web.spec.replicas, Some(2));
    let ws = &web.spec.template.spec;
    let wc = &ws.containers[0];
    assert_eq!(wc.args, ["httpd", "-f", "-p", "8080"]);
    assert_eq!(env_of(wc), [("DB_HOST".into(), "db".into()), ("LOG_LEVEL".into(), "debug".into())]);
    assert_eq!(wc.env_from[0].config_map_ref.as_ref().unwrap().name, "web-env");
    let Object::ConfigMap(env) = find(&objs, "ConfigMap", "web-env") else { unreachable!() };
    assert_eq!(env.data.get("CACHE_SIZE").map(String::as_str), Some("64"));
    assert_eq!(env.data.get("THEME").map(String::as_str), Some("dark"));
    assert!(!env.data.contains_key("LOG_LEVEL"), "environment: overrides the env file");
    let init = &ws.init_containers[0];
    assert_eq!(init.name, "wait-for-db");
    assert!(init.command.join(" ").contains("nc -w 2 db 5432 </dev/null"), "{:?}", init.command);
    assert_eq!(ws.host_aliases, [HostAlias { ip: "10.0.0.7".into(), hostnames: vec!["legacy.local".into()] }]);
    let Object::Service(webs) = find(&objs, "Service", "web") else { unreachable!() };
    assert_eq!(webs.spec.kind.as_deref(), Some("NodePort"));
    let Object::Secret(sec) = find(&objs, "Secret", "db-password") else { unreachable!() };
    assert_eq!(sec.data.get("db_password.txt").map(String::as_str), Some("czNjcjN0Cg=="));
    let secret_mount =
        wc.volume_mounts.iter().find(|m| m.mount_path == "/run/secrets/db_password").expect("secret mount");
    let secret_vol = ws.volumes.iter().find(|v| v.name == secret_mount.name).unwrap();
    assert_eq!(secret_vol.secret.as_ref().unwrap().secret_name, "db-password");
    let Object::ConfigMap(site) = find(&objs, "ConfigMap", "site") else { unreachable!() };
    assert_eq!(site.data.get("site").map(String::as_str), Some("listen 8080\n"));
    assert!(wc.volume_mounts.iter().any(|m| m.mount_path == "/etc/site.conf" && m.sub_path.as_deref() == Some("site")));

    // `compose config` is unchanged by the new format
    let mut c = t.cmd(["compose", "config", "--services"]);
    c.current_dir(&dir).stdin(Stdio::null());
    assert_eq!(Run::from(c.output().unwrap()).ok(), "db\nweb\n");
}

#[test]
fn compose_project_converts_rootless() {
    compose_project(Mode::Rootless);
}

#[test]
fn compose_project_converts_root() {
    compose_project(Mode::Root);
}
