//! `kube play`: Kubernetes objects run on this machine, as podman does it,
//! over the engine's typed calls. Each Pod (each replica of a Deployment,
//! a DaemonSet's one pod, a Job's pod) becomes an rcon pod whose
//! containers are `POD-CONTAINER`; PersistentVolumeClaims are named
//! volumes; ConfigMaps and Secrets become environment and read-only files;
//! probes become healthchecks; Services make their pods reachable: by the
//! Service's name on the play's user network (the infra container's
//! network alias), and a NodePort's `nodePort` published on the host.
//!
//! What a play created is recorded (`DATA/kube/ID.json`, keyed by the
//! file), so that `--down` removes exactly that and nothing a user made
//! by hand; a play that fails half-way removes what it had created.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{self, Container, IntOrString, Object, PodSpec, Probe};
use crate::container::health::{HealthConfig, OnFailure};
use crate::container::restart::RestartPolicy;
use crate::container::spec::ContainerSpec;
use crate::container::Mount;
use crate::engine::{containers, pods, Engine};
use crate::error::{Error, Result};
use crate::network::ports::PortSpec;
use crate::registry::progress::Progress;

/// The user network plays join unless `--network` says otherwise
/// (podman's `podman-default-kube-network`): pods reach each other and
/// their Services by name on it.
pub const DEFAULT_NETWORK: &str = "rcon-kube";

/// The label every container and pod of a play carries: the file.
pub const LABEL: &str = "io.rcon.kube.play";

#[derive(Debug, Default, Clone)]
pub struct PlayOptions {
    /// `--start=false`: create only.
    pub start: bool,
    /// `--replace`: remove what an earlier play of the same pods made first.
    pub replace: bool,
    /// `--build`: build images from `DIR/IMAGE/Containerfile|Dockerfile`.
    pub build: bool,
    /// `--network`: instead of [`DEFAULT_NETWORK`].
    pub network: Option<String>,
    /// `--publish`: more ports on the first pod.
    pub publish: Vec<PortSpec>,
    /// Objects of `--configmap` files (ConfigMaps only).
    pub configmaps: Vec<Object>,
    /// The file's directory: relative `hostPath`s and `--build` contexts.
    pub dir: PathBuf,
}

/// What a play made (its record, and the CLI's report).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Record {
    pub file: String,
    /// (pod id, pod name, container ids).
    pub pods: Vec<(String, String, Vec<String>)>,
    /// Volumes the play created (PVCs that did not exist, emptyDirs).
    pub volumes: Vec<String>,
    /// The play's user network, when this play created it.
    #[serde(default)]
    pub network: Option<String>,
    /// Directories of ConfigMap and Secret files.
    pub dirs: Vec<PathBuf>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

fn bad(m: String) -> Error {
    Error::InvalidArgument(m)
}

fn record_path(engine: &Engine, file: &str) -> PathBuf {
    let key: String = Sha256::digest(file.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    engine.paths.data.join("kube").join(format!("{key}.json"))
}

fn save(engine: &Engine, r: &Record) -> Result<()> {
    let p = record_path(engine, &r.file);
    crate::state::ensure_dir(p.parent().unwrap_or(Path::new("/")))?;
    crate::state::replace_json(&p, r)
}

/// One pod to run: its name, labels and spec (a Deployment's replica).
struct Instance<'a> {
    name: String,
    labels: BTreeMap<String, String>,
    spec: &'a PodSpec,
    /// A Job's pods run to completion: Never/OnFailure only.
    job: bool,
}

