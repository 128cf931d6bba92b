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

