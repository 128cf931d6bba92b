//! `pod create/ls/ps/inspect/start/stop/restart/kill/pause/unpause/rm/
//! prune/top/stats/logs`: podman's pod commands, columns and JSON, over
//! `engine::pods`.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{confirm, flags, out, CmdResult};
use crate::container::Status;
use crate::engine::{pods as eng, Engine};
use crate::format::{table, units};

#[derive(Subcommand)]
pub enum PodCommand {
    /// Create a new empty pod
    Create(CreateArgs),
    /// List pods
    #[command(name = "ps", visible_alias = "ls", alias = "list")]
    Ps(ListArgs),
    /// Display detailed information on one or more pods
    Inspect(InspectArgs),
    /// Start one or more pods
    Start(NamesArgs),
    /// Stop one or more pods
    Stop(StopArgs),
    /// Restart one or more pods
    Restart(NamesArgs),
    /// Send a signal to the containers of one or more pods
    Kill(KillArgs),
    /// Pause the containers of one or more pods
    Pause(NamesArgs),
    /// Unpause the containers of one or more pods
    Unpause(NamesArgs),
    /// Remove one or more pods
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove every pod none of whose containers runs
    Prune(PruneArgs),
    /// Display the running processes of a pod's containers
    Top(TopArgs),
    /// Display a live stream of the resource usage of a pod's containers
    Stats(StatsArgs),
    /// Fetch the logs of a pod's containers
    Logs(LogsArgs),
}

pub fn dispatch(engine: &Engine, c: PodCommand) -> CmdResult {
    match c {
        PodCommand::Create(a) => create(engine, a),
        PodCommand::Ps(a) => list(engine, a),
        PodCommand::Inspect(a) => inspect(engine, a),
        PodCommand::Start(a) => each(&a.pods, |p| eng::start(engine, p)),
        PodCommand::Stop(a) => each(&a.pods, |p| eng::stop(engine, p, a.time)),
        PodCommand::Restart(a) => each(&a.pods, |p| {
            eng::stop(engine, p, None)?;
            eng::start(engine, p)
        }),
        PodCommand::Kill(a) => each(&a.pods, |p| eng::kill(engine, p, &a.signal)),
        PodCommand::Pause(a) => each(&a.pods, |p| eng::pause(engine, p, true)),
        PodCommand::Unpause(a) => each(&a.pods, |p| eng::pause(engine, p, false)),
        PodCommand::Rm(a) => rm(engine, a),
        PodCommand::Prune(a) => prune(engine, a),
        PodCommand::Top(a) => top(engine, a),
        PodCommand::Stats(a) => stats(engine, a),
        PodCommand::Logs(a) => logs(engine, a),
    }
}

/// Run a pod verb on each pod named: its id on success (podman prints
/// it), each failure on its own line; exit 125 if any failed.
fn each(pods: &[String], f: impl Fn(&str) -> crate::Result<(String, eng::Outcome)>) -> CmdResult {
    let mut failed = false;
    for p in pods {
        match f(p) {
            Ok((id, outcome)) => {
                let errors: Vec<String> =
                    outcome.into_iter().filter_map(|(n, r)| r.err().map(|e| format!("{n}: {e}"))).collect();
                if errors.is_empty() {
                    out(&format!("{id}\n"));
                }
                for e in errors {
                    eprintln!("Error: pod {p}: {e}");
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 125 } else { 0 })
}

#[derive(Args)]
pub struct CreateArgs {
    /// Assign a name to the pod
    #[arg(short, long)]
    name: Option<String>,
    /// Publish a port of the pod's containers to the host
    #[arg(short = 'p', long = "publish", value_name = "PORT")]
    publish: Vec<String>,
    /// The pod's network: bridge (default), pasta, host, none or a user-defined network
    #[arg(long = "network", alias = "net")]
    network: Option<String>,
    /// The pod's hostname (default: its name)
    #[arg(long)]
    hostname: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "HOST:IP")]
    add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option")]
    dns_option: Vec<String>,
    /// Set metadata on the pod
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Namespaces the pod's containers share: net, ipc, uts (comma-separated; none)
    #[arg(long, value_delimiter = ',')]
    share: Option<Vec<String>>,
    /// Create the infra container that holds the shared namespaces
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    infra: bool,
    /// The name the infra's pause process runs under
    #[arg(long = "infra-command", value_name = "COMMAND")]
    infra_command: Option<String>,
    /// The infra container's name (default: POD-ID-infra)
    #[arg(long = "infra-name")]
    infra_name: Option<String>,
    /// The pod's name (as --name)
    #[arg(value_name = "NAME", conflicts_with = "name")]
    pod: Option<String>,
}

