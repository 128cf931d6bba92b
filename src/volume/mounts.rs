//! Volumes as containers use them: who uses which volume, removal that
//! respects that, the `mount`/`unmount` events, the anonymous volumes a
//! container takes along, and the mounts resolved for the runtime. Shared
//! by the engine's verbs and the monitor.

use std::collections::HashMap;

use super::{Backing, VolumeStore, FROM_MOUNT};
use crate::container::{ContainerConfig, ContainerStore, Mount};
use crate::error::{Error, ErrorKind, Result};
use crate::paths::Paths;

/// Docker's volume events (driver attribute only for create and destroy).
pub fn volume_event(paths: &Paths, name: &str, action: &str) {
    crate::events::emit(paths, "volume", action, name, &[("driver", "local")]);
}

/// `mount` (before the container's start event) or `unmount` (after its die
/// event) for each named or anonymous volume of the container, as Docker's
/// daemon logs them when it sets up and tears down the container's mounts.
pub fn mount_events(paths: &Paths, cfg: &ContainerConfig, action: &str) {
    for m in cfg.host.mounts.iter().filter(|m| m.kind == "volume") {
        let rw = if m.readonly { "false" } else { "true" };
        let attrs: &[(&str, &str)] = if action == "mount" {
            &[
                ("container", &cfg.id),
                ("destination", &m.target),
                ("driver", "local"),
                ("propagation", ""),
                ("read/write", rw),
            ]
        } else {
            &[("container", &cfg.id), ("driver", "local")]
        };
        crate::events::emit(paths, "volume", action, &m.source, attrs);
    }
}

/// Volume name → ids of the containers (any state) that mount it.
pub fn users(paths: &Paths) -> Result<HashMap<String, Vec<String>>> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    for c in ContainerStore::open(paths)?.all() {
        for mnt in c.config.host.mounts.iter().filter(|m| m.kind == "volume") {
            m.entry(mnt.source.clone()).or_default().push(c.config.id.clone());
        }
    }
    Ok(m)
}

/// `rcon volume rm`: refused while any container (even a stopped one) uses
/// it, as Docker does; `force` only forgives a missing volume.
pub fn remove(paths: &Paths, name: &str, force: bool) -> Result<()> {
    let store = VolumeStore::open(paths)?;
    let lock = store.lock()?;
    // A damaged record is removable: that is the way out the error names.
    if let Err(e) = store.get_any(name) {
        return if force { Ok(()) } else { Err(e) };
    }
    if let Some(ids) = users(paths)?.get(name) {
        return Err(Error::Conflict(format!(
            "remove {name}: volume is in use by container {}: remove the container first",
            ids.iter().map(|i| &i[..12]).collect::<Vec<_>>().join(", ")
        )));
    }
    store.remove(name)?;
    drop(lock);
    volume_event(paths, name, "destroy");
    // What killed commands left goes with the next change (issue 12).
    store.sweep()
}

/// `rm -v` and `run --rm`: the container's anonymous volumes that no other
/// container uses. Call after the container's record is gone.
pub fn remove_anonymous(paths: &Paths, cfg: &ContainerConfig) -> Result<()> {
    let store = VolumeStore::open(paths)?;
    for m in cfg.host.mounts.iter().filter(|m| m.kind == "volume") {
        if store.get(&m.source).is_ok_and(|v| v.anonymous()) {
            match remove(paths, &m.source, true) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Conflict => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// The mounts as the runtime takes them: volumes resolved to host paths (or
/// tmpfs/bind for volumes with driver options), markers stripped.
pub fn launch_mounts(paths: &Paths, mounts: &[Mount]) -> Result<Vec<Mount>> {
    let store = VolumeStore::open(paths)?;
    let mut out = Vec::new();
    for m in mounts {
        let mut m = m.clone();
        m.options.retain(|o| o != FROM_MOUNT);
        if m.kind == "volume" {
            match store.backing(&m.source).map_err(|_| {
                Error::NoSuchVolume(format!(
                    "volume {} of the container is gone: recreate it with rcon volume create {}",
                    m.source, m.source
                ))
            })? {
                Backing::Dir(p) => m.source = p.display().to_string(),
                Backing::Bind(p) => {
                    m.kind = "bind".into();
                    m.source = p.display().to_string();
                    m.options.clear();
                }
                Backing::Tmpfs(o) => {
                    m.kind = "tmpfs".into();
                    m.source = "tmpfs".into();
                    m.options = o;
                }
            }
        }
        out.push(m);
    }
    Ok(out)
}
