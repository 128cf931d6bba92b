//! The verbs that only look: `ps`, `config`, `images`, `top`, `port`,
//! `ls`, `events`, `version`, with compose v2's columns and JSON.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use serde_json::{json, Value};

use super::{indexed_container, service_containers};
use crate::cli::{out, CmdResult};
use crate::compose::ops::{self, labels, Ctx, COMPOSE_VERSION};
use crate::container::Status;
use crate::engine::Engine;
use crate::format::{table, units};

#[derive(Args)]
pub struct PsArgs {
    /// Show all stopped containers (including those created by the run command)
    #[arg(short, long)]
    all: bool,
    /// Filter services by a property (supported filters: status)
    #[arg(long = "filter", value_name = "KEY=VAL")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table' (default), 'json', or a Go template
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only display IDs
    #[arg(short, long)]
    quiet: bool,
    /// Display services
    #[arg(long)]
    services: bool,
    /// Filter services by status
    #[arg(long, value_parser = ["paused", "restarting", "removing", "running", "dead", "created", "exited"])]
    status: Vec<String>,
    #[arg(value_name = "SERVICE")]
    names: Vec<String>,
}

const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("Names", "NAMES"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("Service", "SERVICE"),
    ("Project", "PROJECT"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Health", "HEALTH"),
    ("ExitCode", "EXIT CODE"),
    ("Ports", "PORTS"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
];

pub fn ps(ctx: &Ctx, a: PsArgs) -> CmdResult {
    let mut list = service_containers(ctx, &a.names, a.all)?;
    let mut status = a.status.clone();
    for f in &a.filter {
        match f.split_once('=') {
            Some(("status", v)) => status.push(v.to_string()),
            _ => anyhow::bail!("invalid filter {f:?}: compose ps filters on status=VALUE"),
        }
    }
    if !status.is_empty() {
        list.retain(|c| status.iter().any(|s| s == c.state.status.as_str()));
    } else if !a.all {
        list.retain(|c| {
            c.state.status == Status::Running
                || c.state.status == Status::Restarting
                || c.state.status == Status::Paused
        });
    }
    list.sort_by(|x, y| x.config.name.cmp(&y.config.name));
    if a.services {
        let mut names: Vec<&str> = list.iter().map(|c| ops::label(c, labels::SERVICE)).collect();
        names.dedup();
        out(&names.iter().map(|s| format!("{s}\n")).collect::<String>());
        return Ok(0);
    }
    if a.quiet {
        let id = |c: &crate::container::Container| {
            if a.no_trunc {
                c.config.id.clone()
            } else {
                c.config.id[..12].to_string()
            }
        };
        out(&list.iter().map(|c| id(c) + "\n").collect::<String>());
        return Ok(0);
    }
    let now = crate::image::store::now_secs();
    let rows: Vec<Value> = list.iter().map(|c| ps_row(ctx.engine, c, now, a.no_trunc)).collect();
    match a.format.as_deref() {
        Some("json") => {
            out(&rows.iter().map(|r| format!("{r}\n")).collect::<String>());
        }
        f => {
            let default =
                "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}";
            let f = match f {
                None | Some("table") => "",
                Some(t) => t,
            };
            out(&table::render_list(f, default, PS_HEADERS, &rows)?);
        }
    }
    Ok(0)
}

/// Docker's `ps` row with compose's fields (`api.ContainerSummary`).
fn ps_row(engine: &Engine, c: &crate::container::Container, now: i64, no_trunc: bool) -> Value {
    let mut r = crate::cli::ps::row(engine, c, now, no_trunc, false);
    let publishers: Vec<Value> = crate::engine::networks::port_mappings(engine, &c.config.id, None)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, host)| {
            let (port, proto) = key.split_once('/').unwrap_or((&key, "tcp"));
            let (url, published) = host.rsplit_once(':')?;
            Some(json!({
                "URL": url,
                "TargetPort": port.parse::<u64>().unwrap_or(0),
                "PublishedPort": published.parse::<u64>().unwrap_or(0),
                "Protocol": proto,
            }))
        })
        .collect();
    let health = c.health.as_ref().map(|h| h.status.clone()).unwrap_or_default();
    let status = crate::engine::containers::status_text(c);
    let m = r.as_object_mut().expect("a row is an object");
    m.insert("Name".into(), json!(c.config.name));
    m.insert("Service".into(), json!(ops::label(c, labels::SERVICE)));
    m.insert("Project".into(), json!(ops::label(c, labels::PROJECT)));
    m.insert("Health".into(), json!(health));
    m.insert("ExitCode".into(), json!(c.state.exit_code));
    m.insert("Publishers".into(), json!(publishers));
    m.insert("Status".into(), json!(status));
    r
}

