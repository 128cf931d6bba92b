//! Healthcheck records: the configuration (Docker's `Healthcheck` config
//! field), the recorded status (`.State.Health`, in
//! `DATA/containers/ID/health.json` under `health.lock`) and the rules that
//! turn one probe's result into a status, as Docker's daemon/health.go
//! applies them. The monitor schedules probes (`monitor::health`), the
//! engine runs them (`engine::health`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::state;

/// Docker's defaults (daemon/health.go).
pub const DEFAULT_INTERVAL_NS: i64 = 30_000_000_000;
pub const DEFAULT_TIMEOUT_NS: i64 = 30_000_000_000;
pub const DEFAULT_START_INTERVAL_NS: i64 = 5_000_000_000;
pub const DEFAULT_RETRIES: i64 = 3;
/// Docker keeps this many results and this much of each one's output.
pub const MAX_LOG_ENTRIES: usize = 5;
pub const MAX_OUTPUT_LEN: usize = 4096;

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

/// The image's or the user's healthcheck; durations in nanoseconds, 0 = default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn or_default(v: i64, d: i64) -> i64 {
    if v > 0 {
        v
    } else {
        d
    }
}

impl HealthConfig {
    /// Docker's merge of the user's settings over the image's: every field
    /// the user left unset comes from the image.
    pub fn merged_over(mut self, image: &HealthConfig) -> HealthConfig {
        if self.test.is_empty() {
            self.test = image.test.clone();
        }
        for (mine, theirs) in [
            (&mut self.interval, image.interval),
            (&mut self.timeout, image.timeout),
            (&mut self.start_period, image.start_period),
            (&mut self.start_interval, image.start_interval),
            (&mut self.retries, image.retries),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
        self
    }

    /// The command a probe runs, or None when there is no healthcheck
    /// (no test, or `NONE`).
    pub fn argv(&self) -> Option<Vec<String>> {
        match self.test.first().map(String::as_str) {
            Some("CMD") if self.test.len() > 1 => Some(self.test[1..].to_vec()),
            Some("CMD-SHELL") if self.test.len() > 1 => {
                Some(vec!["/bin/sh".into(), "-c".into(), self.test[1..].join(" ")])
            }
            _ => None,
        }
    }

    pub fn interval_ns(&self) -> i64 {
        or_default(self.interval, DEFAULT_INTERVAL_NS)
    }

    pub fn timeout_ns(&self) -> i64 {
        or_default(self.timeout, DEFAULT_TIMEOUT_NS)
    }

    pub fn start_interval_ns(&self) -> i64 {
        or_default(self.start_interval, DEFAULT_START_INTERVAL_NS)
    }

    pub fn retries(&self) -> i64 {
        or_default(self.retries, DEFAULT_RETRIES)
    }

    /// Time to wait before the next probe: the start interval while the
    /// container is still starting inside its start period, else the interval.
    pub fn next_delay_ns(&self, status: &str, since_start_ns: i64) -> i64 {
        if status == STARTING && since_start_ns < self.start_period {
            self.start_interval_ns()
        } else {
            self.interval_ns()
        }
    }
}

/// One probe's result, as `.State.Health.Log[]` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

/// `.State.Health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: String,
    pub failing_streak: i64,
    pub log: Vec<HealthResult>,
}

impl Default for Health {
    fn default() -> Self {
        Health { status: STARTING.into(), failing_streak: 0, log: Vec::new() }
    }
}

impl Health {
    /// Docker's rule: success makes it healthy; a failure counts towards the
    /// retries unless the container has never been healthy and is still in
    /// its start period.
    pub fn apply(&mut self, cfg: &HealthConfig, result: HealthResult, since_start_ns: i64) {
        if result.exit_code == 0 {
            self.failing_streak = 0;
            self.status = HEALTHY.into();
        } else if !(self.status == STARTING && since_start_ns < cfg.start_period) {
            self.failing_streak += 1;
            if self.failing_streak >= cfg.retries() {
                self.status = UNHEALTHY.into();
            }
        }
        self.log.push(result);
        if self.log.len() > MAX_LOG_ENTRIES {
            let extra = self.log.len() - MAX_LOG_ENTRIES;
            self.log.drain(..extra);
        }
    }

    /// Docker's text in `ps` STATUS: "health: starting", "healthy", "unhealthy".
    pub fn status_text(&self) -> String {
        if self.status == STARTING {
            "health: starting".into()
        } else {
            self.status.clone()
        }
    }
}

