//! A compose project as Kubernetes objects (`compose convert --format
//! kube`): per service a Deployment (replicas from `deploy.replicas` or
//! `scale`) and, when it has ports or another service depends on it, a
//! Service named after it (compose services reach each other by service
//! name: a ClusterIP, a NodePort when ports are published, headless when
//! a dependency has no port); PersistentVolumeClaims for named volumes,
//! ConfigMaps for `configs` and `env_file` contents, Secrets for
//! `secrets`; healthchecks as liveness and readiness probes; `depends_on`
//! with `condition: service_healthy` as an init container that waits for
//! the dependency's Service to answer (its readiness probe is the
//! healthcheck, so the Service answers once the dependency is healthy).
//! The init container runs [`WAIT_IMAGE`], as Kubernetes' own init
//! container examples do: the dependent's image may have no shell or `nc`.

use std::collections::{BTreeMap, BTreeSet};

use super::generate::{self as g, GenerateOptions, WorkloadKind};
use super::model::*;
use super::names::{self, Scope};
use super::KubeError;
use crate::compose::{FileObject, Project, Service as Svc};

/// The image of the init containers that wait for a dependency.
pub const WAIT_IMAGE: &str = "busybox:1.36";

/// The service fields this conversion reads (compose-go's names); any
/// other field a service sets is reported as dropped.
const HANDLED: &[&str] = &[
    "annotations",
    "build",
    "cap_add",
    "cap_drop",
    "command",
    "configs",
    "cpus",
    "depends_on",
    "deploy",
    "dns",
    "dns_opt",
    "dns_search",
    "entrypoint",
    "environment",
    "expose",
    "extra_hosts",
    "healthcheck",
    "hostname",
    "image",
    "ipc",
    "labels",
    "mem_limit",
    "mem_reservation",
    "network_mode",
    "networks",
    "pid",
    "ports",
    "privileged",
    "pull_policy",
    "read_only",
    "restart",
    "scale",
    "secrets",
    "security_opt",
    "stdin_open",
    "stop_grace_period",
    "tty",
    "user",
    "volumes",
    "working_dir",
];

#[derive(Debug, Default)]
pub struct Converted {
    pub objects: Vec<Object>,
    /// `services.NAME.FIELD` (and why) for what has no Kubernetes equivalent.
    pub dropped: Vec<String>,
}

/// What the conversion needs from outside the model: the contents of env
/// files, configs and secrets (the front end reads them).
pub trait Files {
    fn read(&self, path: &str) -> Result<Vec<u8>, KubeError>;
}