#[derive(Args)]
pub struct ConfigArgs {
    /// Format the output. Values: [yaml | json | kube]. kube: the project as
    /// Kubernetes objects (a Deployment per service, replicas from
    /// deploy.replicas/scale; a Service per service with ports or dependents;
    /// PersistentVolumeClaims for named volumes; ConfigMaps for configs and
    /// env_file contents; Secrets for secrets; healthchecks as liveness and
    /// readiness probes; depends_on service_healthy as an init container
    /// waiting for the dependency's Service); see the README's mapping table
    #[arg(long, default_value = "yaml", value_parser = ["yaml", "json", "kube"])]
    format: String,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    quiet: bool,
    /// Print the service names, one per line
    #[arg(long)]
    services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    volumes: bool,
    /// Print the profile names, one per line
    #[arg(long)]
    profiles: bool,
    /// Print the image names, one per line
    #[arg(long)]
    images: bool,
    /// Print the service config hash, one per line (SERVICE or "*")
    #[arg(long, value_name = "SERVICES")]
    hash: Option<String>,
    /// Print environment used for interpolation
    #[arg(long)]
    environment: bool,
    /// Save to file (default to stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    /// Don't check model consistency
    #[arg(long)]
    no_consistency: bool,
    /// Don't interpolate environment variables
    #[arg(long)]
    no_interpolate: bool,
    /// Don't resolve service env files
    #[arg(long)]
    no_env_resolution: bool,
    /// Don't normalize compose model
    #[arg(long)]
    no_normalize: bool,
    /// Don't resolve file paths
    #[arg(long)]
    no_path_resolution: bool,
    /// Pin image tags to digests
    #[arg(long)]
    resolve_image_digests: bool,
    services_list: Vec<String>,
}

pub fn config(ctx: &Ctx, a: ConfigArgs) -> CmdResult {
    let p = ctx.project;
    let lines = |v: Vec<String>| v.into_iter().map(|s| s + "\n").collect::<String>();
    let text = if a.services {
        lines(crate::compose::config_services(p))
    } else if a.volumes {
        lines(crate::compose::config_volumes(p))
    } else if a.profiles {
        lines(crate::compose::config_profiles(p))
    } else if a.images {
        lines(crate::compose::config_images(p))
    } else if let Some(h) = &a.hash {
        let wanted: Vec<&str> =
            if h == "*" { p.services.keys().map(|s| s.as_str()).collect() } else { h.split(',').collect() };
        let mut s = String::new();
        for name in wanted {
            let svc = ctx.service(name)?;
            s += &format!("{name} {}\n", crate::compose::config_hash(svc));
        }
        s
    } else if a.environment {
        p.environment.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    } else if a.format == "json" {
        serde_json::to_string_pretty(p)? + "\n"
    } else if a.format == "kube" {
        let converted = crate::kube::compose::convert(p, &DiskFiles)?;
        if !converted.dropped.is_empty() {
            super::warn(&format!("no Kubernetes equivalent, left out: {}", converted.dropped.join("; ")));
        }
        crate::kube::to_yaml(&converted.objects)
    } else {
        crate::compose::render_config(p)
    };
    if a.quiet {
        return Ok(0);
    }
    match &a.output {
        Some(f) => std::fs::write(f, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", f.display()))?,
        None => out(&text),
    }
    Ok(0)
}

/// Env files, configs and secrets read for `--format kube`.
struct DiskFiles;

impl crate::kube::compose::Files for DiskFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, crate::kube::KubeError> {
        std::fs::read(path).map_err(|e| crate::kube::KubeError::Invalid(format!("cannot read {path}: {e}")))
    }
}

#[derive(Args)]
pub struct ImagesArgs {
    /// Format the output. Values: [table | json]
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    /// Only display IDs
    #[arg(short, long)]
    quiet: bool,
    services: Vec<String>,
}