pub fn path(container_dir: &Path) -> std::path::PathBuf {
    container_dir.join("health.json")
}

pub fn read(container_dir: &Path) -> Option<Health> {
    state::read_json(&path(container_dir)).ok().flatten()
}

/// A fresh "starting" record: written by the monitor at every start.
pub fn reset(container_dir: &Path) -> crate::Result<()> {
    let _lock = state::Lock::exclusive(&container_dir.join("health.lock"))?;
    state::replace_json(&path(container_dir), &Health::default())
}

/// Add a probe's result (lock, re-read, change, write).
pub fn record(
    container_dir: &Path,
    cfg: &HealthConfig,
    result: HealthResult,
    since_start_ns: i64,
) -> crate::Result<Health> {
    let _lock = state::Lock::exclusive(&container_dir.join("health.lock"))?;
    let mut h = read(container_dir).unwrap_or_default();
    h.apply(cfg, result, since_start_ns);
    state::replace_json(&path(container_dir), &h)?;
    Ok(h)
}

/// Exit codes of `rcon __healthcheck`: the status the probe left behind, so
/// that the monitor never parses health.json (less code paged in per probe).
pub const EXIT_HEALTHY: i32 = 0;
pub const EXIT_UNHEALTHY: i32 = 1;
pub const EXIT_STARTING: i32 = 2;

pub fn exit_code_for(status: &str) -> i32 {
    match status {
        HEALTHY => EXIT_HEALTHY,
        UNHEALTHY => EXIT_UNHEALTHY,
        _ => EXIT_STARTING,
    }
}

/// `--health-on-failure` (podman's flag): what the monitor does once the
/// container is unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    None,
    Kill,
    Restart,
    Stop,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::None => "none",
            OnFailure::Kill => "kill",
            OnFailure::Restart => "restart",
            OnFailure::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<OnFailure> {
        Some(match s {
            "" | "none" => OnFailure::None,
            "kill" => OnFailure::Kill,
            "restart" => OnFailure::Restart,
            "stop" => OnFailure::Stop,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(code: i32) -> HealthResult {
        HealthResult { exit_code: code, ..Default::default() }
    }

    #[test]
    fn retries_then_unhealthy_then_healthy_again() {
        let cfg = HealthConfig { retries: 2, ..Default::default() };
        let mut h = Health::default();
        h.apply(&cfg, res(1), 0);
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 1));
        h.apply(&cfg, res(1), 0);
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 2));
        h.apply(&cfg, res(0), 0);
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 0));
    }

    #[test]
    fn failures_in_the_start_period_do_not_count() {
        let cfg = HealthConfig { retries: 1, start_period: 10_000, ..Default::default() };
        let mut h = Health::default();
        h.apply(&cfg, res(1), 5_000);
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        h.apply(&cfg, res(1), 20_000);
        assert_eq!(h.status, UNHEALTHY);
        // once healthy, the start period no longer shields failures
        let mut h = Health::default();
        h.apply(&cfg, res(0), 1_000);
        h.apply(&cfg, res(1), 2_000);
        assert_eq!(h.status, UNHEALTHY);
    }

    #[test]
    fn log_keeps_the_last_five() {
        let cfg = HealthConfig::default();
        let mut h = Health::default();
        for i in 0..7 {
            h.apply(&cfg, res(i), 0);
        }
        assert_eq!(h.log.iter().map(|r| r.exit_code).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6]);
    }

    #[test]
    fn argv_and_merge() {
        let image = HealthConfig { test: vec!["CMD".into(), "true".into()], interval: 7, ..Default::default() };
        let user = HealthConfig { retries: 9, ..Default::default() }.merged_over(&image);
        assert_eq!(user.argv(), Some(vec!["true".to_string()]));
        assert_eq!((user.interval, user.retries), (7, 9));
        let shell = HealthConfig { test: vec!["CMD-SHELL".into(), "exit 1".into()], ..Default::default() };
        assert_eq!(shell.argv().unwrap(), ["/bin/sh", "-c", "exit 1"]);
        assert_eq!(HealthConfig { test: vec!["NONE".into()], ..Default::default() }.argv(), None);
        assert_eq!(shell.next_delay_ns(STARTING, 0), DEFAULT_INTERVAL_NS);
        let sp = HealthConfig { start_period: 100, ..shell };
        assert_eq!(sp.next_delay_ns(STARTING, 50), DEFAULT_START_INTERVAL_NS);
        assert_eq!(sp.next_delay_ns(HEALTHY, 50), DEFAULT_INTERVAL_NS);
    }
}
