//! `images`, `rmi`, `tag`, `load`, `save`, `import`, `history`, `inspect` and
//! the `image` group: flags, columns and JSON field names as Docker has them.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{out, CmdResult};
use crate::engine::{images as eng, Engine};
use crate::format::{table, units};
use crate::image::archive::ArchiveFormat;
use crate::image::import::ImportOptions;

#[derive(Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ListArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Display detailed information on one or more images
    Inspect(ImageInspectArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Download an image from a registry
    Pull(super::registry::PullArgs),
    /// Upload an image to a registry
    Push(super::registry::PushArgs),
    /// Build an image from a Dockerfile
    Build(super::build::BuildArgs),
}

pub fn dispatch(engine: &Engine, c: ImageCommand) -> CmdResult {
    match c {
        ImageCommand::Ls(a) => list(engine, a),
        ImageCommand::Rm(a) => rm(engine, a),
        ImageCommand::Tag(a) => tag(engine, a),
        ImageCommand::Load(a) => load(engine, a),
        ImageCommand::Save(a) => save(engine, a),
        ImageCommand::Import(a) => import(engine, a),
        ImageCommand::History(a) => history(engine, a),
        ImageCommand::Inspect(a) => {
            inspect(engine, InspectArgs { format: a.format, kind: Some("image".into()), names: a.names })
        }
        ImageCommand::Prune(a) => prune(engine, a),
        ImageCommand::Pull(a) => super::registry::pull(engine, a),
        ImageCommand::Push(a) => super::registry::push(engine, a),
        ImageCommand::Build(a) => super::build::build(engine, a),
    }
}

#[derive(Args)]
pub struct ListArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    all: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter output based on conditions provided (dangling=, label=, reference=, since=, before=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

const IMAGE_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

pub fn list(engine: &Engine, a: ListArgs) -> CmdResult {
    let rows = eng::list(engine.store()?, &eng::ListOptions { all: a.all, filters: a.filter, reference: a.reference })?;
    let now = units_now();
    let id = |full: &str| {
        if a.no_trunc {
            full.to_string()
        } else {
            crate::image::store::short_id(full).to_string()
        }
    };
    if a.quiet {
        let mut s = String::new();
        for r in &rows {
            s += &id(&r.image.id);
            s.push('\n');
        }
        out(&s);
        return Ok(0);
    }
    let values: Vec<Value> = rows
        .iter()
        .map(|r| {
            let size = units::human_size(r.image.size);
            json!({
                "Containers": "N/A",
                "CreatedAt": units::go_time_string(r.image.created),
                "CreatedSince": units::since(r.image.created, now),
                "Digest": r.digest,
                "ID": id(&r.image.id),
                "Repository": r.repository,
                "SharedSize": "N/A",
                "Size": size,
                "Tag": r.tag,
                "UniqueSize": "N/A",
                "VirtualSize": size,
            })
        })
        .collect();
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    out(&table::render_list(a.format.as_deref().unwrap_or(""), default, IMAGE_HEADERS, &values)?);
    Ok(0)
}

fn units_now() -> i64 {
    crate::image::store::now_secs()
}

#[derive(Args)]
pub struct RmArgs {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
}

pub fn rm(engine: &Engine, a: RmArgs) -> CmdResult {
    let store = engine.store()?;
    let mut failed = false;
    for name in &a.images {
        match eng::remove(store, name, a.force) {
            Ok(done) => {
                let mut s = String::new();
                for d in done {
                    match d {
                        eng::Removed::Untagged(t) => s += &format!("Untagged: {t}\n"),
                        eng::Removed::Deleted(id) => s += &format!("Deleted: {id}\n"),
                    }
                }
                out(&s);
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
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    target: String,
}

pub fn tag(engine: &Engine, a: TagArgs) -> CmdResult {
    eng::tag(engine.store()?, &a.source, &a.target)?;
    Ok(0)
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
}

pub fn load(engine: &Engine, a: LoadArgs) -> CmdResult {
    let store = engine.store()?;
    let done = match &a.input {
        Some(p) => {
            let f = File::open(p).map_err(|e| anyhow::anyhow!("open {}: {e}", p.display()))?;
            eng::load(store, BufReader::new(f))?
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                anyhow::bail!("requested load from stdin, but stdin is empty: use -i FILE or pipe an archive in");
            }
            eng::load(store, stdin.lock())?
        }
    };
    let mut s = String::new();
    for c in done {
        for (tag, old) in &c.moved {
            s += &format!(
                "The image {} already exists, renaming the old one with ID {old} to empty string\n",
                crate::image::reference::familiar(tag)
            );
        }
        if c.tags.is_empty() {
            s += &format!("Loaded image ID: {}\n", c.id);
        }
        for t in &c.tags {
            s += &format!("Loaded image: {}\n", crate::image::reference::familiar(t));
        }
    }
    out(&s);
    Ok(0)
}

#[derive(Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Archive format: docker-archive (default) or oci-archive
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive"])]
    format: String,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
}

pub fn save(engine: &Engine, a: SaveArgs) -> CmdResult {
    let store = engine.store()?;
    let format = if a.format == "oci-archive" { ArchiveFormat::OciArchive } else { ArchiveFormat::DockerArchive };
    match &a.output {
        Some(path) => {
            // Write beside the target and rename, so a failed save leaves no half archive.
            let tmp = path.with_file_name(format!(
                ".{}.rcon-tmp-{}",
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                std::process::id()
            ));
            let f = File::create(&tmp).map_err(|e| anyhow::anyhow!("create {}: {e}", path.display()))?;
            let res = eng::save(store, &a.images, format, BufWriter::new(f)).and_then(|_| {
                std::fs::rename(&tmp, path).map_err(|e| crate::Error::io(format!("write {}", path.display()), e))
            });
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res?;
        }
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                anyhow::bail!("cowardly refusing to save to a terminal: use the -o flag or redirect");
            }
            eng::save(store, &a.images, format, BufWriter::new(stdout.lock()))?;
        }
    }
    Ok(0)
}

