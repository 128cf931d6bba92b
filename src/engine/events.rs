//! `events`: the journal's events in a time window and matching filters,
//! handed to the caller as they come (following the journal until `until`,
//! or until the caller stops taking them).

use serde_json::Value;

use super::Engine;
use crate::events::{Filter, Reader};
use crate::format::units;

pub struct EventsOptions {
    /// Nanoseconds since the epoch; None: from now on (or everything, with
    /// only `until`), as Docker shows them.
    pub since: Option<i128>,
    pub until: Option<i128>,
    pub filter: Filter,
    /// Stop following when set.
    pub cancel: super::Cancel,
}

/// Every event of the window to `emit`, in order; returns at `until`, or
/// when `emit` fails or `o.cancel` is set (the reader went away).
pub fn follow(engine: &Engine, o: &EventsOptions, emit: &mut dyn FnMut(&Value) -> std::io::Result<()>) {
    let (now, now_nanos) = units::now();
    let from = o.since.unwrap_or(if o.until.is_some() { 0 } else { now as i128 * 1_000_000_000 + now_nanos as i128 });
    let mut reader = Reader::open(&engine.paths);
    loop {
        for ev in reader.poll(&mut |w| crate::util::warn(&w)) {
            let t = ev["timeNano"].as_i64().map(i128::from).unwrap_or(0);
            if t < from || o.until.is_some_and(|u| t > u) || !o.filter.matches(&ev) {
                continue;
            }
            if emit(&ev).is_err() {
                return;
            }
        }
        if o.cancel.is_cancelled() {
            return;
        }
        if let Some(u) = o.until {
            let (s, n) = units::now();
            if s as i128 * 1_000_000_000 + n as i128 > u {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