pub fn create(engine: &Engine, a: CreateArgs) -> CmdResult {
    let mut ports = Vec::new();
    for p in &a.publish {
        ports.extend(flags::ports(p)?);
    }
    let spec = eng::PodSpec {
        name: a.name.or(a.pod),
        labels: a.label.iter().map(|l| flags::label(l)).collect(),
        hostname: a.hostname,
        network: a.network,
        ports,
        ports_given: a.publish,
        extra_hosts: a.add_host.iter().map(|h| flags::add_host(h)).collect::<crate::Result<Vec<_>>>()?,
        dns: a.dns,
        dns_search: a.dns_search,
        dns_options: a.dns_option,
        share: a.share,
        no_infra: !a.infra,
        infra_command: a.infra_command.map(|c| vec![c]),
        infra_name: a.infra_name,
        network_aliases: Vec::new(),
    };
    if let Some(n) = &spec.network {
        crate::engine::networks::mode(engine, n)?;
    }
    let id = eng::create(engine, &spec)?;
    out(&format!("{id}\n"));
    Ok(0)
}

#[derive(Args)]
pub struct ListArgs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    format: Option<String>,
    /// Only display pod IDs
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Filter output (name=, id=, label=KEY[=VALUE], status=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "POD ID"),
    ("Name", "NAME"),
    ("Status", "STATUS"),
    ("Created", "CREATED"),
    ("InfraID", "INFRA ID"),
    ("NumberOfContainers", "# OF CONTAINERS"),
    ("Labels", "LABELS"),
    ("Networks", "NETWORKS"),
];

fn row(v: &eng::PodView, no_trunc: bool) -> Value {
    let p = &v.config;
    let short = |id: &str| if no_trunc { id.to_string() } else { id.chars().take(12).collect() };
    let labels: Vec<String> = p.labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    json!({
        "ID": short(&p.id),
        "Name": p.name,
        "Status": v.status(),
        "Created": units::since(
            units::parse_rfc3339(&p.created).map(|t| t.0).unwrap_or_default(),
            crate::image::store::now_secs(),
        ),
        "CreatedAt": p.created,
        "InfraID": short(&p.infra_id),
        "NumberOfContainers": v.containers.len(),
        "Labels": labels.join(","),
        "Networks": p.network,
        "Containers": v.containers.iter().map(|c| json!({
            "Id": c.config.id, "Names": c.config.name, "Status": c.state.status.as_str(),
        })).collect::<Vec<_>>(),
    })
}

fn keep(v: &eng::PodView, filter: &str) -> anyhow::Result<bool> {
    let (k, val) = filter.split_once('=').ok_or_else(|| {
        crate::Error::InvalidArgument(format!("bad format of filter \"{filter}\": expected name=value"))
    })?;
    let p = &v.config;
    Ok(match k {
        "name" => p.name.contains(val),
        "id" => p.id.starts_with(val),
        "status" => v.status().eq_ignore_ascii_case(val),
        "label" => match val.split_once('=') {
            Some((lk, lv)) => p.labels.get(lk).and_then(Value::as_str) == Some(lv),
            None => p.labels.contains_key(val),
        },
        _ => {
            return Err(crate::Error::InvalidArgument(format!(
                "invalid filter \"{k}\": pod ps accepts name, id, label and status"
            ))
            .into())
        }
    })
}

pub fn list(engine: &Engine, a: ListArgs) -> CmdResult {
    let mut pods = eng::list(engine)?;
    for f in &a.filter {
        let mut kept = Vec::new();
        for v in pods {
            if keep(&v, f)? {
                kept.push(v);
            }
        }
        pods = kept;
    }
    if a.quiet {
        let ids = pods.iter().map(|v| row(v, a.no_trunc)["ID"].as_str().unwrap_or_default().to_string() + "\n");
        out(&ids.collect::<String>());
        return Ok(0);
    }
    let rows: Vec<Value> = pods.iter().map(|v| row(v, a.no_trunc)).collect();
    let default = "table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}\t{{.NumberOfContainers}}";
    out(&table::render_list(a.format.as_deref().unwrap_or(""), default, HEADERS, &rows)?);
    Ok(0)
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true, value_name = "POD")]
    pods: Vec<String>,
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> CmdResult {
    super::images::inspect_each(&a.pods, a.format.as_deref(), |n| eng::inspect(engine, n))
}

#[derive(Args)]
pub struct NamesArgs {
    #[arg(required = true, value_name = "POD")]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the containers
    #[arg(short, long)]
    time: Option<i64>,
    #[arg(required = true, value_name = "POD")]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct KillArgs {
    /// Signal to send to the containers
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    #[arg(required = true, value_name = "POD")]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Stop and remove running pods and their containers
    #[arg(short, long)]
    force: bool,
    /// Do not fail on pods that do not exist
    #[arg(short, long)]
    ignore: bool,
    #[arg(required = true, value_name = "POD")]
    pods: Vec<String>,
}