pub fn convert(p: &Project, files: &dyn Files) -> Result<Converted, KubeError> {
    let mut out = Converted::default();
    let mut config_maps = Vec::new();
    let mut secrets = Vec::new();
    let mut claims = BTreeSet::new();
    let mut services = Vec::new();
    let mut workloads = Vec::new();

    // file objects: one ConfigMap/Secret each, the content under one key
    let mut file_keys: BTreeMap<(bool, String), (String, String)> = BTreeMap::new();
    for (secret, map) in [(false, &p.configs), (true, &p.secrets)] {
        for (key, fo) in map {
            let name = names::sanitize(key, if secret { "secret" } else { "config" });
            let what = if secret { "secrets" } else { "configs" };
            if fo.external {
                let n = if fo.name.is_empty() { name.clone() } else { names::sanitize(&fo.name, &name) };
                file_keys.insert((secret, key.clone()), (n, key.clone()));
                out.dropped.push(format!(
                    "{what}.{key}: external (the {} must exist in the cluster)",
                    if secret { "Secret" } else { "ConfigMap" }
                ));
                continue;
            }
            let data = file_content(fo, p, files, &format!("{what}.{key}"))?;
            let data_key = data_key(key, fo);
            file_keys.insert((secret, key.clone()), (name.clone(), data_key.clone()));
            let meta = ObjectMeta { name, ..Default::default() };
            if secret {
                let mut d = Labels::new();
                d.insert(data_key, super::base64(&data));
                secrets.push(Object::Secret(Secret {
                    metadata: meta,
                    kind: Some("Opaque".into()),
                    data: d,
                    ..Default::default()
                }));
            } else {
                let mut m = ConfigMap { metadata: meta, ..Default::default() };
                match String::from_utf8(data) {
                    Ok(s) => m.data.insert(data_key, s),
                    Err(e) => m.binary_data.insert(data_key, super::base64(e.as_bytes())),
                };
                config_maps.push(Object::ConfigMap(m));
            }
        }
    }

    let dependencies: BTreeSet<&str> =
        p.services.values().flat_map(|s| s.depends_on.keys().map(String::as_str)).collect();
    let mut service_names = Scope::default();
    for (key, svc) in &p.services {
        let name = names::sanitize_service(key);
        let name = service_names.unique(&name);
        let (deploy, service, more) = service_objects(
            p,
            key,
            svc,
            &name,
            dependencies.contains(key.as_str()),
            &file_keys,
            files,
            &mut out.dropped,
        )?;
        config_maps.extend(more);
        workloads.push(deploy);
        services.extend(service);
        for v in &svc.volumes {
            if v.kind == "volume" {
                if let Some(src) = &v.source {
                    let external = p.volumes.get(src).is_some_and(|v| v.external);
                    if !external {
                        claims.insert(volume_claim(p, src));
                    }
                }
            }
        }
    }
    out.objects.extend(config_maps);
    out.objects.extend(secrets);
    out.objects.extend(claims.iter().map(|c| g::pvc(c)));
    out.objects.extend(services);
    out.objects.extend(workloads);
    Ok(out)
}

/// A named volume's claim: the volume's key in the project, sanitised
/// (Kubernetes namespaces do what compose's `PROJECT_` prefix does); an
/// external volume's own name.
fn volume_claim(p: &Project, key: &str) -> String {
    match p.volumes.get(key) {
        Some(v) if v.external => names::sanitize(&v.name, key),
        _ => names::sanitize(key, "volume"),
    }
}

fn data_key(key: &str, fo: &FileObject) -> String {
    let base = fo.file.as_deref().and_then(|f| f.rsplit('/').next()).unwrap_or(key);
    // ConfigMap keys: [-._a-zA-Z0-9]+
    let k: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '_' }).collect();
    if k.is_empty() {
        "content".into()
    } else {
        k
    }
}

fn file_content(fo: &FileObject, p: &Project, files: &dyn Files, at: &str) -> Result<Vec<u8>, KubeError> {
    if let Some(c) = &fo.content {
        return Ok(c.clone().into_bytes());
    }
    if let Some(var) = &fo.environment {
        return p
            .environment
            .get(var)
            .map(|v| v.clone().into_bytes())
            .ok_or_else(|| KubeError::Invalid(format!("{at}: environment variable {var} is not set")));
    }
    match &fo.file {
        Some(f) => files.read(f),
        None => Err(KubeError::Invalid(format!("{at}: give file, environment or content"))),
    }
}

