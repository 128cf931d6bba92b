//! `pause`/`unpause`, `update` (restart policy, resource limits) and `wait --condition`.
//!
//! Pausing: rcon's cgroups (root, with limits) have no freezer controller,
//! and rootless on cgroup v1 there are none, so a pause stops every process
//! of the container's pid namespace with SIGSTOP (rescanning until no new
//! process appears: one forked during the scan is caught on the next pass)
//! and unpause sends SIGCONT. The processes can see it (`ps` shows state T,
//! a parent may get SIGCHLD), unlike with a freezer.

use std::time::Duration;

use super::Engine;
use crate::container::resources::Limits;
use crate::container::restart::RestartPolicy;
use crate::container::{ContainerStore, Status};
use crate::error::{Error, Result};

fn signal_all(pid: u32, sig: i32) {
    let mut done: Vec<u32> = Vec::new();
    loop {
        let new: Vec<u32> = super::stats::namespace_members(pid).into_iter().filter(|p| !done.contains(p)).collect();
        if new.is_empty() {
            return;
        }
        for p in new {
            unsafe { libc::kill(p as i32, sig) };
            done.push(p);
        }
    }
}

pub fn pause(engine: &Engine, arg: &str) -> Result<()> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let _lock = store.lock_one(&id)?;
    let c = store.load(&id)?;
    match c.state.status {
        Status::Paused => return Err(Error::InvalidArgument(format!("container {arg} is already paused"))),
        Status::Running => {}
        _ => return Err(Error::NotRunning(arg.to_string())),
    }
    signal_all(c.state.pid, libc::SIGSTOP);
    let mut st = c.state;
    st.status = Status::Paused;
    store.write_state(&id, &st)?;
    crate::events::container(&engine.paths, &c.config, "pause", &[]);
    Ok(())
}

pub fn unpause(engine: &Engine, arg: &str) -> Result<()> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let _lock = store.lock_one(&id)?;
    let c = store.load(&id)?;
    if c.state.status != Status::Paused {
        return Err(Error::InvalidArgument(format!("container {arg} is not paused: there is nothing to unpause")));
    }
    let mut st = c.state;
    st.status = Status::Running;
    store.write_state(&id, &st)?;
    signal_all(st.pid, libc::SIGCONT);
    crate::events::container(&engine.paths, &c.config, "unpause", &[]);
    Ok(())
}

/// `rcon update --restart`: the monitor reads the policy when the container
/// exits, so a running container gets it too.
pub fn update_restart(engine: &Engine, arg: &str, policy: &RestartPolicy) -> Result<()> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let _lock = store.lock_one(&id)?;
    let mut cfg = store.load(&id)?.config;
    cfg.host.restart_policy = super::restart::policy_for(Some(policy.clone()), cfg.host.auto_remove)?;
    store.write_config(&cfg)?;
    crate::events::container(&engine.paths, &cfg, "update", &[]);
    Ok(())
}

/// `rcon update --memory/--cpus/--pids-limit`: the given limits replace
/// those of the record; a live container gets them in its cgroups at once
/// (made now, with all its processes moved in, if it ran without limits),
/// a stopped one at its next start. Rootless they are refused as at create.
pub fn update_resources(engine: &Engine, arg: &str, given: &Limits) -> Result<()> {
    super::containers::check_resources(engine, given)?;
    let given = given.clone();
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let _lock = store.lock_one(&id)?;
    let c = store.load(&id)?;
    let mut cfg = c.config;
    let had = !cfg.host.resources.is_empty();
    let l = &mut cfg.host.resources;
    l.memory = given.memory.or(l.memory);
    l.memory_swap = given.memory_swap.or(l.memory_swap);
    l.cpu_quota = given.cpu_quota.or(l.cpu_quota);
    l.cpu_shares = given.cpu_shares.or(l.cpu_shares);
    l.cpuset_cpus = given.cpuset_cpus.or(l.cpuset_cpus.take());
    l.pids_limit = given.pids_limit.or(l.pids_limit);
    if let (Some(m), Some(s)) = (l.memory, l.memory_swap) {
        if s >= 0 && (s as u64) < m {
            return Err(Error::InvalidArgument(
                "memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
                    .into(),
            ));
        }
    }
    let live = matches!(c.state.status, Status::Running | Status::Paused) && c.state.pid > 0;
    if live {
        let pid = c.state.pid;
        crate::runtime::cgroups::apply(&id, pid, l).map_err(|e| Error::Other(format!("update {arg}: {e}")))?;
        if !had {
            // Its processes ran in no cgroup of ours: all of them go in, not only the init.
            for p in super::stats::namespace_members(pid) {
                for (_, dir) in crate::runtime::cgroups::dirs(&id) {
                    let _ = std::fs::write(dir.join("cgroup.procs"), p.to_string());
                }
            }
        }
    }
    store.write_config(&cfg)?;
    crate::events::container(&engine.paths, &cfg, "update", &[]);
    Ok(())
}

/// `rcon wait --condition`: not-running (Docker's default), next-exit or
/// removed. Returns the exit code.
pub fn wait(engine: &Engine, arg: &str, condition: &str, cancel: &super::Cancel) -> Result<Option<i32>> {
    let store = ContainerStore::open(&engine.paths)?;
    let id = store.resolve(arg)?;
    let first = store.load(&id)?;
    let mut last_code = first.state.exit_code;
    loop {
        let c = match store.load(&id) {
            Ok(c) => c,
            // Gone: what `removed` waits for; a --rm container ends so too,
            // and its exit code is in the journal if we never saw it exited.
            Err(Error::NoSuchContainer(_)) => {
                return Ok(Some(crate::events::last_exit_code(&engine.paths, &id).unwrap_or(last_code)))
            }
            Err(e) => return Err(e),
        };
        last_code = c.state.exit_code;
        let live = matches!(c.state.status, Status::Running | Status::Restarting | Status::Paused);
        match condition {
            "not-running" | "" if !live => return Ok(Some(c.state.exit_code)),
            // A new exit: the finish time moved on since we started waiting.
            "next-exit" if c.state.finished_at != first.state.finished_at && !c.state.finished_at.is_empty() => {
                return Ok(Some(c.state.exit_code))
            }
            "not-running" | "" | "next-exit" | "removed" => {}
            other => {
                return Err(Error::InvalidArgument(format!(
                    "invalid condition {other:?}: use not-running, next-exit or removed"
                )))
            }
        }
        if cancel.is_cancelled() {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
