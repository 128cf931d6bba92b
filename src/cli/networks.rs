//! `network create/ls/inspect/rm/prune/connect/disconnect`: flags, columns and JSON as Docker has them.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{confirm, out, CmdResult};
use crate::engine::{networks as eng, Engine};
use crate::format::table;

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ListArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

pub fn dispatch(engine: &Engine, c: NetworkCommand) -> CmdResult {
    match c {
        NetworkCommand::Create(a) => create(engine, a),
        NetworkCommand::Ls(a) => list(engine, a),
        NetworkCommand::Inspect(a) => inspect(engine, a),
        NetworkCommand::Rm(a) => rm(engine, a),
        NetworkCommand::Prune(a) => prune(engine, a),
        NetworkCommand::Connect(a) => {
            eng::connect(engine, &a.network, &a.container, &a.alias, a.ip.as_deref())?;
            Ok(0)
        }
        NetworkCommand::Disconnect(a) => {
            eng::disconnect(engine, &a.network, &a.container, a.force)?;
            Ok(0)
        }
    }
}

#[derive(Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long)]
    alias: Vec<String>,
    /// IPv4 address (e.g., 10.89.0.20)
    #[arg(long)]
    ip: Option<String>,
    network: String,
    container: String,
}

#[derive(Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    force: bool,
    network: String,
    container: String,
}

#[derive(Args)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    subnet: Option<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    gateway: Option<String>,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Set metadata on a network
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    #[arg(value_name = "NETWORK")]
    name: String,
}

pub fn create(engine: &Engine, a: CreateArgs) -> CmdResult {
    let o = eng::CreateNetwork {
        name: a.name,
        driver: a.driver,
        subnet: a.subnet,
        gateway: a.gateway,
        internal: a.internal,
        labels: a.label,
    };
    out(&format!("{}\n", eng::create_network(engine, &o)?));
    Ok(0)
}

#[derive(Args)]
pub struct ListArgs {
    /// Provide filter values (driver=, id=, label=KEY[=VALUE], name=, type=builtin|custom)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    format: Option<String>,
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate the output
    #[arg(long)]
    no_trunc: bool,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

pub fn list(engine: &Engine, a: ListArgs) -> CmdResult {
    let rows = eng::list_networks(engine, &a.filter)?;
    let id = |i: &str| if a.no_trunc { i.to_string() } else { i[..12].to_string() };
    if a.quiet {
        out(&rows.iter().map(|r| format!("{}\n", id(&r.id))).collect::<String>());
        return Ok(0);
    }
    let values: Vec<Value> = rows
        .iter()
        .map(|r| {
            let labels: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!({
                "ID": id(&r.id),
                "Name": r.name,
                "Driver": r.driver,
                "Scope": "local",
                "IPv6": "false",
                "Internal": r.internal.to_string(),
                "Labels": labels.join(","),
                "CreatedAt": r.created,
            })
        })
        .collect();
    let default = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
    out(&table::render_list(a.format.as_deref().unwrap_or(""), default, HEADERS, &values)?);
    Ok(0)
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true, value_name = "NETWORK")]
    networks: Vec<String>,
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> CmdResult {
    super::images::inspect_each(&a.networks, a.format.as_deref(), |n| eng::inspect_network(engine, n))
}

#[derive(Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true, value_name = "NETWORK")]
    networks: Vec<String>,
}

pub fn rm(engine: &Engine, a: RmArgs) -> CmdResult {
    super::containers::each(&a.networks, |n| eng::remove_network(engine, n, a.force))
}

#[derive(Args)]
pub struct PruneArgs {
    /// Provide filter values (label=KEY[=VALUE])
    #[arg(long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CmdResult {
    if !a.force && !confirm("WARNING! This will remove all custom networks not used by at least one container.") {
        return Ok(0);
    }
    let gone = eng::prune_networks(engine, &a.filter)?;
    if !gone.is_empty() {
        out(&format!("Deleted Networks:\n{}\n", gone.iter().map(|n| format!("{n}\n")).collect::<String>()));
    }
    Ok(0)
}