#[derive(Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    message: Option<String>,
    /// Set platform if server is multi-platform capable (only the host's is accepted)
    #[arg(long)]
    platform: Option<String>,
    /// file|URL|-
    source: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

pub fn import(engine: &Engine, a: ImportArgs) -> CmdResult {
    if let Some(p) = &a.platform {
        let host = format!("linux/{}", crate::image::config::host_arch());
        if p != &host && p != crate::image::config::host_arch() {
            anyhow::bail!("platform {p} is not supported: this host runs {host} images only");
        }
    }
    let done = eng::import(
        engine.store()?,
        crate::image::import::ImportSource::parse(&a.source, || Box::new(std::io::stdin())),
        &ImportOptions { reference: a.reference, changes: a.change, message: a.message },
    )?;
    out(&format!("{}\n", done.id));
    Ok(0)
}

#[derive(Args)]
pub struct HistoryArgs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long)]
    format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    image: String,
}

const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub fn history(engine: &Engine, a: HistoryArgs) -> CmdResult {
    let rows = eng::history(engine.store()?, &a.image)?;
    let now = units_now();
    let id = |s: &str| {
        if a.no_trunc || s == "<missing>" {
            s.to_string()
        } else {
            crate::image::store::short_id(s).to_string()
        }
    };
    if a.quiet {
        out(&rows.iter().map(|r| id(&r.id) + "\n").collect::<String>());
        return Ok(0);
    }
    let values: Vec<Value> = rows
        .iter()
        .map(|r| {
            let by = if a.no_trunc { r.created_by.clone() } else { ellipsis(&r.created_by, 45) };
            json!({
                "Comment": r.comment,
                "CreatedAt": if a.human { units::go_time_string(r.created) } else { units::rfc3339_nano(r.created, 0) },
                "CreatedBy": by,
                "CreatedSince": if a.human { units::since(r.created, now) } else { units::rfc3339_nano(r.created, 0) },
                "ID": id(&r.id),
                "Size": if a.human { units::human_size(r.size) } else { r.size.to_string() },
            })
        })
        .collect();
    let default = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    out(&table::render_list(a.format.as_deref().unwrap_or(""), default, HISTORY_HEADERS, &values)?);
    Ok(0)
}

