//! Pods (podman's model): containers that share the network, IPC and UTS
//! namespaces of an infra container. The infra container is an ordinary
//! container record (`ContainerConfig.infra`) whose process is rcon's own
//! pause program (`runtime::pause`): no image to pull. Members join its
//! namespaces with the `container:INFRA` modes the runtime already has
//! (`launch::join_namespace`); each keeps its own monitor, logs, restart
//! policy and healthcheck. Lifecycle verbs act on the members and the
//! infra in Docker's dependency order: the infra first up, last down.

use serde_json::{json, Value};

use super::containers::{self, StartOptions};
use super::Engine;
use crate::container::spec::ContainerSpec;
use crate::container::{names, Container, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::format::units;
use crate::network::ports::PortSpec;
use crate::pod::{PodConfig, PodStore, SHAREABLE};
use crate::state::Lock;

/// What `pod create` asks for.
#[derive(Debug, Clone, Default)]
pub struct PodSpec {
    pub name: Option<String>,
    pub labels: Vec<(String, String)>,
    /// None: the pod's name.
    pub hostname: Option<String>,
    /// None: the default network.
    pub network: Option<String>,
    pub ports: Vec<PortSpec>,
    /// `-p` as the user gave them (shown by inspect).
    pub ports_given: Vec<String>,
    pub extra_hosts: Vec<(String, String)>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// None: net, ipc and uts (podman's default, less cgroup).
    pub share: Option<Vec<String>>,
    /// `--infra=false`: no infra container, nothing shared.
    pub no_infra: bool,
    /// What the infra's process is called (`--infra-command`).
    pub infra_command: Option<Vec<String>>,
    pub infra_name: Option<String>,
    /// More DNS names of the pod on its user network (`kube play`: the
    /// Services that select it); the pod's own name always is one.
    pub network_aliases: Vec<String>,
}

fn bad(m: String) -> Error {
    Error::InvalidArgument(m)
}

/// `rcon pod create`: the record and its infra container (created, not
/// started: the first container started in the pod starts it, as podman
/// does). On an error nothing is left.
pub fn create(engine: &Engine, s: &PodSpec) -> Result<String> {
    let share = match &s.share {
        _ if s.no_infra => Vec::new(),
        None => SHAREABLE.iter().map(|n| n.to_string()).collect(),
        Some(list) => {
            for n in list {
                if !SHAREABLE.contains(&n.as_str()) && n != "none" && !n.is_empty() {
                    return Err(bad(format!("invalid --share {n:?}: rcon pods share net, ipc and uts")));
                }
            }
            // In SHAREABLE's order, without duplicates.
            SHAREABLE.iter().filter(|n| list.iter().any(|l| l == *n)).map(|n| n.to_string()).collect()
        }
    };
    if s.no_infra {
        let given = [
            ("-p/--publish", !s.ports.is_empty()),
            ("--network", s.network.is_some()),
            ("--hostname", s.hostname.is_some()),
            ("--add-host", !s.extra_hosts.is_empty()),
            ("--dns", !s.dns.is_empty()),
            ("--share", s.share.as_ref().is_some_and(|l| l.iter().any(|n| n != "none" && !n.is_empty()))),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            return Err(bad(format!(
                "{flag} needs the pod's infra container, which holds its shared namespaces: drop --infra=false"
            )));
        }
    }
    let id = names::new_id();
    let name = match &s.name {
        // One character is a name too (Kubernetes allows it; Docker's
        // container grammar wants two).
        Some(n) if !(names::valid_name(n) || n.len() == 1 && n.chars().all(|c| c.is_ascii_alphanumeric())) => {
            return Err(bad(format!("Invalid pod name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")))
        }
        Some(n) => n.clone(),
        // Docker-style random names, as for containers.
        None => names::random_name(&id),
    };
    let hostname = s.hostname.clone().unwrap_or_else(|| name.clone());
    let mut cfg = PodConfig {
        id: id.clone(),
        name: name.clone(),
        created: units::now_rfc3339(),
        labels: s.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect(),
        hostname: hostname.clone(),
        share,
        infra_id: String::new(),
        network: s.network.clone().unwrap_or_default(),
        ports: s.ports_given.clone(),
        extra_hosts: s.extra_hosts.iter().map(|(h, ip)| format!("{h}:{ip}")).collect(),
        dns: s.dns.clone(),
    };
    let pods = PodStore::open(&engine.paths)?;
    // The pods lock only while the name is claimed: `pod rm` takes a pod's
    // own lock before the pods lock, so holding both here in the other
    // order could deadlock with a remover of the new pod.
    pods.create_locked(&cfg)?;
    let _one = pods.lock_one(&id)?;
    if !s.no_infra {
        // On a user network the pod answers to its name (podman's DNS).
        let mut aliases = s.network_aliases.clone();
        let user_net = match &s.network {
            Some(n) => super::networks::mode(engine, n)? == crate::network::Mode::User,
            None => false,
        };
        if user_net && !aliases.contains(&name) {
            aliases.insert(0, name.clone());
        }
        let spec = ContainerSpec {
            network_aliases: aliases,
            image: String::new(),
            name: Some(s.infra_name.clone().unwrap_or_else(|| format!("{}-infra", &id[..12]))),
            cmd: s.infra_command.clone().unwrap_or_else(|| vec!["rcon-pause".into()]),
            hostname: Some(hostname),
            network: s.network.clone(),
            ports: s.ports.clone(),
            extra_hosts: s.extra_hosts.clone(),
            dns: s.dns.clone(),
            dns_search: s.dns_search.clone(),
            dns_options: s.dns_options.clone(),
            pod: Some(id.clone()),
            infra: true,
            ..Default::default()
        };
        match containers::create(engine, &spec) {
            Ok(cid) => cfg.infra_id = cid,
            Err(e) => {
                let _ = pods.remove(&id);
                return Err(e);
            }
        }
        if let Err(e) = pods.write(&cfg) {
            containers::discard(engine, &cfg.infra_id);
            let _ = pods.remove(&id);
            return Err(e);
        }
    }
    crate::events::emit(&engine.paths, "pod", "create", &id, &[("name", &name)]);
    Ok(id)
}

/// A container joining a pod: the pod's shared namespaces, checked
/// against what the container asked for.
pub struct Member {
    pub pod_id: String,
    infra_id: String,
    share: Vec<String>,
    hostname: String,
}

impl Member {
    /// The container's spec with the pod's shared settings in force.
    pub fn apply(&self, o: &ContainerSpec) -> ContainerSpec {
        let mut o = o.clone();
        if self.shares("net") {
            o.network = Some(format!("container:{}", self.infra_id));
        }
        if self.shares("uts") {
            o.hostname = Some(self.hostname.clone());
        }
        o
    }

    fn shares(&self, ns: &str) -> bool {
        !self.infra_id.is_empty() && self.share.iter().any(|s| s == ns)
    }

    /// `container:INFRA` for a namespace the pod shares.
    pub fn joined(&self, ns: &str) -> Option<String> {
        self.shares(ns).then(|| format!("container:{}", self.infra_id))
    }
}

/// Check that `o` may join pod `arg`, and lock the pod against removal
/// until the container's record exists (the lock comes back).
pub fn membership(engine: &Engine, arg: &str, o: &ContainerSpec) -> Result<(Member, Lock)> {
    let pods = PodStore::open(&engine.paths)?;
    let id = pods.resolve(arg)?;
    let lock = pods.lock_one(&id)?;
    let p = pods.load(&id)?; // removed while we waited: no such pod
    let m = Member {
        pod_id: p.id.clone(),
        infra_id: p.infra_id.clone(),
        share: p.share.clone(),
        hostname: p.hostname.clone(),
    };
    let mut conflicts = Vec::new();
    if m.shares("net") {
        let custom_network = o.network.as_deref().is_some_and(|n| !matches!(n, "bridge" | "default"));
        for (flag, given) in [
            ("-p/--publish", !o.ports.is_empty()),
            ("-P/--publish-all", o.publish_all),
            ("--network", custom_network),
            ("--add-host", !o.extra_hosts.is_empty()),
            ("--dns", !o.dns.is_empty()),
            ("--network-alias", !o.network_aliases.is_empty()),
            ("--ip", o.ip.is_some()),
        ] {
            if given {
                conflicts.push(flag);
            }
        }
    }
    if m.shares("uts") && o.hostname.is_some() {
        conflicts.push("-h/--hostname");
    }
    if m.shares("ipc") && o.ipc.is_some() {
        conflicts.push("--ipc");
    }
    if let Some(flag) = conflicts.first() {
        return Err(bad(format!(
            "{flag} cannot be set on a container of pod {}, which shares its namespaces: give it to rcon pod create",
            p.name
        )));
    }
    Ok((m, lock))
}

/// `run/create --pod new:NAME`: a new pod that takes over the container's
/// network settings (podman's behaviour), and the spec left to create in it.
pub fn new_for(engine: &Engine, name: &str, o: &ContainerSpec) -> Result<(String, ContainerSpec)> {
    let spec = PodSpec {
        name: Some(name.to_string()),
        network: o.network.clone(),
        ports: o.ports.clone(),
        ports_given: o.ports.iter().map(port_text).collect(),
        extra_hosts: o.extra_hosts.clone(),
        dns: o.dns.clone(),
        dns_search: o.dns_search.clone(),
        dns_options: o.dns_options.clone(),
        hostname: o.hostname.clone(),
        ..Default::default()
    };
    let id = create(engine, &spec)?;
    let mut rest = o.clone();
    rest.network = None;
    rest.ports.clear();
    rest.extra_hosts.clear();
    rest.dns.clear();
    rest.dns_search.clear();
    rest.dns_options.clear();
    rest.hostname = None;
    rest.pod = Some(id.clone());
    Ok((id, rest))
}

/// `-p` as `pod inspect` shows it: `[IP:]HOST:CONTAINER/PROTO`.
pub fn port_text(p: &PortSpec) -> String {
    let ip = if p.host_ip.is_empty() { String::new() } else { format!("{}:", p.host_ip) };
    format!("{ip}{}:{}/{}", p.host_port, p.container_port, p.proto)
}

/// A pod with its containers, infra first, then members oldest first.
pub struct PodView {
    pub config: PodConfig,
    pub containers: Vec<Container>,
}

impl PodView {
    pub fn infra(&self) -> Option<&Container> {
        self.containers.iter().find(|c| c.config.infra)
    }

    pub fn members(&self) -> impl Iterator<Item = &Container> {
        self.containers.iter().filter(|c| !c.config.infra)
    }

    /// podman's pod status over every container, the infra's too:
    /// Created, Running, Paused, Exited, or Degraded (some running).
    pub fn status(&self) -> &'static str {
        let n = self.containers.len();
        let count = |f: &dyn Fn(Status) -> bool| self.containers.iter().filter(|c| f(c.state.status)).count();
        let running = count(&|s| matches!(s, Status::Running | Status::Restarting));
        let paused = count(&|s| s == Status::Paused);
        let created = count(&|s| s == Status::Created);
        match () {
            _ if n == 0 || created == n => "Created",
            _ if running == n => "Running",
            _ if paused == n => "Paused",
            _ if running + paused == 0 => "Exited",
            _ => "Degraded",
        }
    }
}

