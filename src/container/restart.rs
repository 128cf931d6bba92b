//! Docker's restart policy (`HostConfig.RestartPolicy`) and its rules
//! (daemon/restartmanager's ShouldRestart); the monitor carries it out
//! (`monitor::restart`: the back-off and the re-executed monitor).

use serde::{Deserialize, Serialize};

/// Docker's `HostConfig.RestartPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// "no" (also ""), "always", "unless-stopped" or "on-failure".
    pub name: String,
    pub maximum_retry_count: i64,
}

impl RestartPolicy {
    /// Docker's check of a policy (the API server gets name and count
    /// separately): a known name, and a retry count only for on-failure.
    pub fn check(&self) -> Result<(), String> {
        match self.name.as_str() {
            "" | "no" | "always" | "unless-stopped" if self.maximum_retry_count != 0 => {
                Err(format!("maximum retry count cannot be used with restart policy '{}'", self.name))
            }
            "" | "no" | "always" | "unless-stopped" | "on-failure" if self.maximum_retry_count >= 0 => Ok(()),
            "on-failure" => Err("maximum retry count must be a positive number".into()),
            n => {
                Err(format!("invalid restart policy {n:?}: use no, always, unless-stopped or on-failure[:max-retries]"))
            }
        }
    }

    pub fn is_none(&self) -> bool {
        self.name.is_empty() || self.name == "no"
    }

    /// Docker's ShouldRestart: does this exit call for a restart? A user's
    /// stop or kill (`stopped_by_user`) cancels every policy.
    pub fn should_restart(&self, exit_code: i32, stopped_by_user: bool, restart_count: u32) -> bool {
        if stopped_by_user {
            return false;
        }
        match self.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => {
                exit_code != 0 && (self.maximum_retry_count == 0 || (restart_count as i64) < self.maximum_retry_count)
            }
            _ => false,
        }
    }

    /// What `rcon start --all` brings back (Docker's daemon start): always
    /// even after a user's stop; unless-stopped and on-failure as the
    /// monitor would have.
    pub fn starts_with_all(&self, exit_code: i32, stopped_by_user: bool, restart_count: u32) -> bool {
        self.name == "always" || self.should_restart(exit_code, stopped_by_user, restart_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, n: i64) -> RestartPolicy {
        RestartPolicy { name: name.into(), maximum_retry_count: n }
    }

    #[test]
    fn decisions() {
        let of2 = p("on-failure", 2);
        assert!(of2.should_restart(1, false, 0));
        assert!(of2.should_restart(1, false, 1));
        assert!(!of2.should_restart(1, false, 2));
        assert!(!of2.should_restart(0, false, 0));
        let always = p("always", 0);
        assert!(always.should_restart(0, false, 100));
        assert!(!always.should_restart(137, true, 0));
        assert!(always.starts_with_all(137, true, 0));
        let us = p("unless-stopped", 0);
        assert!(!us.starts_with_all(137, true, 0));
        assert!(us.starts_with_all(137, false, 0));
        assert!(!p("no", 0).should_restart(1, false, 0));
    }
}