/// Docker's stringutils.Ellipsis: keep `max` characters, the last one "…".
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    s.chars().take(max - 1).collect::<String>() + "…"
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short, long)]
    format: Option<String>,
    /// Return JSON for specified type (container or image)
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    #[arg(required = true, value_name = "NAME|ID")]
    names: Vec<String>,
}

#[derive(Args)]
pub struct ImageInspectArgs {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    names: Vec<String>,
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> CmdResult {
    let kind = a.kind.as_deref().unwrap_or("");
    if !["", "image", "container", "volume"].contains(&kind) {
        anyhow::bail!("unknown --type {kind:?}: use container, image or volume");
    }
    let store = engine.store()?;
    let mut found = Vec::new();
    let mut failed = false;
    for n in &a.names {
        // Docker looks for a container first, then an image, then a volume.
        if kind == "volume" {
            match crate::engine::volumes::inspect(engine, n) {
                Ok(v) => found.push(v),
                Err(e) => {
                    eprintln!("Error: {e}");
                    failed = true;
                }
            }
            continue;
        }
        if kind != "image" {
            match crate::engine::containers::inspect(engine, n) {
                Ok(v) => {
                    found.push(v);
                    continue;
                }
                Err(crate::Error::NoSuchContainer(_)) if kind.is_empty() => {}
                Err(e) => {
                    eprintln!("Error: {e}");
                    failed = true;
                    continue;
                }
            }
        }
        match eng::inspect(store, n) {
            Ok(v) => found.push(v),
            Err(crate::Error::NoSuchImage(_)) | Err(crate::Error::InvalidReference(_)) if kind.is_empty() => {
                match crate::engine::volumes::inspect(engine, n) {
                    Ok(v) => found.push(v),
                    Err(_) => {
                        eprintln!("Error: no such object: {n}");
                        failed = true;
                    }
                }
            }
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    print_inspect(&found, a.format.as_deref())?;
    Ok(if failed { 125 } else { 0 })
}

/// `inspect` of one kind of object: every name inspected, failures reported
/// one line each (exit 125), the found ones printed.
pub fn inspect_each(names: &[String], format: Option<&str>, f: impl Fn(&str) -> crate::Result<Value>) -> CmdResult {
    let mut found = Vec::new();
    let mut failed = false;
    for n in names {
        match f(n) {
            Ok(v) => found.push(v),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    print_inspect(&found, format)?;
    Ok(if failed { 125 } else { 0 })
}

/// Docker prints a JSON array (4-space indent) or the template per object.
pub fn print_inspect(values: &[Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None | Some("") => out(&(crate::format::json::to_go_pretty(&Value::Array(values.to_vec())) + "\n")),
        Some(f) => {
            let mut s = String::new();
            for v in values {
                s += &table::render_one(f, v)?;
            }
            out(&s);
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (e.g. 'until=<timestamp>', 'label=<key>=<value>')
    #[arg(long = "filter", value_name = "FILTER")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn prune(engine: &Engine, a: PruneArgs) -> CmdResult {
    if !a.force {
        let warning = if a.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        if !super::confirm(warning) {
            return Ok(0);
        }
    }
    let (deleted, reclaimed) = eng::prune(engine.store()?, a.all, &a.filter)?;
    let mut s = String::new();
    if !deleted.is_empty() {
        s += "Deleted Images:\n";
        for d in &deleted {
            s += &format!("deleted: {d}\n");
        }
        s.push('\n');
    }
    s += &format!("Total reclaimed space: {}\n", units::human_size(reclaimed));
    out(&s);
    Ok(0)
}
