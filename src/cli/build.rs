//! `rcon build` (and `image build`, `buildx build`-style flags where Docker's
//! classic builder has them; `buildx build` itself is `buildx.rs`, over
//! these flags): parsing and printing only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{out, CmdResult};
use crate::engine::build::{self as eng, BuildOptions};
use crate::engine::Engine;

#[derive(Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short, long = "tag", value_name = "NAME[:TAG]")]
    tag: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile"; "-" reads it from stdin)
    #[arg(short, long, value_name = "FILE")]
    file: Option<String>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "KEY[=VALUE]")]
    build_arg: Vec<String>,
    /// Set the target build stage to build
    #[arg(long, value_name = "STAGE")]
    target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    no_cache: bool,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    quiet: bool,
    /// Write the image ID to the file
    #[arg(long, value_name = "FILE")]
    iidfile: Option<std::path::PathBuf>,
    /// Set the networking mode for the RUN instructions during build (default, none, host)
    #[arg(long, value_name = "MODE")]
    network: Option<String>,
    /// Type of progress output (auto, plain, tty): the classic builder's output in every case
    #[arg(long, value_name = "TYPE", value_parser = ["auto", "plain", "tty", "quiet"])]
    progress: Option<String>,
    /// Set platform (only the host's platform can be built)
    #[arg(long, value_name = "PLATFORM")]
    pub(super) platform: Option<String>,
    /// Manifest format the image is pushed in by default (docker, oci)
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Secret to expose to RUN --mount=type=secret (id=ID,src=FILE or id=ID,env=VAR)
    #[arg(long = "secret", value_name = "id=ID,src=FILE")]
    secret: Vec<String>,
    /// SSH agent socket to expose to RUN --mount=type=ssh (default[=SOCKET] or ID=SOCKET; default: $SSH_AUTH_SOCK)
    #[arg(long = "ssh", value_name = "default|ID[=SOCKET]")]
    ssh: Vec<String>,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pull: bool,
    /// Remove intermediate containers after a successful build (always true)
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    rm: bool,
    /// Always remove intermediate containers (always true)
    #[arg(long, hide = true)]
    force_rm: bool,
    /// PATH | - (a directory, or stdin: a Dockerfile or a tar of the context)
    context: String,
}

pub fn build(engine: &Engine, a: BuildArgs) -> CmdResult {
    build_with(engine, a, Extra::default(), &mut std::io::stdout())
}

/// What `buildx build` adds to the build's options.
#[derive(Default)]
pub struct Extra {
    pub cache_from: Vec<PathBuf>,
    pub cache_to: Vec<PathBuf>,
}

/// The build, its progress written to `progress` (stdout for `build`,
/// stderr for `buildx build`, as BuildKit's client writes it); the image id
/// of `-q` always goes to stdout.
pub fn build_with(engine: &Engine, a: BuildArgs, extra: Extra, progress: &mut dyn std::io::Write) -> CmdResult {
    let quiet = a.quiet || a.progress.as_deref() == Some("quiet");
    // Docker's CLI reads what is "-" from its stdin, the build args and
    // secrets given by name from its environment, and checks the agents.
    let stdin = if a.context == "-" || a.file.as_deref() == Some("-") {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
            .map_err(|e| anyhow::anyhow!("read standard input: {e}"))?;
        Some(v)
    } else {
        None
    };
    let mut build_args = BTreeMap::new();
    for b in &a.build_arg {
        match b.split_once('=') {
            Some((k, v)) => {
                build_args.insert(k.to_string(), v.to_string());
            }
            // Docker: `--build-arg K` takes K from the environment, or is ignored.
            None => {
                if let Ok(v) = std::env::var(b) {
                    build_args.insert(b.clone(), v);
                }
            }
        }
    }
    let o = BuildOptions {
        context: a.context,
        file: a.file,
        stdin,
        tags: a.tag,
        build_args,
        target: a.target,
        no_cache: a.no_cache,
        labels: a.label.iter().map(|l| super::flags::label(l)).collect(),
        quiet,
        network: a.network,
        platform: a.platform,
        format: a.format,
        pull: a.pull,
        secrets: secrets(&a.secret)?,
        ssh: ssh_agents(&a.ssh)?,
        pull_progress: Some(super::progress::on_stderr(false)),
        cache_from: extra.cache_from,
        cache_to: extra.cache_to,
        ..Default::default()
    };
    let built = eng::build(engine, &o, progress)?;
    if let Some(f) = &a.iidfile {
        std::fs::write(f, &built.id).map_err(|e| anyhow::anyhow!("write {}: {e}", f.display()))?;
    }
    if quiet {
        out(&format!("{}\n", built.id));
    }
    Ok(0)
}

