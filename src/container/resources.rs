//! Resource limits a container asks for (`--memory`, `--cpus`, …, Docker's
//! HostConfig resources), enforced through cgroups by `runtime::cgroups`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub memory: Option<u64>,
    pub memory_swap: Option<i64>,
    /// CPU quota in units of 1/100000 of a period of 100 ms.
    pub cpu_quota: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<i64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

/// CPU quotas are in units of 1/100000 of cgroups' 100 ms period.
pub const CPU_PERIOD: u64 = 100_000;

impl Limits {
    /// Docker's daemon-side checks of limits a front end parsed: minimums,
    /// the CPUs this host has, and how memory and swap relate.
    pub fn check(&self) -> Result<(), String> {
        if self.memory.is_some_and(|m| m < 6 << 20) {
            return Err("minimum memory limit allowed is 6MB".into());
        }
        if let Some(q) = self.cpu_quota {
            let ncpu = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
            let c = q as f64 / CPU_PERIOD as f64;
            if q == 0 || c > ncpu {
                return Err(format!(
                    "range of CPUs is from 0.01 to {ncpu:.2}, as there are only {ncpu} CPUs available"
                ));
            }
        }
        if let (Some(m), Some(s)) = (self.memory, self.memory_swap) {
            if s >= 0 && (s as u64) < m {
                return Err("minimum memoryswap limit should be larger than memory limit, see usage".into());
            }
        }
        if self.memory_swap.is_some() && self.memory.is_none() {
            return Err("you should always set the memory limit when using the memoryswap limit, see usage".into());
        }
        Ok(())
    }

    /// The flag that set the first limit given, for messages ("--memory
    /// cannot be enforced rootless…").
    pub fn first_flag(&self) -> Option<&'static str> {
        [
            (self.memory.is_some(), "--memory"),
            (self.memory_swap.is_some(), "--memory-swap"),
            (self.cpu_quota.is_some(), "--cpus"),
            (self.cpu_shares.is_some(), "--cpu-shares"),
            (self.cpuset_cpus.is_some(), "--cpuset-cpus"),
            (self.pids_limit.is_some(), "--pids-limit"),
        ]
        .into_iter()
        .find_map(|(set, f)| set.then_some(f))
    }
}
