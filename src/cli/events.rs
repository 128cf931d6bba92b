//! `rcon events`: read the events journal (see crate::events), and follow it
//! until interrupted unless `--until` ends the window.

use crate::engine::Engine;
use crate::events::{default_line, Filter, Reader};
use crate::format::{table, units};
use clap::Args;

use super::{out, CmdResult};

#[derive(Args)]
pub struct EventsArgs {
    /// Show all events created since timestamp
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    until: Option<String>,
    /// Filter output based on conditions provided (type, event, container, image, label)
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format the output using the given Go template, or json
    #[arg(long)]
    format: Option<String>,
}

fn time_arg(flag: &str, v: &Option<String>, (now, nanos): (i64, u32)) -> anyhow::Result<Option<i128>> {
    let Some(v) = v else { return Ok(None) };
    // A duration counts back from now to the nanosecond, as Docker's does
    // (`--until 0s` includes what happened a moment ago).
    if let Some(d) = units::parse_go_duration(v).filter(|_| v != "0") {
        return Ok(Some(now as i128 * 1_000_000_000 + nanos as i128 - d));
    }
    let secs = units::parse_since_until(v, now).ok_or_else(|| {
        anyhow::anyhow!("invalid value {v:?} for {flag}: use a duration (10m), an RFC 3339 time or unix seconds")
    })?;
    // Unix seconds with a fraction (`date +%s.%N`) keep their nanoseconds.
    let frac = match v.split_once('.') {
        Some((int, f)) if int.bytes().all(|b| b.is_ascii_digit()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{f:0<9}")[..9].parse::<i128>().unwrap_or(0)
        }
        _ => 0,
    };
    Ok(Some(secs as i128 * 1_000_000_000 + frac))
}

pub fn events(engine: &Engine, a: EventsArgs) -> CmdResult {
    let (now, now_nanos) = units::now();
    let since = time_arg("--since", &a.since, (now, now_nanos))?;
    let until = time_arg("--until", &a.until, (now, now_nanos))?;
    let filter = Filter::parse(&a.filter)?;
    if let Some(f) = a.format.as_deref().filter(|f| *f != "json") {
        // A bad template fails now, not at the first event.
        crate::format::template::Template::parse(f)?;
    }
    // Without --since, Docker shows only what happens from now on (or,
    // with only --until, everything before it).
    let from = since.unwrap_or(if until.is_some() { 0 } else { now as i128 * 1_000_000_000 + now_nanos as i128 });
    let mut reader = Reader::open(&engine.paths);
    loop {
        for ev in reader.poll(&mut |w| eprintln!("Warning: {w}")) {
            let t = ev["timeNano"].as_i64().map(i128::from).unwrap_or(0);
            if t < from || until.is_some_and(|u| t > u) || !filter.matches(&ev) {
                continue;
            }
            match &a.format {
                None => out(&(default_line(&ev) + "\n")),
                Some(f) => out(&table::render_one(f, &ev)?),
            }
        }
        if let Some(u) = until {
            let (s, n) = units::now();
            if s as i128 * 1_000_000_000 + n as i128 > u {
                return Ok(0);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
