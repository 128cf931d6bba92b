//! `rcon stats`: Docker's columns, sampled by this process (no daemon).

use crate::engine::stats::{self, Sample};
use crate::engine::Engine;
use crate::format::{table, units};
use clap::Args;
use serde_json::{json, Value};

use super::{out, CmdResult};

#[derive(Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Format output using a custom template: table, table TEMPLATE, json or a Go template
    #[arg(long)]
    format: Option<String>,
    #[arg(value_name = "CONTAINER")]
    containers: Vec<String>,
}

const TABLE: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

fn pair(v: Option<(u64, u64)>) -> String {
    v.map(|(a, b)| format!("{} / {}", units::human_size(a), units::human_size(b))).unwrap_or_else(|| "--".into())
}

fn row(c: &crate::container::Container, given: &str, cpu: Option<f64>, s: &Sample, no_trunc: bool) -> Value {
    let running = c.state.status == crate::container::Status::Running;
    let unknown = || "--".to_string();
    let id = if no_trunc { c.config.id.clone() } else { c.config.id[..12].to_string() };
    json!({
        "Container": if given.is_empty() { id.clone() } else { given.to_string() },
        "ID": id,
        "Name": c.config.name,
        "CPUPerc": cpu.filter(|_| running).map(|p| format!("{p:.2}%")).unwrap_or_else(unknown),
        "MemUsage": match (s.mem_usage, s.mem_limit) {
            (Some(u), Some(l)) if running => format!("{} / {}", units::bytes_size(u), units::bytes_size(l)),
            _ => unknown(),
        },
        "MemPerc": match (s.mem_usage, s.mem_limit) {
            (Some(u), Some(l)) if running && l > 0 => format!("{:.2}%", u as f64 / l as f64 * 100.0),
            _ => unknown(),
        },
        "NetIO": if running { pair(s.net) } else { unknown() },
        "BlockIO": if running { pair(s.block) } else { unknown() },
        "PIDs": if running { s.pids.to_string() } else { unknown() },
    })
}

/// `stats` of these containers (`pod stats`).
pub(super) fn of_containers(engine: &Engine, ids: Vec<String>, no_stream: bool, format: Option<String>) -> CmdResult {
    stats(engine, StatsArgs { all: false, no_stream, no_trunc: false, format, containers: ids })
}

pub fn stats(engine: &Engine, a: StatsArgs) -> CmdResult {
    let format = a.format.clone().unwrap_or_default();
    let mut prev: Vec<Sample> = Vec::new();
    let mut first = true;
    loop {
        // Re-selected every round: containers come and go while streaming.
        let list = stats::select(engine, &a.containers, a.all)?;
        if prev.len() != list.len() || first {
            prev = list.iter().map(stats::sample).collect();
            // CPU % needs two readings.
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let mut rows = Vec::new();
        let mut now = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let s = stats::sample(c);
            let cpu = stats::cpu_percent(&prev[i], &s);
            let given = a.containers.get(i).map(String::as_str).unwrap_or("");
            rows.push(row(c, given, cpu, &s, a.no_trunc));
            now.push(s);
        }
        prev = now;
        let text = table::render_list(&format, TABLE, HEADERS, &rows)?;
        if a.no_stream {
            out(&text);
            return Ok(0);
        }
        // Docker redraws the screen each second.
        out(&format!("\x1b[2J\x1b[H{text}"));
        first = false;
        std::thread::sleep(std::time::Duration::from_millis(1000));
    }
}
