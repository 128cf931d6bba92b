//! `system migrate`: after the user's /etc/subuid or /etc/subgid ranges
//! changed, give the files of the store (layers, keep-id copies, containers'
//! upper dirs, volumes) the owners they had under the old mapping.
//!
//! The store records the mapping it wrote files with in `DATA/idmap.json`
//! (on first use). A file owned by host id h was container id
//! `old⁻¹(h)`; it must become host id `new(old⁻¹(h))`. Only a user
//! namespace with the new mapping can set those ids, and it can see only
//! the old host ids the new ranges still cover: files owned by others are
//! reported, not guessed (as root, `chown` them by hand, or `system reset`).

use std::path::PathBuf;

use super::Engine;
use crate::container::Status;
use crate::error::Result;
use crate::paths::Paths;
use crate::storage::userns::{self, IdMap};

const RECORD: &str = "idmap.json";

/// Write the mapping the store is used with, once (the first use of a
/// rootless store): later runs must keep the old one until `system migrate`.
pub fn record_idmap(paths: &Paths) {
    let path = paths.data.join(RECORD);
    if !path.exists() {
        let _ = crate::state::replace_json(&path, &IdMap::for_current_user());
    }
}

pub enum Outcome {
    /// Rootful stores hold the image's own ids: there is nothing to re-own.
    Rootful,
    Unchanged,
    Migrated {
        stopped: Vec<String>,
        changed: u64,
        outside: Vec<PathBuf>,
    },
}

/// Stop what runs (their files must not change owner under them), re-own
/// the store, record the new mapping. `on_stop` is told each container
/// stopped, as it happens.
pub fn migrate(engine: &Engine, on_stop: &mut dyn FnMut(&str)) -> Result<Outcome> {
    if !engine.paths.rootless {
        return Ok(Outcome::Rootful);
    }
    let path = engine.paths.data.join(RECORD);
    let new = IdMap::for_current_user();
    let old: IdMap = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            crate::Error::Other(format!("{} is damaged ({e}): cannot tell the old mapping", path.display()))
        })?,
        Err(_) => {
            // No record: nothing was written with another mapping that we know of.
            record_idmap(&engine.paths);
            return Ok(Outcome::Unchanged);
        }
    };
    if old == new {
        return Ok(Outcome::Unchanged);
    }
    let mut stopped = Vec::new();
    for c in super::containers::list(engine)? {
        if matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting) {
            super::containers::stop(engine, &c.config.id, None)?;
            on_stop(&c.config.name);
            stopped.push(c.config.name);
        }
    }
    let report = userns::migrate(&engine.paths.data, &old, &new)?;
    crate::state::replace_json(&path, &new)?;
    Ok(Outcome::Migrated { stopped, changed: report.changed, outside: report.outside })
}
