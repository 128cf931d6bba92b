//! `rcon stats`: CPU, memory, network and block I/O and pids per container.
//! There is no daemon keeping counters: each sample reads the container's
//! cgroup when it has one (root with limits: memory usage and limit), and
//! otherwise sums /proc over every process in the container's pid namespace
//! (membership by the namespace's inode, so `exec`'d processes count too).
//! A figure that cannot be known is None and printed as `--`.

use std::time::Instant;

use super::Engine;
use crate::container::{Container, ContainerStore, Status};
use crate::error::{Error, Result};

/// One reading of a container's counters.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub at: Option<Instant>,
    /// CPU time of its processes, in clock ticks.
    pub cpu_ticks: u64,
    pub mem_usage: Option<u64>,
    pub mem_limit: Option<u64>,
    /// Received, sent (its own network namespace, loopback excluded).
    pub net: Option<(u64, u64)>,
    /// Read, written (storage I/O of its processes).
    pub block: Option<(u64, u64)>,
    pub pids: u64,
}

/// A row of `rcon stats`: the figures of the last interval.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub cpu_percent: Option<f64>,
    pub sample: Sample,
}

/// The containers `stats` shows: the named ones (each must be running),
/// else the running ones (every one with `all`).
pub fn select(engine: &Engine, names: &[String], all: bool) -> Result<Vec<Container>> {
    let store = ContainerStore::open(&engine.paths)?;
    if names.is_empty() {
        let mut v: Vec<Container> =
            store.all().into_iter().filter(|c| all || c.state.status == Status::Running).collect();
        v.sort_by(|a, b| b.config.created.cmp(&a.config.created));
        return Ok(v);
    }
    let mut v = Vec::new();
    for n in names {
        let c = store.load(&store.resolve(n)?)?;
        if c.state.status != Status::Running {
            return Err(Error::Other(format!(
                "container {n} is not running: stats are read from its live processes; start it first"
            )));
        }
        v.push(c);
    }
    Ok(v)
}

/// Read a container's counters now (zeros for a stopped one).
pub fn sample(c: &Container) -> Sample {
    let mut s = Sample { at: Some(Instant::now()), ..Default::default() };
    if c.state.status != Status::Running || c.state.pid == 0 {
        return s;
    }
    let pid = c.state.pid;
    let mut rss_pages = 0u64;
    let mut io = Some((0u64, 0u64));
    for p in namespace_members(pid) {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        // Fields after "(comm)": state is [0]; utime [11], stime [12], threads [17], rss [21].
        let f: Vec<u64> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect())
            .unwrap_or_default();
        if f.len() < 22 {
            continue;
        }
        s.cpu_ticks += f[11] + f[12];
        s.pids += f[17].max(1);
        rss_pages += f[21];
        io = io.and_then(|(r, w)| {
            let text = std::fs::read_to_string(format!("/proc/{p}/io")).ok()?;
            let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)?.trim().parse::<u64>().ok());
            Some((r + get("read_bytes:")?, w + get("write_bytes:")?))
        });
    }
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    let cg = (!c.config.host.resources.is_empty()).then(|| cgroup_memory(&c.config.id)).flatten();
    s.mem_usage = Some(cg.map(|(u, _)| u).unwrap_or(rss_pages * page));
    // (an unlimited cgroup reports a huge number: the host's memory is the limit)
    let host = host_memory();
    s.mem_limit = cg.and_then(|(_, l)| l).filter(|l| host.is_none_or(|h| *l < h)).or(host);
    s.block = io;
    // The host's network is not the container's to count.
    if c.config.host.network_mode != "host" {
        s.net = net_dev(pid);
    }
    s
}

/// Every process in the pid namespace of `pid` (the container's init): the
/// container's processes, including those `exec` started.
pub fn namespace_members(pid: u32) -> Vec<u32> {
    let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/pid")) else { return Vec::new() };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok().as_ref() == Some(&ns))
        .collect()
}

/// CPU % between two samples: Docker's figure, which may exceed 100 on
/// several CPUs (CPU time over wall time).
pub fn cpu_percent(prev: &Sample, now: &Sample) -> Option<f64> {
    let (a, b) = (prev.at?, now.at?);
    let wall = b.duration_since(a).as_secs_f64();
    if wall <= 0.0 {
        return None;
    }
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(now.cpu_ticks.saturating_sub(prev.cpu_ticks) as f64 / hz / wall * 100.0)
}

fn cgroup_memory(id: &str) -> Option<(u64, Option<u64>)> {
    for (ctl, dir) in crate::runtime::cgroups::dirs(id) {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok().and_then(|v| v.trim().parse::<u64>().ok());
        match ctl.as_str() {
            "memory" => return Some((read("memory.usage_in_bytes")?, read("memory.limit_in_bytes"))),
            "" | "unified" => return Some((read("memory.current")?, read("memory.max"))),
            _ => {}
        }
    }
    None
}

fn host_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 =
        text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

fn net_dev(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?;
    let mut total = (0, 0);
    for l in text.lines().skip(2) {
        let Some((name, rest)) = l.split_once(':') else { continue };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
        if f.len() >= 9 {
            total.0 += f[0];
            total.1 += f[8];
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_cpu_time_over_wall_time() {
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        let t0 = Instant::now();
        let a = Sample { at: Some(t0), cpu_ticks: 0, ..Default::default() };
        let b = Sample { at: Some(t0 + std::time::Duration::from_secs(2)), cpu_ticks: hz, ..Default::default() };
        assert!((cpu_percent(&a, &b).unwrap() - 50.0).abs() < 0.01);
        assert_eq!(cpu_percent(&Sample::default(), &b), None);
    }
}
