//! Restart policies (`--restart`), carried out by the monitor with Docker's
//! rules (daemon/restartmanager): the delay starts at 100 ms and doubles on
//! every restart up to a minute, and goes back to 100 ms once the container
//! has run for 10 seconds; a stop or kill by the user is never undone.
//!
//! The monitor restarts by re-executing itself (`rcon __monitor ID
//! --restarted --backoff-ms=N`): same pid and start time, so readers keep
//! seeing a live monitor, and a fresh process whose start-up memory is given
//! back as on the first start.

use std::time::Duration;

pub const DEFAULT_DELAY: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run this long resets the back-off.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// The delay before the next restart, given the previous one (zero for
/// none yet) and how long the container ran.
pub fn next_delay(previous: Duration, ran_for: Duration) -> Duration {
    let previous = if ran_for >= RESET_AFTER { Duration::ZERO } else { previous };
    if previous.is_zero() {
        DEFAULT_DELAY
    } else {
        (previous * 2).min(MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_caps_and_resets() {
        let short = Duration::from_secs(1);
        let mut d = Duration::ZERO;
        let mut seen = vec![];
        for _ in 0..12 {
            d = next_delay(d, short);
            seen.push(d.as_millis());
        }
        assert_eq!(&seen[..5], &[100, 200, 400, 800, 1600]);
        assert_eq!(*seen.last().unwrap(), 60_000);
        assert_eq!(next_delay(Duration::from_secs(30), Duration::from_secs(10)), DEFAULT_DELAY);
    }
}