pub fn rm(engine: &Engine, a: RmArgs) -> CmdResult {
    let mut failed = false;
    for p in &a.pods {
        match eng::remove(engine, p, a.force) {
            Ok(id) => out(&format!("{id}\n")),
            Err(crate::Error::NoSuchPod(_)) if a.ignore => {}
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 125 } else { 0 })
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CmdResult {
    if !a.force && !confirm("WARNING! This will remove all stopped/exited pods.") {
        return Ok(0);
    }
    out(&eng::prune(engine)?.iter().map(|id| format!("{id}\n")).collect::<String>());
    Ok(0)
}

#[derive(Args)]
pub struct TopArgs {
    #[arg(value_name = "POD")]
    pod: String,
    /// ps options (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "PS OPTIONS")]
    ps_args: Vec<String>,
}

/// Every running container's processes, behind a NAME column (podman's).
pub fn top(engine: &Engine, a: TopArgs) -> CmdResult {
    let v = eng::get(engine, &a.pod)?;
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for c in v.containers.iter().filter(|c| c.state.status == Status::Running) {
        let (h, r) = crate::engine::containers::top(engine, &c.config.id, &a.ps_args)?;
        if header.is_empty() {
            header = std::iter::once("NAME".to_string()).chain(h).collect();
        }
        rows.extend(r.into_iter().map(|row| std::iter::once(c.config.name.clone()).chain(row).collect::<Vec<_>>()));
    }
    if header.is_empty() {
        anyhow::bail!(crate::Error::InvalidArgument(format!(
            "pod {} has no running containers: start it with rcon pod start {}",
            v.config.name, v.config.name
        )));
    }
    out(&super::containers::top_table(&header, &rows));
    Ok(0)
}

#[derive(Args)]
pub struct StatsArgs {
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    no_stream: bool,
    /// Format output using a custom template: table, table TEMPLATE, json or a Go template
    #[arg(long)]
    format: Option<String>,
    #[arg(required = true, value_name = "POD")]
    pod: String,
}

/// `docker stats`' table over the pod's running members.
pub fn stats(engine: &Engine, a: StatsArgs) -> CmdResult {
    let v = eng::get(engine, &a.pod)?;
    let names: Vec<String> =
        v.members().filter(|c| c.state.status == Status::Running).map(|c| c.config.id.clone()).collect();
    if names.is_empty() {
        anyhow::bail!(crate::Error::InvalidArgument(format!(
            "pod {} has no running containers: start it with rcon pod start {}",
            v.config.name, v.config.name
        )));
    }
    super::stats::of_containers(engine, names, a.no_stream, a.format)
}

#[derive(Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Only this container's logs (name or id)
    #[arg(short, long)]
    container: Option<String>,
    /// Number of lines to show from the end of the logs of each container
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs since timestamp or relative (e.g. 42m)
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    until: Option<String>,
    #[arg(value_name = "POD")]
    pod: String,
}

/// Each member's lines behind its name (podman's `pod logs --names`);
/// following, from every member at once.
pub fn logs(engine: &Engine, a: LogsArgs) -> CmdResult {
    let v = eng::get(engine, &a.pod)?;
    let mut members: Vec<&crate::container::Container> = v.members().collect();
    if let Some(c) = &a.container {
        members.retain(|m| m.config.name == *c || m.config.id.starts_with(c.as_str()));
        if members.is_empty() {
            anyhow::bail!(crate::Error::InvalidArgument(format!("pod {} has no container {c}", v.config.name)));
        }
    }
    let opts = super::logs::read_options(&a.since, &a.until, &a.tail, a.timestamps, a.follow)?;
    let width = members.iter().map(|m| m.config.name.chars().count()).max().unwrap_or(0);
    let lock = std::sync::Mutex::new(());
    std::thread::scope(|s| {
        for m in &members {
            let (opts, lock) = (&opts, &lock);
            s.spawn(move || {
                let head = format!("{:width$} ", m.config.name);
                let mut emit = |e: &crate::monitor::logs::LogEntry| {
                    use std::io::Write;
                    let mut text = head.clone().into_bytes();
                    text.extend_from_slice(&crate::monitor::logs::render(e, a.timestamps));
                    if !text.ends_with(b"\n") {
                        text.push(b'\n');
                    }
                    let _g = lock.lock().unwrap_or_else(|p| p.into_inner());
                    let mut o = std::io::stdout().lock();
                    o.write_all(&text)?;
                    o.flush()
                };
                let _ = crate::engine::containers::logs(
                    engine,
                    &m.config.id,
                    opts,
                    &mut emit,
                    &crate::engine::Cancel::never(),
                );
            });
        }
    });
    Ok(0)
}