#[allow(clippy::too_many_arguments)]
fn service_objects(
    p: &Project,
    key: &str,
    svc: &Svc,
    name: &str,
    is_dependency: bool,
    file_keys: &BTreeMap<(bool, String), (String, String)>,
    files: &dyn Files,
    dropped: &mut Vec<String>,
) -> Result<(Object, Option<Object>, Vec<Object>), KubeError> {
    let at = format!("services.{key}");
    let mut more = Vec::new();
    let mut drop = |what: String| dropped.push(format!("{at}.{what}"));
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(svc) {
        for f in fields.keys().filter(|f| !HANDLED.contains(&f.as_str())) {
            drop(f.clone());
        }
    }
    if let Some(d) = &svc.deploy {
        if d.mode.as_deref().is_some_and(|m| m != "replicated") {
            drop(format!("deploy.mode {}", d.mode.as_deref().unwrap_or_default()));
        }
        if d.restart_policy.is_some() {
            drop("deploy.restart_policy (a Deployment's pods always restart)".into());
        }
        for k in d.extra.keys() {
            drop(format!("deploy.{k}"));
        }
    }
    let mut c =
        Container { name: names::sanitize(key, "app"), image: svc.image_or_default(&p.name), ..Default::default() };
    if svc.image.is_none() {
        drop(format!("build (push the image {} where the cluster can pull it)", c.image));
    }
    if let Some(ep) = &svc.entrypoint {
        c.command = ep.clone();
    }
    if let Some(cmd) = &svc.command {
        c.args = cmd.clone();
    }
    c.working_dir = svc.working_dir.clone();

    // env_file contents as a ConfigMap (envFrom); what `environment` sets over them as env
    let mut from_files = BTreeMap::new();
    for ef in &svc.env_file {
        let path = ef.path.to_string_lossy().to_string();
        match files.read(&path) {
            Ok(text) => {
                let text = String::from_utf8_lossy(&text);
                let values = if ef.format.as_deref() == Some("raw") {
                    text.lines()
                        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())))
                        .collect()
                } else {
                    crate::compose::env_file_values(&text, &ef.path, &p.environment)
                        .map_err(|e| KubeError::Invalid(e.to_string()))?
                };
                from_files.extend(values);
            }
            Err(_) if !ef.required => {}
            Err(e) => return Err(e),
        }
    }
    let mut env_map =
        ConfigMap { metadata: ObjectMeta { name: format!("{name}-env"), ..Default::default() }, ..Default::default() };
    for (k, v) in &svc.environment {
        let Some(v) = v else { continue };
        // the file's value, not overridden by `environment:`
        if from_files.get(k) == Some(v) {
            env_map.data.insert(k.clone(), v.clone());
        } else {
            c.env.push(EnvVar { name: k.clone(), value: Some(v.clone()), value_from: None });
        }
    }
    if !env_map.data.is_empty() {
        c.env_from.push(EnvFromSource {
            prefix: None,
            config_map_ref: Some(NameRef { name: env_map.metadata.name.clone(), optional: None }),
            secret_ref: None,
        });
        more.push(Object::ConfigMap(env_map));
    }

    // ports: container ports for `ports` and `expose`; `ports` are published (without a
    // host port on a port of the host's choosing), so they make the Service a NodePort
    let mut svc_ports = Vec::new();
    let mut node = false;
    for port in &svc.ports {
        let proto = (port.protocol != "tcp").then(|| port.protocol.to_uppercase());
        if !c.ports.iter().any(|cp| cp.container_port == port.target && cp.protocol == proto) {
            c.ports.push(ContainerPort { container_port: port.target, protocol: proto.clone(), ..Default::default() });
        }
        let published = port.published.as_deref().and_then(|p| p.parse::<u16>().ok());
        node = true;
        if !svc_ports.iter().any(|sp: &ServicePort| sp.port == port.target && sp.protocol == proto) {
            svc_ports.push(ServicePort {
                name: Some(g::port_name(port.target, proto.as_deref())),
                port: port.target,
                target_port: Some(IntOrString::Int(port.target.into())),
                node_port: published.filter(|p| (30000..=32767).contains(p)),
                protocol: proto,
            });
        }
        if port.host_ip.is_some() || port.published.as_deref().is_some_and(|p| p.contains('-')) {
            drop(format!("ports ({} with a host address or range: a NodePort is chosen by the cluster)", port.target));
        }
    }
    for e in &svc.expose {
        let (num, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let Ok(num) = num.parse::<u16>() else {
            drop(format!("expose {e}"));
            continue;
        };
        let proto = (proto != "tcp").then(|| proto.to_uppercase());
        if !c.ports.iter().any(|cp| cp.container_port == num && cp.protocol == proto) {
            c.ports.push(ContainerPort { container_port: num, protocol: proto.clone(), ..Default::default() });
        }
        if !svc_ports.iter().any(|sp: &ServicePort| sp.port == num && sp.protocol == proto) {
            svc_ports.push(ServicePort {
                name: Some(g::port_name(num, proto.as_deref())),
                port: num,
                target_port: Some(IntOrString::Int(num.into())),
                node_port: None,
                protocol: proto,
            });
        }
    }

    // healthcheck → liveness and readiness
    if let Some(h) = &svc.healthcheck {
        let argv = match h.test.as_deref() {
            Some([first, rest @ ..]) if first == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
            Some([first, rest @ ..]) if first == "CMD-SHELL" && !rest.is_empty() => {
                Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
            }
            _ => None,
        };
        if let (Some(argv), false) = (argv, h.disable) {
            let ns = |d: Option<crate::compose::Duration>| d.map(|d| d.0 as i64).unwrap_or(0);
            let probe = g::exec_probe(
                argv,
                ns(h.interval),
                ns(h.timeout),
                h.retries.map(|r| r as i64).unwrap_or(0),
                ns(h.start_period),
            );
            c.readiness_probe = Some(Probe { initial_delay_seconds: None, ..probe.clone() });
            c.liveness_probe = Some(probe);
            if h.start_interval.is_some() {
                drop("healthcheck.start_interval".into());
            }
        }
    }

    // resources: limits and reservations (requests)
    let mut r = Resources::default();
    let lim = svc.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let mem = svc.mem_limit.or(lim.and_then(|l| l.limits.as_ref()).and_then(|l| l.memory));
    let cpus = svc.cpus.or(lim.and_then(|l| l.limits.as_ref()).and_then(|l| l.cpus));
    if let Some(m) = mem {
        r.limits.insert("memory".into(), Quantity(m.0.to_string()));
    }
    if let Some(c) = cpus.filter(|c| *c > 0.0) {
        r.limits.insert("cpu".into(), g::cpu_quantity(c));
    }
    let res = lim.and_then(|l| l.reservations.as_ref());
    if let Some(m) = svc.mem_reservation.or(res.and_then(|r| r.memory)) {
        r.requests.insert("memory".into(), Quantity(m.0.to_string()));
    }
    if let Some(c) = res.and_then(|r| r.cpus).filter(|c| *c > 0.0) {
        r.requests.insert("cpu".into(), g::cpu_quantity(c));
    }
    c.resources = (r != Resources::default()).then_some(r);

    // security
    let mut s = SecurityContext {
        privileged: svc.privileged.then_some(true),
        read_only_root_filesystem: svc.read_only.then_some(true),
        capabilities: g::capabilities(&svc.cap_add, &svc.cap_drop),
        ..Default::default()
    };
    let mut user_drops = Vec::new();
    if let Some(u) = &svc.user {
        g::run_as(u, &mut s, &mut user_drops, "user");
    }
    user_drops.into_iter().for_each(&mut drop);
    for o in &svc.security_opt {
        match o.as_str() {
            "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true" => {
                s.allow_privilege_escalation = Some(false)
            }
            "seccomp=unconfined" | "seccomp:unconfined" => {
                s.seccomp_profile = Some(SeccompProfile { kind: "Unconfined".into(), localhost_profile: None })
            }
            o => drop(format!("security_opt {o}")),
        }
    }
    c.security_context = (s != SecurityContext::default()).then_some(s);
    c.tty = svc.tty;
    c.stdin = svc.stdin_open;
    c.image_pull_policy = match svc.pull_policy.as_deref() {
        Some("always") => Some("Always".into()),
        Some("never") => Some("Never".into()),
        Some("missing") | Some("if_not_present") => Some("IfNotPresent".into()),
        Some(o) => {
            drop(format!("pull_policy {o}"));
            None
        }
        None => None,
    };

    let mut spec = PodSpec::default();
    // volumes, configs and secrets
    let mut scope = Scope::default();
    for v in &svc.volumes {
        let mut vol = Volume::default();
        let base = match (v.kind.as_str(), &v.source) {
            ("bind", Some(src)) => {
                vol.host_path = Some(HostPathSource { path: src.clone(), kind: None });
                format!("{}-host", trunc(&names::sanitize(src.trim_matches('/'), "root"), 58))
            }
            ("volume", Some(src)) => {
                let claim = volume_claim(p, src);
                vol.persistent_volume_claim = Some(PvcSource { claim_name: claim.clone(), read_only: false });
                claim
            }
            ("volume", None) | ("tmpfs", _) => {
                let size = v.tmpfs.as_ref().and_then(|t| t.size).map(|b| Quantity(b.0.to_string()));
                let tmpfs = v.kind == "tmpfs";
                vol.empty_dir = Some(EmptyDirSource { medium: tmpfs.then(|| "Memory".into()), size_limit: size });
                format!(
                    "{}-{}",
                    trunc(&names::sanitize(v.target.trim_matches('/'), "root"), 56),
                    if tmpfs { "tmpfs" } else { "empty" }
                )
            }
            (k, _) => {
                drop(format!("volumes ({k} at {})", v.target));
                continue;
            }
        };
        if v.bind.as_ref().is_some_and(|b| b.propagation.is_some() || b.selinux.is_some()) {
            drop(format!("volumes ({}: propagation and SELinux options)", v.target));
        }
        if v.volume.as_ref().is_some_and(|o| o.subpath.is_some() || o.nocopy) {
            drop(format!("volumes ({}: nocopy and subpath)", v.target));
        }
        let vname = g::add_volume(&mut spec.volumes, &mut scope, vol, &base);
        c.volume_mounts.push(VolumeMount {
            name: vname,
            mount_path: v.target.clone(),
            read_only: v.read_only,
            sub_path: None,
        });
    }
    for (secret, refs) in [(false, &svc.configs), (true, &svc.secrets)] {
        for r in refs {
            let Some((obj, data_key)) = file_keys.get(&(secret, r.source.clone())) else { continue };
            let target = r.mount_path(secret);
            let vname = scope.unique(&trunc(&format!("{}-{}", if secret { "secret" } else { "config" }, obj), 63));
            let items = vec![KeyToPath { key: data_key.clone(), path: data_key.clone(), mode: r.mode.map(|m| m.0) }];
            let mut vol = Volume { name: vname.clone(), ..Default::default() };
            if secret {
                vol.secret = Some(SecretSource { secret_name: obj.clone(), items, ..Default::default() });
            } else {
                vol.config_map = Some(ConfigMapSource { name: obj.clone(), items, ..Default::default() });
            }
            spec.volumes.push(vol);
            c.volume_mounts.push(VolumeMount {
                name: vname,
                mount_path: target,
                read_only: true,
                sub_path: Some(data_key.clone()),
            });
            if r.uid.is_some() || r.gid.is_some() {
                drop(format!("{}.{} uid/gid", if secret { "secrets" } else { "configs" }, r.source));
            }
        }
    }

    // pod level
    match svc.network_mode.as_deref() {
        Some("host") => spec.host_network = true,
        None | Some("bridge") | Some("default") => {}
        Some(m) => drop(format!("network_mode {m}")),
    }
    for (net, opts) in &svc.networks {
        if let Some(o) = opts {
            if !o.aliases.is_empty() || o.ipv4_address.is_some() || o.ipv6_address.is_some() {
                drop(format!("networks.{net} (aliases and addresses)"));
            }
        }
    }
    if svc.pid.as_deref() == Some("host") {
        spec.host_pid = true;
    } else if let Some(pid) = &svc.pid {
        drop(format!("pid {pid}"));
    }
    if svc.ipc.as_deref() == Some("host") {
        spec.host_ipc = true;
    } else if let Some(ipc) = svc.ipc.as_deref().filter(|i| *i != "private" && *i != "shareable") {
        drop(format!("ipc {ipc}"));
    }
    if let Some(h) = &svc.hostname {
        if names::is_dns1123_label(h) {
            spec.hostname = Some(h.clone());
        } else {
            drop(format!("hostname {h} (not a DNS-1123 label)"));
        }
    }
    let hosts: Vec<String> =
        svc.extra_hosts.iter().flat_map(|(h, ips)| ips.iter().map(move |ip| format!("{h}={ip}"))).collect();
    let mut host_drops = Vec::new();
    spec.host_aliases = g::host_aliases(&hosts, &mut host_drops, &at);
    dropped.extend(host_drops);
    g::dns_config(&svc.dns, &svc.dns_search, &svc.dns_opt, &mut spec);
    spec.termination_grace_period_seconds = svc.stop_grace_period.map(|d| (d.0 / 1_000_000_000) as i64);
    spec.restart_policy = Some("Always".into());
    let mut drop = |what: String| dropped.push(format!("{at}.{what}"));
    match svc.restart.as_deref() {
        None | Some("always") | Some("unless-stopped") => {}
        Some(r) => drop(format!("restart {r} (a Deployment's pods always restart)")),
    }

    // depends_on: service_healthy waits for the dependency's Service
    for (dep, d) in &svc.depends_on {
        let Some(dsvc) = p.services.get(dep) else { continue };
        let dname = names::sanitize_service(dep);
        match d.condition.as_str() {
            "service_healthy" => {
                let port = dsvc
                    .ports
                    .first()
                    .map(|p| p.target)
                    .or_else(|| dsvc.expose.first().and_then(|e| e.split('/').next()).and_then(|n| n.parse().ok()));
                let script = match port {
                    Some(port) => {
                        // Not `nc -z`: busybox builds without NC_110_COMPAT (Debian's) lack it;
                        // a connect with nothing to send exits 0 with either nc.
                        format!(
                            "until nc -w 2 {dname} {port} </dev/null >/dev/null 2>&1; do echo waiting for {dname}; sleep 1; done"
                        )
                    }
                    None => format!("until nslookup {dname}; do echo waiting for {dname}; sleep 1; done"),
                };
                spec.init_containers.push(Container {
                    name: trunc(&format!("wait-for-{}", names::sanitize(dep, "dep")), 63),
                    image: WAIT_IMAGE.into(),
                    command: vec!["sh".into(), "-c".into(), script],
                    ..Default::default()
                });
            }
            "service_completed_successfully" => {
                drop(format!("depends_on.{dep} (service_completed_successfully: run {dep} as a Job before)"))
            }
            _ => {}
        }
    }

    spec.containers.push(c);
    let selector: Labels = [("app".to_string(), name.to_string())].into_iter().collect();
    let mut user = svc.labels.clone();
    if let Some(d) = &svc.deploy {
        user.extend(d.labels.clone());
    }
    let mut label_drops = Vec::new();
    let (mut labels, mut annotations) = g::split_labels(&user, &mut label_drops, &at);
    dropped.extend(label_drops);
    annotations.extend(svc.annotations.clone());
    labels.extend(selector.clone());
    let o = GenerateOptions { kind: WorkloadKind::Deployment, replicas: Some(svc.replicas() as u32), service: false };
    let deployment = g::workload(name, &o, labels, annotations, selector.clone(), spec);

    let service = if !svc_ports.is_empty() {
        Some(Service {
            metadata: ObjectMeta { name: name.to_string(), labels: selector.clone(), ..Default::default() },
            spec: ServiceSpec {
                kind: Some(if node { "NodePort" } else { "ClusterIP" }.into()),
                cluster_ip: None,
                selector,
                ports: svc_ports,
            },
        })
    } else if is_dependency {
        // no port to connect to: a headless Service resolves to ready pods only
        Some(Service {
            metadata: ObjectMeta { name: name.to_string(), labels: selector.clone(), ..Default::default() },
            spec: ServiceSpec { kind: None, cluster_ip: Some("None".into()), selector, ports: vec![] },
        })
    } else {
        None
    };
    Ok((deployment, service.map(Object::Service), more))
}

fn trunc(s: &str, n: usize) -> String {
    let mut s = s.to_string();
    s.truncate(n);
    s.trim_end_matches('-').to_string()
}
