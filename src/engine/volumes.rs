//! Volume verbs (`volume create/ls/inspect/rm/prune`) and what containers
//! need of volumes: turning `-v`/`--mount`/`--tmpfs`/`--volumes-from` and the
//! image's VOLUMEs into mount records at create, resolving them to host paths
//! at start, removing anonymous volumes with their container, and the
//! `Mounts` of `inspect`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::Engine;
use crate::container::spec::VolumesFrom;
use crate::container::{ContainerConfig, ContainerStore, Mount};
use crate::error::{Error, ErrorKind, IoContext, Result};
use crate::format::units;
use crate::volume::{mounts, Volume, VolumeStore, ANONYMOUS_LABEL, FROM_MOUNT};

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// `KEY=VALUE` flags (labels, driver options) of volume and network create.
pub(crate) fn kv_map(items: &[String], what: &str) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for i in items {
        let (k, v) = i.split_once('=').unwrap_or((i, ""));
        if k.is_empty() {
            return Err(bad(format!("invalid {what} {i:?}: use KEY=VALUE")));
        }
        m.insert(k.to_string(), v.to_string());
    }
    Ok(m)
}

fn now_created() -> String {
    units::rfc3339_nano(crate::image::store::now_secs(), 0)
}

/// `rcon volume create [NAME]`: the name (generated: 64 hex digits).
pub fn create(engine: &Engine, name: Option<&str>, labels: &[String], opts: &[String]) -> Result<String> {
    let store = VolumeStore::open(&engine.paths)?;
    let name = name.map(String::from).unwrap_or_else(crate::container::names::new_id);
    let v = Volume {
        name,
        created: now_created(),
        labels: kv_map(labels, "label")?,
        options: kv_map(opts, "driver option (-o)")?,
        damaged: None,
    };
    let (v, made) = store.create(v)?;
    if made {
        volume_event(engine, &v.name, "create");
    }
    Ok(v.name)
}

fn volume_event(engine: &Engine, name: &str, action: &str) {
    mounts::volume_event(&engine.paths, name, action);
}

/// `rcon volume rm`: refused while any container (even a stopped one)
/// uses it, as Docker does; `force` only forgives a missing volume.
pub fn remove(engine: &Engine, name: &str, force: bool) -> Result<()> {
    mounts::remove(&engine.paths, name, force)
}

pub struct VolumeRow {
    pub volume: Volume,
    pub mountpoint: String,
    /// Containers using it (Docker's Links).
    pub links: usize,
}

/// `rcon volume ls` with Docker's filters: dangling, label, name, driver.
pub fn list(engine: &Engine, filters: &[String]) -> Result<Vec<VolumeRow>> {
    let store = VolumeStore::open(&engine.paths)?;
    let used = mounts::users(&engine.paths)?;
    let mut rows = Vec::new();
    'vols: for v in store.listed() {
        if let Some(e) = v.damaged_error() {
            crate::util::warn(&e.to_string());
        }
        let links = used.get(&v.name).map_or(0, Vec::len);
        for f in filters {
            let (k, val) = f.split_once('=').ok_or_else(|| bad(format!("invalid filter {f:?}: use KEY=VALUE")))?;
            let keep = match k {
                "dangling" => match val {
                    "true" | "1" => links == 0,
                    "false" | "0" => links > 0,
                    _ => return Err(bad(format!("invalid filter 'dangling={val}': use true or false"))),
                },
                "name" => v.name.contains(val),
                "driver" => val == "local",
                "label" => match val.split_once('=') {
                    Some((lk, lv)) => v.labels.get(lk).is_some_and(|x| x == lv),
                    None => v.labels.contains_key(val),
                },
                _ => return Err(bad(format!("invalid filter {k:?}: use dangling, driver, label or name"))),
            };
            if !keep {
                continue 'vols;
            }
        }
        rows.push(VolumeRow { mountpoint: store.mountpoint(&v.name).display().to_string(), links, volume: v });
    }
    Ok(rows)
}

