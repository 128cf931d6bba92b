//! `version`, `info` and the `system` group.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::{out, CmdResult};
use crate::engine::{system as eng, Engine};
use crate::format::{table, units};

#[derive(Args)]
pub struct VersionArgs {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short, long)]
    format: Option<String>,
}

#[derive(Args)]
pub struct InfoArgs {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short, long)]
    format: Option<String>,
}

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Display system-wide information
    Info(InfoArgs),
    /// Show rcon disk usage
    Df(super::df::DfArgs),
    /// Remove unused data: stopped containers, dangling (with -a: unused) images
    Prune(super::prune::PruneArgs),
    /// Remove all of your rcon state: containers, images, layers, events
    Reset(super::prune::ResetArgs),
    /// Re-own the store after your subuid/subgid ranges changed (stops running containers)
    Migrate,
    /// Serve the Docker Engine API on a socket (for the docker CLI, Docker SDKs, docker-compose, testcontainers)
    Service(super::service::ServiceArgs),
}

pub fn dispatch(engine: &Engine, c: SystemCommand) -> CmdResult {
    match c {
        SystemCommand::Info(a) => info(engine, a),
        SystemCommand::Df(a) => super::df::df(engine, a),
        SystemCommand::Prune(a) => super::prune::prune(engine, a),
        SystemCommand::Reset(a) => super::prune::reset(engine, a),
        SystemCommand::Migrate => migrate(engine),
        SystemCommand::Service(a) => super::service::service(engine, a),
    }
}

pub fn version(a: VersionArgs) -> CmdResult {
    let v = eng::version();
    if let Some(f) = a.format {
        out(&table::render_one(&f, &v)?);
        return Ok(0);
    }
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    let text = format!(
        "Client:\trcon\n Version:\t{}\n API version:\t{}\n OS/Arch:\t{}\n Context:\tdefault\n\nServer:\trcon (no daemon)\n Engine:\n  Version:\t{}\n  API version:\t{}\n  OS/Arch:\t{}\n  Kernel:\t{}\n",
        s("/Client/Version"),
        s("/Client/ApiVersion"),
        s("/Client/OsArch"),
        s("/Server/Version"),
        s("/Server/ApiVersion"),
        s("/Client/OsArch"),
        s("/Server/KernelVersion"),
    );
    out(&table::tabwrite(&text));
    Ok(0)
}

