//! `rcon buildx`: the commands scripts written for `docker buildx` use.
//! There is one builder, `default`, rcon's own (Docker's `docker` driver
//! in buildx terms: results land in the local image store, for the host's
//! platform only). `buildx build` takes `build`'s flags plus buildx's
//! (`--cache-to/--cache-from type=local`: `engine/build_cache.rs`), writes
//! its progress to stderr as buildx does, and refuses what it cannot do
//! with the way to do it instead.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::build::BuildArgs;
use super::{out, CmdResult};
use crate::engine::Engine;
use crate::image::config::host_arch;
use crate::Error;

/// The only builder.
const BUILDER: &str = "default";

#[derive(Subcommand)]
pub enum BuildxCommand {
    /// Start a build
    #[command(visible_alias = "b")]
    Build(Box<BuildxBuildArgs>),
    /// Show buildx version information
    Version,
    /// List builder instances
    Ls,
    /// Inspect current builder instance
    Inspect(InspectArgs),
}

#[derive(Args)]
pub struct BuildxBuildArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// Shorthand for "--output=type=docker" (the result is always in the local image store)
    #[arg(long)]
    load: bool,
    /// Shorthand for "--output=type=registry" (not supported: build, then `rcon push NAME`)
    #[arg(long)]
    push: bool,
    /// Output destination (type=docker or type=image without push)
    #[arg(short = 'o', long = "output", value_name = "PATH|type=TYPE[,KEY=VALUE]")]
    output: Vec<String>,
    /// External cache sources (type=local,src=DIR: a cache written by --cache-to)
    #[arg(long = "cache-from", value_name = "type=local,src=DIR")]
    cache_from: Vec<String>,
    /// Cache export destinations (type=local,dest=DIR: the target's steps, rcon's own format)
    #[arg(long = "cache-to", value_name = "type=local,dest=DIR")]
    cache_to: Vec<String>,
    /// Override the configured builder instance (only "default")
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Ensure builder has booted before inspecting (it always has)
    #[arg(long)]
    bootstrap: bool,
    /// Builder to inspect (only "default")
    name: Option<String>,
}

pub fn dispatch(engine: &Engine, c: BuildxCommand) -> CmdResult {
    match c {
        BuildxCommand::Build(a) => build(engine, *a),
        BuildxCommand::Version => {
            // buildx's shape: module, version, revision.
            out(&format!("rcon/buildx v{} rcon-{}\n", crate::VERSION, crate::VERSION));
            Ok(0)
        }
        BuildxCommand::Ls => {
            out(&ls_table());
            Ok(0)
        }
        BuildxCommand::Inspect(a) => {
            check_builder(a.name.as_deref())?;
            let _ = a.bootstrap;
            out(&inspect_text());
            Ok(0)
        }
    }
}

fn bad(msg: String) -> anyhow::Error {
    Error::InvalidArgument(msg).into()
}

fn check_builder(name: Option<&str>) -> Result<(), Error> {
    match name {
        None | Some(BUILDER) => Ok(()),
        Some(n) => Err(Error::NoSuchObject(format!(
            "builder {n:?}: rcon has one builder, \"{BUILDER}\": name that one or leave the name out"
        ))),
    }
}

/// The host's platform, as buildx lists a node's.
fn platform() -> String {
    format!("linux/{}", host_arch())
}

fn buildkit_version() -> String {
    format!("v{}-rcon", crate::VERSION)
}

/// `docker buildx ls` (buildx 0.13+ layout).
fn ls_table() -> String {
    let rows = [
        ["NAME/NODE", "DRIVER/ENDPOINT", "STATUS", "BUILDKIT", "PLATFORMS"].map(String::from),
        [format!("{BUILDER}*"), "docker".into(), String::new(), String::new(), String::new()],
        [format!(" \\_ {BUILDER}"), format!(" \\_ {BUILDER}"), "running".into(), buildkit_version(), platform()],
    ];
    let widths: Vec<usize> = (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut s = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i < 4 {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// `docker buildx inspect`.
fn inspect_text() -> String {
    format!(
        "Name:          {BUILDER}\nDriver:        docker\n\nNodes:\nName:             {BUILDER}\nEndpoint:         {BUILDER}\n\
         Status:           running\nBuildKit version: {}\nPlatforms:        {}\n",
        buildkit_version(),
        platform()
    )
}

/// A `--cache-from`/`--cache-to` entry: `type=local,src|dest=DIR`, its
/// directory. A bare value is a registry reference to buildx: refused.
fn cache_dir(flag: &str, spec: &str, dir_key: &str) -> Result<PathBuf, anyhow::Error> {
    let mut kind = None;
    let mut dir = None;
    for field in spec.split(',') {
        match field.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_string()),
            Some((k, v)) if k == dir_key => dir = Some(v.to_string()),
            Some(_) => {}
            None if !spec.contains('=') => kind = Some("registry".into()),
            None => return Err(bad(format!("{flag} {spec}: use type=local,{dir_key}=DIR"))),
        }
    }
    match kind.as_deref() {
        Some("local") => match dir.filter(|d| !d.is_empty()) {
            Some(d) => Ok(PathBuf::from(d)),
            None => Err(bad(format!("{flag} {spec}: type=local needs {dir_key}=DIR"))),
        },
        Some(t) => Err(bad(format!(
            "{flag} {spec}: cache type {t} is not supported: use type=local,{dir_key}=DIR (the local image store is always a cache too)"
        ))),
        None => Err(bad(format!("{flag} {spec}: type= is missing: use type=local,{dir_key}=DIR"))),
    }
}

fn build(engine: &Engine, a: BuildxBuildArgs) -> CmdResult {
    check_builder(a.builder.as_deref())?;
    if a.push {
        return Err(bad("buildx build --push is not supported: build with -t NAME, then rcon push NAME".into()));
    }
    for o in &a.output {
        let kind =
            o.split(',').find_map(|f| f.strip_prefix("type=")).unwrap_or(if o.contains('=') { "" } else { "local" });
        let push = o.split(',').any(|f| f == "push=true");
        if !(kind == "docker" || kind == "image" && !push) {
            return Err(bad(format!(
                "--output {o}: only type=docker (the local image store) is supported: drop --output, or save the image with rcon save"
            )));
        }
    }
    if let Some(p) = &a.build.platform {
        // One platform, the host's: buildx would build each of a list.
        let host = platform();
        for one in p.split(',') {
            crate::build::executor::check_platform(one.trim()).map_err(|_| {
                bad(format!("--platform {one}: rcon builds for the host platform ({host}) only: use --platform {host} or drop it"))
            })?;
        }
    }
    let extra = super::build::Extra {
        cache_from: a.cache_from.iter().map(|c| cache_dir("--cache-from", c, "src")).collect::<Result<_, _>>()?,
        cache_to: a.cache_to.iter().map(|c| cache_dir("--cache-to", c, "dest")).collect::<Result<_, _>>()?,
    };
    let _ = a.load;
    super::build::build_with(engine, a.build, extra, &mut std::io::stderr())
}