fn instances(objects: &[Object]) -> Result<Vec<Instance<'_>>> {
    let mut out = Vec::new();
    for o in objects {
        match o {
            Object::Pod(p) => out.push(Instance {
                name: p.metadata.name.clone(),
                labels: p.metadata.labels.clone(),
                spec: &p.spec,
                job: false,
            }),
            Object::Deployment(d) => {
                let n = d.spec.replicas.unwrap_or(1);
                let labels = d.spec.template.metadata.labels.clone();
                for i in 0..n {
                    let name = if n == 1 {
                        format!("{}-pod", d.metadata.name)
                    } else {
                        format!("{}-pod-{i}", d.metadata.name)
                    };
                    out.push(Instance { name, labels: labels.clone(), spec: &d.spec.template.spec, job: false });
                }
            }
            Object::DaemonSet(d) => out.push(Instance {
                name: format!("{}-pod", d.metadata.name),
                labels: d.spec.template.metadata.labels.clone(),
                spec: &d.spec.template.spec,
                job: false,
            }),
            Object::Job(j) => {
                let rp = j.spec.template.spec.restart_policy.as_deref().unwrap_or("");
                if !matches!(rp, "Never" | "OnFailure") {
                    return Err(bad(format!(
                        "Job {}: spec.template.spec.restartPolicy must be Never or OnFailure (Kubernetes requires it)",
                        j.metadata.name
                    )));
                }
                out.push(Instance {
                    name: format!("{}-pod", j.metadata.name),
                    labels: j.spec.template.metadata.labels.clone(),
                    spec: &j.spec.template.spec,
                    job: true,
                })
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The data of ConfigMaps and Secrets by name: key → bytes.
#[derive(Default)]
struct Data {
    configmaps: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl Data {
    fn of(objects: &[Object], extra: &[Object]) -> Result<Data> {
        let mut d = Data::default();
        for o in objects.iter().chain(extra) {
            match o {
                Object::ConfigMap(c) => {
                    let mut m: BTreeMap<String, Vec<u8>> =
                        c.data.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
                    for (k, v) in &c.binary_data {
                        m.insert(
                            k.clone(),
                            super::base64_decode(v).ok_or_else(|| {
                                bad(format!("ConfigMap {}: binaryData.{k} is not base64", c.metadata.name))
                            })?,
                        );
                    }
                    d.configmaps.insert(c.metadata.name.clone(), m);
                }
                Object::Secret(s) => {
                    let mut m = BTreeMap::new();
                    for (k, v) in &s.data {
                        m.insert(
                            k.clone(),
                            super::base64_decode(v)
                                .ok_or_else(|| bad(format!("Secret {}: data.{k} is not base64", s.metadata.name)))?,
                        );
                    }
                    for (k, v) in &s.string_data {
                        m.insert(k.clone(), v.clone().into_bytes());
                    }
                    d.secrets.insert(s.metadata.name.clone(), m);
                }
                _ => {}
            }
        }
        Ok(d)
    }

    fn get(&self, secret: bool, name: &str) -> Option<&BTreeMap<String, Vec<u8>>> {
        if secret {
            self.secrets.get(name)
        } else {
            self.configmaps.get(name)
        }
    }

    fn key(&self, secret: bool, name: &str, key: &str, optional: bool) -> Result<Option<String>> {
        let what = if secret { "Secret" } else { "ConfigMap" };
        match self.get(secret, name).map(|m| m.get(key)) {
            Some(Some(v)) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
            _ if optional => Ok(None),
            None => Err(bad(format!("{what} {name} is not in the file: add it, or give it with --configmap"))),
            Some(None) => Err(bad(format!("{what} {name} has no key {key}"))),
        }
    }
}

/// A Kubernetes quantity in bytes ("128Mi", "1G", "512k", "1e6").
pub fn bytes_of(q: &str) -> Option<u64> {
    let q = q.trim();
    let split = q.find(|c: char| c.is_ascii_alphabetic() && c != 'e').unwrap_or(q.len());
    let (n, unit) = q.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    (n >= 0.0).then_some((n * mult) as u64)
}

/// CPUs of a quantity ("500m", "1.5").
pub fn cpus_of(q: &str) -> Option<f64> {
    match q.strip_suffix('m') {
        Some(m) => m.parse::<f64>().ok().map(|v| v / 1000.0),
        None => q.parse().ok(),
    }
    .filter(|v| *v > 0.0)
}

/// A probe as a healthcheck: exec as CMD, httpGet and tcpSocket as the
/// busybox-compatible wget/nc the image is expected to have (podman does
/// the same with curl); seconds as Docker's nanoseconds.
fn healthcheck(p: &Probe, ports: &[model::ContainerPort]) -> Result<HealthConfig> {
    let port = |v: &IntOrString| -> Result<u16> {
        match v {
            IntOrString::Int(n) => u16::try_from(*n).map_err(|_| bad(format!("probe port {n} is out of range"))),
            IntOrString::String(name) => ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .map(|p| p.container_port)
                .ok_or_else(|| bad(format!("probe port {name:?} names no port of the container"))),
        }
    };
    let test = if let Some(e) = &p.exec {
        std::iter::once("CMD".to_string()).chain(e.command.iter().cloned()).collect()
    } else if let Some(h) = &p.http_get {
        let host = h.host.clone().unwrap_or_else(|| "127.0.0.1".into());
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let url = format!("{scheme}://{host}:{}{path}", port(&h.port)?);
        vec!["CMD-SHELL".into(), format!("wget -q -O /dev/null '{url}' || curl -fsS -o /dev/null '{url}'")]
    } else if let Some(t) = &p.tcp_socket {
        let host = t.host.clone().unwrap_or_else(|| "127.0.0.1".into());
        vec!["CMD-SHELL".into(), format!("nc -w 2 {host} {} </dev/null >/dev/null 2>&1", port(&t.port)?)]
    } else {
        return Err(bad("a probe needs exec, httpGet or tcpSocket".into()));
    };
    let s = |v: Option<i64>, d: i64| v.unwrap_or(d).max(0) * 1_000_000_000;
    Ok(HealthConfig {
        test,
        interval: s(p.period_seconds, 10),
        timeout: s(p.timeout_seconds, 1),
        start_period: s(p.initial_delay_seconds, 0),
        start_interval: 0,
        retries: p.failure_threshold.unwrap_or(3).max(1),
    })
}

/// `$(VAR)` references in command, args and env values, as Kubernetes
/// expands them (`$$` escapes; unknown references stay as written).
fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(end) = after.strip_prefix('(').and_then(|a| a.find(')')) {
            let name = &after[1..=end];
            match env.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            rest = &after[end + 2..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A configMap or secret volume: which object's keys become files.
#[derive(Clone, Copy)]
struct FileSource<'a> {
    secret: bool,
    name: &'a str,
    items: &'a [model::KeyToPath],
    mode: Option<u32>,
    optional: bool,
}

impl<'a> FileSource<'a> {
    fn of(v: &'a model::Volume) -> Option<FileSource<'a>> {
        if let Some(cm) = &v.config_map {
            return Some(FileSource {
                secret: false,
                name: &cm.name,
                items: &cm.items,
                mode: cm.default_mode,
                optional: cm.optional.unwrap_or(false),
            });
        }
        v.secret.as_ref().map(|s| FileSource {
            secret: true,
            name: &s.secret_name,
            items: &s.items,
            mode: s.default_mode,
            optional: s.optional.unwrap_or(false),
        })
    }
}

struct Ctx<'a> {
    engine: &'a Engine,
    o: &'a PlayOptions,
    data: Data,
    progress: &'a Arc<Progress>,
    rec: Record,
}

impl Ctx<'_> {
    fn warn(&mut self, w: String) {
        self.rec.warnings.push(w);
    }

    /// Files of a ConfigMap or Secret volume, written once per pod volume.
    fn files(&mut self, pod: &str, vol: &str, src: &FileSource) -> Result<PathBuf> {
        let FileSource { secret, name, items, mode, optional } = *src;
        let dir = self.engine.paths.data.join("kube").join("files").join(pod).join(vol);
        let what = if secret { "Secret" } else { "ConfigMap" };
        let empty = BTreeMap::new();
        let data = match self.data.get(secret, name) {
            Some(d) => d.clone(),
            None if optional => empty,
            None => return Err(bad(format!("{what} {name} is not in the file: add it, or give it with --configmap"))),
        };
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        self.rec.dirs.push(dir.clone());
        let chosen: Vec<(String, String)> = if items.is_empty() {
            data.keys().map(|k| (k.clone(), k.clone())).collect()
        } else {
            items.iter().map(|i| (i.key.clone(), i.path.clone())).collect()
        };
        for (key, path) in chosen {
            let Some(bytes) = data.get(&key) else {
                return Err(bad(format!("{what} {name} has no key {key}")));
            };
            if path.split('/').any(|c| c == "..") || path.starts_with('/') {
                return Err(bad(format!("{what} {name}: item path {path:?} must be relative, without ..")));
            }
            let p = dir.join(&path);
            if let Some(parent) = p.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            std::fs::write(&p, bytes).map_err(|e| Error::io(format!("write {}", p.display()), e))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode.unwrap_or(0o644)));
        }
        // Readable by the container's users (their ids are mapped ones).
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
        Ok(dir)
    }

    /// The mounts of a container's volumeMounts.
    fn mounts(&mut self, pod: &str, spec: &PodSpec, c: &Container) -> Result<Vec<Mount>> {
        let mut out = Vec::new();
        for vm in &c.volume_mounts {
            let v = spec.volumes.iter().find(|v| v.name == vm.name).ok_or_else(|| {
                bad(format!("container {}: volumeMount {} names no volume of the pod", c.name, vm.name))
            })?;
            let mut m = Mount {
                kind: "bind".into(),
                source: String::new(),
                target: vm.mount_path.clone(),
                readonly: vm.read_only,
                options: Vec::new(),
            };
            if let Some(h) = &v.host_path {
                let p =
                    if Path::new(&h.path).is_absolute() { PathBuf::from(&h.path) } else { self.o.dir.join(&h.path) };
                match h.kind.as_deref().unwrap_or("") {
                    "DirectoryOrCreate" => std::fs::create_dir_all(&p)
                        .map_err(|e| Error::io(format!("create hostPath {}", p.display()), e))?,
                    "FileOrCreate" if !p.exists() => {
                        std::fs::write(&p, b"").map_err(|e| Error::io(format!("create hostPath {}", p.display()), e))?
                    }
                    "Directory" | "File" | "Socket" | "CharDevice" | "BlockDevice" if !p.exists() => {
                        return Err(bad(format!("volume {}: hostPath {} does not exist", v.name, p.display())))
                    }
                    _ => {}
                }
                m.source = p.display().to_string();
            } else if let Some(pvc) = &v.persistent_volume_claim {
                m.kind = "volume".into();
                m.source = pvc.claim_name.clone();
                m.readonly |= pvc.read_only;
                self.volume(&pvc.claim_name)?;
            } else if let Some(e) = &v.empty_dir {
                if e.medium.as_deref() == Some("Memory") {
                    m.kind = "tmpfs".into();
                    m.source = "tmpfs".into();
                    if spec.containers.len() + spec.init_containers.len() > 1 {
                        self.warn(format!(
                            "pod {pod}: emptyDir {} with medium Memory is a tmpfs of each container, not shared",
                            v.name
                        ));
                    }
                } else {
                    m.kind = "volume".into();
                    m.source = format!("{pod}-{}", v.name);
                    self.volume(&m.source.clone())?;
                }
            } else if let Some(src) = FileSource::of(v) {
                m.source = self.files(pod, &v.name, &src)?.display().to_string();
                m.readonly = true;
            } else {
                return Err(bad(format!(
                    "volume {}: rcon plays hostPath, persistentVolumeClaim, emptyDir, configMap and secret volumes",
                    v.name
                )));
            }
            if let Some(sub) = &vm.sub_path {
                if m.kind == "bind" {
                    m.source = Path::new(&m.source).join(sub).display().to_string();
                } else {
                    self.warn(format!(
                        "container {}: subPath {sub} of volume {} is not supported: the whole volume is mounted",
                        c.name, v.name
                    ));
                }
            }
            out.push(m);
        }
        Ok(out)
    }

    /// A named volume, created (and recorded) unless it exists.
    fn volume(&mut self, name: &str) -> Result<()> {
        let store = crate::volume::VolumeStore::open(&self.engine.paths)?;
        if store.get(name).is_ok() {
            return Ok(());
        }
        crate::engine::volumes::create(self.engine, Some(name), &[format!("{LABEL}={}", self.rec.file)], &[])?;
        self.rec.volumes.push(name.to_string());
        Ok(())
    }

    fn env(&self, c: &Container) -> Result<Vec<String>> {
        let mut env: Vec<(String, String)> = Vec::new();
        for ef in &c.env_from {
            let prefix = ef.prefix.clone().unwrap_or_default();
            let (secret, r) = match (&ef.config_map_ref, &ef.secret_ref) {
                (Some(r), _) => (false, r),
                (None, Some(r)) => (true, r),
                _ => continue,
            };
            match self.data.get(secret, &r.name) {
                Some(m) => {
                    env.extend(m.iter().map(|(k, v)| (format!("{prefix}{k}"), String::from_utf8_lossy(v).into_owned())))
                }
                None if r.optional.unwrap_or(false) => {}
                None => {
                    return Err(bad(format!(
                        "{} {} is not in the file: add it, or give it with --configmap",
                        if secret { "Secret" } else { "ConfigMap" },
                        r.name
                    )))
                }
            }
        }
        for e in &c.env {
            let v = match (&e.value, &e.value_from) {
                (Some(v), _) => Some(expand(v, &env)),
                (None, Some(src)) => match (&src.config_map_key_ref, &src.secret_key_ref) {
                    (Some(k), _) => self.data.key(false, &k.name, &k.key, k.optional.unwrap_or(false))?,
                    (None, Some(k)) => self.data.key(true, &k.name, &k.key, k.optional.unwrap_or(false))?,
                    _ => {
                        return Err(bad(format!(
                            "container {}: env {}: valueFrom supports configMapKeyRef and secretKeyRef",
                            c.name, e.name
                        )))
                    }
                },
                (None, None) => Some(String::new()),
            };
            if let Some(v) = v {
                env.retain(|(k, _)| *k != e.name);
                env.push((e.name.clone(), v));
            }
        }
        Ok(env.into_iter().map(|(k, v)| format!("{k}={v}")).collect())
    }

    /// The engine's spec of one Kubernetes container of pod `pod`.
    fn container(
        &mut self,
        pod: &str,
        pod_id: &str,
        inst: &Instance,
        c: &Container,
        init: bool,
    ) -> Result<ContainerSpec> {
        let env = self.env(c)?;
        let vars: Vec<(String, String)> =
            env.iter().filter_map(|e| e.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut s = ContainerSpec {
            image: c.image.clone(),
            name: Some(format!("{pod}-{}", c.name)),
            entrypoint: (!c.command.is_empty()).then(|| c.command.iter().map(|a| expand(a, &vars)).collect()),
            cmd: c.args.iter().map(|a| expand(a, &vars)).collect(),
            env,
            workdir: c.working_dir.clone(),
            tty: c.tty,
            open_stdin: c.stdin,
            pod: Some(pod_id.to_string()),
            labels: inst
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain([(LABEL.to_string(), self.rec.file.clone())])
                .collect(),
            mounts: self.mounts(pod, inst.spec, c)?,
            ..Default::default()
        };
        if let Some(sc) = &c.security_context {
            s.user = match (sc.run_as_user, sc.run_as_group) {
                (Some(u), Some(g)) => Some(format!("{u}:{g}")),
                (Some(u), None) => Some(u.to_string()),
                (None, Some(g)) => Some(format!("0:{g}")),
                (None, None) => None,
            };
            s.privileged = sc.privileged.unwrap_or(false);
            s.read_only = sc.read_only_root_filesystem.unwrap_or(false);
            s.no_new_privileges = sc.allow_privilege_escalation == Some(false);
            if let Some(caps) = &sc.capabilities {
                let norm = |c: &String| {
                    if c.eq_ignore_ascii_case("all") {
                        "ALL".to_string()
                    } else {
                        c.trim_start_matches("CAP_").to_string()
                    }
                };
                s.cap_add = caps.add.iter().map(norm).collect();
                s.cap_drop = caps.drop.iter().map(norm).collect();
            }
        }
        if let Some(r) = &c.resources {
            let mut limits = crate::container::resources::Limits::default();
            if let Some(m) = r.limits.get("memory") {
                limits.memory = Some(
                    bytes_of(&m.0)
                        .ok_or_else(|| bad(format!("container {}: invalid memory limit {:?}", c.name, m.0)))?,
                );
            }
            if let Some(cpu) = r.limits.get("cpu") {
                let cpus = cpus_of(&cpu.0)
                    .ok_or_else(|| bad(format!("container {}: invalid cpu limit {:?}", c.name, cpu.0)))?;
                limits.cpu_quota = Some(((cpus * crate::container::resources::CPU_PERIOD as f64) as u64).max(1));
            }
            if !limits.is_empty() && self.engine.paths.rootless {
                self.warn(format!(
                    "container {}: resources.limits are not enforced rootless on this host (no delegated cgroup)",
                    c.name
                ));
            } else {
                s.resources = limits;
            }
        }
        let restart = inst.spec.restart_policy.as_deref().unwrap_or(if inst.job { "Never" } else { "Always" });
        if !init {
            s.restart = Some(RestartPolicy {
                name: match restart {
                    "Always" => "always",
                    "OnFailure" => "on-failure",
                    "Never" => "no",
                    other => {
                        return Err(bad(format!("pod {pod}: restartPolicy {other:?}: use Always, OnFailure or Never")))
                    }
                }
                .into(),
                maximum_retry_count: 0,
            });
            let probe = c.liveness_probe.as_ref().or(c.readiness_probe.as_ref()).or(c.startup_probe.as_ref());
            if let Some(p) = probe {
                s.healthcheck = Some(healthcheck(p, &c.ports)?);
                // A failing liveness probe restarts the container in Kubernetes.
                if c.liveness_probe.is_some() && restart != "Never" {
                    s.health_on_failure = Some(OnFailure::Restart);
                }
            }
            // Probes equal to the one used (compose convert writes the
            // healthcheck as both liveness and readiness) lose nothing.
            let others = [&c.liveness_probe, &c.readiness_probe, &c.startup_probe];
            if others.iter().any(|p| p.is_some() && p.as_ref() != probe) {
                self.warn(format!(
                    "container {}: one healthcheck per container: the {} probe is used",
                    c.name,
                    if c.liveness_probe.is_some() { "liveness" } else { "readiness" }
                ));
            }
        }
        Ok(s)
    }

    /// `imagePullPolicy` (podman's default: missing) and `--build`.
    fn image(&mut self, c: &Container) -> Result<()> {
        use crate::engine::registry::PullPolicy;
        if self.o.build {
            let ctx = self.o.dir.join(c.image.split(['/', ':']).next_back().unwrap_or(&c.image));
            let ctx = if self.o.dir.join(&c.image).is_dir() { self.o.dir.join(&c.image) } else { ctx };
            if ctx.join("Containerfile").is_file() || ctx.join("Dockerfile").is_file() {
                let file = if ctx.join("Containerfile").is_file() { "Containerfile" } else { "Dockerfile" };
                let req = crate::engine::build::BuildOptions {
                    context: ctx.display().to_string(),
                    file: Some(ctx.join(file).display().to_string()),
                    tags: vec![c.image.clone()],
                    quiet: true,
                    pull_progress: Some(self.progress.clone()),
                    ..Default::default()
                };
                crate::engine::build::build(self.engine, &req, &mut std::io::stderr())?;
                return Ok(());
            }
        }
        let policy = match c.image_pull_policy.as_deref() {
            Some("Always") => PullPolicy::Always,
            Some("Never") => PullPolicy::Never,
            Some("IfNotPresent") | None => PullPolicy::Missing,
            Some(p) => {
                return Err(bad(format!(
                    "container {}: imagePullPolicy {p:?}: use Always, IfNotPresent or Never",
                    c.name
                )))
            }
        };
        crate::engine::registry::ensure_image(self.engine, &c.image, policy, None, self.progress)
    }

    /// Undo everything this play made (a failure half-way).
    fn rollback(&mut self) {
        let r = std::mem::take(&mut self.rec);
        let _ = teardown(self.engine, &r);
    }
}

/// The Service ports of a NodePort Service published on the host, and the
/// aliases (Service names) of the pods a Service selects.
fn services(
    objects: &[Object],
    labels: &BTreeMap<String, String>,
    first: bool,
    ports_of: &[model::ContainerPort],
    warnings: &mut Vec<String>,
) -> Result<(Vec<PortSpec>, Vec<String>)> {
    let mut ports = Vec::new();
    let mut aliases = Vec::new();
    for o in objects {
        let Object::Service(s) = o else { continue };
        let sel = &s.spec.selector;
        if sel.is_empty() || !sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            continue;
        }
        aliases.push(s.metadata.name.clone());
        for p in &s.spec.ports {
            let target = match &p.target_port {
                None => p.port,
                Some(IntOrString::Int(n)) => *n as u16,
                Some(IntOrString::String(name)) => {
                    ports_of.iter().find(|c| c.name.as_deref() == Some(name)).map(|c| c.container_port).ok_or_else(
                        || bad(format!("Service {}: targetPort {name:?} names no container port", s.metadata.name)),
                    )?
                }
            };
            if target != p.port {
                warnings.push(format!("Service {}: port {} is reached at the pod's port {target} (rcon resolves the Service's name to its pod, without port translation)", s.metadata.name, p.port));
            }
            if s.spec.kind.as_deref() == Some("NodePort") || s.spec.kind.as_deref() == Some("LoadBalancer") {
                // Kubernetes allocates a nodePort the Service did not give.
                let Some(node) = p.node_port.or_else(|| free_node_port(&ports)) else {
                    warnings.push(format!(
                        "Service {}: port {} has no nodePort and 30000-32767 has no free port: give one",
                        s.metadata.name, p.port
                    ));
                    continue;
                };
                if first {
                    ports.push(PortSpec {
                        host_ip: String::new(),
                        host_port: node,
                        container_port: target,
                        proto: p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase(),
                    });
                } else {
                    warnings.push(format!(
                        "Service {}: nodePort {node} is published for the first pod it selects only",
                        s.metadata.name
                    ));
                }
            }
        }
    }
    Ok((ports, aliases))
}

/// A port of Kubernetes' NodePort range (30000-32767) free on the host,
/// and not among `taken`, tried from a point that differs per process
/// (Kubernetes picks at random).
fn free_node_port(taken: &[PortSpec]) -> Option<u16> {
    const FIRST: u16 = 30000;
    const COUNT: u16 = 2768;
    let start = (std::process::id() % u32::from(COUNT)) as u16;
    (0..COUNT)
        .map(|i| FIRST + (start + i) % COUNT)
        .find(|p| !taken.iter().any(|t| t.host_port == *p) && std::net::TcpListener::bind(("0.0.0.0", *p)).is_ok())
}

/// `kube play`: run the objects of `file` (already parsed).
pub fn play(
    engine: &Engine,
    file: &str,
    objects: &[Object],
    o: &PlayOptions,
    progress: &Arc<Progress>,
) -> Result<Record> {
    let insts = instances(objects)?;
    if insts.is_empty() {
        return Err(bad(format!("{file}: no Pod, Deployment, DaemonSet or Job to play")));
    }
    if o.replace {
        let _ = down(engine, file, objects);
    }
    let existing = crate::pod::PodStore::open(&engine.paths)?;
    for i in &insts {
        if let Ok(id) = existing.resolve(&i.name) {
            let taken = Error::PodNameInUse { name: i.name.clone(), id };
            return Err(bad(format!("{taken} (use --replace, or kube play --down first)")));
        }
    }
    let mut ctx = Ctx {
        engine,
        o,
        data: Data::of(objects, &o.configmaps)?,
        progress,
        rec: Record { file: file.to_string(), ..Default::default() },
    };
    match run(&mut ctx, objects, &insts) {
        Ok(()) => {
            save(engine, &ctx.rec)?;
            Ok(ctx.rec)
        }
        Err(e) => {
            ctx.rollback();
            Err(e)
        }
    }
}

fn run(ctx: &mut Ctx, objects: &[Object], insts: &[Instance]) -> Result<()> {
    let engine = ctx.engine;
    // Images first: nothing is created for a play whose image is missing.
    for i in insts {
        for c in i.spec.init_containers.iter().chain(&i.spec.containers) {
            ctx.image(c)?;
        }
    }
    let network = match &ctx.o.network {
        Some(n) => n.clone(),
        None => {
            if crate::network::user::NetworkStore::open(&engine.paths)?.find(DEFAULT_NETWORK).is_err() {
                crate::engine::networks::create_network(
                    engine,
                    &crate::engine::networks::CreateNetwork {
                        name: DEFAULT_NETWORK.into(),
                        driver: "bridge".into(),
                        subnet: None,
                        gateway: None,
                        internal: false,
                        labels: vec![],
                    },
                )?;
                ctx.rec.network = Some(DEFAULT_NETWORK.into());
            }
            DEFAULT_NETWORK.to_string()
        }
    };
    for (n, inst) in insts.iter().enumerate() {
        let spec = inst.spec;
        if spec.containers.is_empty() {
            return Err(bad(format!("pod {}: spec.containers is empty", inst.name)));
        }
        let all_ports: Vec<model::ContainerPort> = spec.containers.iter().flat_map(|c| c.ports.clone()).collect();
        let mut warnings = Vec::new();
        let (mut ports, aliases) = services(
            objects,
            &inst.labels,
            n == 0 || !insts[..n].iter().any(|p| p.labels == inst.labels),
            &all_ports,
            &mut warnings,
        )?;
        for w in warnings {
            ctx.warn(w);
        }
        for p in &all_ports {
            if let Some(h) = p.host_port {
                ports.push(PortSpec {
                    host_ip: p.host_ip.clone().unwrap_or_default(),
                    host_port: h,
                    container_port: p.container_port,
                    proto: p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase(),
                });
            }
        }
        if n == 0 {
            ports.extend(ctx.o.publish.iter().cloned());
        }
        let host = spec.host_network;
        let pspec = pods::PodSpec {
            name: Some(inst.name.clone()),
            labels: inst
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain([(LABEL.to_string(), ctx.rec.file.clone())])
                .collect(),
            hostname: spec.hostname.clone(),
            network: Some(if host { "host".into() } else { network.clone() }),
            ports_given: ports.iter().map(pods::port_text).collect(),
            ports: if host { Vec::new() } else { ports },
            extra_hosts: spec
                .host_aliases
                .iter()
                .flat_map(|a| a.hostnames.iter().map(move |h| (h.clone(), a.ip.clone())))
                .collect(),
            dns: spec.dns_config.as_ref().map(|d| d.nameservers.clone()).unwrap_or_default(),
            dns_search: spec.dns_config.as_ref().map(|d| d.searches.clone()).unwrap_or_default(),
            dns_options: spec
                .dns_config
                .as_ref()
                .map(|d| {
                    d.options
                        .iter()
                        .map(|o| match &o.value {
                            Some(v) => format!("{}:{v}", o.name),
                            None => o.name.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            network_aliases: if host { Vec::new() } else { aliases },
            ..Default::default()
        };
        let pod_id = pods::create(engine, &pspec)?;
        ctx.rec.pods.push((pod_id.clone(), inst.name.clone(), Vec::new()));
        let slot = ctx.rec.pods.len() - 1;
        // Init containers: each to completion, in order, before the rest.
        if ctx.o.start {
            for c in &spec.init_containers {
                let cs = ctx.container(&inst.name, &pod_id, inst, c, true)?;
                let id = containers::create(engine, &cs)?;
                ctx.rec.pods[slot].2.push(id.clone());
                pods::ensure_infra(engine, &pod_id)?;
                containers::start(engine, &id, Default::default())?;
                let code = crate::engine::lifecycle::wait(engine, &id, "not-running", &crate::engine::Cancel::never())?
                    .unwrap_or(-1);
                if code != 0 {
                    return Err(Error::Other(format!(
                        "pod {}: init container {} exited with code {code}",
                        inst.name, c.name
                    )));
                }
                containers::remove_in_pod(engine, &id, true)?;
                ctx.rec.pods[slot].2.retain(|x| *x != id);
            }
        } else if !spec.init_containers.is_empty() {
            ctx.warn(format!("pod {}: --start=false: its init containers are not run", inst.name));
        }
        for c in &spec.containers {
            let cs = ctx.container(&inst.name, &pod_id, inst, c, false)?;
            let id = containers::create(engine, &cs)?;
            ctx.rec.pods[slot].2.push(id);
        }
        save(engine, &ctx.rec)?;
        if ctx.o.start {
            let (_, outcome) = pods::start(engine, &pod_id)?;
            if let Some((name, Err(e))) = outcome.into_iter().find(|(_, r)| r.is_err()) {
                return Err(Error::Other(format!("pod {}: container {name} did not start: {e}", inst.name)));
            }
        }
    }
    Ok(())
}

/// Remove what a record lists: pods (with their containers), the volumes
/// and files the play made, its network when nothing else uses it.
fn teardown(engine: &Engine, r: &Record) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    for (id, _, ctrs) in &r.pods {
        match pods::remove(engine, id, true) {
            Ok(id) => gone.push(id),
            Err(Error::NoSuchPod(_)) => {
                for c in ctrs {
                    let _ = containers::remove_in_pod(engine, c, true);
                }
            }
            Err(e) => return Err(e),
        }
    }
    for v in &r.volumes {
        let _ = crate::engine::volumes::remove(engine, v, true);
    }
    for d in &r.dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    if let Some(n) = &r.network {
        let _ = crate::engine::networks::remove_network(engine, n, false);
    }
    let _ = std::fs::remove_file(record_path(engine, &r.file));
    Ok(gone)
}

/// `kube play --down`: what the play of `file` made; without a record
/// (made by another rcon, or removed), the pods the file names that carry
/// the file's label.
pub fn down(engine: &Engine, file: &str, objects: &[Object]) -> Result<Vec<String>> {
    if let Ok(Some(r)) = crate::state::read_json::<Record>(&record_path(engine, file)) {
        return teardown(engine, &r);
    }
    let mut gone = Vec::new();
    for i in instances(objects)? {
        if let Ok(v) = pods::get(engine, &i.name) {
            if v.config.labels.get(LABEL).and_then(|l| l.as_str()) == Some(file) {
                gone.push(pods::remove(engine, &v.config.id, true)?);
            }
        }
    }
    if gone.is_empty() {
        return Err(Error::NoSuchPod(format!(
            "{file}: nothing of this file is running (no pod it names was made by kube play of it)"
        )));
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(bytes_of("128Mi"), Some(128 << 20));
        assert_eq!(bytes_of("1G"), Some(1_000_000_000));
        assert_eq!(bytes_of("512"), Some(512));
        assert_eq!(bytes_of("1x"), None);
        assert_eq!(cpus_of("500m"), Some(0.5));
        assert_eq!(cpus_of("1.5"), Some(1.5));
        assert_eq!(cpus_of("0"), None);
    }

    #[test]
    fn references_expand_as_kubernetes_does() {
        let env = vec![("A".to_string(), "x".to_string())];
        assert_eq!(expand("$(A)-$(B)-$$(A)-$", &env), "x-$(B)-$(A)-$");
    }
}
