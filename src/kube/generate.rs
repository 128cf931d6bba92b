//! `kube generate`: containers (one pod's worth) into Kubernetes objects.
//! A pure function over [`PodSource`]: the containers' records, the
//! defaults of their images (so only what the user changed is written, as
//! podman does), and the pod-level settings (a lone container's own).
//!
//! Ports follow podman (4.5 and later): without `--service` a published
//! port keeps its `hostPort` (what `-p` asked for); with `--service` the
//! pod gets no `hostPort` and the Service exposes the port instead, as a
//! NodePort when it was published (the host port as `nodePort` when it is
//! in Kubernetes' default range 30000–32767), else as a ClusterIP.
//! What has no Kubernetes equivalent is returned in `dropped`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::*;
use super::names::{self, Scope};
use super::KubeError;
use crate::container::health::HealthConfig;
use crate::container::{Container as Record, ContainerConfig};
use crate::network::ports::PortSpec;

/// One container of the pod and its image's defaults.
#[derive(Clone)]
pub struct Member {
    pub container: Record,
    pub image: ImageDefaults,
    /// Volume names among the container's mounts that are anonymous.
    pub anonymous_volumes: Vec<String>,
}

/// What the image would have given the container anyway.
#[derive(Debug, Clone, Default)]
pub struct ImageDefaults {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub labels: serde_json::Map<String, Value>,
    /// `VOLUME` paths: their anonymous volumes are the image's business.
    pub volumes: Vec<String>,
}

/// The pod-level settings: a pod's, or a lone container's own.
#[derive(Debug, Clone, Default)]
pub struct PodSettings {
    /// Empty: none set (the container id's prefix is not a choice).
    pub hostname: String,
    /// `name:ip`.
    pub add_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub ports: Vec<PortSpec>,
    /// `host`, `none`, `container:X`, a network name, or empty (the default).
    pub network_mode: String,
    pub labels: BTreeMap<String, String>,
}