fn bad(msg: String) -> crate::Error {
    crate::Error::Build(msg)
}

/// `--ssh` sockets by id, checked before the build starts. BuildKit also
/// takes private key files here; rcon forwards agents only.
fn ssh_agents(specs: &[String]) -> crate::Result<BTreeMap<String, PathBuf>> {
    use std::os::unix::fs::FileTypeExt;
    let mut out = BTreeMap::new();
    for spec in specs {
        let (id, path) = match spec.split_once('=') {
            Some((id, p)) => (id.to_string(), p.to_string()),
            None => {
                let p = std::env::var("SSH_AUTH_SOCK").map_err(|_| {
                    bad(format!("--ssh {spec}: SSH_AUTH_SOCK is not set: start an agent (eval $(ssh-agent)) or give {spec}=SOCKET"))
                })?;
                (spec.clone(), p)
            }
        };
        if path.contains(',') {
            return Err(bad(format!("--ssh {spec}: give one agent socket (private key files are not supported)")));
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.file_type().is_socket() => {}
            _ => {
                return Err(bad(format!(
                    "--ssh {spec}: {path} is not an SSH agent socket (private key files are not supported: add the key to an agent with ssh-add)"
                )))
            }
        }
        out.insert(id, PathBuf::from(path));
    }
    Ok(out)
}

/// `--secret` values, read before the build starts so a missing file fails at once.
fn secrets(specs: &[String]) -> crate::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let (mut id, mut src, mut env, mut kind) = (None, None, None, None);
        for field in spec.split(',') {
            match field.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(v.to_string()),
                Some(("env", v)) => env = Some(v.to_string()),
                Some(("type", v)) if v == "file" || v == "env" => kind = Some(v.to_string()),
                _ => {
                    return Err(crate::Error::InvalidArgument(format!(
                        "invalid --secret {spec:?}: use id=ID,src=FILE or id=ID,env=VAR"
                    )))
                }
            }
        }
        let id = id.or_else(|| {
            src.as_deref().and_then(|s| Path::new(s).file_name()).map(|n| n.to_string_lossy().into_owned())
        });
        let Some(id) = id.filter(|i| !i.is_empty()) else {
            return Err(crate::Error::InvalidArgument(format!("invalid --secret {spec:?}: id= is missing")));
        };
        // type=env with src= names a variable (buildx); id alone is the variable of that name.
        let var = match (&kind, &src, &env) {
            (_, _, Some(e)) => Some(e.clone()),
            (Some(k), Some(s), None) if k == "env" => Some(s.clone()),
            (_, None, None) => Some(id.clone()),
            _ => None,
        };
        let value = match var {
            Some(v) => std::env::var_os(&v)
                .map(std::os::unix::ffi::OsStringExt::into_vec)
                .ok_or_else(|| bad(format!("secret {id}: environment variable {v} is not set")))?,
            None => {
                let f = src.expect("src set when no variable");
                std::fs::read(&f).map_err(|e| bad(format!("secret {id}: cannot read {f}: {e}")))?
            }
        };
        out.insert(id, value);
    }
    Ok(out)
}
