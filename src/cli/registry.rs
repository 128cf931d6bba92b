//! `pull`, `push`, `login`, `logout`, `search` and the `manifest` group.

use std::io::{IsTerminal, Read};

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{out, CmdResult};
use crate::engine::{registry as eng, Engine};
use crate::format::table;
use crate::registry::auth::Credentials;
use crate::registry::client::TlsVerify;
use crate::registry::push::Format;

/// `--tls-verify[=false]` as podman spells it; `--insecure` as Docker's manifest commands do.
#[derive(Args, Clone)]
pub struct TlsArgs {
    /// Require HTTPS and verify certificates (default: verify, but allow plain HTTP to loopback and configured insecure registries)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    tls_verify: Option<bool>,
}

impl TlsArgs {
    fn get(&self) -> TlsVerify {
        match self.tls_verify {
            None => TlsVerify::Default,
            Some(true) => TlsVerify::True,
            Some(false) => TlsVerify::False,
        }
    }
}

#[derive(Args)]
pub struct PullArgs {
    /// Image name: NAME[:TAG|@DIGEST]
    name: String,
    /// Download all tagged images in the repository
    #[arg(short, long)]
    all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long)]
    platform: Option<String>,
    /// Skip image verification (accepted for compatibility; rcon does not sign)
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    disable_content_trust: Option<bool>,
    #[command(flatten)]
    tls: TlsArgs,
}

pub fn pull(engine: &Engine, a: PullArgs) -> CmdResult {
    let progress = super::progress::on_stdout(a.quiet);
    let req = eng::PullRequest {
        name: a.name,
        all_tags: a.all_tags,
        platform: a.platform,
        tls: a.tls.get(),
        ..Default::default()
    };
    let pulled = eng::pull_cmd(engine, &req, &progress)?;
    if a.all_tags {
        if let Some(p) = pulled.first() {
            let repo = p.name.rsplit_once(':').map(|(r, _)| r).unwrap_or(&p.name).to_string();
            let any_new = pulled.iter().any(|p| !p.up_to_date);
            let fam = crate::image::reference::familiar(&repo);
            progress.line(&format!(
                "Status: {} for {fam}",
                if any_new { "Downloaded newer image" } else { "Image is up to date" }
            ));
            out(&format!("{repo}\n"));
        }
        return Ok(0);
    }
    for p in &pulled {
        progress.line(&eng::status_line(p));
        out(&format!("{}\n", p.name));
    }
    Ok(0)
}

#[derive(Args)]
pub struct PushArgs {
    /// Image name: NAME[:TAG]
    name: String,
    /// Push all tags of the repository
    #[arg(short, long)]
    all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Manifest format: docker (schema 2) or oci; default: the image's build --format, else docker
    #[arg(long, value_parser = ["docker", "v2s2", "oci"])]
    format: Option<String>,
    /// Skip image signing (accepted for compatibility)
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    disable_content_trust: Option<bool>,
    #[command(flatten)]
    tls: TlsArgs,
}

pub fn push(engine: &Engine, a: PushArgs) -> CmdResult {
    let progress = super::progress::on_stdout(a.quiet);
    let format = a.format.map(|f| if f == "oci" { Format::Oci } else { Format::Docker });
    let req = eng::PushRequest { name: a.name, all_tags: a.all_tags, format, tls: a.tls.get(), ..Default::default() };
    let pushed = eng::push_cmd(engine, &req, &progress)?;
    if a.quiet {
        for p in pushed {
            out(&format!("{}\n", p.digest));
        }
    }
    Ok(0)
}

#[derive(Args)]
pub struct LoginArgs {
    /// Registry server (default: Docker Hub)
    server: Option<String>,
    /// Username
    #[arg(short, long)]
    username: Option<String>,
    /// Password (insecure: it shows in the process list and shell history; prefer --password-stdin)
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    password_stdin: bool,
    #[command(flatten)]
    tls: TlsArgs,
}

