//! `rcon commit`, `rcon diff` and `rcon export`: a container's writable
//! layer as a new image or as Docker's A/C/D list (both read the overlay
//! upper directory: containers on the vfs driver have no separate layer of
//! changes), and its whole file system as a tarball.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::{containers, Engine};
use crate::build::commit::{store_image, NewStep};
use crate::container::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::image::changes;
use crate::image::config::History;
use crate::image::reference::Reference;
use crate::state::TempDir;
use crate::storage::fsat::Dir;
use crate::storage::union::Union;
use crate::storage::userns::{self, Request};

#[derive(Debug, Default, Clone)]
pub struct CommitOptions {
    pub container: String,
    pub reference: Option<String>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// Dockerfile instructions applied to the new image's config (`-c`).
    pub changes: Vec<String>,
}

fn upper_of(engine: &Engine, c: &Container) -> Result<PathBuf> {
    if c.config.driver == "vfs" {
        return Err(Error::InvalidArgument(format!(
            "container {} uses the vfs storage driver, which keeps no separate layer of changes",
            c.config.name
        )));
    }
    Ok(ContainerStore::open(&engine.paths)?.dir(&c.config.id).join("upper"))
}

/// `docker commit`: the image gets the container's configuration (command,
/// environment, working directory…) with the changes applied on top.
pub fn commit(engine: &Engine, o: &CommitOptions) -> Result<String> {
    let tags = match &o.reference {
        Some(r) => {
            let r = Reference::parse(r)?;
            if r.digest.is_some() {
                return Err(Error::InvalidReference(format!("\"{r}\": a commit target cannot have a digest")));
            }
            vec![r.with_default_tag().full_tagged().expect("tag set")]
        }
        None => Vec::new(),
    };
    let c = containers::get(engine, &o.container)?;
    let store = engine.store()?;
    let base = store.resolve(&c.config.image)?;
    let mut config = store.config(&base)?;
    let cc = config.config.get_or_insert_with(Default::default);
    cc.cmd = (!c.config.cmd.is_empty()).then(|| c.config.cmd.clone());
    cc.entrypoint = (!c.config.entrypoint.is_empty()).then(|| c.config.entrypoint.clone());
    // HOSTNAME (and TERM for -t) are set per container at run time.
    let env: Vec<String> = c
        .config
        .env
        .iter()
        .filter(|e| !(e.starts_with("HOSTNAME=") || c.config.tty && e.as_str() == "TERM=xterm"))
        .cloned()
        .collect();
    cc.env = (!env.is_empty()).then_some(env);
    cc.working_dir = c.config.working_dir.clone();
    cc.user = c.config.user.clone();
    if !c.config.labels.is_empty() {
        cc.labels = Some(c.config.labels.clone());
    }
    for ch in &o.changes {
        changes::apply(cc, ch)?;
    }
    if let Some(a) = &o.author {
        config.author = Some(a.clone());
    }
    // Docker keeps the message in the config too (inspect's Comment).
    match &o.message {
        Some(m) => config.extra.insert("comment".into(), serde_json::Value::String(m.clone())),
        None => config.extra.remove("comment"),
    };
    let upper = upper_of(engine, &c)?;
    let tmp = TempDir::new(&store.root().join("tmp"), "commit")?;
    let tar = tmp.path().join("layer.tar");
    userns::run(Request::Diff { upper, out: tar.clone() })?;
    let created_by = c.config.entrypoint.iter().chain(c.config.cmd.iter()).cloned().collect::<Vec<_>>().join(" ");
    let history = History {
        created_by: Some(created_by),
        author: o.author.clone(),
        comment: o.message.clone(),
        ..Default::default()
    };
    let done = store_image(
        store,
        NewStep {
            config,
            history,
            parent: Some(base.id.clone()),
            base_size: base.size,
            tar: Some(tar),
            build_cache: None,
            tags,
        },
    )?;
    Ok(done.id)
}

/// One line of `docker diff`: A added, C changed, D deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: char,
    pub path: String,
}

pub fn diff(engine: &Engine, arg: &str) -> Result<Vec<Change>> {
    let c = containers::get(engine, arg)?;
    let upper = upper_of(engine, &c)?;
    let store = engine.store()?;
    let lowers: Vec<PathBuf> = c.config.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
    let image = Union::open(&lowers).map_err(|e| Error::io("read the image's layers", e))?;
    let mut out = Vec::new();
    // Read by fd: a running container may swap a directory for a symlink.
    if let Ok(dir) = Dir::open(&upper) {
        walk(&dir, Path::new(""), &image, &mut out);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(dir: &Dir, prefix: &Path, image: &Union, out: &mut Vec<Change>) {
    let Ok(names) = dir.names() else { return };
    for name in names {
        let rel = prefix.join(&name);
        let Ok(st) = dir.lstat(&name) else { continue };
        let sub = if st.is_dir() { dir.dir(&name).ok() } else { None };
        let empty = || sub.as_ref().and_then(|d| d.names().ok()).is_none_or(|n| n.is_empty());
        if crate::storage::diff::is_empty_mount_point(&rel, &st, empty) {
            continue;
        }
        let comps: Vec<OsString> = rel.iter().map(|c| c.to_owned()).collect();
        let kind = if st.is_whiteout() {
            'D'
        } else if image.lookup(&comps).ok().flatten().is_some() {
            'C'
        } else {
            'A'
        };
        out.push(Change { kind, path: format!("/{}", rel.display()) });
        if let Some(sub) = &sub {
            walk(sub, &rel, image, out);
        }
    }
}

/// `docker export`: the container's file system (image layers and its
/// changes, flattened) as a tarball, written to `out`.
pub fn export(engine: &Engine, arg: &str, out: &mut dyn std::io::Write) -> Result<()> {
    let c = containers::get(engine, arg)?;
    let store = engine.store()?;
    let cs = ContainerStore::open(&engine.paths)?;
    let mut layers: Vec<PathBuf> = c.config.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
    if c.config.driver == "vfs" {
        layers = vec![cs.dir(&c.config.id).join("rootfs")];
    } else {
        layers.push(upper_of(engine, &c)?);
    }
    let tmp = TempDir::new(&store.root().join("tmp"), "export")?;
    let tar = tmp.path().join("rootfs.tar");
    userns::run(Request::Tar { layers, path: "/".into(), follow: false, name: String::new(), out: tar.clone() })?;
    let mut f = fs::File::open(&tar).map_err(|e| Error::io(format!("open {}", tar.display()), e))?;
    std::io::copy(&mut f, out).map_err(|e| Error::io("write the export", e))?;
    Ok(())
}
