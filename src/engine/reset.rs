//! `rcon system prune` and `rcon system reset`.

use std::time::{Duration, Instant};

use super::Engine;
use crate::container::{ContainerStore, Status};
use crate::error::{Error, Result};

pub struct Pruned {
    pub containers: Vec<String>,
    pub images: Vec<String>,
    pub reclaimed: u64,
}

/// Stopped containers, then dangling images (every unused one with `all`).
/// Volumes and networks belong to subsystems that do not exist yet.
pub fn prune(engine: &Engine, all: bool) -> Result<Pruned> {
    let store = ContainerStore::open(&engine.paths)?;
    let mut reclaimed: u64 = store
        .all()
        .iter()
        .filter(|c| c.state.status != Status::Running)
        .map(|c| super::containers::writable_size(engine, &c.config.id))
        .sum();
    let containers = super::containers::prune(engine)?;
    let (images, bytes) = super::images::prune(engine.store()?, all, &[])?;
    reclaimed += bytes;
    // Volumes are not pruned here (Docker: only with --volumes), but what
    // killed volume commands left is swept (issue 12).
    crate::volume::VolumeStore::open(&engine.paths)?.sweep()?;
    Ok(Pruned { containers, images, reclaimed })
}

/// Remove all of the user's rcon state: containers (running ones are killed
/// with their monitors), images, layers, the events journal; the data and
/// runtime directories go.
pub fn reset(engine: &Engine) -> Result<()> {
    if let Ok(store) = ContainerStore::open(&engine.paths) {
        for c in store.listed() {
            let st = &c.state;
            if matches!(st.status, Status::Running | Status::Paused | Status::Restarting)
                && crate::state::process_start_time(st.monitor_pid) == Some(st.monitor_start)
            {
                // The container dies with its monitor (PDEATHSIG).
                unsafe { libc::kill(st.monitor_pid as i32, libc::SIGKILL) };
                let deadline = Instant::now() + Duration::from_secs(10);
                while crate::state::process_start_time(st.monitor_pid) == Some(st.monitor_start)
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            if st.pid > 0 && crate::state::process_start_time(st.pid) == Some(st.pid_start) {
                unsafe { libc::kill(st.pid as i32, libc::SIGKILL) };
            }
        }
    }
    for dir in [&engine.paths.data, &engine.paths.runtime] {
        if !dir.exists() {
            continue;
        }
        // Files of mapped ids (layers, writable layers) need the user namespace.
        crate::storage::userns::remove_trash(dir)?;
        if dir.exists() {
            return Err(Error::Other(format!("could not remove {}: remove it by hand", dir.display())));
        }
    }
    Ok(())
}
