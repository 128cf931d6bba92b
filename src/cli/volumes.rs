//! `volume create/ls/inspect/rm/prune`: flags, columns and JSON as Docker has them.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{confirm, out, CmdResult};
use crate::engine::{volumes as eng, Engine};
use crate::format::table;

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(ListArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

pub fn dispatch(engine: &Engine, c: VolumeCommand) -> CmdResult {
    match c {
        VolumeCommand::Create(a) => create(engine, a),
        VolumeCommand::Ls(a) => list(engine, a),
        VolumeCommand::Inspect(a) => inspect(engine, a),
        VolumeCommand::Rm(a) => rm(engine, a),
        VolumeCommand::Prune(a) => prune(engine, a),
    }
}

#[derive(Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short, long, default_value = "local")]
    driver: String,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Set driver specific options (type=tmpfs, device=, o=)
    #[arg(short, long = "opt", value_name = "KEY=VALUE")]
    opt: Vec<String>,
    /// Specify volume name
    #[arg(long = "name", conflicts_with = "volume")]
    name: Option<String>,
    #[arg(value_name = "VOLUME")]
    volume: Option<String>,
}

pub fn create(engine: &Engine, a: CreateArgs) -> CmdResult {
    if a.driver != "local" {
        anyhow::bail!("volume driver {:?} is not available: rcon has the local driver only", a.driver);
    }
    let name = eng::create(engine, a.volume.as_deref().or(a.name.as_deref()), &a.label, &a.opt)?;
    out(&format!("{name}\n"));
    Ok(0)
}

#[derive(Args)]
pub struct ListArgs {
    /// Provide filter values (dangling=true|false, driver=, label=KEY[=VALUE], name=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    format: Option<String>,
    /// Only display volume names
    #[arg(short, long)]
    quiet: bool,
}

const HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
    ("CreatedAt", "CREATED AT"),
];

pub fn list(engine: &Engine, a: ListArgs) -> CmdResult {
    let rows = eng::list(engine, &a.filter)?;
    if a.quiet {
        out(&rows.iter().map(|r| format!("{}\n", r.volume.name)).collect::<String>());
        return Ok(0);
    }
    let values: Vec<Value> = rows
        .iter()
        .map(|r| {
            let labels: Vec<String> = r.volume.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!({
                "Availability": "N/A",
                "CreatedAt": r.volume.created,
                "Driver": "local",
                "Group": "N/A",
                "Labels": labels.join(","),
                "Links": r.links.to_string(),
                "Mountpoint": r.mountpoint,
                "Name": r.volume.name,
                "Scope": "local",
                "Size": "N/A",
                "Status": "N/A",
            })
        })
        .collect();
    out(&table::render_list(a.format.as_deref().unwrap_or(""), "table {{.Driver}}\t{{.Name}}", HEADERS, &values)?);
    Ok(0)
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true, value_name = "VOLUME")]
    volumes: Vec<String>,
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> CmdResult {
    super::images::inspect_each(&a.volumes, a.format.as_deref(), |n| eng::inspect(engine, n))
}

#[derive(Args)]
pub struct RmArgs {
    /// Do not fail on volumes that do not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true, value_name = "VOLUME")]
    volumes: Vec<String>,
}

pub fn rm(engine: &Engine, a: RmArgs) -> CmdResult {
    super::containers::each(&a.volumes, |n| eng::remove(engine, n, a.force))
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (label=KEY[=VALUE])
    #[arg(long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CmdResult {
    let warning = if a.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !a.force && !confirm(warning) {
        return Ok(0);
    }
    let (gone, bytes) = eng::prune(engine, a.all, &a.filter)?;
    let mut s = String::new();
    if !gone.is_empty() {
        s.push_str("Deleted Volumes:\n");
        for n in &gone {
            s.push_str(n);
            s.push('\n');
        }
        s.push('\n');
    }
    s.push_str(&format!("Total reclaimed space: {}\n", crate::format::units::human_size(bytes)));
    out(&s);
    Ok(0)
}