/// `rcon volume inspect`, in Docker's shape.
pub fn inspect(engine: &Engine, name: &str) -> Result<Value> {
    let store = VolumeStore::open(&engine.paths)?;
    let v = store.get(name)?;
    let map = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
        }
    };
    Ok(json!({
        "CreatedAt": v.created,
        "Driver": "local",
        "Labels": map(&v.labels),
        "Mountpoint": store.mountpoint(&v.name),
        "Name": v.name,
        "Options": map(&v.options),
        "Scope": "local",
    }))
}

/// `rcon volume prune`: unused anonymous volumes, or with `all` every unused
/// volume (Docker ≥ 23). Filters as `ls` takes them (label only, in practice).
/// Returns the removed volumes and the bytes they held.
pub fn prune(engine: &Engine, all: bool, filters: &[String]) -> Result<(Vec<String>, u64)> {
    let store = VolumeStore::open(&engine.paths)?;
    let mut bytes = 0;
    let mut gone = Vec::new();
    let mut f = filters.to_vec();
    f.push("dangling=true".into());
    for row in list(engine, &f)? {
        // A damaged volume is removed only when asked by name.
        if (all || row.volume.anonymous()) && row.volume.damaged.is_none() {
            // A container may have claimed it since we listed: rm re-checks.
            let size = crate::util::tree_size(&store.mountpoint(&row.volume.name));
            match remove(engine, &row.volume.name, false) {
                Ok(()) => {
                    bytes += size;
                    gone.push(row.volume.name)
                }
                Err(e) if e.kind() == ErrorKind::Conflict => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok((gone, bytes))
}

/// Mounts for a new container from its flags and the image's VOLUMEs.
/// Creates the volumes they name (and the host directories `-v` binds, as
/// Docker does); returns the mounts and the volumes this call created, for
/// `discard_created` if the container cannot be created after all.
pub fn container_mounts(
    engine: &Engine,
    own: &[Mount],
    volumes_from: &[VolumesFrom],
    image_volumes: &Map<String, Value>,
) -> Result<(Vec<Mount>, Vec<String>)> {
    for (i, m) in own.iter().enumerate() {
        if own[..i].iter().any(|o| o.target == m.target) {
            return Err(bad(format!("duplicate mount point: {}", m.target)));
        }
        // Unlike -v, --mount never creates a missing host path.
        if m.kind == "bind" && m.options.iter().any(|o| o == FROM_MOUNT) && !std::path::Path::new(&m.source).exists() {
            return Err(bad(format!(
                "invalid mount config for type \"bind\": bind source path does not exist: {}",
                m.source
            )));
        }
    }
    let own = own.to_vec();
    // --volumes-from first; the container's own mounts win on the same target.
    let mut all: Vec<Mount> = Vec::new();
    if !volumes_from.is_empty() {
        let cstore = ContainerStore::open(&engine.paths)?;
        for vf in volumes_from {
            let id = cstore.resolve(&vf.container)?;
            for mut m in cstore.load(&id)?.config.host.mounts.into_iter().filter(|m| m.kind != "tmpfs") {
                if let Some(ro) = vf.readonly {
                    m.readonly = ro;
                }
                if !own.iter().chain(all.iter()).any(|o| o.target == m.target) {
                    all.push(m);
                }
            }
        }
    }
    all.extend(own);
    for path in image_volumes.keys() {
        let covered = all.iter().any(|m| m.target.trim_end_matches('/') == path.trim_end_matches('/'));
        if !covered && path.starts_with('/') {
            all.push(Mount { kind: "volume".into(), target: path.clone(), ..Default::default() });
        }
    }

    let store = VolumeStore::open(&engine.paths)?;
    let mut created = Vec::new();
    let res = (|| -> Result<()> {
        for m in all.iter_mut() {
            match m.kind.as_str() {
                "volume" => {
                    let anonymous = m.source.is_empty();
                    let mut labels = BTreeMap::new();
                    if anonymous {
                        m.source = crate::container::names::new_id();
                        labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
                    }
                    let v = Volume {
                        name: m.source.clone(),
                        created: now_created(),
                        labels,
                        options: BTreeMap::new(),
                        damaged: None,
                    };
                    if store.create(v)?.1 {
                        volume_event(engine, &m.source, "create");
                        created.push(m.source.clone());
                    }
                }
                // Docker creates a missing host directory for -v (not for --mount);
                // an existing file is bound onto a file, so only a missing path is made.
                "bind" if !m.options.iter().any(|o| o == FROM_MOUNT) && std::fs::metadata(&m.source).is_err() => {
                    std::fs::create_dir_all(&m.source).ctx(|| format!("create bind source {}", m.source))?;
                }
                _ => {}
            }
        }
        Ok(())
    })();
    if let Err(e) = res {
        discard_created(engine, &created);
        return Err(e);
    }
    Ok((all, created))
}

/// Remove volumes `container_mounts` created for a container that was not created.
pub fn discard_created(engine: &Engine, created: &[String]) {
    if let Ok(store) = VolumeStore::open(&engine.paths) {
        for n in created {
            if store.remove(n).is_ok() {
                volume_event(engine, n, "destroy");
            }
        }
    }
}

/// The `Mounts` array of `rcon inspect CONTAINER`, as Docker shows it
/// (`--tmpfs` mounts appear only in HostConfig.Tmpfs there).
pub fn inspect_mounts(engine: &Engine, cfg: &ContainerConfig) -> Vec<Value> {
    let store = VolumeStore::open(&engine.paths).ok();
    let mut out = Vec::new();
    for m in &cfg.host.mounts {
        let from_mount = m.options.iter().any(|o| o == FROM_MOUNT);
        let mode = if from_mount {
            ""
        } else if m.readonly {
            "ro"
        } else if m.kind == "volume" {
            "z"
        } else {
            ""
        };
        let propagation = m.options.iter().find_map(|o| o.strip_prefix("propagation=")).unwrap_or("rprivate");
        out.push(match m.kind.as_str() {
            "volume" => json!({
                "Type": "volume", "Name": m.source,
                "Source": store.as_ref().map(|s| s.mountpoint(&m.source).display().to_string()).unwrap_or_default(),
                "Destination": m.target, "Driver": "local", "Mode": mode, "RW": !m.readonly, "Propagation": "",
            }),
            "bind" => json!({
                "Type": "bind", "Source": m.source, "Destination": m.target, "Mode": mode, "RW": !m.readonly,
                "Propagation": propagation,
            }),
            _ if from_mount => json!({
                "Type": "tmpfs", "Source": "", "Destination": m.target, "Mode": "", "RW": !m.readonly, "Propagation": "",
            }),
            _ => continue,
        });
    }
    out
}

/// HostConfig.Binds: what was given with `-v` (binds and named volumes).
pub fn inspect_binds(engine: &Engine, cfg: &ContainerConfig) -> Vec<String> {
    let store = VolumeStore::open(&engine.paths).ok();
    cfg.host
        .mounts
        .iter()
        .filter(|m| !m.options.iter().any(|o| o == FROM_MOUNT))
        .filter(|m| match m.kind.as_str() {
            "bind" => true,
            "volume" => store.as_ref().and_then(|s| s.get(&m.source).ok()).is_some_and(|v| !v.anonymous()),
            _ => false,
        })
        .map(|m| format!("{}:{}{}", m.source, m.target, if m.readonly { ":ro" } else { "" }))
        .collect()
}

/// HostConfig.Tmpfs: the `--tmpfs` mounts and their options.
pub fn inspect_tmpfs(cfg: &ContainerConfig) -> Map<String, Value> {
    cfg.host
        .mounts
        .iter()
        .filter(|m| m.kind == "tmpfs" && !m.options.iter().any(|o| o == FROM_MOUNT))
        .map(|m| (m.target.clone(), Value::String(m.options.join(","))))
        .collect()
}
