//! Resource limits through cgroups, as root (v1 controllers or the v2
//! unified tree). Rootless they need a delegated v2 subtree; on cgroup v1
//! (these machines) an unprivileged user gets none, so `create` refuses the
//! flags with an explanation instead of ignoring them.

use std::path::{Path, PathBuf};

use crate::container::resources::Limits;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
use crate::container::resources::CPU_PERIOD as PERIOD;

pub fn is_v2() -> bool {
    Path::new(CGROUP_ROOT).join("cgroup.controllers").exists()
}

fn write(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    std::fs::write(dir.join(file), value).map_err(|e| format!("set {}/{file} to {value}: {e}", dir.display()))
}

/// The cgroup directories of container `id`, per controller (v1) or one (v2).
pub fn dirs(id: &str) -> Vec<(String, PathBuf)> {
    if is_v2() {
        vec![("unified".into(), Path::new(CGROUP_ROOT).join("rcon").join(id))]
    } else {
        ["memory", "cpu", "cpuset", "pids"]
            .iter()
            .map(|c| (c.to_string(), Path::new(CGROUP_ROOT).join(c).join("rcon").join(id)))
            .collect()
    }
}

/// Create the container's cgroups with `l` and move `pid` into them.
pub fn apply(id: &str, pid: u32, l: &Limits) -> Result<(), String> {
    if is_v2() {
        let root = Path::new(CGROUP_ROOT).join("rcon");
        std::fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
        let _ = std::fs::write(root.join("cgroup.subtree_control"), "+memory +cpu +cpuset +pids");
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        if let Some(m) = l.memory {
            write(&dir, "memory.max", &m.to_string())?;
        }
        if let Some(s) = l.memory_swap {
            let swap = if s < 0 { "max".to_string() } else { (s as u64 - l.memory.unwrap_or(0)).to_string() };
            write(&dir, "memory.swap.max", &swap)?;
        }
        if let Some(q) = l.cpu_quota {
            write(&dir, "cpu.max", &format!("{q} {PERIOD}"))?;
        }
        if let Some(s) = l.cpu_shares {
            // Docker's conversion of shares (2..262144) to weight (1..10000).
            write(&dir, "cpu.weight", &(1 + ((s.clamp(2, 262144) - 2) * 9999) / 262142).to_string())?;
        }
        if let Some(c) = &l.cpuset_cpus {
            write(&dir, "cpuset.cpus", c)?;
        }
        if let Some(p) = l.pids_limit {
            write(&dir, "pids.max", &if p <= 0 { "max".into() } else { p.to_string() })?;
        }
        return write(&dir, "cgroup.procs", &pid.to_string());
    }
    for (ctrl, dir) in dirs(id) {
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        match ctrl.as_str() {
            "memory" => {
                if let Some(m) = l.memory {
                    write(&dir, "memory.limit_in_bytes", &m.to_string())?;
                }
                if let Some(s) = l.memory_swap {
                    if dir.join("memory.memsw.limit_in_bytes").exists() {
                        write(&dir, "memory.memsw.limit_in_bytes", &s.to_string())?;
                    } else {
                        return Err("--memory-swap cannot be enforced: the kernel has no swap accounting (boot with swapaccount=1)".into());
                    }
                }
            }
            "cpu" => {
                if let Some(q) = l.cpu_quota {
                    write(&dir, "cpu.cfs_period_us", &PERIOD.to_string())?;
                    write(&dir, "cpu.cfs_quota_us", &q.to_string())?;
                }
                if let Some(s) = l.cpu_shares {
                    write(&dir, "cpu.shares", &s.to_string())?;
                }
            }
            "cpuset" => {
                // A new cpuset is empty: inherit mems (and cpus) from the parent.
                for f in ["cpuset.mems", "cpuset.cpus"] {
                    for d in [dir.parent().unwrap().to_path_buf(), dir.clone()] {
                        let parent = d.parent().unwrap();
                        if let Ok(v) = std::fs::read_to_string(parent.join(f)) {
                            let cur = std::fs::read_to_string(d.join(f)).unwrap_or_default();
                            if cur.trim().is_empty() {
                                write(&d, f, v.trim())?;
                            }
                        }
                    }
                }
                if let Some(c) = &l.cpuset_cpus {
                    write(&dir, "cpuset.cpus", c)?;
                }
            }
            "pids" => {
                if let Some(p) = l.pids_limit {
                    write(&dir, "pids.max", &if p <= 0 { "max".into() } else { p.to_string() })?;
                }
            }
            _ => {}
        }
        write(&dir, "cgroup.procs", &pid.to_string())?;
    }
    Ok(())
}

/// Remove the container's (now empty) cgroups.
pub fn remove(id: &str) {
    for (_, d) in dirs(id) {
        let _ = std::fs::remove_dir(d);
    }
}
