//! Resource limits through cgroups, as root (v1 controllers or the v2
//! unified tree). Rootless they need a delegated v2 subtree; on cgroup v1
//! (these machines) an unprivileged user gets none, so `create` refuses the
//! flags with an explanation instead of ignoring them.

use std::path::{Path, PathBuf};


use crate::container::resources::Limits;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const PERIOD: u64 = 100_000;

pub fn is_v2() -> bool {
    Path::new(CGROUP_ROOT).join("cgroup.controllers").exists()
}

/// Docker's RAMInBytes: binary units b, k, m, g, t (case-insensitive).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s =
        s.strip_suffix('b').filter(|r| !r.is_empty() && r.ends_with(|c: char| c.is_ascii_alphabetic())).unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        'b' => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

/// Parse `--memory`, `--cpus`, … as Docker validates them.
pub fn parse(res: &[(String, String)]) -> Result<Limits, String> {
    let mut l = Limits::default();
    let ncpu = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    for (flag, v) in res {
        match flag.as_str() {
            "--memory" => {
                let b = parse_bytes(v).ok_or_else(|| format!("invalid --memory {v:?}: use a size like 64m or 1g"))?;
                if b < 6 << 20 {
                    return Err("minimum memory limit allowed is 6MB".into());
                }
                l.memory = Some(b);
            }
            "--memory-swap" => {
                l.memory_swap = Some(if v == "-1" {
                    -1
                } else {
                    parse_bytes(v).ok_or_else(|| format!("invalid --memory-swap {v:?}"))? as i64
                });
            }
            "--cpus" => {
                let c: f64 = v.parse().map_err(|_| format!("invalid --cpus {v:?}: use a number like 1.5"))?;
                if c <= 0.0 || c > ncpu {
                    return Err(format!(
                        "range of CPUs is from 0.01 to {ncpu:.2}, as there are only {ncpu} CPUs available"
                    ));
                }
                l.cpu_quota = Some((c * PERIOD as f64) as u64);
            }
            "--cpu-shares" => l.cpu_shares = Some(v.parse().map_err(|_| format!("invalid --cpu-shares {v:?}"))?),
            "--cpuset-cpus" => {
                if !v.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '-') || v.is_empty() {
                    return Err(format!("invalid --cpuset-cpus {v:?}: use a list like 0-3 or 0,1"));
                }
                l.cpuset_cpus = Some(v.clone());
            }
            "--pids-limit" => l.pids_limit = Some(v.parse().map_err(|_| format!("invalid --pids-limit {v:?}"))?),
            other => return Err(format!("unknown resource flag {other}")),
        }
    }
    if let (Some(m), Some(s)) = (l.memory, l.memory_swap) {
        if s >= 0 && (s as u64) < m {
            return Err("minimum memoryswap limit should be larger than memory limit, see usage".into());
        }
    }
    if l.memory_swap.is_some() && l.memory.is_none() {
        return Err("you should always set the memory limit when using the memoryswap limit, see usage".into());
    }
    Ok(l)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_docker() {
        assert_eq!(parse_bytes("64m"), Some(64 << 20));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("512k"), Some(512 << 10));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("10mb"), Some(10 << 20));
        let l = parse(&[
            ("--memory".into(), "64m".into()),
            ("--cpus".into(), "0.5".into()),
            ("--pids-limit".into(), "10".into()),
        ])
        .unwrap();
        assert_eq!((l.memory, l.cpu_quota, l.pids_limit), (Some(64 << 20), Some(50_000), Some(10)));
        assert!(parse(&[("--memory".into(), "1m".into())]).unwrap_err().contains("6MB"));
        assert!(parse(&[("--cpus".into(), "1000".into())]).unwrap_err().contains("range of CPUs"));
        assert!(parse(&[("--memory-swap".into(), "1g".into())]).is_err());
    }
}
