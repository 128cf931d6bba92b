//! `rcon cp`: files between a container (running or stopped) and the host,
//! or a tar stream (`-`). Out of a container: the userns helper (which
//! reads every file and sees container ids) resolves the path inside the
//! container's root over its layers and writable layer and writes it as a
//! tarball (`storage::diff::write_union_tar`). Into a container: a layer
//! tarball planned like a COPY step, applied to the writable layer by the
//! hostile-input-safe extractor.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::PathBuf;

use super::{containers, Engine};
use crate::build::context::clean;
use crate::build::dockerignore::DockerIgnore;
use crate::build::layer::{self, Meta, Plan};
use crate::container::{Container, ContainerStore};
use crate::error::{Error, IoContext, Result};
use crate::state::TempDir;
use crate::storage::union::Union;
use crate::storage::userns::{self, ExtractJob, IdMap, Request};

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// The container's layer directories, lowest first, ending with the one
/// that takes writes.
fn layers_of(engine: &Engine, c: &Container) -> Result<Vec<PathBuf>> {
    let dir = ContainerStore::open(&engine.paths)?.dir(&c.config.id);
    if c.config.driver == "vfs" {
        return Ok(vec![dir.join("rootfs")]);
    }
    let store = engine.store()?;
    let mut v: Vec<PathBuf> = c.config.layers.iter().map(|l| store.layer_dir(l).join("diff")).collect();
    v.push(dir.join("upper"));
    Ok(v)
}

/// What `cp` copies into a container.
pub enum CopySource<'a> {
    /// A tar stream whose entries land below the destination directory.
    Tar(&'a mut dyn Read),
    /// A host file or directory (the CLI's own files); `archive` (`-a`)
    /// keeps its owners.
    Host { path: PathBuf, archive: bool },
}

/// `cp CONTAINER:PATH …`: the path as a tarball, its entries named after
/// the path's last component (returned). The storage helper resolves the
/// path inside the container's root and reads the layers by fd (no symlink
/// in the container can lead it onto the host); `follow` (`cp -L`) follows
/// a symlink at the end (a path ending in `/` or `/.` follows it anyway,
/// as Docker does).
pub fn copy_out(engine: &Engine, name: &str, path: &str, follow: bool, out: &mut dyn std::io::Write) -> Result<String> {
    let c = containers::get(engine, name)?;
    let layers = layers_of(engine, &c)?;
    let store = engine.store()?;
    let tmp = TempDir::new(&store.root().join("tmp"), "cp")?;
    let tar = tmp.path().join("out.tar");
    let follow = follow || path == "." || path.ends_with("/.") || path.ends_with('/');
    let base = base_name(path);
    let req = Request::Tar { layers, path: path.to_string(), follow, name: base.clone(), out: tar.clone() };
    userns::run(req).map_err(|e| match e {
        Error::UserNs(userns::UserNsError::NoSuchPath) => {
            Error::NoSuchObject(format!("could not find the file {path} in container {name}"))
        }
        e => e,
    })?;
    let mut f = fs::File::open(&tar).ctx(|| "open the archive".into())?;
    std::io::copy(&mut f, out).ctx(|| "write the archive".into())?;
    Ok(base)
}

/// What `HEAD /containers/{id}/archive` tells of a path (Docker's
/// ContainerPathStat): `mode` is a Go `os.FileMode` (type bits high).
#[derive(Debug, Clone)]
pub struct PathStat {
    pub name: String,
    pub size: u64,
    pub mode: u32,
    pub mtime: String,
    pub link_target: String,
}

/// The path in the container as `cp` would read it (not following a
/// symlink at the end; its target is given).
pub fn stat(engine: &Engine, name: &str, path: &str) -> Result<PathStat> {
    use crate::storage::fsat::Kind;
    let c = containers::get(engine, name)?;
    let layers = layers_of(engine, &c)?;
    let missing = || Error::NoSuchObject(format!("could not find the file {path} in container {name}"));
    let view = Union::open(&layers).ctx(|| format!("read the file system of container {name}"))?;
    let resolved = view.resolve(path, false).map_err(|_| missing())?;
    let e = view.lookup(&resolved).ctx(|| format!("read {path} in container {name}"))?.ok_or_else(missing)?;
    let perm = e.stat.perm() & 0o777;
    // Go's os.FileMode: the permission bits low, the type and special bits high.
    let mut mode = perm;
    let bits = e.stat.perm();
    if bits & 0o4000 != 0 {
        mode |= 1 << 23;
    }
    if bits & 0o2000 != 0 {
        mode |= 1 << 22;
    }
    if bits & 0o1000 != 0 {
        mode |= 1 << 20;
    }
    let link_target = match e.stat.kind() {
        Kind::Dir => {
            mode |= 1 << 31;
            String::new()
        }
        Kind::Symlink => {
            mode |= 1 << 27;
            e.parent.readlink(&e.name).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default()
        }
        Kind::Char => {
            mode |= (1 << 26) | (1 << 21);
            String::new()
        }
        Kind::Block => {
            mode |= 1 << 26;
            String::new()
        }
        Kind::Fifo => {
            mode |= 1 << 25;
            String::new()
        }
        Kind::Socket => {
            mode |= 1 << 24;
            String::new()
        }
        Kind::File => String::new(),
    };
    Ok(PathStat {
        name: base_name(path),
        size: e.stat.size(),
        mode,
        mtime: crate::format::units::rfc3339_nano(e.stat.mtime(), 0),
        link_target,
    })
}

