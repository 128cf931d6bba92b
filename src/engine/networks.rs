//! What containers need of networking: checking `--network`, `-p`, `-P` and
//! `--expose` at create, choosing host ports and the helper at start, and
//! the published ports as `ps`, `port` and `inspect` show them; the verbs of
//! `network create/ls/inspect/rm/prune` on user-defined network records.

use serde_json::{json, Map, Value};

use super::Engine;
use crate::container::{Container, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::network::holder::{self, Endpoint};
use crate::network::start::{attach_request, published};
use crate::network::user::{self, Network, NetworkStore, Subnet};
use crate::network::{ports, Mode, NetConfig};

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// The mode `--network` names. Also called before `run` pulls an image, so
/// a wrong network fails at once.
pub fn mode(engine: &Engine, network: &str) -> Result<Mode> {
    if let Some(c) = network.strip_prefix("container:") {
        let store = ContainerStore::open(&engine.paths)?;
        store.resolve(c)?;
        return Ok(Mode::Container(c.to_string()));
    }
    Mode::parse(network).or_else(|e| match NetworkStore::open(&engine.paths).and_then(|s| s.find(network)) {
        Ok(_) => Ok(Mode::User),
        Err(_) => Err(e),
    })
}

/// Settings of networking in `CONFIG/network.json`, in podman's
/// containers.conf names: `{"default_rootless_network_cmd": "pasta"}` makes
/// pasta the default network instead of slirp4netns.
#[derive(Default, serde::Deserialize)]
struct NetworkSettings {
    #[serde(default)]
    default_rootless_network_cmd: Option<String>,
}

/// What `--network` means when it is not given (or is `bridge`/`default`).
pub fn default_network(engine: &Engine) -> Result<String> {
    let path = engine.paths.config.join("network.json");
    let s: NetworkSettings = match std::fs::read(&path) {
        Ok(b) => {
            serde_json::from_slice(&b).map_err(|e| bad(format!("{}: {e}: fix or remove the file", path.display())))?
        }
        Err(_) => NetworkSettings::default(),
    };
    match s.default_rootless_network_cmd.as_deref() {
        None | Some("slirp4netns") => Ok("bridge".into()),
        Some("pasta") => Ok("pasta".into()),
        Some(other) => Err(bad(format!(
            "{}: default_rootless_network_cmd {other:?} is not known: use slirp4netns or pasta",
            path.display()
        ))),
    }
}

/// Check `--ip` against a network's subnet.
fn check_ip(n: &Network, ip: &str) -> Result<()> {
    let a: std::net::Ipv4Addr = ip.parse().map_err(|_| bad(format!("invalid --ip {ip:?}: use an IPv4 address")))?;
    if !n.usable(a) {
        return Err(bad(format!(
            "--ip {ip} is not a usable address of network {} ({}): choose another",
            n.name, n.subnet
        )));
    }
    Ok(())
}

/// The network flags of `create`/`run`.
#[derive(Clone, Copy)]
pub struct NetFlags<'a> {
    pub network: &'a str,
    pub publish: &'a [ports::PortSpec],
    pub publish_all: bool,
    /// Keys like "80/tcp".
    pub expose: &'a [String],
    /// `--network-alias`
    pub aliases: &'a [String],
    /// `--ip`
    pub ip: Option<&'a str>,
}

/// Check the network flags of `create`; `--expose` adds to the exposed ports.
pub fn net_config(engine: &Engine, f: &NetFlags, exposed: &mut Map<String, Value>) -> Result<NetConfig> {
    let NetFlags { network, publish, publish_all, expose, aliases, ip } = *f;
    let mode = mode(engine, network)?;
    let mut networks = Vec::new();
    if mode == Mode::User {
        let n = NetworkStore::open(&engine.paths)?.find(network)?;
        if let Some(ip) = ip {
            check_ip(&n, ip)?;
        }
        networks.push(crate::network::Attachment {
            network: n.name,
            aliases: aliases.to_vec(),
            ip: ip.map(String::from),
        });
    } else if !aliases.is_empty() || ip.is_some() {
        return Err(bad(format!(
            "--network-alias and --ip work on user-defined networks only, not --network {network}: create one with rcon network create"
        )));
    }
    for e in expose {
        exposed.insert(e.clone(), json!({}));
    }
    let specs = publish.to_vec();
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
    Ok(NetConfig { ports: specs, publish_all, networks, disconnected: false })
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
pub fn inspect_settings(engine: &Engine, store: &ContainerStore, c: &Container) -> Value {
    let mode = Mode::of(&c.config.host.network_mode, &c.config.host.net);
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
            "IPAMConfig": null, "Links": null, "Aliases": null,
            "NetworkID": c.config.host.network_mode, "EndpointID": "",
            "Gateway": gateway, "IPAddress": ip, "IPPrefixLen": prefix,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "MacAddress": "", "DriverOpts": null,
        }}),
        (Mode::User, _) => {
            let eps = if running { endpoints_of(engine, c) } else { Vec::new() };
            Value::Object(
                c.config
                    .host
                    .net
                    .networks
                    .iter()
                    .map(|a| {
                        let e = eps.iter().find(|e| e.network == a.network);
                        let f = |g: fn(&Endpoint) -> String| e.map(g).unwrap_or_default();
                        (
                            a.network.clone(),
                            json!({
                                "IPAMConfig": a.ip.as_ref().map(|ip| json!({ "IPv4Address": ip })),
                                "Links": null,
                                "Aliases": aliases(a, e.is_some(), &c.config.id[..12]),
                                "NetworkID": f(|e| e.network_id.clone()),
                                "EndpointID": f(|e| e.host_if.clone()),
                                "Gateway": f(|e| e.gateway.clone()),
                                "IPAddress": f(|e| e.ip.clone()),
                                "IPPrefixLen": e.map(|e| e.prefix).unwrap_or(0),
                                "IPv6Gateway": "",
                                "GlobalIPv6Address": "",
                                "GlobalIPv6PrefixLen": 0,
                                "MacAddress": f(|e| e.mac.clone()),
                                "DriverOpts": null,
                                "DNSNames": e.map(dns_names),
                            }),
                        )
                    })
                    .collect(),
            )
        }
        _ => json!({}),
    };
    json!({
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": if running { ports::ports_json(&published(store, c), &exposed) } else { json!({}) },
        "SandboxKey": if c.state.pid > 0 { format!("/proc/{}/ns/net", c.state.pid) } else { String::new() },
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": "",
        "Gateway": gateway,
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": networks,
    })
}

