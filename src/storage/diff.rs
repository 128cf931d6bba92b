//! Container file systems as tarballs: a writable overlay layer as a layer
//! (what `build` and `commit` store), and a path of the whole union as an
//! archive (`cp` out of a container, `export`). Overlay records deletions
//! its own way (a 0:0 character device, an `overlay.opaque` xattr); image
//! layers use OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`), so they are
//! translated here. Runs inside the store's id mapping (see `userns`),
//! where stat shows the container's ids and every file is readable.
//!
//! A running container can change its writable layer while we read it, so
//! every read goes through `fsat`: by directory fd, never following a
//! symlink on the host (the CVE-2018-15664 class).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::fsat::{errno, Dir, Kind, Stat};
use super::union::{self, Union, OPAQUE_XATTRS};

/// Files the runtime creates as mount points: not part of what RUN did
/// (Docker leaves them out of committed layers too), when left empty.
pub const MOUNT_POINTS: &[&str] = &["dev", "proc", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf"];

/// True for one of the runtime's mount points while it is still empty.
pub fn is_empty_mount_point(rel: &Path, st: &Stat, empty_dir: impl FnOnce() -> bool) -> bool {
    MOUNT_POINTS.iter().any(|m| rel == Path::new(m))
        && match st.kind() {
            Kind::Dir => empty_dir(),
            Kind::File => st.size() == 0,
            _ => false,
        }
}

/// The tar stream being written, with the hardlinks seen so far.
struct TarOut<W: Write> {
    b: tar::Builder<W>,
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> TarOut<W> {
    fn new(w: W) -> Self {
        let mut b = tar::Builder::new(w);
        b.mode(tar::HeaderMode::Complete);
        TarOut { b, links: HashMap::new() }
    }

    fn dir(&mut self, st: &Stat, rel: &Path) -> io::Result<()> {
        let mut h = header_for(st, EntryType::Directory);
        self.b.append_data(&mut h, rel, io::empty())
    }

    /// An empty regular file (an OCI whiteout).
    fn marker(&mut self, st: &Stat, rel: &Path) -> io::Result<()> {
        let mut h = header_for(st, EntryType::Regular);
        h.set_mode(0o600);
        self.b.append_data(&mut h, rel, io::empty())
    }

    /// Anything but a directory: `name` in `parent`, as `rel`.
    fn leaf(&mut self, parent: &Dir, name: &OsStr, st: &Stat, rel: &Path) -> io::Result<()> {
        let kind = match st.kind() {
            Kind::Symlink => {
                let mut h = header_for(st, EntryType::Symlink);
                return self.b.append_link(&mut h, rel, parent.readlink(name)?);
            }
            Kind::File => {
                if st.nlink() > 1 {
                    if let Some(first) = self.links.get(&st.dev_ino()) {
                        let mut h = header_for(st, EntryType::Link);
                        return self.b.append_link(&mut h, rel, first.clone());
                    }
                    self.links.insert(st.dev_ino(), rel.to_path_buf());
                }
                let f = parent.file(name)?;
                // The size of what we opened, not of what stat saw before.
                let len = f.metadata()?.len();
                let mut h = header_for(st, EntryType::Regular);
                h.set_size(len);
                // Exactly `len` bytes, even if a running container
                // truncates the file while we read it.
                use std::io::Read;
                return self.b.append_data(&mut h, rel, f.take(len).chain(io::repeat(0)).take(len));
            }
            Kind::Fifo => EntryType::Fifo,
            Kind::Char => EntryType::Char,
            Kind::Block => EntryType::Block,
            // Sockets are not kept in layers or archives.
            Kind::Socket | Kind::Dir => return Ok(()),
        };
        let mut h = header_for(st, kind);
        h.set_device_major(libc::major(st.rdev()))?;
        h.set_device_minor(libc::minor(st.rdev()))?;
        self.b.append_data(&mut h, rel, io::empty())
    }

    fn finish(self) -> io::Result<()> {
        self.b.into_inner()?.flush()
    }
}

fn header_for(st: &Stat, kind: EntryType) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.perm());
    h.set_uid(st.uid().into());
    h.set_gid(st.gid().into());
    h.set_mtime(st.mtime().max(0) as u64);
    h.set_size(0);
    h
}

