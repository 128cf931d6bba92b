//! `ps`: Docker's columns, `--format`, `-q`, `-s`, over the engine's
//! filtered list (`engine::ps`).

use clap::Args;
use serde_json::{json, Value};

use super::{out, CmdResult};
use crate::engine::containers as eng;
use crate::engine::Engine;
use crate::format::{table, units};

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Filter output based on conditions provided (id, name, label, status, ancestor, exited)
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1)]
    last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    latest: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
}

const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Size", "SIZE"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
];

pub fn ps(engine: &Engine, a: PsArgs) -> CmdResult {
    let filters = a.filter.iter().map(|f| crate::engine::ps::Filter::parse(f)).collect::<crate::Result<Vec<_>>>()?;
    let opts = crate::engine::ps::ListOptions {
        all: a.all,
        filters,
        last: (a.last >= 0).then_some(a.last as usize),
        latest: a.latest,
    };
    let selected = crate::engine::ps::list(engine, &opts)?;
    if a.quiet {
        out(&selected
            .iter()
            .map(|c| if a.no_trunc { c.config.id.clone() } else { c.config.id[..12].to_string() } + "\n")
            .collect::<String>());
        return Ok(0);
    }
    let now = crate::image::store::now_secs();
    let rows: Vec<Value> = selected.iter().map(|c| row(engine, c, now, a.no_trunc, a.size)).collect();
    let default = if a.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    out(&table::render_list(a.format.as_deref().unwrap_or(""), default, PS_HEADERS, &rows)?);
    Ok(0)
}

/// Docker's SIZE column: the writable layer, and the image under it.
fn size_text(engine: &Engine, c: &crate::container::Container) -> String {
    let rw = eng::writable_size(engine, &c.config.id);
    let image = engine.store().ok().and_then(|s| s.resolve(&c.config.image).ok()).map(|i| i.size).unwrap_or(0);
    format!("{} (virtual {})", units::human_size(rw), units::human_size(rw + image))
}

/// One container as `ps --format` sees it (Docker's field names); compose
/// `ps` adds its own fields to the same row.
pub(super) fn row(engine: &Engine, c: &crate::container::Container, now: i64, no_trunc: bool, size: bool) -> Value {
    let argv: Vec<String> = c.config.entrypoint.iter().chain(c.config.cmd.iter()).cloned().collect();
    let mut command = argv.join(" ");
    if !no_trunc && command.chars().count() > 20 {
        command = command.chars().take(19).collect::<String>() + "…";
    }
    let created = units::parse_rfc3339(&c.config.created).map(|t| t.0).unwrap_or(now);
    let labels =
        c.config.labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",");
    json!({
        "Command": format!("\"{command}\""),
        "CreatedAt": units::go_time_string(created),
        "ID": if no_trunc { c.config.id.clone() } else { c.config.id[..12].to_string() },
        "Image": c.config.image_name,
        "Labels": labels,
        "LocalVolumes": "0",
        "Mounts": c.config.host.mounts.iter().map(|m| m.target.clone()).collect::<Vec<_>>().join(","),
        "Names": c.config.name,
        "Networks": if c.config.host.net.networks.is_empty() {
            c.config.host.network_mode.clone()
        } else {
            c.config.host.net.networks.iter().map(|a| a.network.as_str()).collect::<Vec<_>>().join(",")
        },
        "Ports": crate::engine::networks::ports_text(engine, c),
        "RunningFor": units::since(created, now),
        "Size": if size { size_text(engine, c) } else { String::new() },
        "State": c.state.status.as_str(),
        "Status": eng::status_text(c),
    })
}