pub fn login(engine: &Engine, a: LoginArgs) -> CmdResult {
    let server = eng::server_name(a.server.as_deref());
    if a.password.is_some() && a.password_stdin {
        return Err(
            crate::Error::InvalidArgument("--password and --password-stdin are mutually exclusive".into()).into()
        );
    }
    let mut password = a.password.clone();
    if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let mut username = a.username.clone();
    if a.password_stdin {
        if username.is_none() {
            return Err(crate::Error::InvalidArgument("must provide --username with --password-stdin".into()).into());
        }
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        password = Some(s.trim_end_matches(['\n', '\r']).to_string());
    }
    if username.is_none() || password.is_none() {
        let tty = std::io::stdin().is_terminal();
        if !tty {
            return Err(crate::Error::InvalidArgument(
                "cannot perform an interactive login from a non TTY device: give -u and --password-stdin".into(),
            )
            .into());
        }
        if username.is_none() {
            eprint!("Username: ");
            let mut s = String::new();
            std::io::stdin().read_line(&mut s)?;
            username = Some(s.trim().to_string());
        }
        if password.is_none() {
            eprint!("Password: ");
            password = Some(read_password()?);
            eprintln!();
        }
    }
    let (username, password) = (username.unwrap_or_default(), password.unwrap_or_default());
    if username.is_empty() || password.is_empty() {
        return Err(crate::Error::InvalidArgument("username and password must not be empty".into()).into());
    }
    eng::login(engine, &server, Credentials { username, password }, a.tls.get())?;
    out("Login Succeeded\n");
    Ok(0)
}

/// Read a line from the terminal without echo.
fn read_password() -> std::io::Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    let old = tcgetattr(&stdin).map_err(std::io::Error::from)?;
    let mut quiet = old.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(std::io::Error::from)?;
    let mut s = String::new();
    let r = stdin.read_line(&mut s);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &old);
    r?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

#[derive(Args)]
pub struct LogoutArgs {
    /// Registry server (default: Docker Hub)
    server: Option<String>,
}

pub fn logout(engine: &Engine, a: LogoutArgs) -> CmdResult {
    let server = eng::server_name(a.server.as_deref());
    if eng::logout(engine, &server)? {
        out(&format!("Removing login credentials for {server}\n"));
    } else {
        out(&format!("Not logged in to {server}\n"));
    }
    Ok(0)
}

#[derive(Args)]
pub struct SearchArgs {
    /// Search term; REGISTRY/TERM searches that registry
    term: String,
    /// Max number of search results
    #[arg(long, default_value_t = 25)]
    limit: usize,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Filter output based on conditions provided (stars=N, is-official=true|false)
    #[arg(short, long)]
    filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long)]
    format: Option<String>,
    #[command(flatten)]
    tls: TlsArgs,
}

const SEARCH_HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];

pub fn search(engine: &Engine, a: SearchArgs) -> CmdResult {
    let mut results = eng::search(engine, &a.term, a.limit, a.tls.get())?;
    for f in &a.filter {
        match f.split_once('=') {
            Some(("stars", n)) => {
                let n: u64 = n.parse().map_err(|_| crate::Error::InvalidArgument(format!("invalid filter {f}")))?;
                results.retain(|r| r.stars >= n);
            }
            Some(("is-official", v)) => results.retain(|r| r.official == (v == "true")),
            Some(("is-automated", v)) => results.retain(|r| r.automated == (v == "true")),
            _ => return Err(crate::Error::InvalidArgument(format!("invalid filter {f:?}")).into()),
        }
    }
    let rows: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut d = r.description.replace('\n', " ");
            if !a.no_trunc && d.chars().count() > 45 {
                d = d.chars().take(44).collect::<String>() + "…";
            }
            json!({
                "Name": r.name,
                "Description": d,
                "StarCount": r.stars.to_string(),
                "IsOfficial": if r.official { "[OK]" } else { "" },
                "IsAutomated": if r.automated { "[OK]" } else { "" },
            })
        })
        .collect();
    let default = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}";
    out(&table::render_list(a.format.as_deref().unwrap_or(""), default, SEARCH_HEADERS, &rows)?);
    Ok(0)
}

#[derive(Subcommand)]
pub enum ManifestCommand {
    /// Display an image manifest, or manifest list
    Inspect(ManifestInspectArgs),
    /// Create a local manifest list for annotating and pushing to a registry
    Create(ManifestCreateArgs),
    /// Add an image (already in a registry) to a local manifest list
    Add(ManifestAddArgs),
    /// Add additional information to a local image manifest
    Annotate(ManifestAnnotateArgs),
    /// Push a manifest list to a repository
    Push(ManifestPushArgs),
    /// Delete one or more manifest lists from local storage
    Rm(ManifestRmArgs),
}

