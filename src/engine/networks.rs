//! What containers need of networking: checking `--network`, `-p`, `-P` and
//! `--expose` at create, choosing host ports and the helper at start, and
//! the published ports as `ps`, `port` and `inspect` show them; the verbs of
//! `network create/ls/inspect/rm/prune` on user-defined network records.

use serde_json::{json, Map, Value};

use super::Engine;
use crate::container::{Container, ContainerConfig, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::network::helper::Plan;
use crate::network::user::{self, Network, NetworkStore, Subnet};
use crate::network::{ports, Mode, NetConfig};

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// The mode `--network` names. Also called before `run` pulls an image, so
/// a wrong network fails at once.
pub fn mode(engine: &Engine, network: &str) -> Result<Mode> {
    Mode::parse(network).map_err(|e| {
        // A user network exists but has no data path yet: say so rather
        // than "not found", and do not create a container without a network.
        match NetworkStore::open(&engine.paths).and_then(|s| s.find(network)) {
            Ok(n) => bad(format!(
                "network {}: containers cannot join user-defined networks yet: use the default network (bridge), pasta, host or none",
                n.name
            )),
            Err(_) => e,
        }
    })
}

/// Check the network flags of `create`; `--expose` adds to the exposed ports.
pub fn net_config(
    engine: &Engine,
    network: &str,
    publish: &[String],
    publish_all: bool,
    expose: &[String],
    exposed: &mut Map<String, Value>,
) -> Result<NetConfig> {
    let mode = mode(engine, network)?;
    for e in expose {
        for p in ports::parse(e)? {
            exposed.insert(p.key(), json!({}));
        }
    }
    let mut specs = Vec::new();
    for p in publish {
        specs.extend(ports::parse(p)?);
    }
    if (!specs.is_empty() || publish_all) && mode.helper().is_none() {
        return Err(bad(format!(
            "cannot publish ports with --network {network}: ports are published on the default network (slirp4netns) or pasta"
        )));
    }
    for (i, p) in specs.iter().enumerate() {
        if p.host_port != 0
            && specs[..i].iter().any(|q| q.host_port == p.host_port && q.proto == p.proto && q.host_ip == p.host_ip)
        {
            return Err(bad(format!(
                "host port {}/{} is published twice: choose another host port",
                p.host_port, p.proto
            )));
        }
        // A taken port is an error now, not when the container starts.
        if p.host_port != 0 {
            ports::reserve(p)?;
        }
    }
    Ok(NetConfig { ports: specs, publish_all })
}

/// The helper to start for a container, with random host ports chosen now.
pub fn plan(store: &ContainerStore, cfg: &ContainerConfig) -> Result<Option<Plan>> {
    let Some(kind) = Mode::parse(&cfg.host.network_mode)?.helper() else { return Ok(None) };
    let mut specs = cfg.host.net.ports.clone();
    if cfg.host.net.publish_all {
        let keys: Vec<String> = cfg.exposed_ports.keys().cloned().collect();
        for e in ports::exposed(&keys) {
            if !specs.iter().any(|p| p.container_port == e.container_port && p.proto == e.proto) {
                specs.push(e);
            }
        }
    }
    for p in specs.iter_mut() {
        p.host_port = ports::reserve(p)?;
    }
    let run_dir = store.run_dir(&cfg.id);
    crate::state::ensure_dir(&run_dir)?;
    crate::state::replace_json(&run_dir.join(PORTS_FILE), &specs)?;
    Ok(Some(Plan { kind, run_dir, ports: specs }))
}

/// The host ports a running container got, in its runtime directory.
const PORTS_FILE: &str = "ports.json";

pub fn published(store: &ContainerStore, c: &Container) -> Vec<ports::PortSpec> {
    if c.state.status != Status::Running {
        return Vec::new();
    }
    crate::state::read_json(&store.run_dir(&c.config.id).join(PORTS_FILE)).ok().flatten().unwrap_or_default()
}

/// The PORTS column of `ps`.
pub fn ports_text(engine: &Engine, c: &Container) -> String {
    let Ok(store) = ContainerStore::open(&engine.paths) else { return String::new() };
    if c.state.status != Status::Running {
        return String::new();
    }
    let exposed: Vec<String> = c.config.exposed_ports.keys().cloned().collect();
    ports::display(&published(&store, c), &exposed)
}

/// `rcon port CONTAINER [PORT[/PROTO]]`: (container port key, host address) pairs.
pub fn port_mappings(engine: &Engine, arg: &str, filter: Option<&str>) -> Result<Vec<(String, String)>> {
    let store = ContainerStore::open(&engine.paths)?;
    let c = store.load(&store.resolve(arg)?)?;
    let want = match filter {
        Some(f) => {
            let key = if f.contains('/') { f.to_string() } else { format!("{f}/tcp") };
            Some(key)
        }
        None => None,
    };
    let mut v: Vec<(String, String)> = published(&store, &c)
        .iter()
        .filter(|p| want.as_deref().is_none_or(|w| w == p.key()))
        .map(|p| (p.key(), format!("{}:{}", p.bind_ip(), p.host_port)))
        .collect();
    v.sort_by_key(|(k, _)| k.split('/').next().and_then(|n| n.parse::<u32>().ok()).unwrap_or(0));
    if v.is_empty() {
        if let Some(w) = want {
            return Err(bad(format!("no public port '{w}' published for {}", c.config.name)));
        }
    }
    Ok(v)
}

/// NetworkSettings of `inspect`.
pub fn inspect_settings(store: &ContainerStore, c: &Container) -> Value {
    let mode = Mode::parse(&c.config.host.network_mode).unwrap_or(Mode::None);
    let running = c.state.status == Status::Running;
    let exposed: Vec<String> = c.config.exposed_ports.keys().cloned().collect();
    let (ip, gateway, prefix) = match (&mode, running) {
        (Mode::Slirp, true) => (crate::network::SLIRP_IP, crate::network::SLIRP_GATEWAY, 24),
        _ => ("", "", 0),
    };
    // Docker lists the networks a container is attached to; ours is the
    // default one ("bridge", slirp4netns) or pasta's.
    let networks = match (&mode, running) {
        (Mode::Slirp, true) | (Mode::Pasta, true) => json!({ c.config.host.network_mode.clone(): {
            "IPAddress": ip, "Gateway": gateway, "IPPrefixLen": prefix, "MacAddress": "",
            "NetworkID": c.config.host.network_mode, "Aliases": null,
        }}),
        _ => json!({}),
    };
    json!({
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "Ports": if running { ports::ports_json(&published(store, c), &exposed) } else { json!({}) },
        "SandboxKey": if c.state.pid > 0 { format!("/proc/{}/ns/net", c.state.pid) } else { String::new() },
        "Gateway": gateway,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "MacAddress": "",
        "Networks": networks,
    })
}

/// What `network create` was asked for.
#[derive(Default)]
pub struct CreateNetwork {
    pub name: String,
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub labels: Vec<String>,
}

/// `rcon network create`: the new network's id. Name and subnet are checked
/// against the others under the store's lock, so concurrent creates cannot
/// both take one name or one subnet.
pub fn create_network(engine: &Engine, o: &CreateNetwork) -> Result<String> {
    if o.driver != "bridge" {
        return Err(bad(format!("network driver {:?} is not available: rcon has the bridge driver only", o.driver)));
    }
    if !user::valid_name(&o.name) {
        return Err(bad(format!("invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.name)));
    }
    if user::BUILTIN.iter().any(|(n, _)| *n == o.name) || Mode::parse(&o.name).is_ok() {
        return Err(bad(format!("network {} is predefined: choose another name", o.name)));
    }
    let labels = super::volumes::kv_map(&o.labels, "label")?;
    let store = NetworkStore::open(&engine.paths)?;
    let _lock = store.lock()?;
    if store.find(&o.name).is_ok_and(|n| n.name == o.name) {
        return Err(bad(format!("network with name {} already exists: remove it or choose another name", o.name)));
    }
    let taken = store.taken();
    let subnet = match &o.subnet {
        Some(s) => {
            let sub = Subnet::parse(s)?;
            if let Some(t) = taken.iter().find(|t| t.overlaps(&sub)) {
                return Err(bad(format!(
                    "subnet {sub} overlaps {t}, which {}: choose another --subnet",
                    match store.all().into_iter().find(|n| n.subnet == t.to_string()) {
                        Some(n) => format!("network {} uses", n.name),
                        None => "the default network (slirp4netns) uses".to_string(),
                    }
                )));
            }
            sub
        }
        None if o.gateway.is_some() => {
            return Err(bad("--gateway needs --subnet: give the subnet it belongs to".into()))
        }
        None => user::allocate(&taken)
            .ok_or_else(|| bad("no free subnet left in 10.89.0.0/16: give one with --subnet".into()))?,
    };
    let gateway = match &o.gateway {
        Some(g) => {
            let ip: std::net::Ipv4Addr =
                g.parse().map_err(|_| bad(format!("invalid gateway {g:?}: use an IPv4 address in {subnet}")))?;
            let n = u32::from(ip);
            if !subnet.contains(n) || n == subnet.addr {
                return Err(bad(format!("gateway {g} is not a host address of subnet {subnet}: choose one inside it")));
            }
            ip
        }
        None => subnet.first_host(),
    };
    let n = Network {
        name: o.name.clone(),
        id: crate::container::names::new_id(),
        created: crate::format::units::rfc3339_nano(crate::image::store::now_secs(), 0),
        driver: o.driver.clone(),
        subnet: subnet.to_string(),
        gateway: gateway.to_string(),
        internal: o.internal,
        labels,
    };
    store.insert(&n)?;
    crate::events::emit(&engine.paths, "network", "create", &n.id, &[("name", &n.name), ("type", &n.driver)]);
    Ok(n.id)
}

/// One row of `network ls`, built-in networks included.
pub struct NetworkRow {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub created: String,
    pub internal: bool,
    pub labels: std::collections::BTreeMap<String, String>,
}

/// A stable id for a built-in network, so `ls` and `inspect` agree across calls.
fn builtin_id(name: &str) -> String {
    let d = crate::storage::compress::sha256_digest(format!("rcon-builtin-network-{name}").as_bytes());
    d.trim_start_matches("sha256:").to_string()
}

fn rows(engine: &Engine) -> Result<Vec<NetworkRow>> {
    let mut v: Vec<NetworkRow> = user::BUILTIN
        .iter()
        .map(|(name, driver)| NetworkRow {
            id: builtin_id(name),
            name: name.to_string(),
            driver: driver.to_string(),
            created: String::new(),
            internal: false,
            labels: Default::default(),
        })
        .collect();
    for n in NetworkStore::open(&engine.paths)?.all() {
        v.push(NetworkRow {
            id: n.id,
            name: n.name,
            driver: n.driver,
            created: n.created,
            internal: n.internal,
            labels: n.labels,
        });
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// `rcon network ls` with Docker's filters: name (substring), id (prefix),
/// driver, label, type (builtin|custom).
pub fn list_networks(engine: &Engine, filters: &[String]) -> Result<Vec<NetworkRow>> {
    let mut out = Vec::new();
    'rows: for r in rows(engine)? {
        for f in filters {
            let (k, val) = f.split_once('=').ok_or_else(|| bad(format!("invalid filter {f:?}: use KEY=VALUE")))?;
            let builtin = user::BUILTIN.iter().any(|(n, _)| *n == r.name);
            let keep = match k {
                "name" => r.name.contains(val),
                "id" => r.id.starts_with(val),
                "driver" => r.driver == val,
                "label" => match val.split_once('=') {
                    Some((lk, lv)) => r.labels.get(lk).is_some_and(|x| x == lv),
                    None => r.labels.contains_key(val),
                },
                "type" => match val {
                    "builtin" => builtin,
                    "custom" => !builtin,
                    _ => return Err(bad(format!("invalid filter 'type={val}': use builtin or custom"))),
                },
                _ => return Err(bad(format!("invalid filter {k:?}: use driver, id, label, name or type"))),
            };
            if !keep {
                continue 'rows;
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// `rcon network inspect`, in Docker's shape.
pub fn inspect_network(engine: &Engine, key: &str) -> Result<Value> {
    let labels = |m: &std::collections::BTreeMap<String, String>| {
        Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    };
    if let Some(r) = rows(engine)?.into_iter().find(|r| {
        user::BUILTIN.iter().any(|(n, _)| *n == r.name) && (r.name == key || (key.len() >= 3 && r.id.starts_with(key)))
    }) {
        let ipam_config = if r.name == "bridge" {
            json!([{ "Subnet": "10.0.2.0/24", "Gateway": crate::network::SLIRP_GATEWAY }])
        } else {
            json!([])
        };
        return Ok(doc(&r.name, &r.id, &r.created, &r.driver, ipam_config, false, json!({})));
    }
    let n = NetworkStore::open(&engine.paths)?.find(key)?;
    let ipam_config = json!([{ "Subnet": n.subnet, "Gateway": n.gateway }]);
    Ok(doc(&n.name, &n.id, &n.created, &n.driver, ipam_config, n.internal, labels(&n.labels)))
}

fn doc(name: &str, id: &str, created: &str, driver: &str, ipam: Value, internal: bool, labels: Value) -> Value {
    json!({
        "Name": name,
        "Id": id,
        "Created": if created.is_empty() { "0001-01-01T00:00:00Z" } else { created },
        "Scope": "local",
        "Driver": driver,
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": {}, "Config": ipam },
        "Internal": internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": {},
        "Options": {},
        "Labels": labels,
    })
}

/// `rcon network rm`: the removed network's name. Built-in networks cannot
/// go; `force` forgives a missing one.
pub fn remove_network(engine: &Engine, key: &str, force: bool) -> Result<()> {
    if user::BUILTIN.iter().any(|(n, _)| *n == key) {
        return Err(bad(format!("{key} is a pre-defined network and cannot be removed")));
    }
    let store = NetworkStore::open(&engine.paths)?;
    let _lock = store.lock()?;
    let n = match store.find(key) {
        Ok(n) => n,
        Err(_) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    // Containers cannot join user networks yet, so none can be attached.
    store.remove(&n.name)?;
    crate::events::emit(&engine.paths, "network", "destroy", &n.id, &[("name", &n.name), ("type", &n.driver)]);
    Ok(())
}

/// `rcon network prune`: every user network without containers (all of
/// them, until containers can join); returns their names.
pub fn prune_networks(engine: &Engine, filters: &[String]) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    let mut f = filters.to_vec();
    f.push("type=custom".into());
    for r in list_networks(engine, &f)? {
        remove_network(engine, &r.id, true)?;
        gone.push(r.name);
    }
    Ok(gone)
}
