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
    /// `--restart no|always|unless-stopped|on-failure[:N]`.
    pub fn parse(s: &str) -> Result<RestartPolicy, String> {
        let (name, count) = match s.split_once(':') {
            Some((n, c)) => (n, Some(c)),
            None => (s, None),
        };
        let bad =
            || format!("invalid restart policy {s:?}: use no, always, unless-stopped or on-failure[:max-retries]");
        match (name, count) {
            ("" | "no" | "always" | "unless-stopped", None) => {}
            ("no" | "always" | "unless-stopped", Some(_)) => {
                return Err(format!("maximum retry count cannot be used with restart policy '{name}'"))
            }
            ("on-failure", _) => {}
            _ => return Err(bad()),
        }
        let maximum_retry_count = match count {
            None => 0,
            Some(c) => match c.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => return Err(format!("invalid maximum retry count {c:?} in --restart {s}: use a number ≥ 0")),
            },
        };
        let name = if name.is_empty() { "no" } else { name };
        Ok(RestartPolicy { name: name.to_string(), maximum_retry_count })
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

    #[test]
    fn parse_policies() {
        assert_eq!(RestartPolicy::parse("on-failure:3").unwrap().maximum_retry_count, 3);
        assert_eq!(RestartPolicy::parse("on-failure").unwrap().maximum_retry_count, 0);
        assert_eq!(RestartPolicy::parse("always").unwrap().name, "always");
        assert!(RestartPolicy::parse("").unwrap().is_none());
        assert!(RestartPolicy::parse("sometimes").unwrap_err().contains("invalid restart policy"));
        assert!(RestartPolicy::parse("always:3").unwrap_err().contains("maximum retry count"));
        assert!(RestartPolicy::parse("on-failure:x").is_err());
    }

    #[test]
    fn decisions() {
        let of2 = RestartPolicy::parse("on-failure:2").unwrap();
        assert!(of2.should_restart(1, false, 0));
        assert!(of2.should_restart(1, false, 1));
        assert!(!of2.should_restart(1, false, 2));
        assert!(!of2.should_restart(0, false, 0));
        let always = RestartPolicy::parse("always").unwrap();
        assert!(always.should_restart(0, false, 100));
        assert!(!always.should_restart(137, true, 0));
        assert!(always.starts_with_all(137, true, 0));
        let us = RestartPolicy::parse("unless-stopped").unwrap();
        assert!(!us.starts_with_all(137, true, 0));
        assert!(us.starts_with_all(137, false, 0));
        assert!(!RestartPolicy::parse("no").unwrap().should_restart(1, false, 0));
    }
}