pub fn images(ctx: &Ctx, a: ImagesArgs) -> CmdResult {
    let list = service_containers(ctx, &a.services, false)?;
    let store = ctx.engine.store()?;
    let mut rows = Vec::new();
    for c in &list {
        let Ok(img) = store.resolve(&c.config.image) else { continue };
        let (repo, tag) = split_reference(&c.config.image_name);
        rows.push((c.config.name.clone(), repo, tag, img.id.clone(), img.size));
    }
    rows.sort();
    if a.quiet {
        let mut ids: Vec<String> = rows.iter().map(|r| short_id(&r.3)).collect();
        ids.dedup();
        out(&ids.iter().map(|i| format!("{i}\n")).collect::<String>());
    } else if a.format == "json" {
        let v: Vec<Value> = rows
            .iter()
            .map(|(c, repo, tag, id, size)| json!({"ID": id, "ContainerName": c, "Repository": repo, "Tag": tag, "Size": size}))
            .collect();
        out(&(serde_json::to_string(&v)? + "\n"));
    } else {
        let mut text = "CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE\n".to_string();
        for (c, repo, tag, id, size) in &rows {
            text += &format!("{c}\t{repo}\t{tag}\t{}\t{}\n", short_id(id), units::human_size(*size));
        }
        out(&table::tabwrite(&text));
    }
    Ok(0)
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// `registry/repo:tag` → (`registry/repo`, `tag`); a digest reference has
/// no tag.
fn split_reference(r: &str) -> (String, String) {
    if let Some((repo, _)) = r.split_once('@') {
        return (repo.to_string(), "<none>".to_string());
    }
    match r.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (r.to_string(), "latest".to_string()),
    }
}

pub fn top(ctx: &Ctx, a: super::up::ServicesArgs) -> CmdResult {
    let mut list = service_containers(ctx, a.services(), false)?;
    list.retain(|c| c.state.status == Status::Running);
    list.sort_by(|x, y| x.config.name.cmp(&y.config.name));
    let mut text = String::new();
    for c in &list {
        let (header, rows) = crate::engine::containers::top(ctx.engine, &c.config.id, &[])?;
        text += &format!("{}\n{}\n", c.config.name, crate::cli::containers::top_table(&header, &rows));
    }
    out(&text);
    Ok(0)
}

#[derive(Args)]
pub struct PortArgs {
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 1)]
    index: u32,
    /// tcp or udp
    #[arg(long, default_value = "tcp", value_parser = ["tcp", "udp"])]
    protocol: String,
    service: String,
    private_port: u16,
}

pub fn port(ctx: &Ctx, a: PortArgs) -> CmdResult {
    let c = indexed_container(ctx, &a.service, a.index, false)?;
    let key = format!("{}/{}", a.private_port, a.protocol);
    let v = crate::engine::networks::port_mappings(ctx.engine, &c.config.id, Some(&key))
        .map_err(|_| anyhow::anyhow!("no port {key} for container {}", c.config.name))?;
    let (_, host) = v.first().ok_or_else(|| anyhow::anyhow!("no port {key} for container {}", c.config.name))?;
    out(&format!("{host}\n"));
    Ok(0)
}

#[derive(Args)]
pub struct LsArgs {
    /// Show all stopped Compose projects
    #[arg(short, long)]
    all: bool,
    /// Filter output based on conditions provided
    #[arg(long = "filter", value_name = "KEY=VAL")]
    filter: Vec<String>,
    /// Format the output. Values: [table | json]
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    /// Only display project names
    #[arg(short, long)]
    quiet: bool,
}

/// `ls`: the projects that have containers, from their labels.
pub fn ls(engine: &Engine, a: LsArgs) -> CmdResult {
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, String)> = BTreeMap::new();
    for c in crate::engine::containers::list(engine)? {
        let p = ops::label(&c, labels::PROJECT);
        if p.is_empty() {
            continue;
        }
        let e = projects.entry(p.to_string()).or_default();
        *e.0.entry(c.state.status.as_str().to_string()).or_default() += 1;
        if e.1.is_empty() {
            e.1 = ops::label(&c, labels::CONFIG_FILES).to_string();
        }
    }
    let mut name_filter = None;
    for f in &a.filter {
        match f.split_once('=') {
            Some(("name", v)) => name_filter = Some(v.to_string()),
            _ => anyhow::bail!("invalid filter {f:?}: compose ls filters on name=VALUE"),
        }
    }
    let rows: Vec<(String, String, String)> = projects
        .into_iter()
        .filter(|(n, _)| name_filter.as_ref().is_none_or(|f| n.contains(f.as_str())))
        .filter(|(_, (states, _))| a.all || states.contains_key("running"))
        .map(|(n, (states, files))| {
            let s: Vec<String> = states.iter().map(|(k, v)| format!("{k}({v})")).collect();
            (n, s.join(", "), files)
        })
        .collect();
    if a.quiet {
        out(&rows.iter().map(|r| format!("{}\n", r.0)).collect::<String>());
    } else if a.format == "json" {
        let v: Vec<Value> = rows.iter().map(|(n, s, f)| json!({"Name": n, "Status": s, "ConfigFiles": f})).collect();
        out(&(serde_json::to_string(&v)? + "\n"));
    } else {
        let mut text = "NAME\tSTATUS\tCONFIG FILES\n".to_string();
        for (n, s, f) in &rows {
            text += &format!("{n}\t{s}\t{f}\n");
        }
        out(&table::tabwrite(&text));
    }
    Ok(0)
}