impl PodSettings {
    /// A lone container's pod settings.
    pub fn of_container(c: &ContainerConfig) -> PodSettings {
        let h = &c.host;
        PodSettings {
            hostname: if c.id.starts_with(&c.hostname) { String::new() } else { c.hostname.clone() },
            add_hosts: h.extra_hosts.clone(),
            dns: h.dns.clone(),
            dns_search: h.dns_search.clone(),
            dns_options: h.dns_options.clone(),
            ports: h.net.ports.clone(),
            network_mode: h.network_mode.clone(),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Clone)]
pub struct PodSource {
    pub name: String,
    pub containers: Vec<Member>,
    /// None: taken from the first container.
    pub pod: Option<PodSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkloadKind {
    #[default]
    Pod,
    Deployment,
    DaemonSet,
    Job,
}

impl WorkloadKind {
    pub fn parse(s: &str) -> Option<WorkloadKind> {
        Some(match s {
            "pod" => WorkloadKind::Pod,
            "deployment" => WorkloadKind::Deployment,
            "daemonset" => WorkloadKind::DaemonSet,
            "job" => WorkloadKind::Job,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    pub kind: WorkloadKind,
    /// Deployments only.
    pub replicas: Option<u32>,
    pub service: bool,
}

#[derive(Debug, Default)]
pub struct Generated {
    pub objects: Vec<Object>,
    /// `CONTAINER: what` for every setting with no Kubernetes equivalent.
    pub dropped: Vec<String>,
}

/// Docker's default network modes, and the network `kube play` puts
/// pods on: nothing to say about them.
fn default_network(mode: &str) -> bool {
    matches!(mode, "" | "bridge" | "default" | "slirp4netns" | "pasta" | super::play::DEFAULT_NETWORK)
}

pub fn generate(src: &PodSource, o: &GenerateOptions) -> Result<Generated, KubeError> {
    if src.containers.is_empty() {
        return Err(KubeError::Invalid("no containers to generate from".into()));
    }
    if o.replicas.is_some() && o.kind != WorkloadKind::Deployment {
        return Err(KubeError::Invalid("--replicas is for --type deployment only".into()));
    }
    let mut out = Generated::default();
    let pod_name = names::sanitize(&src.name, "pod");
    let settings = match &src.pod {
        Some(p) => p.clone(),
        None => lone_containers(&src.containers),
    };
    let mut spec = PodSpec::default();
    let mut containers = Scope::default();
    let mut volumes = Scope::default();
    let mut claims: BTreeMap<String, String> = BTreeMap::new();
    let mut user_labels = settings.labels.clone();

    for (i, m) in src.containers.iter().enumerate() {
        let cfg = &m.container.config;
        let mut dropped = Vec::new();
        let name = containers.unique(&names::sanitize(&cfg.name, "container"));
        let mut c = Container { name, image: cfg.image_name.clone(), ..Default::default() };
        process(cfg, &m.image, &mut c);
        for (k, v) in &cfg.labels {
            let v = v.as_str().unwrap_or_default();
            if m.image.labels.get(k).and_then(Value::as_str) != Some(v) && src.pod.is_none() {
                user_labels.insert(k.clone(), v.to_string());
            }
        }
        c.security_context = security(cfg, &m.image, &mut dropped);
        c.resources = resources(&cfg.host.resources, &mut dropped);
        if let Some(h) = &cfg.healthcheck {
            c.liveness_probe = health_probe(h, &mut dropped);
            if cfg.health_on_failure != "none" && !cfg.health_on_failure.is_empty() {
                dropped.push(format!("--health-on-failure={}", cfg.health_on_failure));
            }
        }
        for mount in &cfg.host.mounts {
            mount_volume(mount, m, &mut volumes, &mut spec.volumes, &mut c.volume_mounts, &mut claims, &mut dropped);
        }
        // ports: the pod's published ones go to the container exposing them, else the first
        for key in cfg.exposed_ports.keys() {
            let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
            let Ok(port) = port.parse::<u16>() else { continue };
            c.ports.push(ContainerPort {
                container_port: port,
                protocol: (proto != "tcp").then(|| proto.to_uppercase()),
                ..Default::default()
            });
        }
        if i == 0 {
            restart_policy(cfg, o.kind, &mut spec, &mut dropped);
            spec.termination_grace_period_seconds = cfg.stop_timeout;
        }
        let h = &cfg.host;
        for (set, what) in [
            (h.auto_remove, "--rm".to_string()),
            (h.init, "--init".to_string()),
            (h.no_new_privileges && h.privileged, "--security-opt no-new-privileges with --privileged".to_string()),
            (
                !h.ulimits.is_empty(),
                format!("--ulimit {}", h.ulimits.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(",")),
            ),
            (!h.userns.is_empty(), format!("--userns={}", h.userns)),
            (h.uts_mode == "host", "--uts=host".to_string()),
            (!h.group_add.is_empty(), format!("--group-add {}", h.group_add.join(","))),
            (h.log_driver != "json-file" && !h.log_driver.is_empty(), format!("--log-driver={}", h.log_driver)),
            (!h.log_opts.is_empty(), format!("--log-opt {}", h.log_opts.join(","))),
            (h.net.publish_all, "--publish-all".to_string()),
            (
                !matches!(cfg.stop_signal.as_str(), "SIGTERM" | "TERM" | "15" | ""),
                format!("--stop-signal={}", cfg.stop_signal),
            ),
            (
                h.seccomp_profile.as_deref().is_some_and(|p| p != "unconfined"),
                "--security-opt seccomp=PROFILE".to_string(),
            ),
        ] {
            if set {
                dropped.push(what);
            }
        }
        if h.pid_mode == "host" {
            spec.host_pid = true;
        }
        if h.ipc_mode == "host" {
            spec.host_ipc = true;
        }
        for a in &h.net.networks {
            if !a.aliases.is_empty() {
                dropped.push(format!("--network-alias {}", a.aliases.join(",")));
            }
            if let Some(ip) = &a.ip {
                dropped.push(format!("--ip {ip}"));
            }
        }
        c.tty = cfg.tty;
        c.stdin = cfg.open_stdin;
        out.dropped.extend(dropped.into_iter().map(|d| format!("{}: {d}", cfg.name)));
        spec.containers.push(c);
    }

    // pod-level: network, hostname, hosts, DNS, published ports
    let first = &src.containers[0].container.config.name;
    match settings.network_mode.as_str() {
        "host" => spec.host_network = true,
        m if default_network(m) => {}
        m if m == "none" || m.starts_with("container:") => out.dropped.push(format!("{first}: --network {m}")),
        m => out.dropped.push(format!("{first}: --network {m} (pods share the cluster network)")),
    }
    if !settings.hostname.is_empty() {
        if names::is_dns1123_label(&settings.hostname) {
            spec.hostname = Some(settings.hostname.clone());
        } else {
            out.dropped.push(format!("{first}: --hostname {} (not a DNS-1123 label)", settings.hostname));
        }
    }
    spec.host_aliases = host_aliases(&settings.add_hosts, &mut out.dropped, first);
    dns(&settings, &mut spec);
    publish(&settings.ports, o.service, &mut spec.containers);

    let mut labels = Labels::new();
    labels.insert("app".into(), pod_name.clone());
    let (extra_labels, annotations) = split_labels(&user_labels, &mut out.dropped, first);
    let mut meta_labels = extra_labels;
    meta_labels.extend(labels.clone());

    for (claim, _) in claims.iter() {
        out.objects.push(Object::PersistentVolumeClaim(claim_object(claim)));
    }
    if o.service {
        out.objects.push(Object::Service(service_for(&pod_name, &labels, &spec.containers, &settings.ports)?));
    }
    out.objects.push(workload(&pod_name, o, meta_labels, annotations, labels, spec));
    Ok(out)
}

/// The pod settings of containers without a pod: the first one's, with
/// the others' hosts, DNS settings and published ports added.
fn lone_containers(members: &[Member]) -> PodSettings {
    let mut s = PodSettings::of_container(&members[0].container.config);
    for m in &members[1..] {
        let o = PodSettings::of_container(&m.container.config);
        for (mine, theirs) in [
            (&mut s.add_hosts, o.add_hosts),
            (&mut s.dns, o.dns),
            (&mut s.dns_search, o.dns_search),
            (&mut s.dns_options, o.dns_options),
        ] {
            for v in theirs {
                if !mine.contains(&v) {
                    mine.push(v);
                }
            }
        }
        s.ports.extend(o.ports);
    }
    s
}

/// command/args, env and workingDir: what differs from the image.
fn process(cfg: &ContainerConfig, img: &ImageDefaults, c: &mut Container) {
    if cfg.entrypoint != img.entrypoint {
        c.command = cfg.entrypoint.clone();
        c.args = cfg.cmd.clone();
    } else if cfg.cmd != img.cmd {
        c.args = cfg.cmd.clone();
    }
    for e in &cfg.env {
        let (k, v) = e.split_once('=').unwrap_or((e, ""));
        let implied = (k == "HOSTNAME" && v == cfg.hostname)
            || (k == "TERM" && cfg.tty && v == "xterm")
            || (k == "PATH" && !img.env.iter().any(|i| i.starts_with("PATH=")) && v == DEFAULT_PATH);
        if !img.env.contains(e) && !implied {
            c.env.push(EnvVar { name: k.to_string(), value: Some(v.to_string()), value_from: None });
        }
    }
    if !cfg.working_dir.is_empty() && cfg.working_dir != img.working_dir {
        c.working_dir = Some(cfg.working_dir.clone());
    }
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// runAsUser/runAsGroup (numeric only: Kubernetes has no user names),
/// capabilities, privileged, readOnlyRootFilesystem, no-new-privileges, seccomp unconfined.
fn security(cfg: &ContainerConfig, img: &ImageDefaults, dropped: &mut Vec<String>) -> Option<SecurityContext> {
    let h = &cfg.host;
    let mut s = SecurityContext::default();
    if cfg.user != img.user && !cfg.user.is_empty() {
        run_as(&cfg.user, &mut s, dropped, "--user");
    }
    s = SecurityContext {
        privileged: h.privileged.then_some(true),
        read_only_root_filesystem: h.read_only.then_some(true),
        allow_privilege_escalation: (h.no_new_privileges && !h.privileged).then_some(false),
        seccomp_profile: (h.seccomp_profile.as_deref() == Some("unconfined"))
            .then(|| SeccompProfile { kind: "Unconfined".into(), localhost_profile: None }),
        ..s
    };
    let caps = capabilities(&h.cap_add, &h.cap_drop);
    s.capabilities = caps;
    (s != SecurityContext::default()).then_some(s)
}

/// `UID[:GID]` as runAsUser/runAsGroup; a user name has no equivalent.
pub(super) fn run_as(user: &str, s: &mut SecurityContext, dropped: &mut Vec<String>, what: &str) {
    let (u, g) = user.split_once(':').map(|(u, g)| (u, Some(g))).unwrap_or((user, None));
    match (u.parse::<i64>(), g.map(str::parse::<i64>)) {
        (Ok(u), None) => s.run_as_user = Some(u),
        (Ok(u), Some(Ok(g))) => {
            s.run_as_user = Some(u);
            s.run_as_group = Some(g);
        }
        _ => dropped.push(format!("{what} {user} (Kubernetes needs numeric ids)")),
    }
}

/// Add `vol` to the pod's volumes under a unique name from `base`, unless
/// the same host path or claim is there already; the name to mount.
pub(super) fn add_volume(volumes: &mut Vec<Volume>, scope: &mut Scope, mut vol: Volume, base: &str) -> String {
    let same = |v: &Volume| {
        v.host_path.is_some() && v.host_path == vol.host_path
            || v.persistent_volume_claim.is_some() && v.persistent_volume_claim == vol.persistent_volume_claim
    };
    if let Some(v) = volumes.iter().find(|v| same(v)) {
        return v.name.clone();
    }
    vol.name = scope.unique(base);
    let name = vol.name.clone();
    volumes.push(vol);
    name
}

/// Kubernetes' capability names have no `CAP_` prefix.
pub(super) fn capabilities(add: &[String], drop: &[String]) -> Option<Capabilities> {
    let norm = |v: &[String]| -> Vec<String> {
        v.iter().map(|c| c.to_uppercase().trim_start_matches("CAP_").to_string()).collect()
    };
    let c = Capabilities { add: norm(add), drop: norm(drop) };
    (c != Capabilities::default()).then_some(c)
}

/// limits from `--memory` and `--cpus`; the other limits have no field.
fn resources(l: &crate::container::resources::Limits, dropped: &mut Vec<String>) -> Option<Resources> {
    let mut r = Resources::default();
    if let Some(m) = l.memory {
        r.limits.insert("memory".into(), Quantity(m.to_string()));
    }
    if let Some(q) = l.cpu_quota {
        r.limits.insert("cpu".into(), cpu_quantity(q as f64 / crate::container::resources::CPU_PERIOD as f64));
    }
    for (set, flag) in [
        (l.memory_swap.is_some(), "--memory-swap"),
        (l.cpu_shares.is_some(), "--cpu-shares"),
        (l.cpuset_cpus.is_some(), "--cpuset-cpus"),
        (l.pids_limit.is_some(), "--pids-limit"),
    ] {
        if set {
            dropped.push(flag.to_string());
        }
    }
    (r != Resources::default()).then_some(r)
}

/// CPUs as millicores (`1500m`), whole CPUs as a number (`2`).
pub(super) fn cpu_quantity(cpus: f64) -> Quantity {
    let milli = (cpus * 1000.0).round() as i64;
    if milli % 1000 == 0 {
        Quantity((milli / 1000).to_string())
    } else {
        Quantity(format!("{milli}m"))
    }
}

fn secs(ns: i64) -> i64 {
    ((ns + 999_999_999) / 1_000_000_000).max(1)
}

/// A healthcheck as an exec probe: interval → periodSeconds, timeout →
/// timeoutSeconds, retries → failureThreshold, start period →
/// initialDelaySeconds (Docker's defaults written out: 30 s, 30 s, 3).
pub(super) fn exec_probe(argv: Vec<String>, interval: i64, timeout: i64, retries: i64, start: i64) -> Probe {
    let or = |v: i64, d: i64| if v > 0 { v } else { d };
    Probe {
        exec: Some(ExecAction { command: argv }),
        initial_delay_seconds: (start > 0).then(|| secs(start)),
        period_seconds: Some(secs(or(interval, crate::container::health::DEFAULT_INTERVAL_NS))),
        timeout_seconds: Some(secs(or(timeout, crate::container::health::DEFAULT_TIMEOUT_NS))),
        failure_threshold: Some(or(retries, crate::container::health::DEFAULT_RETRIES)),
        ..Default::default()
    }
}

fn health_probe(h: &HealthConfig, dropped: &mut Vec<String>) -> Option<Probe> {
    let argv = h.argv()?;
    if h.start_interval > 0 {
        dropped.push("--health-start-interval".into());
    }
    Some(exec_probe(argv, h.interval, h.timeout, h.retries, h.start_period))
}

fn restart_policy(cfg: &ContainerConfig, kind: WorkloadKind, spec: &mut PodSpec, dropped: &mut Vec<String>) {
    let p = &cfg.host.restart_policy;
    let docker = match p.name.as_str() {
        "always" | "unless-stopped" => "Always",
        "on-failure" => "OnFailure",
        _ => "Never",
    };
    if p.name == "on-failure" && p.maximum_retry_count > 0 {
        dropped.push(format!("--restart on-failure:{} (the retry count)", p.maximum_retry_count));
    }
    let policy = match kind {
        WorkloadKind::Pod => docker,
        WorkloadKind::Deployment | WorkloadKind::DaemonSet => {
            if docker != "Always" && !p.is_none() {
                dropped.push(format!("--restart {} (a {kind:?}'s pods always restart)", p.name));
            }
            "Always"
        }
        WorkloadKind::Job => {
            if docker == "Always" {
                dropped.push(format!("--restart {} (a Job restarts on failure only)", p.name));
                "OnFailure"
            } else {
                docker
            }
        }
    };
    spec.restart_policy = Some(policy.to_string());
}

/// podman's volume names: a host path's, `/` → `-`, with `-host`; a
/// named volume's claim `-pvc`; sanitised and unique in the pod.
fn mount_volume(
    mount: &crate::container::Mount,
    m: &Member,
    scope: &mut Scope,
    volumes: &mut Vec<Volume>,
    mounts: &mut Vec<VolumeMount>,
    claims: &mut BTreeMap<String, String>,
    dropped: &mut Vec<String>,
) {
    let mut vol = Volume::default();
    let base = match mount.kind.as_str() {
        "bind" => {
            vol.host_path = Some(HostPathSource { path: mount.source.clone(), kind: None });
            let stem = names::sanitize(mount.source.trim_matches('/'), "root");
            let mut stem = stem;
            stem.truncate(names::LABEL_MAX - 5);
            format!("{}-host", stem.trim_end_matches('-'))
        }
        "volume" if m.anonymous_volumes.contains(&mount.source) => {
            if m.image.volumes.contains(&mount.target) {
                return; // the image's VOLUME: a directory of the image in Kubernetes
            }
            vol.empty_dir = Some(EmptyDirSource::default());
            let mut stem = names::sanitize(mount.target.trim_matches('/'), "root");
            stem.truncate(names::LABEL_MAX - 6);
            format!("{}-empty", stem.trim_end_matches('-'))
        }
        "volume" => {
            let claim = names::sanitize(&mount.source, "volume");
            claims.insert(claim.clone(), mount.source.clone());
            vol.persistent_volume_claim = Some(PvcSource { claim_name: claim.clone(), read_only: false });
            let mut stem = claim;
            stem.truncate(names::LABEL_MAX - 4);
            format!("{}-pvc", stem.trim_end_matches('-'))
        }
        "tmpfs" => {
            let size = mount.options.iter().find_map(|o| o.strip_prefix("size=")).map(|s| Quantity(s.to_string()));
            vol.empty_dir = Some(EmptyDirSource { medium: Some("Memory".into()), size_limit: size });
            let mut stem = names::sanitize(mount.target.trim_matches('/'), "root");
            stem.truncate(names::LABEL_MAX - 6);
            format!("{}-tmpfs", stem.trim_end_matches('-'))
        }
        k => {
            dropped.push(format!("{k} mount {}", mount.target));
            return;
        }
    };
    let other: Vec<&String> = mount
        .options
        .iter()
        .filter(|o| !o.starts_with("size=") && !matches!(o.as_str(), "rw" | "ro" | "rbind" | "bind"))
        .collect();
    if !other.is_empty() {
        let list: Vec<&str> = other.iter().map(|s| s.as_str()).collect();
        dropped.push(format!("mount options {} on {}", list.join(","), mount.target));
    }
    // the same source mounted twice is one volume
    let name = add_volume(volumes, scope, vol, &base);
    mounts.push(VolumeMount { name, mount_path: mount.target.clone(), read_only: mount.readonly, sub_path: None });
}

fn claim_object(name: &str) -> PersistentVolumeClaim {
    let mut requests = BTreeMap::new();
    requests.insert("storage".to_string(), Quantity("1Gi".into()));
    PersistentVolumeClaim {
        metadata: ObjectMeta { name: name.to_string(), ..Default::default() },
        spec: PvcSpec {
            access_modes: vec!["ReadWriteOnce".into()],
            storage_class_name: None,
            resources: Resources { requests, limits: BTreeMap::new() },
        },
    }
}

pub(super) fn pvc(name: &str) -> Object {
    Object::PersistentVolumeClaim(claim_object(name))
}

/// `--add-host name:ip` grouped by address (`host-gateway` has no equivalent).
pub(super) fn host_aliases(add_hosts: &[String], dropped: &mut Vec<String>, who: &str) -> Vec<HostAlias> {
    let mut by_ip: Vec<HostAlias> = Vec::new();
    for h in add_hosts {
        // `name:ip`; an IPv6 address has colons of its own
        let Some((name, ip)) = h.split_once(':').or_else(|| h.split_once('=')) else { continue };
        if ip == "host-gateway" {
            dropped.push(format!("{who}: --add-host {name}:host-gateway"));
            continue;
        }
        match by_ip.iter_mut().find(|a| a.ip == ip) {
            Some(a) => a.hostnames.push(name.to_string()),
            None => by_ip.push(HostAlias { ip: ip.to_string(), hostnames: vec![name.to_string()] }),
        }
    }
    by_ip
}

/// `--dns` replaces the resolver (dnsPolicy None); `--dns-search` and
/// `--dns-option` alone are added to the cluster's.
pub(super) fn dns_config(servers: &[String], search: &[String], options: &[String], spec: &mut PodSpec) {
    if servers.is_empty() && search.is_empty() && options.is_empty() {
        return;
    }
    if !servers.is_empty() {
        spec.dns_policy = Some("None".into());
    }
    spec.dns_config = Some(PodDnsConfig {
        nameservers: servers.to_vec(),
        searches: search.to_vec(),
        options: options
            .iter()
            .map(|o| match o.split_once(':') {
                Some((n, v)) => DnsOption { name: n.into(), value: Some(v.into()) },
                None => DnsOption { name: o.clone(), value: None },
            })
            .collect(),
    });
}

fn dns(s: &PodSettings, spec: &mut PodSpec) {
    dns_config(&s.dns, &s.dns_search, &s.dns_options, spec);
}

/// Published ports: `hostPort` (and `hostIP`) on the container port,
/// unless a Service will expose them.
fn publish(ports: &[PortSpec], service: bool, containers: &mut [Container]) {
    for p in ports {
        let proto = (p.proto != "tcp").then(|| p.proto.to_uppercase());
        let idx = containers
            .iter()
            .position(|c| c.ports.iter().any(|cp| cp.container_port == p.container_port && cp.protocol == proto))
            .unwrap_or(0);
        let c = &mut containers[idx];
        let pos = match c.ports.iter().position(|cp| cp.container_port == p.container_port && cp.protocol == proto) {
            Some(i) => i,
            None => {
                c.ports.push(ContainerPort {
                    container_port: p.container_port,
                    protocol: proto.clone(),
                    ..Default::default()
                });
                c.ports.len() - 1
            }
        };
        if !service && p.host_port != 0 {
            c.ports[pos].host_port = Some(p.host_port);
            if !p.host_ip.is_empty() && p.host_ip != "0.0.0.0" {
                c.ports[pos].host_ip = Some(p.host_ip.clone());
            }
        }
    }
}

/// A Service port's name: `tcp-80` (an IANA_SVC_NAME: ≤ 15, a letter in it).
pub(super) fn port_name(port: u16, proto: Option<&str>) -> String {
    format!("{}-{port}", proto.unwrap_or("TCP").to_lowercase())
}

fn service_for(
    name: &str,
    selector: &Labels,
    containers: &[Container],
    published: &[PortSpec],
) -> Result<Service, KubeError> {
    let mut ports = Vec::new();
    let mut node = false;
    for c in containers {
        for cp in &c.ports {
            let proto = cp.protocol.clone().unwrap_or_else(|| "TCP".into());
            let host = published
                .iter()
                .find(|p| p.container_port == cp.container_port && p.proto.eq_ignore_ascii_case(&proto));
            node |= host.is_some();
            ports.push(ServicePort {
                name: Some(port_name(cp.container_port, cp.protocol.as_deref())),
                port: cp.container_port,
                target_port: Some(IntOrString::Int(cp.container_port.into())),
                node_port: host.map(|p| p.host_port).filter(|p| (30000..=32767).contains(p)),
                protocol: cp.protocol.clone(),
            });
        }
    }
    if ports.is_empty() {
        return Err(KubeError::Invalid(format!(
            "--service: {name} has no ports: publish (-p) or expose (--expose) one, or leave out --service"
        )));
    }
    Ok(Service {
        metadata: ObjectMeta { name: names::sanitize_service(name), labels: selector.clone(), ..Default::default() },
        spec: ServiceSpec {
            kind: Some(if node { "NodePort" } else { "ClusterIP" }.into()),
            cluster_ip: None,
            selector: selector.clone(),
            ports,
        },
    })
}

/// Labels Kubernetes accepts stay labels; other values become
/// annotations; keys valid for neither are dropped (and said so).
pub(super) fn split_labels(all: &BTreeMap<String, String>, dropped: &mut Vec<String>, who: &str) -> (Labels, Labels) {
    let (mut labels, mut annotations) = (Labels::new(), Labels::new());
    for (k, v) in all {
        if !names::is_qualified_name(k) {
            dropped.push(format!("{who}: label {k:?} (not a valid Kubernetes key)"));
        } else if names::is_label_value(v) {
            labels.insert(k.clone(), v.clone());
        } else {
            annotations.insert(k.clone(), v.clone());
        }
    }
    (labels, annotations)
}

/// The pod spec wrapped as the kind asked for.
pub(super) fn workload(
    name: &str,
    o: &GenerateOptions,
    labels: Labels,
    annotations: Labels,
    selector: Labels,
    spec: PodSpec,
) -> Object {
    let meta = ObjectMeta {
        name: name.to_string(),
        labels: labels.clone(),
        annotations: annotations.clone(),
        namespace: None,
    };
    let template =
        PodTemplate { metadata: ObjectMeta { name: String::new(), labels, annotations, namespace: None }, spec };
    let selector = LabelSelector { match_labels: selector };
    match o.kind {
        WorkloadKind::Pod => Object::Pod(Pod { metadata: meta, spec: template.spec }),
        WorkloadKind::Deployment => Object::Deployment(Deployment {
            metadata: meta,
            spec: DeploymentSpec { replicas: Some(o.replicas.unwrap_or(1)), selector, template },
        }),
        WorkloadKind::DaemonSet => {
            Object::DaemonSet(DaemonSet { metadata: meta, spec: DaemonSetSpec { selector, template } })
        }
        WorkloadKind::Job => Object::Job(Job { metadata: meta, spec: JobSpec { template, ..Default::default() } }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{ContainerState, Mount};

    fn member(name: &str, f: impl FnOnce(&mut ContainerConfig)) -> Member {
        let mut config = ContainerConfig {
            id: format!("{name}0123456789abcdef"),
            name: name.into(),
            image_name: "busybox".into(),
            cmd: vec!["sh".into()],
            env: vec!["PATH=/bin".into(), format!("HOSTNAME={name}0123456")],
            hostname: format!("{name}0123456"),
            stop_signal: "SIGTERM".into(),
            ..Default::default()
        };
        config.host.log_driver = "json-file".into();
        f(&mut config);
        let image = ImageDefaults { cmd: vec!["sh".into()], env: vec!["PATH=/bin".into()], ..Default::default() };
        Member {
            container: Record { config, state: ContainerState::default(), health: None, damaged: Default::default() },
            image,
            anonymous_volumes: vec![],
        }
    }

    #[test]
    fn two_lone_containers_make_one_pod() {
        let a = member("App", |c| {
            c.host.extra_hosts = vec!["db:10.0.0.2".into()];
            c.host.net.ports =
                vec![PortSpec { host_ip: String::new(), host_port: 8080, container_port: 80, proto: "tcp".into() }];
            c.host.mounts = vec![Mount {
                kind: "volume".into(),
                source: "Data".into(),
                target: "/data".into(),
                ..Default::default()
            }];
        });
        let b = member("app", |c| {
            c.host.extra_hosts = vec!["cache:10.0.0.2".into(), "gw:host-gateway".into()];
            c.exposed_ports.insert("53/udp".into(), serde_json::json!({}));
            c.host.mounts = vec![Mount {
                kind: "volume".into(),
                source: "Data".into(),
                target: "/d2".into(),
                ..Default::default()
            }];
        });
        let src = PodSource { name: "App-pod".into(), containers: vec![a, b], pod: None };
        let g = generate(&src, &GenerateOptions::default()).unwrap();
        assert_eq!(g.dropped, ["App: --add-host gw:host-gateway"]);
        let kinds: Vec<(&str, &str)> = g.objects.iter().map(|o| (o.kind(), o.name())).collect();
        assert_eq!(kinds, [("PersistentVolumeClaim", "data"), ("Pod", "app-pod")]);
        let Object::Pod(p) = &g.objects[1] else { panic!() };
        let names: Vec<&str> = p.spec.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "app-2"]);
        assert_eq!(
            p.spec.host_aliases,
            [HostAlias { ip: "10.0.0.2".into(), hostnames: vec!["db".into(), "cache".into()] }]
        );
        assert!(p.spec.containers.iter().all(|c| c.env.is_empty() && c.args.is_empty() && c.command.is_empty()));
        assert_eq!(p.spec.containers[0].ports[0].host_port, Some(8080));
        assert_eq!(p.spec.containers[1].ports[0].protocol.as_deref(), Some("UDP"));
        // one volume for the claim both mount
        assert_eq!(p.spec.volumes.len(), 1);
        assert_eq!(p.spec.containers[1].volume_mounts[0].name, "data-pvc");
        // and it reads back as it was written
        let back = crate::kube::parse(&crate::kube::to_yaml(&g.objects), "g").unwrap();
        assert_eq!(back.objects, g.objects);
        assert!(back.warnings.is_empty());
    }
}