pub fn info(engine: &Engine, a: InfoArgs) -> CmdResult {
    let v = eng::info(engine)?;
    if let Some(f) = a.format {
        out(&table::render_one(&f, &v)?);
        return Ok(0);
    }
    let g = |k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut t = String::new();
    t += &format!("Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\n", crate::VERSION);
    t += "Server:\n";
    t += &format!(
        " Containers: {}\n  Running: {}\n  Paused: {}\n  Stopped: {}\n",
        g("Containers"),
        g("ContainersRunning"),
        g("ContainersPaused"),
        g("ContainersStopped")
    );
    t += &format!(" Images: {}\n", g("Images"));
    t += &format!(" Server Version: {} (rcon, no daemon)\n", g("ServerVersion"));
    t += &format!(" Storage Driver: {}\n", g("Driver"));
    if let Value::Array(st) = &v["DriverStatus"] {
        for pair in st {
            t += &format!("  {}: {}\n", pair[0].as_str().unwrap_or(""), pair[1].as_str().unwrap_or(""));
        }
    }
    t += &format!(" Logging Driver: {}\n", g("LoggingDriver"));
    t += &format!(" Cgroup Driver: {}\n Cgroup Version: {}\n", g("CgroupDriver"), g("CgroupVersion"));
    t += " Plugins:\n";
    for kind in ["Volume", "Network", "Log"] {
        let names: Vec<&str> = v["Plugins"][kind].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        t += &format!("  {kind}: {}\n", names.join(" "));
    }
    // rcon's own: which user-mode network helper would run, in which version.
    if let Value::Object(b) = &v["NetworkBackends"] {
        t += " Network Backends:\n";
        for (name, ver) in b {
            t += &format!("  {name}: {}\n", ver.as_str().unwrap_or(""));
        }
    }
    t += " Security Options:\n";
    if let Value::Array(opts) = &v["SecurityOptions"] {
        for o in opts {
            t += &format!("  {}\n", o.as_str().unwrap_or("").trim_start_matches("name="));
        }
    }
    t += &format!(" Rootless: {}\n", g("Rootless"));
    if let Some(m) = v.get("IDMappings") {
        for (title, key) in [("UID Mappings", "UIDMap"), ("GID Mappings", "GIDMap")] {
            t += &format!(" {title}:\n");
            if let Value::Array(rs) = &m[key] {
                for r in rs {
                    t += &format!("  container {} -> host {} (size {})\n", r["ContainerID"], r["HostID"], r["Size"]);
                }
            }
        }
        if v["SubordinateIDs"] == Value::Bool(false) {
            t += "  WARNING: no subuid/subgid range: only your own id is mapped\n";
        }
    }
    t += &format!(
        " Kernel Version: {}\n Operating System: {}\n OSType: {}\n Architecture: {}\n",
        g("KernelVersion"),
        g("OperatingSystem"),
        g("OSType"),
        g("Architecture")
    );
    t += &format!(
        " CPUs: {}\n Total Memory: {}\n Name: {}\n",
        g("NCPU"),
        units::bytes_size(v["MemTotal"].as_u64().unwrap_or(0)),
        g("Name")
    );
    t += &format!(" ID: {}\n", g("ID"));
    t += &format!(
        " Docker Root Dir: {}\n Runtime Dir: {}\n Config Dir: {}\n Debug Mode: {}\n",
        g("DockerRootDir"),
        g("RuntimeDir"),
        g("ConfigDir"),
        g("Debug")
    );
    t += &format!(" Registry: {}\n", g("IndexServerAddress"));
    let rc = &v["RegistryConfig"];
    t += " Insecure Registries:\n";
    if let Value::Object(idx) = &rc["IndexConfigs"] {
        for name in idx.iter().filter(|(_, c)| c["Secure"] == Value::Bool(false)).map(|(n, _)| n) {
            t += &format!("  {name}\n");
        }
    }
    for cidr in rc["InsecureRegistryCIDRs"].as_array().into_iter().flatten() {
        t += &format!("  {}\n", cidr.as_str().unwrap_or(""));
    }
    let mirrors: Vec<&str> = rc["Mirrors"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !mirrors.is_empty() {
        t += " Registry Mirrors:\n";
        for m in mirrors {
            t += &format!("  {m}\n");
        }
    }
    t += " Live Restore Enabled: false\n";
    let warnings: Vec<&str> = v["Warnings"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !warnings.is_empty() {
        t += "\n";
        for w in warnings {
            t += &format!("{w}\n");
        }
    }
    out(&t);
    Ok(0)
}

fn migrate(engine: &Engine) -> CmdResult {
    use crate::engine::migrate::{self, Outcome};
    match migrate::migrate(engine, &mut |name| out(&format!("stopped {name}\n")))? {
        Outcome::Rootful => out("Rootful store: files keep the images' own ids, nothing to migrate\n"),
        Outcome::Unchanged => out("No change in your subuid/subgid mapping: nothing to migrate\n"),
        Outcome::Migrated { changed, outside, .. } => {
            out(&format!("Migrated to the new subuid/subgid mapping: {changed} files re-owned\n"));
            if !outside.is_empty() {
                eprintln!(
                    "warning: {} files are owned by ids your new ranges do not cover and were left as they are (as root, chown them, or remove them with rcon system reset):",
                    outside.len()
                );
                for p in outside.iter().take(20) {
                    eprintln!("  {}", p.display());
                }
                if outside.len() > 20 {
                    eprintln!("  … and {} more", outside.len() - 20);
                }
                return Ok(1);
            }
        }
    }
    Ok(0)
}