fn view(config: PodConfig, all: &[Container]) -> PodView {
    let mut containers: Vec<Container> = all.iter().filter(|c| c.config.host.pod == config.id).cloned().collect();
    containers.sort_by(|a, b| (!a.config.infra, &a.config.created).cmp(&(!b.config.infra, &b.config.created)));
    PodView { config, containers }
}

pub fn list(engine: &Engine) -> Result<Vec<PodView>> {
    let pods = PodStore::open(&engine.paths)?;
    let store = ContainerStore::open(&engine.paths)?;
    let all = store.all();
    let mut v: Vec<PodView> = pods.all().into_iter().map(|p| view(p, &all)).collect();
    v.sort_by(|a, b| b.config.created.cmp(&a.config.created));
    Ok(v)
}

pub fn get(engine: &Engine, arg: &str) -> Result<PodView> {
    let pods = PodStore::open(&engine.paths)?;
    let store = ContainerStore::open(&engine.paths)?;
    let p = pods.load(&pods.resolve(arg)?)?;
    Ok(view(p, &store.all()))
}

/// Start the pod's infra container if it is not running (before any
/// member starts: they join its namespaces).
pub fn ensure_infra(engine: &Engine, pod_id: &str) -> Result<()> {
    let pods = PodStore::open(&engine.paths)?;
    let p = pods.load(pod_id)?;
    if p.infra_id.is_empty() {
        return Ok(());
    }
    let store = ContainerStore::open(&engine.paths)?;
    let infra = store.load(&p.infra_id).map_err(|_| {
        Error::Other(format!(
            "the infra container of pod {} is gone: remove the pod (rcon pod rm -f {}) and create it again",
            p.name, p.name
        ))
    })?;
    if infra.state.status == Status::Running {
        return Ok(());
    }
    match containers::start(engine, &p.infra_id, StartOptions::default()) {
        Ok(_) | Err(Error::NotModified(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What happened to each container of a pod verb: (container name, error).
pub type Outcome = Vec<(String, Result<()>)>;

/// `rcon pod start`: the infra, then every member not running.
pub fn start(engine: &Engine, arg: &str) -> Result<(String, Outcome)> {
    let v = get(engine, arg)?;
    ensure_infra(engine, &v.config.id)?;
    let mut out = Vec::new();
    for c in v.members() {
        if matches!(c.state.status, Status::Running | Status::Paused) {
            continue;
        }
        let r = match containers::start(engine, &c.config.id, StartOptions::default()) {
            Ok(_) | Err(Error::NotModified(_)) => Ok(()),
            Err(e) => Err(e),
        };
        out.push((c.config.name.clone(), r));
    }
    crate::events::emit(&engine.paths, "pod", "start", &v.config.id, &[("name", &v.config.name)]);
    Ok((v.config.id, out))
}

/// `rcon pod stop`: members first, the infra last.
pub fn stop(engine: &Engine, arg: &str, timeout: Option<i64>) -> Result<(String, Outcome)> {
    let v = get(engine, arg)?;
    let mut out = Vec::new();
    for c in v.members().chain(v.infra()) {
        out.push((c.config.name.clone(), containers::stop(engine, &c.config.id, timeout)));
    }
    crate::events::emit(&engine.paths, "pod", "stop", &v.config.id, &[("name", &v.config.name)]);
    Ok((v.config.id, out))
}

/// `rcon pod kill`: the signal to every running container, infra last.
pub fn kill(engine: &Engine, arg: &str, signal: &str) -> Result<(String, Outcome)> {
    crate::util::signal_number(signal)?;
    let v = get(engine, arg)?;
    let mut out = Vec::new();
    for c in v.members().chain(v.infra()) {
        if matches!(c.state.status, Status::Running | Status::Paused) {
            out.push((c.config.name.clone(), containers::kill(engine, &c.config.id, signal)));
        }
    }
    Ok((v.config.id, out))
}

/// `rcon pod pause`/`unpause`: the members (the infra does nothing to pause).
pub fn pause(engine: &Engine, arg: &str, pause: bool) -> Result<(String, Outcome)> {
    let v = get(engine, arg)?;
    let mut out = Vec::new();
    for c in v.members() {
        let r = match (pause, c.state.status) {
            (true, Status::Running) => super::lifecycle::pause(engine, &c.config.id),
            (false, Status::Paused) => super::lifecycle::unpause(engine, &c.config.id),
            _ => continue,
        };
        out.push((c.config.name.clone(), r));
    }
    Ok((v.config.id, out))
}

/// `rcon pod rm`: the members, the infra, the record. Without `force` a
/// pod with running containers is refused (podman's rule).
pub fn remove(engine: &Engine, arg: &str, force: bool) -> Result<String> {
    let pods = PodStore::open(&engine.paths)?;
    let id = pods.resolve(arg)?;
    let _lock = pods.lock_one(&id)?;
    let v = get(engine, &id)?;
    if !force {
        if let Some(c) =
            v.members().chain(v.infra()).find(|c| matches!(c.state.status, Status::Running | Status::Paused))
        {
            return Err(Error::Conflict(format!(
                "pod {} has running containers ({}): stop the pod first or use rcon pod rm -f",
                v.config.name, c.config.name
            )));
        }
    }
    // Kill every running container at once and wait for them together:
    // one by one, each removal would wait for its own container's exit.
    let live: Vec<&Container> =
        v.containers.iter().filter(|c| matches!(c.state.status, Status::Running | Status::Restarting)).collect();
    for c in &live {
        let _ = containers::kill(engine, &c.config.id, "KILL");
    }
    let store = ContainerStore::open(&engine.paths)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline
        && live.iter().any(|c| store.load(&c.config.id).is_ok_and(|n| n.state.status == Status::Running))
    {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for c in v.members().chain(v.infra()) {
        match containers::remove_in_pod(engine, &c.config.id, true) {
            Ok(_) | Err(Error::NoSuchContainer(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let _all = pods.lock()?;
    pods.remove(&id)?;
    crate::events::emit(&engine.paths, "pod", "remove", &id, &[("name", &v.config.name)]);
    Ok(id)
}

/// `rcon pod prune`: every pod none of whose containers runs.
pub fn prune(engine: &Engine) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    for v in list(engine)? {
        let live = v.containers.iter().any(|c| matches!(c.state.status, Status::Running | Status::Paused));
        if !live {
            gone.push(remove(engine, &v.config.id, false)?);
        }
    }
    Ok(gone)
}

/// `rcon pod inspect`: podman's shape (the fields tools read).
pub fn inspect(engine: &Engine, arg: &str) -> Result<Value> {
    let v = get(engine, arg)?;
    let p = &v.config;
    let infra = v.infra();
    let ports: serde_json::Map<String, Value> = infra
        .map(|c| {
            c.config
                .host
                .net
                .ports
                .iter()
                .map(|s| (s.key(), json!([{"HostIp": s.host_ip, "HostPort": s.host_port.to_string()}])))
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "Id": p.id,
        "Name": p.name,
        "Created": p.created,
        "State": v.status(),
        "Hostname": p.hostname,
        "Labels": p.labels,
        "CreateInfra": !p.infra_id.is_empty(),
        "InfraContainerID": p.infra_id,
        "InfraConfig": {
            "PortBindings": ports,
            "HostNetwork": p.network == "host",
            "Networks": if p.network.is_empty() { vec![] } else { vec![p.network.clone()] },
            "DNSServer": p.dns,
            "HostAdd": p.extra_hosts,
        },
        "SharedNamespaces": p.share,
        "NumContainers": v.containers.len(),
        "Containers": v.containers.iter().map(|c| json!({
            "Id": c.config.id,
            "Name": c.config.name,
            "State": c.state.status.as_str(),
        })).collect::<Vec<_>>(),
    }))
}
