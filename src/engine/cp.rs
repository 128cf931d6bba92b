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
use std::path::{Path, PathBuf};

use super::{containers, Engine};
use crate::build::context::clean;
use crate::build::dockerignore::DockerIgnore;
use crate::build::layer::{self, Meta, Plan};
use crate::container::{Container, ContainerStore};
use crate::error::{Error, IoContext, Result};
use crate::state::TempDir;
use crate::storage::union::Union;
use crate::storage::userns::{self, ExtractJob, IdMap, Request};

/// One side of `cp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Host(PathBuf),
    Stdio,
    Container { name: String, path: String },
}

impl End {
    /// Docker's rule: `NAME:PATH` is a container path unless what precedes
    /// the colon looks like a local path (`./a:b`, `/x:y`).
    pub fn parse(s: &str) -> End {
        if s == "-" {
            return End::Stdio;
        }
        match s.split_once(':') {
            Some((n, p)) if !n.is_empty() && !n.contains('/') => End::Container { name: n.into(), path: p.into() },
            _ => End::Host(s.into()),
        }
    }
}

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

/// `follow`: `cp -L`, follow a symlink at the end of a container source
/// path (a path ending in `/` or `/.` follows it anyway, as Docker does).
pub fn cp(engine: &Engine, src: &str, dst: &str, archive: bool, follow: bool) -> Result<()> {
    match (End::parse(src), End::parse(dst)) {
        (End::Container { name, path }, to @ (End::Host(_) | End::Stdio)) => out_of(engine, &name, &path, &to, follow),
        (from @ (End::Host(_) | End::Stdio), End::Container { name, path }) => {
            into(engine, &from, &name, &path, archive)
        }
        (End::Container { .. }, End::Container { .. }) => {
            Err(bad("copying between containers is not supported: copy to the host first".into()))
        }
        _ => Err(bad("must specify at least one container source: CONTAINER:PATH".into())),
    }
}

/// The path, written as a tarball by the storage helper, which resolves it
/// inside the container's root and reads the layers by fd (no symlink in
/// the container can lead it onto the host).
fn out_of(engine: &Engine, name: &str, path: &str, to: &End, follow: bool) -> Result<()> {
    let c = containers::get(engine, name)?;
    let layers = layers_of(engine, &c)?;
    let store = engine.store()?;
    let tmp = TempDir::new(&store.root().join("tmp"), "cp")?;
    let tar = tmp.path().join("out.tar");
    // `DIR/.`: the directory's content, not the directory (Docker's rule).
    let contents = path == "." || path.ends_with("/.");
    let follow = follow || contents || path.ends_with('/');
    let rel = clean(path).join("/");
    let base = rel.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(".").to_string();
    let req = Request::Tar { layers, path: path.to_string(), follow, name: base.clone(), out: tar.clone() };
    userns::run(req).map_err(|e| match e {
        Error::UserNs(userns::UserNsError::NoSuchPath) => {
            Error::NoSuchObject(format!("could not find the file {path} in container {name}"))
        }
        e => e,
    })?;
    match to {
        End::Stdio => {
            let mut f = fs::File::open(&tar).ctx(|| "open the archive".into())?;
            std::io::copy(&mut f, &mut std::io::stdout().lock()).ctx(|| "write the archive".into())?;
        }
        End::Host(dest) => unpack_on_host(&tar, &base, dest, contents || base == ".")?,
        End::Container { .. } => unreachable!(),
    }
    Ok(())
}

/// Docker's rules for where `cp` puts what it copied out: into an existing
/// directory under its own name (or, for `DIR/.`, its content merged into
/// it), else under the destination's name, which must have an existing
/// parent. Unpacked as the calling user; the tar crate refuses names and
/// links that leave the staging directory.
fn unpack_on_host(tar: &Path, base: &str, dest: &Path, contents: bool) -> Result<()> {
    let dest_dir = dest.is_dir();
    let dir = if dest_dir {
        dest.to_path_buf()
    } else {
        if dest.as_os_str().as_encoded_bytes().ends_with(b"/") {
            return Err(bad(format!("destination directory {} does not exist", dest.display())));
        }
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(bad(format!("destination directory {} does not exist", parent.display())));
        }
        parent.to_path_buf()
    };
    let stage = dir.join(format!(".rcon-cp-{}", std::process::id()));
    fs::create_dir_all(&stage).ctx(|| format!("create {}", stage.display()))?;
    let res = (|| {
        let mut ar = tar::Archive::new(fs::File::open(tar).ctx(|| "open the archive".into())?);
        ar.set_preserve_permissions(true);
        ar.unpack(&stage).ctx(|| format!("write into {}", dir.display()))?;
        let got = stage.join(base);
        let target = if dest_dir && !contents { dest.join(base) } else { dest.to_path_buf() };
        if target.is_dir() && !got.is_dir() {
            return Err(bad(format!("cannot overwrite directory {} with a file", target.display())));
        }
        if !target.is_dir() && target.exists() && got.is_dir() {
            return Err(bad(format!("cannot copy a directory to the file {}", target.display())));
        }
        merge(&got, &target).ctx(|| format!("write {}", target.display()))
    })();
    let _ = fs::remove_dir_all(&stage);
    res
}

/// Move `src` to `dst`; a directory onto an existing directory merges into
/// it, anything else replaces what is there (Docker's `cp` into the host).
fn merge(src: &Path, dst: &Path) -> std::io::Result<()> {
    let dst_md = fs::symlink_metadata(dst).ok();
    let src_dir = fs::symlink_metadata(src)?.is_dir();
    match dst_md {
        Some(m) if m.is_dir() && src_dir => {
            for e in fs::read_dir(src)? {
                let e = e?;
                merge(&e.path(), &dst.join(e.file_name()))?;
            }
            Ok(())
        }
        Some(m) if m.is_dir() => fs::remove_dir_all(dst).and_then(|_| fs::rename(src, dst)),
        _ => fs::rename(src, dst),
    }
}

fn into(engine: &Engine, from: &End, name: &str, path: &str, archive: bool) -> Result<()> {
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
        End::Stdio => {
            if !dest_is_dir {
                return Err(bad(format!(
                    "destination {path} in container {name} must be a directory for a tar stream"
                )));
            }
            let input = tmp.path().join("in.tar");
            let mut f = fs::File::create(&input).ctx(|| "stage the input".into())?;
            std::io::copy(&mut std::io::stdin().lock().take(u64::MAX), &mut f).ctx(|| "read standard input".into())?;
            content.archive(rel.clone(), input);
        }
        End::Host(src) => {
            let md = fs::symlink_metadata(src).map_err(|e| bad(format!("{}: {e}", src.display())))?;
            let base = src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let target = if dest_is_dir && !base.is_empty() { layer::join(&rel, &base) } else { rel.clone() };
            if !dest_is_dir && path.ends_with('/') {
                return Err(missing());
            }
            if md.is_dir() {
                content.parent(target.clone(), Some((md_mode(&md), 0, 0)));
            }
            content.add(src, &target, "", &DockerIgnore::default(), meta).ctx(|| format!("read {}", src.display()))?;
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
        End::Container { .. } => unreachable!(),
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

#[cfg(test)]
mod tests {
    use super::End;

    #[test]
    fn ends_like_docker() {
        assert_eq!(End::parse("-"), End::Stdio);
        assert_eq!(End::parse("c1:/etc/passwd"), End::Container { name: "c1".into(), path: "/etc/passwd".into() });
        assert_eq!(End::parse("./a:b"), End::Host("./a:b".into()));
        assert_eq!(End::parse("/tmp/x"), End::Host("/tmp/x".into()));
    }
}
