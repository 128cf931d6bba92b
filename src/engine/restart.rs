//! Restart policies from the engine's side: `--restart` checked at create,
//! stopping a container that waits to be restarted, `start --all`.

use std::time::{Duration, Instant};

use super::Engine;
use crate::container::restart::RestartPolicy;
use crate::container::{ContainerStore, Status};
use crate::error::{Error, Result};

/// The restart policy of a new container (Docker refuses one with `--rm`).
pub fn policy_for(p: Option<RestartPolicy>, auto_remove: bool) -> Result<RestartPolicy> {
    let p = p.unwrap_or_else(|| RestartPolicy { name: "no".into(), maximum_retry_count: 0 });
    p.check().map_err(Error::InvalidArgument)?;
    if auto_remove && !p.is_none() {
        return Err(Error::InvalidArgument(
            "conflicting options: --restart and --rm: a container that removes itself cannot be restarted".into(),
        ));
    }
    Ok(p)
}

/// Stop a container whose monitor is waiting out the back-off: mark the
/// stop as the user's, so no policy undoes it, and wake the monitor.
pub fn cancel(store: &ContainerStore, id: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let c = store.load(id)?;
        if !matches!(c.state.status, Status::Restarting | Status::Running) {
            return Ok(());
        }
        let mut st = c.state.clone();
        st.stopped_by_user = true;
        store.write_state(id, &st)?;
        match c.state.status {
            Status::Restarting if crate::state::process_start_time(st.monitor_pid) == Some(st.monitor_start) => unsafe {
                libc::kill(st.monitor_pid as i32, libc::SIGTERM);
            },
            // It came back up just before our mark reached it.
            Status::Running if st.pid > 0 => unsafe {
                libc::kill(st.pid as i32, libc::SIGKILL);
            },
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(Error::Other(format!("container {} did not stop restarting", c.config.name)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `rcon start --all`: bring back what a daemon would at its start
/// (containers with `always`, and `unless-stopped`/`on-failure` ones the
/// user did not stop), e.g. from a user service at boot. Returns each
/// container's name and the outcome.
pub fn start_all(engine: &Engine) -> Result<Vec<(String, Result<()>)>> {
    let store = ContainerStore::open(&engine.paths)?;
    let mut out = Vec::new();
    for c in store.all() {
        let st = &c.state;
        if st.status != Status::Exited
            || !c.config.host.restart_policy.starts_with_all(st.exit_code, st.stopped_by_user, st.restart_count)
        {
            continue;
        }
        let r = super::containers::start(engine, &c.config.id, Default::default()).map(|_| ());
        out.push((c.config.name, r));
    }
    Ok(out)
}

/// `rcon restart`: stop (honoured by the policy), start, and say so.
pub fn restart(engine: &Engine, arg: &str, timeout: Option<i64>) -> Result<()> {
    super::containers::stop(engine, arg, timeout)?;
    let c = super::containers::get(engine, arg)?;
    super::containers::start(engine, &c.config.id, Default::default())?;
    crate::events::container(&engine.paths, &c.config, "restart", &[]);
    Ok(())
}
