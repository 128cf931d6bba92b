//! A container's network at its start: the helper to run and the host
//! ports it publishes (recorded for `ps`, `port` and `inspect`), and the
//! user networks it joins. Shared by the engine's verbs and the launch plan.

use super::helper::Plan;
use super::holder;
use super::user::{Network, NetworkStore};
use super::{ports, Mode, NetConfig};
use crate::container::{Container, ContainerConfig, ContainerStore, Status};
use crate::error::Result;
use crate::paths::Paths;

/// The helper to start for a container, with random host ports chosen now.
/// `user_nets`: on user networks, what the container joins (from
/// `attach_requests`, so the records are read once per start).
pub fn plan(
    store: &ContainerStore,
    cfg: &ContainerConfig,
    user_nets: Option<&[holder::AttachRequest]>,
) -> Result<Option<Plan>> {
    let mode = Mode::of(&cfg.host.network_mode, &cfg.host.net);
    let Some(kind) = mode.helper() else { return Ok(None) };
    // Internal networks have no way out: no slirp4netns unless another
    // network the container is on has one.
    if user_nets.is_some_and(|r| r.iter().all(|r| r.network.internal)) {
        return Ok(None);
    }
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

/// The user network records a container's attachments name.
pub fn attached_networks(paths: &Paths, net: &NetConfig) -> Result<Vec<(Network, super::Attachment)>> {
    let store = NetworkStore::open(paths)?;
    net.networks.iter().map(|a| Ok((store.find(&a.network)?, a.clone()))).collect()
}

pub fn attach_requests(paths: &Paths, cfg: &ContainerConfig) -> Result<Vec<holder::AttachRequest>> {
    Ok(attached_networks(paths, &cfg.host.net)?.into_iter().map(|(n, a)| attach_request(cfg, n, &a, 0)).collect())
}

pub fn attach_request(
    cfg: &ContainerConfig,
    network: Network,
    a: &super::Attachment,
    pid: u32,
) -> holder::AttachRequest {
    holder::AttachRequest {
        network,
        container: cfg.id.clone(),
        name: cfg.name.trim_start_matches('/').to_string(),
        aliases: a.aliases.clone(),
        ip: a.ip.clone(),
        pid,
    }
}