/// A writable overlay layer as an OCI layer tarball.
pub fn write_upper_tar(upper: &Path, out: &Path) -> io::Result<()> {
    let mut t = TarOut::new(io::BufWriter::new(fs::File::create(out)?));
    walk_upper(&mut t, &Dir::open(upper)?, Path::new(""))?;
    t.finish()
}

fn walk_upper<W: Write>(t: &mut TarOut<W>, dir: &Dir, prefix: &Path) -> io::Result<()> {
    for name in dir.names()? {
        let rel = prefix.join(&name);
        let st = match dir.lstat(&name) {
            Ok(st) => st,
            // Removed while we read (a running container): not in the layer.
            Err(e) if errno(&e) == libc::ENOENT => continue,
            Err(e) => return Err(e),
        };
        if st.is_whiteout() {
            let mut wh = OsStr::new(".wh.").to_owned();
            wh.push(&name);
            t.marker(&st, &prefix.join(wh))?;
        } else if st.is_dir() {
            let sub = dir.dir(&name)?;
            if is_empty_mount_point(&rel, &st, || sub.names().map(|n| n.is_empty()).unwrap_or(false)) {
                continue;
            }
            t.dir(&st, &rel)?;
            if sub.xattr_is_yes(OPAQUE_XATTRS) {
                t.marker(&st, &rel.join(".wh..wh..opq"))?;
            }
            walk_upper(t, &sub, &rel)?;
        } else if !is_empty_mount_point(&rel, &st, || false) {
            t.leaf(dir, &name, &st, &rel)?;
        }
    }
    Ok(())
}

/// Why [`write_union_tar`] wrote nothing.
#[derive(Debug)]
pub enum UnionTarError {
    /// The path does not exist in the container.
    NotFound,
    Io(io::Error),
}

impl From<io::Error> for UnionTarError {
    fn from(e: io::Error) -> Self {
        UnionTarError::Io(e)
    }
}

/// One path of a container's file system (`layers` lowest first, the
/// writable one last), resolved inside the container's root, as a tarball
/// whose entries are named `name`, `name/…` (`cp` out of a container); a
/// directory path and an empty `name` give its content at the top of the
/// archive, leaving out the runtime's empty mount points (`export`).
pub fn write_union_tar(
    layers: &[PathBuf],
    path: &str,
    follow: bool,
    name: &str,
    out: &Path,
) -> Result<(), UnionTarError> {
    let u = Union::open(layers)?;
    let comps = u.resolve(path, follow).map_err(|e| match errno(&e) {
        libc::ENOENT | libc::ENOTDIR => UnionTarError::NotFound,
        _ => UnionTarError::Io(e),
    })?;
    let entry = u.lookup(&comps)?.ok_or(UnionTarError::NotFound)?;
    let mut t = TarOut::new(io::BufWriter::new(fs::File::create(out)?));
    let top = Path::new(OsStr::from_bytes(name.as_bytes()));
    if entry.stat.is_dir() {
        if !name.is_empty() {
            t.dir(&entry.stat, top)?;
        }
        walk_union(&mut t, &u.dirs(&comps)?, top, name.is_empty())?;
    } else {
        t.leaf(&entry.parent, &entry.name, &entry.stat, top)?;
    }
    t.finish()?;
    Ok(())
}

fn walk_union<W: Write>(t: &mut TarOut<W>, dirs: &[Dir], prefix: &Path, skip_mount_points: bool) -> io::Result<()> {
    for (name, i, st) in union::list(dirs)? {
        let rel = prefix.join(&name);
        if st.is_dir() {
            let subs = union::below(&dirs[i..], &name)?;
            let empty = || union::list(&subs).map(|l| l.is_empty()).unwrap_or(false);
            if skip_mount_points && is_empty_mount_point(&rel, &st, empty) {
                continue;
            }
            t.dir(&st, &rel)?;
            walk_union(t, &subs, &rel, skip_mount_points)?;
        } else if !(skip_mount_points && is_empty_mount_point(&rel, &st, || false)) {
            t.leaf(&dirs[i], &name, &st, &rel)?;
        }
    }
    Ok(())
}