/// Docker's `Aliases` of an endpoint (API < 1.44): those asked for, and on a
/// connected container also its short id; null when there are none.
fn aliases(a: &crate::network::Attachment, connected: bool, short_id: &str) -> Value {
    let mut l = a.aliases.clone();
    if connected && !l.iter().any(|x| x == short_id) {
        l.push(short_id.to_string());
    }
    if l.is_empty() {
        Value::Null
    } else {
        json!(l)
    }
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
    // A damaged record keeps its name: its error says how to remove it.
    if let Some(e) = store.find_any(&o.name).ok().filter(|n| n.name == o.name).and_then(|n| n.damaged_error()) {
        return Err(e);
    }
    if store.find(&o.name).is_ok_and(|n| n.name == o.name) {
        return Err(Error::Conflict(format!(
            "network with name {} already exists: remove it or choose another name",
            o.name
        )));
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
        damaged: None,
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
    /// Its record does not parse (listed so, removable by name or id).
    pub damaged: bool,
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
            damaged: false,
        })
        .collect();
    for n in NetworkStore::open(&engine.paths)?.listed() {
        if let Some(e) = n.damaged_error() {
            crate::util::warn(&e.to_string());
        }
        v.push(NetworkRow {
            damaged: n.damaged.is_some(),
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
    let mut d = doc(&n.name, &n.id, &n.created, &n.driver, ipam_config, n.internal, labels(&n.labels));
    let members: Map<String, Value> = holder::endpoints(&engine.paths)
        .into_iter()
        .filter(|e| e.network_id == n.id)
        .map(|e| {
            let v = json!({
                "Name": e.name, "EndpointID": e.host_if, "MacAddress": e.mac,
                "IPv4Address": format!("{}/{}", e.ip, e.prefix), "IPv6Address": "",
            });
            (e.container, v)
        })
        .collect();
    d["Containers"] = Value::Object(members);
    Ok(d)
}

/// A running container's endpoints on user networks.
fn endpoints_of(engine: &Engine, c: &Container) -> Vec<Endpoint> {
    holder::endpoints(&engine.paths)
        .into_iter()
        .filter(|e| e.container == c.config.id && e.pid == c.state.pid)
        .collect()
}

/// The names a container answers to on a network (Docker's DNSNames).
fn dns_names(e: &Endpoint) -> Vec<String> {
    let mut v = vec![e.name.clone()];
    v.extend(e.aliases.iter().cloned());
    v.push(e.container[..12].to_string());
    v
}

fn doc(name: &str, id: &str, created: &str, driver: &str, ipam: Value, internal: bool, labels: Value) -> Value {
    json!({
        "Name": name,
        "Id": id,
        "Created": if created.is_empty() { "0001-01-01T00:00:00Z" } else { created },
        "Scope": "local",
        "Driver": driver,
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": null, "Config": ipam },
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
    let n = match store.find_any(key) {
        Ok(n) => n,
        Err(_) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    // Docker refuses while containers are attached (running); stopped
    // ones that name it fail to start later, as there.
    let active: Vec<String> =
        holder::endpoints(&engine.paths).into_iter().filter(|e| e.network_id == n.id).map(|e| e.name).collect();
    if !active.is_empty() {
        return Err(bad(format!(
            "network {} has active endpoints ({}): stop those containers or disconnect them first (rcon network disconnect {} CONTAINER)",
            n.name,
            active.join(", "),
            n.name
        )));
    }
    store.remove(&n.name)?;
    crate::events::emit(&engine.paths, "network", "destroy", &n.id, &[("name", &n.name), ("type", &n.driver)]);
    Ok(())
}

/// `rcon network prune`: every user network no container (running or not)
/// refers to; returns their names.
pub fn prune_networks(engine: &Engine, filters: &[String]) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    let mut f = filters.to_vec();
    f.push("type=custom".into());
    let used: Vec<String> = ContainerStore::open(&engine.paths)?
        .all()
        .into_iter()
        .flat_map(|c| c.config.host.net.networks.into_iter().map(|a| a.network))
        .collect();
    for r in list_networks(engine, &f)? {
        // A damaged network goes only when asked by name.
        if used.contains(&r.name) || r.damaged {
            continue;
        }
        remove_network(engine, &r.id, true)?;
        gone.push(r.name);
    }
    Ok(gone)
}

/// What the monitor asks the holder for a container starting on user
/// networks (its pid is filled in once it exists).
fn running_pid(c: &Container) -> Option<u32> {
    (c.state.status == Status::Running && c.state.pid > 0).then_some(c.state.pid)
}

/// `rcon network connect NETWORK CONTAINER`: recorded in the container's
/// configuration, and plugged in at once when it runs (possible when it was
/// started on a user network: its user namespace must nest in the holder's).
pub fn connect(engine: &Engine, network: &str, container: &str, aliases: &[String], ip: Option<&str>) -> Result<()> {
    let n = NetworkStore::open(&engine.paths)?.find(network)?;
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(container)?;
    let _lock = store.lock_one(&id)?;
    let c = store.load(&id)?;
    let name = c.config.name.trim_start_matches('/').to_string();
    let mode = Mode::of(&c.config.host.network_mode, &c.config.host.net);
    let reconnect = mode == Mode::None && c.config.host.net.disconnected;
    if matches!(mode, Mode::Host | Mode::None | Mode::Container(_) | Mode::Pasta) && !reconnect {
        return Err(bad(format!(
            "container {name} uses --network {}, which cannot be combined with other networks: recreate it with --network {}",
            c.config.host.network_mode, n.name
        )));
    }
    if c.config.host.net.networks.iter().any(|a| a.network == n.name) {
        return Err(bad(format!("container {name} is already connected to network {}", n.name)));
    }
    if let Some(ip) = ip {
        check_ip(&n, ip)?;
    }
    let a = crate::network::Attachment { network: n.name.clone(), aliases: aliases.to_vec(), ip: ip.map(String::from) };
    if let Some(pid) = running_pid(&c) {
        if mode != Mode::User {
            return Err(bad(format!(
                "container {name} was started on the default network and cannot join {} while it runs: stop it, connect it, then start it",
                n.name
            )));
        }
        let mut client = holder::Client::connect(&engine.paths)?;
        client.attach(attach_request(&c.config, n.clone(), &a, pid))?;
    }
    let mut cfg = c.config;
    if cfg.host.net.networks.is_empty() && cfg.host.network_mode != "bridge" {
        cfg.host.network_mode = n.name.clone();
    }
    cfg.host.net.disconnected = false;
    cfg.host.net.networks.push(a);
    store.write_config(&cfg)?;
    crate::events::emit(&engine.paths, "network", "connect", &n.id, &[("container", &id), ("name", &n.name)]);
    Ok(())
}

/// `rcon network disconnect NETWORK CONTAINER`.
pub fn disconnect(engine: &Engine, network: &str, container: &str, force: bool) -> Result<()> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(container)?;
    let _lock = store.lock_one(&id)?;
    let c = store.load(&id)?;
    let name = c.config.name.trim_start_matches('/').to_string();
    let n = NetworkStore::open(&engine.paths)?.find(network);
    let net_name = n.as_ref().map(|n| n.name.clone()).unwrap_or_else(|_| network.to_string());
    if !c.config.host.net.networks.iter().any(|a| a.network == net_name) {
        if force {
            return Ok(());
        }
        return Err(bad(format!("container {name} is not connected to network {net_name}")));
    }
    if running_pid(&c).is_some() && !holder::endpoints(&engine.paths).is_empty() {
        holder::Client::connect(&engine.paths)?.detach(&id, &net_name)?;
    }
    let mut cfg = c.config;
    cfg.host.net.networks.retain(|a| a.network != net_name);
    if cfg.host.network_mode == net_name {
        // Docker's container then has no network at all until connected again.
        cfg.host.network_mode =
            cfg.host.net.networks.first().map(|a| a.network.clone()).unwrap_or_else(|| "none".into());
        cfg.host.net.disconnected = cfg.host.net.networks.is_empty();
    }
    store.write_config(&cfg)?;
    if let Ok(n) = n {
        crate::events::emit(&engine.paths, "network", "disconnect", &n.id, &[("container", &id), ("name", &n.name)]);
    }
    Ok(())
}
