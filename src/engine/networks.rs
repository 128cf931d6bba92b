//! What containers need of networking: checking `--network`, `-p`, `-P` and
//! `--expose` at create, choosing host ports and the helper at start, and
//! the published ports as `ps`, `port` and `inspect` show them.

use serde_json::{json, Map, Value};

use super::Engine;
use crate::container::{Container, ContainerConfig, ContainerStore, Status};
use crate::error::{Error, Result};
use crate::network::helper::Plan;
use crate::network::{ports, Mode, NetConfig};

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// Check the network flags of `create`; `--expose` adds to the exposed ports.
pub fn net_config(
    network: &str,
    publish: &[String],
    publish_all: bool,
    expose: &[String],
    exposed: &mut Map<String, Value>,
) -> Result<NetConfig> {
    let mode = Mode::parse(network)?;
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
