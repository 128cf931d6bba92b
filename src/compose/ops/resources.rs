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
/// The names of the networks this call created (to undo on bad input).
pub fn ensure_networks(ctx: &Ctx, keys: &BTreeSet<String>) -> Result<Vec<String>> {
    let mut created = Vec::new();
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
                if let Err(e) = create_network(ctx, key, n) {
                    undo(ctx, &created, &[]);
                    return Err(e);
                }
                created.push(n.name.clone());
            }
            Err(e) => {
                undo(ctx, &created, &[]);
                return Err(e);
            }
        }
    }
    Ok(created)
}

/// Remove networks and volumes a failed `up` created, quietly.
pub fn undo(ctx: &Ctx, networks: &[String], volumes: &[String]) {
    for n in networks {
        let _ = crate::engine::networks::remove_network(ctx.engine, n, false);
    }
    for v in volumes {
        let _ = crate::engine::volumes::remove(ctx.engine, v, false);
    }
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
        Err(e)
            if e.kind() == ErrorKind::Conflict
                && crate::engine::networks::inspect_network(ctx.engine, &n.name).is_ok() => {}
        Err(e) => return Err(e),
    }
    ctx.emit("Network", &n.name, "Created");
    Ok(())
}

/// Make sure the named volumes exist (external ones must); the names of
/// those this call created.
pub fn ensure_volumes(ctx: &Ctx, keys: &BTreeSet<String>) -> Result<Vec<String>> {
    let mut created = Vec::new();
    let r = ensure_volumes_into(ctx, keys, &mut created);
    match r {
        Ok(()) => Ok(created),
        Err(e) => {
            undo(ctx, &[], &created);
            Err(e)
        }
    }
}

fn ensure_volumes_into(ctx: &Ctx, keys: &BTreeSet<String>, created: &mut Vec<String>) -> Result<()> {
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
                created.push(v.name.clone());
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
    // Declared ones, and (for a project known only by its labels) every
    // network labelled with it.
    let mut names: BTreeSet<String> =
        ctx.project.networks.values().filter(|n| !n.external).map(|n| n.name.clone()).collect();
    let label = format!("label={}={}", labels::PROJECT, ctx.project.name);
    names.extend(crate::engine::networks::list_networks(ctx.engine, &[label])?.into_iter().map(|r| r.name));
    for name in &names {
        let Ok(found) = crate::engine::networks::inspect_network(ctx.engine, name) else { continue };
        if label_of(&found, labels::PROJECT) != Some(ctx.project.name.as_str()) {
            continue;
        }
        ctx.emit("Network", name, "Removing");
        match crate::engine::networks::remove_network(ctx.engine, name, false) {
            Ok(()) => ctx.emit("Network", name, "Removed"),
            Err(e) => {
                (ctx.events)(super::Event {
                    detail: Some(e.to_string()),
                    ..super::Event::new("Network", name, "Error")
                });
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
                (ctx.events)(super::Event {
                    detail: Some(e.to_string()),
                    ..super::Event::new("Volume", &v.name, "Error")
                });
                failed = Some(e);
            }
        }
    }
    failed.map_or(Ok(()), Err)
}
