//! `version`, `info` and the `system` group.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::{out, CmdResult};
use rcon::engine::{system as eng, Engine};
use rcon::format::{table, units};

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
}

pub fn dispatch(engine: &Engine, c: SystemCommand) -> CmdResult {
    match c {
        SystemCommand::Info(a) => info(engine, a),
        SystemCommand::Df(a) => super::df::df(engine, a),
        SystemCommand::Prune(a) => super::prune::prune(engine, a),
        SystemCommand::Reset(a) => super::prune::reset(engine, a),
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
    t += &format!("Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\n", rcon::VERSION);
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
    t += &format!(" Cgroup Driver: {}\n Cgroup Version: {}\n", g("CgroupDriver"), g("CgroupVersion"));
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
    t += &format!(
        " Docker Root Dir: {}\n Runtime Dir: {}\n Config Dir: {}\n",
        g("DockerRootDir"),
        g("RuntimeDir"),
        g("ConfigDir")
    );
    out(&t);
    Ok(0)
}