#[derive(Args)]
pub struct EventsArgs {
    /// Output events as a stream of json objects
    #[arg(long)]
    json: bool,
    /// Show all events created since timestamp
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    until: Option<String>,
    services: Vec<String>,
}

/// `events`: the engine's container events for the project, as compose
/// prints them (`TIME container ACTION ID (attrs)`, or JSON objects).
pub fn events(ctx: &Ctx, a: EventsArgs) -> CmdResult {
    let now = crate::image::store::now_secs();
    let at = |s: &Option<String>| -> anyhow::Result<Option<i128>> {
        s.as_ref()
            .map(|v| {
                units::parse_since_until(v, now)
                    .map(|t| t as i128 * 1_000_000_000)
                    .ok_or_else(|| anyhow::anyhow!("invalid time {v:?}: use a timestamp or a duration (42m)"))
            })
            .transpose()
    };
    let filter = crate::events::Filter::parse(&[
        "type=container".to_string(),
        format!("label={}={}", labels::PROJECT, ctx.project.name),
    ])?;
    let gone = Arc::new(AtomicBool::new(false));
    let flag = gone.clone();
    let o = crate::engine::events::EventsOptions {
        since: at(&a.since)?,
        until: at(&a.until)?,
        filter,
        cancel: crate::engine::Cancel::when(move || flag.load(Ordering::Relaxed)),
    };
    let services = a.services.clone();
    let mut emit = |ev: &Value| -> std::io::Result<()> {
        let attrs = ev["Actor"]["Attributes"].as_object().cloned().unwrap_or_default();
        let service = attrs.get(labels::SERVICE).and_then(|v| v.as_str()).unwrap_or("").to_string();
        if !services.is_empty() && !services.contains(&service) {
            return Ok(());
        }
        let id = ev["Actor"]["ID"].as_str().unwrap_or("");
        let action = ev["Action"].as_str().unwrap_or("");
        let nanos = ev["timeNano"].as_i64().unwrap_or(0);
        let (secs, ns) = (nanos / 1_000_000_000, (nanos % 1_000_000_000) as u32);
        let line = if a.json {
            let shown: serde_json::Map<String, Value> =
                attrs.into_iter().filter(|(k, _)| !k.starts_with("com.docker.compose.")).collect();
            json!({
                "time": units::rfc3339_nano(secs, ns),
                "type": "container",
                "action": action,
                "id": id,
                "service": service,
                "attributes": shown,
            })
            .to_string()
        } else {
            let shown: Vec<String> = attrs
                .iter()
                .filter(|(k, _)| !k.starts_with("com.docker.compose."))
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            let t = units::rfc3339_nano(secs, ns).replace('T', " ").trim_end_matches('Z').to_string();
            format!("{t} container {action} {id} ({})", shown.join(", "))
        };
        let mut o = std::io::stdout().lock();
        std::io::Write::write_all(&mut o, (line + "\n").as_bytes())?;
        std::io::Write::flush(&mut o)
    };
    crate::engine::events::follow(ctx.engine, &o, &mut emit);
    gone.store(true, Ordering::Relaxed);
    Ok(0)
}

#[derive(Args)]
pub struct VersionArgs {
    /// Format the output. Values: [pretty | json]
    #[arg(short, long, default_value = "pretty", value_parser = ["pretty", "json"])]
    format: String,
    /// Shows only Compose's version number
    #[arg(long)]
    short: bool,
}

pub fn version(a: VersionArgs) -> CmdResult {
    if a.short {
        out(&format!("{COMPOSE_VERSION}\n"));
    } else if a.format == "json" {
        out(&format!("{}\n", json!({"version": format!("v{COMPOSE_VERSION}")})));
    } else {
        out(&format!("Docker Compose version v{COMPOSE_VERSION} (rcon {})\n", crate::VERSION));
    }
    Ok(0)
}