/// Docker's manifest commands say `--insecure` for what podman calls `--tls-verify=false`.
#[derive(Args)]
pub struct InsecureArgs {
    /// Allow communication with an insecure registry
    #[arg(long)]
    insecure: bool,
}

impl InsecureArgs {
    fn get(&self) -> TlsVerify {
        if self.insecure {
            TlsVerify::False
        } else {
            TlsVerify::Default
        }
    }
}

#[derive(Args)]
pub struct ManifestInspectArgs {
    /// LIST (optional, as in Docker) and MANIFEST
    #[arg(num_args = 1..=2, required = true)]
    names: Vec<String>,
    #[command(flatten)]
    insecure: InsecureArgs,
    /// Output additional info including layers and platform (accepted; the manifest is printed as is)
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
pub struct ManifestCreateArgs {
    /// The manifest list to create
    list: String,
    /// The manifests (images in a registry) to put in it
    #[arg(required = true)]
    manifests: Vec<String>,
    /// Amend an existing manifest list
    #[arg(short, long)]
    amend: bool,
    #[command(flatten)]
    insecure: InsecureArgs,
}

#[derive(Args)]
pub struct ManifestAddArgs {
    list: String,
    image: String,
    #[command(flatten)]
    insecure: InsecureArgs,
}

#[derive(Args)]
pub struct ManifestAnnotateArgs {
    list: String,
    manifest: String,
    /// Set operating system
    #[arg(long)]
    os: Option<String>,
    /// Set architecture
    #[arg(long)]
    arch: Option<String>,
    /// Set architecture variant
    #[arg(long)]
    variant: Option<String>,
    /// Set operating system version
    #[arg(long = "os-version")]
    os_version: Option<String>,
    /// Set operating system feature
    #[arg(long = "os-features", value_delimiter = ',')]
    os_features: Vec<String>,
}

#[derive(Args)]
pub struct ManifestPushArgs {
    list: String,
    /// Push to this reference instead of the list's name
    destination: Option<String>,
    /// Remove the local manifest list after push
    #[arg(short, long)]
    purge: bool,
    #[command(flatten)]
    insecure: InsecureArgs,
}

#[derive(Args)]
pub struct ManifestRmArgs {
    #[arg(required = true)]
    lists: Vec<String>,
}

pub fn manifest(engine: &Engine, c: ManifestCommand) -> CmdResult {
    match c {
        ManifestCommand::Inspect(a) => {
            let name = a.names.last().cloned().unwrap_or_default();
            let v = eng::manifest_inspect(engine, &name, a.insecure.get())?;
            let mut text = serde_json::to_string_pretty(&v)?;
            text = text
                .lines()
                .map(|l| {
                    let n = l.len() - l.trim_start().len();
                    format!("{}{}", "\t".repeat(n / 2), l.trim_start())
                })
                .collect::<Vec<_>>()
                .join("\n");
            out(&format!("{text}\n"));
        }
        ManifestCommand::Create(a) => {
            let name = eng::manifest_create(engine, &a.list, &a.manifests, a.amend, a.insecure.get())?;
            out(&format!("Created manifest list {name}\n"));
        }
        ManifestCommand::Add(a) => {
            let d = eng::manifest_add(engine, &a.list, &a.image, a.insecure.get())?;
            out(&format!("{d}\n"));
        }
        ManifestCommand::Annotate(a) => {
            let ann = eng::Annotation {
                os: a.os,
                arch: a.arch,
                variant: a.variant,
                os_version: a.os_version,
                os_features: a.os_features,
            };
            eng::manifest_annotate(engine, &a.list, &a.manifest, &ann)?;
        }
        ManifestCommand::Push(a) => {
            let d = eng::manifest_push(engine, &a.list, a.destination.as_deref(), a.purge, a.insecure.get())?;
            out(&format!("{d}\n"));
        }
        ManifestCommand::Rm(a) => {
            let mut failed = None;
            for l in &a.lists {
                if let Err(e) = eng::manifest_rm(engine, l) {
                    eprintln!("Error: {e}");
                    failed = Some(1);
                }
            }
            return Ok(failed.unwrap_or(0));
        }
    }
    Ok(0)
}
