//! A project's networks and volumes: created with compose's labels when
//! missing, checked when external, removed by `down` only when they are
//! the project's own.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{labels, Ctx, COMPOSE_VERSION};
use crate::error::{Error, ErrorKind, Result};

/// The network keys the services use (none for a `network_mode`).
pub fn used_networks(ctx: &Ctx, services: &BTreeSet<String>) -> BTreeSet<String> {
    services
        .iter()
        .filter_map(|s| ctx.project.services.get(s))
        .filter(|s| s.network_mode.is_none())
        .flat_map(|s| s.networks.keys().cloned())
        .collect()
}

/// The named volume keys the services mount.
pub fn used_volumes(ctx: &Ctx, services: &BTreeSet<String>) -> BTreeSet<String> {
    services
        .iter()
        .filter_map(|s| ctx.project.services.get(s))
        .flat_map(|s| s.volumes.iter())
        .filter(|v| v.kind == "volume")
        .filter_map(|v| v.source.clone())
        .filter(|k| ctx.project.volumes.contains_key(k))
        .collect()
}

fn label_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v["Labels"][key].as_str()
}

/// Make sure the networks exist: external ones must, the project's are
/// created (a name already taken by something that is not this project's
/// network is used, with compose's warning).
pub fn ensure_networks(ctx: &Ctx, keys: &BTreeSet<String>) -> Result<()> {
    for key in keys {
        let Some(n) = ctx.project.networks.get(key) else { continue };
        match crate::engine::networks::inspect_network(ctx.engine, &n.name) {
            Ok(found) => {
                if n.external {
                    continue;
                }
                match label_of(&found, labels::NETWORK) {
                    None => crate::util::warn(&format!(
                        "a network with name {} exists but was not created by compose; set `external: true` to use an existing network",
                        n.name
                    )),
                    Some(k) if k != key => {
                        return Err(Error::Conflict(format!(
                            "network {} was found but has incorrect label {}={k:?} (expected {key:?})",
                            n.name,
                            labels::NETWORK
                        )))
                    }
                    Some(_) => {}
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if n.external {
                    return Err(Error::NoSuchObject(format!(
                        "network {} declared as external, but could not be found: create it with `rcon network create {}`",
                        n.name, n.name
                    )));
                }
                create_network(ctx, key, n)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn create_network(ctx: &Ctx, key: &str, n: &crate::compose::Network) -> Result<()> {
    if let Some(d) = n.driver.as_deref().filter(|d| *d != "bridge") {
        return Err(Error::InvalidArgument(format!(
            "networks.{key}.driver: {d} is not available: rcon has the bridge driver only"
        )));
    }
    let pool = n.ipam.as_ref().and_then(|i| i.config.first());
    let mut l: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    l.push(format!("{}={key}", labels::NETWORK));
    l.push(format!("{}={}", labels::PROJECT, ctx.project.name));
    l.push(format!("{}={COMPOSE_VERSION}", labels::VERSION));
    ctx.emit("Network", &n.name, "Creating");
    let o = crate::engine::networks::CreateNetwork {
        name: n.name.clone(),
        driver: "bridge".into(),
        subnet: pool.and_then(|p| p.subnet.clone()),
        gateway: pool.and_then(|p| p.gateway.clone()),
        internal: n.internal,
        labels: l,
    };
    match crate::engine::networks::create_network(ctx.engine, &o) {
        Ok(_) => {}
        // Another `up` of this project made it a moment ago.
        Err(e) if e.kind() == ErrorKind::Conflict && crate::engine::networks::inspect_network(ctx.engine, &n.name).is_ok() => {}
        Err(e) => return Err(e),
    }
    ctx.emit("Network", &n.name, "Created");
    Ok(())
}

/// Make sure the named volumes exist (external ones must).
pub fn ensure_volumes(ctx: &Ctx, keys: &BTreeSet<String>) -> Result<()> {
    for key in keys {
        let Some(v) = ctx.project.volumes.get(key) else { continue };
        match crate::engine::volumes::inspect(ctx.engine, &v.name) {
            Ok(found) => {
                if !v.external && label_of(&found, labels::VOLUME).is_none() {
                    crate::util::warn(&format!(
                        "volume \"{}\" already exists but was not created by Docker Compose. Use `external: true` to use an existing volume",
                        v.name
                    ));
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if v.external {
                    return Err(Error::NoSuchVolume(format!(
                        "{} (declared as external: create it with `rcon volume create {}`)",
                        v.name, v.name
                    )));
                }
                if let Some(d) = v.driver.as_deref().filter(|d| *d != "local") {
                    return Err(Error::InvalidArgument(format!(
                        "volumes.{key}.driver: {d} is not available: rcon has the local driver only"
                    )));
                }
                let mut l: Vec<String> = v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                l.push(format!("{}={key}", labels::VOLUME));
                l.push(format!("{}={}", labels::PROJECT, ctx.project.name));
                l.push(format!("{}={COMPOSE_VERSION}", labels::VERSION));
                let opts: Vec<String> = v.driver_opts.iter().map(|(k, v)| format!("{k}={v}")).collect();
                ctx.emit("Volume", &v.name, "Creating");
                crate::engine::volumes::create(ctx.engine, Some(&v.name), &l, &opts)?;
                ctx.emit("Volume", &v.name, "Created");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `down`: the project's own networks (declared, not external, labelled
/// with this project), if nothing else uses them.
pub fn remove_networks(ctx: &Ctx) -> Result<()> {
    let mut failed = None;
    for n in ctx.project.networks.values().filter(|n| !n.external) {
        let Ok(found) = crate::engine::networks::inspect_network(ctx.engine, &n.name) else { continue };
        if label_of(&found, labels::PROJECT) != Some(ctx.project.name.as_str()) {
            continue;
        }
        ctx.emit("Network", &n.name, "Removing");
        match crate::engine::networks::remove_network(ctx.engine, &n.name, false) {
            Ok(()) => ctx.emit("Network", &n.name, "Removed"),
            Err(e) => {
                (ctx.events)(super::Event { detail: Some(e.to_string()), ..super::Event::new("Network", &n.name, "Error") });
                failed = Some(e);
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// `down -v`: the project's named volumes (declared, not external).
pub fn remove_volumes(ctx: &Ctx) -> Result<()> {
    let mut failed = None;
    for v in ctx.project.volumes.values().filter(|v| !v.external) {
        let Ok(found) = crate::engine::volumes::inspect(ctx.engine, &v.name) else { continue };
        if label_of(&found, labels::PROJECT) != Some(ctx.project.name.as_str()) {
            continue;
        }
        ctx.emit("Volume", &v.name, "Removing");
        match crate::engine::volumes::remove(ctx.engine, &v.name, false) {
            Ok(()) => ctx.emit("Volume", &v.name, "Removed"),
            Err(e) => {
                (ctx.events)(super::Event { detail: Some(e.to_string()), ..super::Event::new("Volume", &v.name, "Error") });
                failed = Some(e);
            }
        }
    }
    failed.map_or(Ok(()), Err)
}