/// The name `copy_out` gives a path's entries: its last component ("."
/// for the root).
pub fn base_name(path: &str) -> String {
    let rel = clean(path).join("/");
    rel.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(".").to_string()
}

/// `cp … CONTAINER:PATH`: `from` into the container's writable layer at
/// `path`, resolved inside the container's root.
pub fn copy_in(engine: &Engine, name: &str, path: &str, from: CopySource) -> Result<()> {
    let c = containers::get(engine, name)?;
    let layers = layers_of(engine, &c)?;
    let top_down: Vec<PathBuf> = layers.iter().rev().cloned().collect();
    let writable = layers.last().expect("at least the writable layer").clone();
    let idmap = engine.paths.rootless.then(IdMap::for_current_user);
    // The destination as the container sees it: links on the way (and at
    // the end, as the docker CLI follows one there) resolved inside its
    // root. The extractor then writes without following any symlink, so a
    // link swapped in meanwhile makes the copy fail, never escape.
    let missing = || bad(format!("destination directory {path} does not exist in container {name}"));
    let view = Union::open(&layers).ctx(|| format!("read the file system of container {name}"))?;
    let resolved = view.resolve(path, true).map_err(|_| missing())?;
    let rel = resolved.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/");
    let found = view.lookup(&resolved).ctx(|| format!("read {path} in container {name}"))?;
    let dest_is_dir = rel.is_empty() || found.as_ref().is_some_and(|e| e.stat.is_dir());
    let store = engine.store()?;
    let tmp = TempDir::new(&store.root().join("tmp"), "cp")?;
    let mut content = Plan::default();
    let meta = Meta { uid: 0, gid: 0, chmod: None };
    match from {
        CopySource::Tar(reader) => {
            if !dest_is_dir {
                return Err(bad(format!(
                    "destination {path} in container {name} must be a directory for a tar stream"
                )));
            }
            let input = tmp.path().join("in.tar");
            let mut f = fs::File::create(&input).ctx(|| "stage the input".into())?;
            std::io::copy(reader, &mut f).ctx(|| "read the archive".into())?;
            content.archive(rel.clone(), input);
        }
        CopySource::Host { path: src, archive } => {
            let md = fs::symlink_metadata(&src).map_err(|e| bad(format!("{}: {e}", src.display())))?;
            let base = src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let target = if dest_is_dir && !base.is_empty() { layer::join(&rel, &base) } else { rel.clone() };
            if !dest_is_dir && path.ends_with('/') {
                return Err(missing());
            }
            if md.is_dir() {
                content.parent(target.clone(), Some((md_mode(&md), 0, 0)));
            }
            content.add(&src, &target, "", &DockerIgnore::default(), meta).ctx(|| format!("read {}", src.display()))?;
            if archive {
                // -a keeps the host owners.
                use std::os::unix::fs::MetadataExt;
                for e in content.entries.iter_mut() {
                    let p = if e.path == target {
                        src.clone()
                    } else {
                        src.join(e.path.strip_prefix(&format!("{target}/")).unwrap_or(""))
                    };
                    if let Ok(m) = fs::symlink_metadata(&p) {
                        e.uid = m.uid();
                        e.gid = m.gid();
                    }
                }
            }
        }
    }
    let mut plan = Plan::default();
    let parent = match rel.rsplit_once('/') {
        Some((p, _)) if !dest_is_dir => p.to_string(),
        _ if dest_is_dir => rel.clone(),
        _ => String::new(),
    };
    if !parent.is_empty() {
        let comps: Vec<OsString> = parent.split('/').map(OsString::from).collect();
        if !view.lookup(&comps).ok().flatten().is_some_and(|e| e.stat.is_dir()) {
            return Err(bad(format!("destination directory /{parent} does not exist in container {name}")));
        }
        layer::parents(&mut plan, &top_down, idmap.as_ref(), &parent);
    }
    plan.entries.extend(content.entries);
    let tar = tmp.path().join("layer.tar");
    plan.write_tar(&tar).ctx(|| "write the archive".into())?;
    userns::run(Request::Extract(vec![ExtractJob { src: tar, dest: writable }]))?;
    Ok(())
}

fn md_mode(md: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o7777
}
